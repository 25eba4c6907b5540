//! Parsing Go `text/template` source into a tree: text, actions with
//! pipelines, if/range/with (with `else if`/`else with`), define, template,
//! block, break/continue, comments and `{{-`/`-}}` trimming.
//!
//! Owns syntax only; what a node means at run time is `exec`'s business.

use super::value::Value;
use std::rc::Rc;

/// A parse error, with the byte offset it happened at.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

type Parsed<T> = Result<T, SyntaxError>;

fn fail<T>(offset: usize, message: impl Into<String>) -> Parsed<T> {
    Err(SyntaxError { offset, message: message.into() })
}

#[derive(Debug)]
pub enum Node {
    Text(Rc<str>),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template { offset: usize, name: String, pipe: Option<Pipe> },
    Break,
    Continue,
}

/// The body of if/range/with: condition pipeline, list, optional else list.
#[derive(Debug)]
pub struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub struct Pipe {
    pub offset: usize,
    /// Declared (`:=`) or assigned (`=`) variables, with their names.
    pub vars: Vec<String>,
    pub is_assign: bool,
    pub cmds: Vec<Command>,
}

#[derive(Debug)]
pub struct Command {
    /// Source span, for error messages (`at <.Values.x>`).
    pub span: (usize, usize),
    /// Where Go says the command is: for a field chain, its second field.
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug)]
pub enum Arg {
    /// `.a.b`: a field chain on dot.
    Field(Vec<String>),
    /// `$x.a.b` (`$` alone is the root data).
    Variable(String, Vec<String>),
    /// `(pipeline).a.b`
    Chain(Box<Arg>, Vec<String>),
    Dot,
    Nil,
    Literal(Value),
    /// A function name.
    Ident(String),
    Pipe(Box<Pipe>),
}

/// A parsed template file: its top-level nodes and the defines in it.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub root: Vec<Node>,
    pub defines: Vec<(String, Vec<Node>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Field(String),
    Variable(String),
    Dot,
    Str(String),
    Number(Value),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Space,
}

/// One `{{ ... }}` action, lexed.
struct Action {
    offset: usize,
    toks: Vec<(usize, Tok)>,
}

enum Piece {
    Text(String),
    Action(Action),
}

/// Splits source into text and lexed actions, applying trim markers.
fn lex(src: &str) -> Parsed<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut pos = 0;
    let mut trim_next_text = false;
    while pos <= src.len() {
        let next = src[pos..].find("{{").map(|i| pos + i);
        let text_end = next.unwrap_or(src.len());
        let mut text = &src[pos..text_end];
        if trim_next_text {
            text = text.trim_start_matches(is_space);
        }
        let Some(open) = next else {
            if !text.is_empty() {
                pieces.push(Piece::Text(text.to_string()));
            }
            break;
        };
        let mut inner = open + 2;
        let bytes = src.as_bytes();
        if bytes.get(inner) == Some(&b'-') && bytes.get(inner + 1).is_some_and(|b| is_space(*b as char)) {
            text = text.trim_end_matches(is_space);
            inner += 2;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        // Comments: `{{/* ... */}}`, optionally with trim markers.
        let after_space = inner + src[inner..].len() - src[inner..].trim_start_matches(is_space).len();
        if src[after_space..].starts_with("/*") {
            let Some(close) = src[after_space..].find("*/").map(|i| after_space + i + 2) else {
                return fail(open, "unclosed comment");
            };
            let rest = &src[close..];
            let (trim, len) = if rest.starts_with(" -}}") {
                (true, 4)
            } else if rest.starts_with("}}") {
                (false, 2)
            } else {
                return fail(close, "comment ends before closing delimiter");
            };
            trim_next_text = trim;
            pos = close + len;
            continue;
        }
        let (toks, end, trim) = lex_action(src, inner)?;
        pieces.push(Piece::Action(Action { offset: open, toks }));
        trim_next_text = trim;
        pos = end;
    }
    Ok(pieces)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Lexes the inside of an action starting at `pos`; returns the tokens, the
/// offset after `}}` and whether it ended with a `-}}` trim marker.
/// Tokens of an action, with the byte offset each starts at.
type Tokens = Vec<(usize, Tok)>;

fn lex_action(src: &str, mut pos: usize) -> Parsed<(Tokens, usize, bool)> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    loop {
        let Some(&b) = bytes.get(pos) else {
            return fail(pos, "unclosed action");
        };
        let c = b as char;
        if is_space(c) {
            let start = pos;
            while bytes.get(pos).is_some_and(|b| is_space(*b as char)) {
                pos += 1;
            }
            if src[pos..].starts_with("-}}") {
                return Ok((toks, pos + 3, true));
            }
            toks.push((start, Tok::Space));
            continue;
        }
        if src[pos..].starts_with("}}") {
            return Ok((toks, pos + 2, false));
        }
        let start = pos;
        let tok = match c {
            '|' => {
                pos += 1;
                Tok::Pipe
            }
            '(' => {
                pos += 1;
                Tok::LParen
            }
            ')' => {
                pos += 1;
                Tok::RParen
            }
            ',' => {
                pos += 1;
                Tok::Comma
            }
            '=' => {
                pos += 1;
                Tok::Assign
            }
            ':' if bytes.get(pos + 1) == Some(&b'=') => {
                pos += 2;
                Tok::Declare
            }
            '"' => {
                let (s, end) = lex_quoted(src, pos)?;
                pos = end;
                Tok::Str(s)
            }
            '`' => {
                let Some(end) = src[pos + 1..].find('`') else {
                    return fail(pos, "unterminated raw quoted string");
                };
                let s = src[pos + 1..pos + 1 + end].to_string();
                pos += end + 2;
                Tok::Str(s)
            }
            '\'' => {
                let (s, end) = lex_char(src, pos)?;
                pos = end;
                Tok::Number(Value::Int(s as i64))
            }
            '$' => {
                let end = ident_end(src, pos + 1);
                let name = src[pos..end].to_string();
                pos = end;
                Tok::Variable(name)
            }
            '.' => {
                if bytes.get(pos + 1).is_some_and(|b| b.is_ascii_digit()) {
                    let (v, end) = lex_number(src, pos)?;
                    pos = end;
                    Tok::Number(v)
                } else {
                    let end = ident_end(src, pos + 1);
                    if end == pos + 1 {
                        pos += 1;
                        Tok::Dot
                    } else {
                        let name = src[pos + 1..end].to_string();
                        pos = end;
                        Tok::Field(name)
                    }
                }
            }
            '0'..='9' | '-' | '+' => {
                let (v, end) = lex_number(src, pos)?;
                pos = end;
                Tok::Number(v)
            }
            c if c.is_alphabetic() || c == '_' => {
                let end = ident_end(src, pos);
                let word = &src[pos..end];
                pos = end;
                match word {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    _ => Tok::Ident(word.to_string()),
                }
            }
            other => return fail(pos, format!("unexpected {other:?} in command")),
        };
        toks.push((start, tok));
    }
}

fn ident_end(src: &str, mut pos: usize) -> usize {
    for c in src[pos..].chars() {
        if c.is_alphanumeric() || c == '_' {
            pos += c.len_utf8();
        } else {
            break;
        }
    }
    pos
}

fn lex_quoted(src: &str, start: usize) -> Parsed<(String, usize)> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, start + 1 + i + 1)),
            '\n' => break,
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    '\\' | '"' | '\'' => out.push(e),
                    'x' | 'u' | 'U' => {
                        let len = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = (0..len).filter_map(|_| chars.next().map(|(_, c)| c)).collect();
                        let code = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or(SyntaxError { offset: start, message: format!("bad escape \\{e}{hex}") })?;
                        out.push(code);
                    }
                    other => return fail(start, format!("unknown escape sequence \\{other}")),
                }
            }
            c => out.push(c),
        }
    }
    fail(start, "unterminated quoted string")
}

fn lex_char(src: &str, start: usize) -> Parsed<(char, usize)> {
    let rest = &src[start + 1..];
    let mut chars = rest.char_indices();
    let c = match chars.next() {
        Some((_, '\\')) => match chars.next() {
            Some((_, 'n')) => '\n',
            Some((_, 't')) => '\t',
            Some((_, '\\')) => '\\',
            Some((_, '\'')) => '\'',
            _ => return fail(start, "unsupported character escape"),
        },
        Some((_, c)) => c,
        None => return fail(start, "unterminated character constant"),
    };
    match chars.next() {
        Some((i, '\'')) => Ok((c, start + 1 + i + 1)),
        _ => fail(start, "unterminated character constant"),
    }
}

fn lex_number(src: &str, start: usize) -> Parsed<(Value, usize)> {
    let mut end = start;
    let bytes = src.as_bytes();
    if matches!(bytes[end], b'+' | b'-') {
        end += 1;
    }
    while let Some(&b) = bytes.get(end) {
        let prev = bytes[end.saturating_sub(1)];
        let is_exp_sign = matches!(b, b'+' | b'-') && matches!(prev, b'e' | b'E' | b'p' | b'P');
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || is_exp_sign {
            end += 1;
        } else {
            break;
        }
    }
    let text = &src[start..end];
    parse_number(text)
        .map(|v| (v, end))
        .ok_or(SyntaxError { offset: start, message: format!("bad number syntax: {text:?}") })
}

/// Go's number literals: ints in any base (with `_`), floats.
fn parse_number(text: &str) -> Option<Value> {
    let clean = text.replace('_', "");
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let lower = body.to_ascii_lowercase();
    if let Some(v) = lower.strip_prefix("0x").and_then(|h| h.split_once('p')).and_then(|(m, e)| hex_float(m, e)) {
        let v = if neg { -v } else { v };
        // Go treats an integral constant as an int where one is wanted.
        return Some(if v.fract() == 0.0 && v.abs() < 9.2e18 { Value::Int(v as i64) } else { Value::Float(v) });
    }
    let radix = |digits: &str, radix| i64::from_str_radix(digits, radix).ok();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        radix(h, 16)
    } else if let Some(o) = lower.strip_prefix("0o") {
        radix(o, 8)
    } else if let Some(b) = lower.strip_prefix("0b") {
        radix(b, 2)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit()) {
        radix(&lower[1..], 8)
    } else if lower.bytes().all(|b| b.is_ascii_digit()) && !lower.is_empty() {
        lower.parse().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Some(Value::Int(if neg { -i } else { i }));
    }
    if lower.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-')) && !lower.starts_with('e') {
        let f: f64 = lower.parse().ok()?;
        return Some(Value::Float(if neg { -f } else { f }));
    }
    None
}

/// A hex float literal (`0x1.8p3`): hex mantissa times two to the exponent.
fn hex_float(mantissa: &str, exp: &str) -> Option<f64> {
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut v = u64::from_str_radix(if whole.is_empty() { "0" } else { whole }, 16).ok()? as f64;
    for (i, c) in frac.chars().enumerate() {
        v += c.to_digit(16)? as f64 / 16f64.powi(i as i32 + 1);
    }
    Some(v * 2f64.powi(exp.parse().ok()?))
}

/// Parses a whole template file.
pub fn parse(src: &str) -> Parsed<ParsedFile> {
    let pieces = lex(src)?;
    let mut parser = Parser { pieces: pieces.into_iter().collect(), pos: 0, defines: Vec::new(), src_len: src.len() };
    let (root, end) = parser.list()?;
    if let Some((offset, word)) = end {
        return fail(offset, format!("unexpected {{{{{word}}}}}"));
    }
    Ok(ParsedFile { root, defines: parser.defines })
}

struct Parser {
    pieces: Vec<Piece>,
    pos: usize,
    defines: Vec<(String, Vec<Node>)>,
    src_len: usize,
}

/// What ended a list: `end`, `else` (with the rest of its action).
type ListEnd = Option<(usize, String)>;

impl Parser {
    /// Parses nodes until `{{end}}`, `{{else ...}}` or the end of input;
    /// an `else` leaves its remaining tokens in `self.pending_else`.
    fn list(&mut self) -> Parsed<(Vec<Node>, ListEnd)> {
        let mut nodes = Vec::new();
        while self.pos < self.pieces.len() {
            let piece = std::mem::replace(&mut self.pieces[self.pos], Piece::Text(String::new()));
            self.pos += 1;
            match piece {
                Piece::Text(t) => nodes.push(Node::Text(t.into())),
                Piece::Action(action) => {
                    let mut toks = Toks { toks: action.toks, pos: 0, offset: action.offset };
                    toks.skip_space();
                    match toks.peek() {
                        Some(Tok::Ident(w)) if w == "end" => {
                            toks.next();
                            toks.expect_end()?;
                            return Ok((nodes, Some((action.offset, "end".into()))));
                        }
                        Some(Tok::Ident(w)) if w == "else" => {
                            toks.next();
                            // Keep what follows `else` (`if ...`, `with ...`) for the caller.
                            self.pos -= 1;
                            self.pieces[self.pos] =
                                Piece::Action(Action { offset: action.offset, toks: toks.toks[toks.pos..].to_vec() });
                            return Ok((nodes, Some((action.offset, "else".into()))));
                        }
                        _ => {}
                    }
                    if let Some(node) = self.action(toks)? {
                        nodes.push(node);
                    }
                }
            }
        }
        Ok((nodes, None))
    }

    fn action(&mut self, mut toks: Toks) -> Parsed<Option<Node>> {
        let offset = toks.offset;
        let word = match toks.peek() {
            Some(Tok::Ident(w)) => w.clone(),
            _ => return Ok(Some(Node::Action(toks.pipeline(true)?))),
        };
        match word.as_str() {
            "if" | "range" | "with" => {
                toks.next();
                Ok(Some(self.branch(&word, toks)?))
            }
            "define" | "block" => {
                toks.next();
                toks.skip_space();
                let name = toks.string()?;
                let pipe =
                    if word == "block" { Some(toks.pipeline(false)?) } else { toks.expect_end().map(|_| None)? };
                let (body, end) = self.list()?;
                match end {
                    Some((_, e)) if e == "end" => {}
                    _ => return fail(offset, format!("unexpected EOF in {word} {name:?}")),
                }
                self.defines.push((name.clone(), body));
                Ok(pipe.map(|pipe| Node::Template { offset, name, pipe: Some(pipe) }))
            }
            "template" => {
                toks.next();
                toks.skip_space();
                let name = toks.string()?;
                toks.skip_space();
                let pipe = if toks.at_end() { None } else { Some(toks.pipeline(false)?) };
                Ok(Some(Node::Template { offset, name, pipe }))
            }
            "break" | "continue" => {
                toks.next();
                toks.expect_end()?;
                Ok(Some(if word == "break" { Node::Break } else { Node::Continue }))
            }
            _ => Ok(Some(Node::Action(toks.pipeline(true)?))),
        }
    }

    fn branch(&mut self, word: &str, mut toks: Toks) -> Parsed<Node> {
        let offset = toks.offset;
        let pipe = toks.pipeline(true)?;
        let (list, end) = self.list()?;
        let else_list = match end {
            Some((_, e)) if e == "end" => None,
            Some((else_offset, _)) => {
                // `else` with a chained `if`/`with`: that branch ends the outer one too.
                let Piece::Action(rest) = std::mem::replace(&mut self.pieces[self.pos], Piece::Text(String::new()))
                else {
                    unreachable!("list() put the else action back")
                };
                self.pos += 1;
                let mut rest = Toks { toks: rest.toks, pos: 0, offset: else_offset };
                rest.skip_space();
                match rest.peek() {
                    Some(Tok::Ident(w)) if w == "if" || w == "with" => {
                        let w = w.clone();
                        rest.next();
                        Some(vec![self.branch(&w, rest)?])
                    }
                    _ => {
                        rest.expect_end()?;
                        let (else_list, end) = self.list()?;
                        match end {
                            Some((_, e)) if e == "end" => Some(else_list),
                            _ => return fail(offset, format!("expected end; found {:?}", end.map(|e| e.1))),
                        }
                    }
                }
            }
            None => return fail(self.src_len, format!("unexpected EOF: {{{{{word}}}}} without {{{{end}}}}")),
        };
        let branch = Branch { pipe, list, else_list };
        Ok(match word {
            "if" => Node::If(branch),
            "range" => Node::Range(branch),
            _ => Node::With(branch),
        })
    }
}

struct Toks {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    offset: usize,
}

impl Toks {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.1)
    }

    fn next(&mut self) -> Option<(usize, Tok)> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn here(&self) -> usize {
        self.toks.get(self.pos).map_or(self.offset, |t| t.0)
    }

    fn skip_space(&mut self) {
        while self.peek() == Some(&Tok::Space) {
            self.pos += 1;
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn expect_end(&mut self) -> Parsed<()> {
        self.skip_space();
        if self.at_end() {
            Ok(())
        } else {
            fail(self.here(), format!("unexpected {:?} in action", self.peek()))
        }
    }

    fn string(&mut self) -> Parsed<String> {
        match self.next() {
            Some((_, Tok::Str(s))) => Ok(s),
            other => fail(other.map_or(self.offset, |t| t.0), "expected a quoted template name"),
        }
    }

    /// `[$a[, $b] (:=|=)] cmd | cmd ...` up to the end of the action or a `)`.
    fn pipeline(&mut self, allow_decl: bool) -> Parsed<Pipe> {
        self.skip_space();
        let offset = self.here();
        let mut vars = Vec::new();
        let mut is_assign = false;
        if allow_decl {
            let save = self.pos;
            let mut names = Vec::new();
            loop {
                match self.next() {
                    Some((_, Tok::Variable(v))) => names.push(v),
                    _ => break,
                }
                self.skip_space();
                match self.peek() {
                    Some(Tok::Comma) if names.len() == 1 => {
                        self.next();
                        self.skip_space();
                    }
                    Some(Tok::Declare) | Some(Tok::Assign) => {
                        is_assign = self.peek() == Some(&Tok::Assign);
                        self.next();
                        vars = std::mem::take(&mut names);
                        break;
                    }
                    _ => break,
                }
            }
            if vars.is_empty() {
                self.pos = save;
            }
        }
        let mut cmds = Vec::new();
        loop {
            self.skip_space();
            let start = self.here();
            let mut args = Vec::new();
            let mut pos = start;
            loop {
                self.skip_space();
                match self.peek() {
                    None | Some(Tok::Pipe) | Some(Tok::RParen) => break,
                    _ => {
                        let (arg, arg_pos) = self.operand()?;
                        if args.is_empty() {
                            pos = arg_pos;
                        }
                        args.push(arg);
                    }
                }
            }
            let end = self.here();
            if args.is_empty() {
                return fail(start, "missing value for command");
            }
            cmds.push(Command { span: (start, end), pos, args });
            match self.peek() {
                Some(Tok::Pipe) => {
                    self.next();
                }
                _ => break,
            }
        }
        Ok(Pipe { offset, vars, is_assign, cmds })
    }

    /// One operand, with any `.field` chain glued to it, and the position
    /// Go gives it (a chain's is that of its second part).
    fn operand(&mut self) -> Parsed<(Arg, usize)> {
        let (offset, tok) = self.next().expect("operand called with a token ahead");
        let chain_pos = self.here();
        let base = match tok {
            Tok::Field(f) => {
                let mut chain = vec![f];
                chain.extend(self.fields());
                let pos = if chain.len() > 1 { chain_pos } else { offset };
                return Ok((Arg::Field(chain), pos));
            }
            Tok::Variable(v) => {
                let chain = self.fields();
                let pos = if chain.is_empty() { offset } else { chain_pos };
                return Ok((Arg::Variable(v, chain), pos));
            }
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Nil,
            Tok::Bool(b) => Arg::Literal(Value::Bool(b)),
            Tok::Number(n) => Arg::Literal(n),
            Tok::Str(s) => Arg::Literal(Value::str(s)),
            Tok::Ident(name) => Arg::Ident(name),
            Tok::LParen => {
                let pipe = self.pipeline(true)?;
                match self.next() {
                    Some((_, Tok::RParen)) => {}
                    _ => return fail(offset, "unclosed left paren"),
                }
                Arg::Pipe(Box::new(pipe))
            }
            other => return fail(offset, format!("unexpected {other:?} in operand")),
        };
        let chain = self.fields();
        Ok(if chain.is_empty() { (base, offset) } else { (Arg::Chain(Box::new(base), chain), chain_pos) })
    }

    fn fields(&mut self) -> Vec<String> {
        let mut chain = Vec::new();
        while let Some(Tok::Field(f)) = self.peek() {
            chain.push(f.clone());
            self.pos += 1;
        }
        chain
    }
}

/// 1-based line and column of a byte offset, as Go reports them.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1);
    (line, col)
}
