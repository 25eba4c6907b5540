//! Lexing Go `text/template` source into items, as Go's
//! `text/template/parse/lex.go` does: text between actions (already trimmed
//! by `{{- ` and ` -}}`), the delimiters, and the words inside actions, each
//! with the byte range it covers. Comments are dropped here.
//!
//! Owns the shape of words only: it must not build nodes, decide what a word
//! means where it stands, or decode literals (`literal` does, for `parse`).
//! Items come one at a time, so an error further on in the source is only
//! met once the parser gets there, as in Go.

use super::literal::{go_quote, go_unicode};
use super::node::SyntaxError;

/// What kind of word an item is; its text is `src[pos..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Text,
    LeftDelim,
    RightDelim,
    /// A run of spaces inside an action (they separate arguments).
    Space,
    Ident,
    Keyword(Keyword),
    /// `.` alone.
    Dot,
    /// `.name`
    Field,
    /// `$name`, or `$` alone.
    Variable,
    Bool,
    Number,
    /// `1+2i`: lexed as Go does, refused by `literal`.
    Complex,
    /// `"..."`, quotes and escapes still in.
    String,
    /// `` `...` ``
    RawString,
    /// `'a'`
    CharConstant,
    Pipe,
    LeftParen,
    RightParen,
    Declare,
    Assign,
    /// Any other printable ASCII character (`,` between range variables).
    Char,
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

#[rustfmt::skip]
const KEYWORDS: [(&str, Keyword); 11] = [
    ("block", Keyword::Block), ("break", Keyword::Break), ("continue", Keyword::Continue),
    ("define", Keyword::Define), ("else", Keyword::Else), ("end", Keyword::End), ("if", Keyword::If),
    ("nil", Keyword::Nil), ("range", Keyword::Range), ("template", Keyword::Template), ("with", Keyword::With),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub tok: Tok,
    pub pos: usize,
    pub end: usize,
}

impl Item {
    /// The item as Go's `item.String()` names it in "unexpected ..." errors.
    pub fn describe(&self, src: &str) -> String {
        let text = &src[self.pos..self.end];
        match self.tok {
            Tok::Eof => "EOF".into(),
            Tok::Keyword(_) | Tok::Dot => format!("<{text}>"),
            _ if text.chars().count() > 10 => format!("{}...", go_quote(&text.chars().take(10).collect::<String>())),
            _ => go_quote(text),
        }
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

pub struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    in_action: bool,
    /// Where each open `(` of the current action is.
    parens: Vec<usize>,
}

type Lexed = Result<Item, SyntaxError>;

fn fail(offset: usize, message: impl Into<String>) -> Lexed {
    Err(SyntaxError { offset, message: message.into() })
}

impl<'s> Lexer<'s> {
    pub fn new(src: &'s str) -> Lexer<'s> {
        Lexer { src, pos: 0, in_action: false, parens: Vec::new() }
    }

    pub fn next_item(&mut self) -> Lexed {
        if self.in_action {
            self.inside_action()
        } else {
            self.text()
        }
    }

    fn rest(&self) -> &'s str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn item(&self, tok: Tok, start: usize) -> Lexed {
        Ok(Item { tok, pos: start, end: self.pos })
    }

    /// Text up to the next `{{`, then the delimiter itself; comments are
    /// skipped with whatever their trim markers trim.
    fn text(&mut self) -> Lexed {
        loop {
            let start = self.pos;
            let Some(open) = self.rest().find("{{").map(|i| start + i) else {
                self.pos = self.src.len();
                let tok = if start < self.pos { Tok::Text } else { Tok::Eof };
                return self.item(tok, start);
            };
            let trim = has_left_trim_marker(&self.src[open + 2..]);
            if open > start {
                let text = &self.src[start..open];
                let end = if trim { start + text.trim_end_matches(is_space).len() } else { open };
                self.pos = open;
                if end > start {
                    return Ok(Item { tok: Tok::Text, pos: start, end });
                }
            }
            let inner = open + 2 + if trim { 2 } else { 0 };
            if self.src[inner..].starts_with("/*") {
                self.comment(open, inner)?;
                continue;
            }
            self.pos = inner;
            self.in_action = true;
            self.parens.clear();
            return Ok(Item { tok: Tok::LeftDelim, pos: open, end: open + 2 });
        }
    }

    fn comment(&mut self, open: usize, inner: usize) -> Result<(), SyntaxError> {
        let Some(close) = self.src[inner + 2..].find("*/").map(|i| inner + 2 + i + 2) else {
            return Err(SyntaxError { offset: open, message: "unclosed comment".into() });
        };
        self.pos = close;
        match self.at_right_delim() {
            Some(trim) => {
                self.pos += if trim { 4 } else { 2 };
                if trim {
                    self.pos = self.src.len() - self.rest().trim_start_matches(is_space).len();
                }
                Ok(())
            }
            None => Err(SyntaxError { offset: close, message: "comment ends before closing delimiter".into() }),
        }
    }

    /// `Some(trim)` at `}}` or at ` -}}` (any ASCII space before the `-`).
    fn at_right_delim(&self) -> Option<bool> {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[2..].starts_with("}}") {
            Some(true)
        } else if rest.starts_with("}}") {
            Some(false)
        } else {
            None
        }
    }

    fn right_delim(&mut self, trim: bool) -> Lexed {
        if trim {
            self.pos += 2;
        }
        let start = self.pos;
        self.pos += 2;
        self.in_action = false;
        let item = Item { tok: Tok::RightDelim, pos: start, end: self.pos };
        if trim {
            self.pos = self.src.len() - self.rest().trim_start_matches(is_space).len();
        }
        Ok(item)
    }

    fn inside_action(&mut self) -> Lexed {
        if let Some(trim) = self.at_right_delim() {
            if let Some(&open) = self.parens.last() {
                return fail(open, "unclosed left paren");
            }
            return self.right_delim(trim);
        }
        let start = self.pos;
        let Some(c) = self.peek() else {
            return fail(start, "unclosed action");
        };
        self.pos += c.len_utf8();
        match c {
            c if is_space(c) => self.space(start),
            '=' => self.item(Tok::Assign, start),
            ':' if self.peek() == Some('=') => {
                self.pos += 1;
                self.item(Tok::Declare, start)
            }
            ':' => fail(start, "expected :="),
            '|' => self.item(Tok::Pipe, start),
            '"' => self.quoted(start, '"', Tok::String, "unterminated quoted string"),
            '\'' => self.quoted(start, '\'', Tok::CharConstant, "unterminated character constant"),
            '`' => match self.rest().find('`') {
                Some(i) => {
                    self.pos += i + 1;
                    self.item(Tok::RawString, start)
                }
                None => fail(start, "unterminated raw quoted string"),
            },
            '$' => self.field_or_variable(start, Tok::Variable),
            '.' if !self.peek().is_some_and(|c| c.is_ascii_digit()) => self.field_or_variable(start, Tok::Dot),
            '.' | '+' | '-' | '0'..='9' => {
                self.pos = start;
                self.number(start)
            }
            c if is_alphanumeric(c) => self.identifier(start),
            '(' => {
                self.parens.push(start);
                self.item(Tok::LeftParen, start)
            }
            ')' => match self.parens.pop() {
                Some(_) => self.item(Tok::RightParen, start),
                None => fail(start, "unexpected right paren"),
            },
            c if c.is_ascii() && !c.is_ascii_control() => self.item(Tok::Char, start),
            c => fail(start, format!("unrecognized character in action: {}", go_unicode(c))),
        }
    }

    /// A run of spaces; the last one stays when it starts a ` -}}`.
    fn space(&mut self, start: usize) -> Lexed {
        self.pos = self.src.len() - self.rest().trim_start_matches(is_space).len();
        let last = self.pos - 1;
        if has_right_trim_marker(&self.src[last..]) && self.src[last + 2..].starts_with("}}") {
            self.pos = last;
            if last == start {
                return self.right_delim(true);
            }
        }
        self.item(Tok::Space, start)
    }

    fn quoted(&mut self, start: usize, quote: char, tok: Tok, unterminated: &str) -> Lexed {
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, '\n')) | None => break,
                    Some(_) => {}
                },
                '\n' => break,
                c if c == quote => {
                    self.pos += i + 1;
                    return self.item(tok, start);
                }
                _ => {}
            }
        }
        fail(start, unterminated)
    }

    fn take_alphanumerics(&mut self) {
        self.pos = self.src.len() - self.rest().trim_start_matches(is_alphanumeric).len();
    }

    /// Identifiers, fields and variables must be followed by a space, an
    /// operator or the delimiter: `.a"x"` is an error.
    fn check_terminator(&self) -> Result<(), SyntaxError> {
        let rest = self.rest();
        match rest.chars().next() {
            None => Ok(()),
            Some(c) if is_space(c) || ".,|:)(".contains(c) || rest.starts_with("}}") => Ok(()),
            Some(c) => Err(SyntaxError { offset: self.pos, message: format!("bad character {}", go_unicode(c)) }),
        }
    }

    fn identifier(&mut self, start: usize) -> Lexed {
        self.take_alphanumerics();
        self.check_terminator()?;
        let word = &self.src[start..self.pos];
        let tok = match KEYWORDS.iter().find(|(w, _)| *w == word) {
            Some(&(_, k)) => Tok::Keyword(k),
            None if word == "true" || word == "false" => Tok::Bool,
            None => Tok::Ident,
        };
        self.item(tok, start)
    }

    /// After `.` or `$`: a name, or nothing (`.` is dot, `$` the root).
    fn field_or_variable(&mut self, start: usize, alone: Tok) -> Lexed {
        if self.check_terminator().is_ok() {
            return self.item(alone, start);
        }
        self.take_alphanumerics();
        self.check_terminator()?;
        self.item(if alone == Tok::Dot { Tok::Field } else { Tok::Variable }, start)
    }

    fn number(&mut self, start: usize) -> Lexed {
        let bad = |l: &Lexer| fail(start, format!("bad number syntax: {}", go_quote(&l.src[start..l.pos])));
        if !self.scan_number() {
            return bad(self);
        }
        if matches!(self.peek(), Some('+' | '-')) {
            if !self.scan_number() || !self.src[..self.pos].ends_with('i') {
                return bad(self);
            }
            return self.item(Tok::Complex, start);
        }
        self.item(Tok::Number, start)
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    /// Go's `scanNumber`: loose on purpose (`089`, `0x1.8`), the literal's
    /// parse catches what is not a number.
    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alphanumeric) {
            self.pos += self.peek().map_or(0, char::len_utf8);
            return false;
        }
        true
    }
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}
