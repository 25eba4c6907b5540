//! Building the tree from `lex`'s items, as Go's
//! `text/template/parse/parse.go` does: recursive descent over actions,
//! with Go's parse-time checks (a variable is declared before use and lives
//! until the `end` of its control, break and continue only inside range,
//! define only at the top level, one body per template name in a file).
//!
//! Must not scan source text (that is `lex`'s), decode literals (`literal`)
//! or give nodes a meaning (`exec`). Unlike Go, function names are not
//! checked here: `exec` resolves them, so an unknown one fails when run.

mod pipeline;

use super::lex::{Item, Keyword, Lexer, Tok};
use super::literal::{self, go_quote};
use super::node::{is_empty, Branch, Node, ParsedFile, SyntaxError};

type Parsed<T> = Result<T, SyntaxError>;

/// How deep actions may nest: if, range, with, each `else if`/`else with`
/// of a chain, define and block bodies, and parentheses, together. Real
/// charts nest a dozen or so; the limit keeps parsing, running and
/// dropping the tree within the stack (Go allows 10000 parentheses, on
/// stacks that grow).
pub const MAX_NESTING: usize = 100;

fn fail<T>(offset: usize, message: impl Into<String>) -> Parsed<T> {
    Err(SyntaxError { offset, message: message.into() })
}

/// Parses a whole template file.
pub fn parse(src: &str) -> Parsed<ParsedFile> {
    let mut parser = Parser {
        src,
        lexer: Lexer::new(src),
        ahead: Vec::new(),
        vars: vec!["$".into()],
        range_depth: 0,
        nesting: 0,
        action: 0,
        defines: Vec::new(),
    };
    let root = parser.file()?;
    Ok(ParsedFile { root, defines: parser.defines })
}

/// What one piece of input parsed into.
enum Step {
    Node(Node),
    /// `{{end}}`, `{{else}}`: where their `{{` is.
    End(usize),
    Else(usize),
}

struct Parser<'s> {
    src: &'s str,
    lexer: Lexer<'s>,
    /// Items read ahead and put back, the next one last.
    ahead: Vec<Item>,
    /// The variables in scope.
    vars: Vec<String>,
    range_depth: usize,
    /// How deep the action being parsed nests (`MAX_NESTING`).
    nesting: usize,
    /// Where the `{{` of the action being parsed is.
    action: usize,
    defines: Vec<(String, Vec<Node>)>,
}

impl<'s> Parser<'s> {
    fn next(&mut self) -> Parsed<Item> {
        match self.ahead.pop() {
            Some(item) => Ok(item),
            None => self.lexer.next_item(),
        }
    }

    fn backup(&mut self, item: Item) {
        self.ahead.push(item);
    }

    fn peek(&mut self) -> Parsed<Item> {
        let item = self.next()?;
        self.backup(item);
        Ok(item)
    }

    fn next_non_space(&mut self) -> Parsed<Item> {
        loop {
            let item = self.next()?;
            if item.tok != Tok::Space {
                return Ok(item);
            }
        }
    }

    /// The next item that is not a space; the spaces before it are gone.
    fn peek_non_space(&mut self) -> Parsed<Item> {
        let item = self.next_non_space()?;
        self.backup(item);
        Ok(item)
    }

    fn text(&self, item: Item) -> &'s str {
        &self.src[item.pos..item.end]
    }

    fn unexpected<T>(&self, item: Item, context: &str) -> Parsed<T> {
        fail(item.pos, format!("unexpected {} in {context}", item.describe(self.src)))
    }

    /// Runs `inner` one level deeper, or fails at `at` past `MAX_NESTING`.
    fn nested<T>(&mut self, at: usize, inner: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        if self.nesting >= MAX_NESTING {
            return fail(
                at,
                format!(
                    "nested more than {MAX_NESTING} deep (if, range, with, else if, define, block and \
                     parentheses together); flatten the template"
                ),
            );
        }
        self.nesting += 1;
        let result = inner(self);
        self.nesting -= 1;
        result
    }

    fn expect_right_delim(&mut self, context: &str) -> Parsed<()> {
        let item = self.next_non_space()?;
        if item.tok == Tok::RightDelim {
            Ok(())
        } else {
            self.unexpected(item, context)
        }
    }

    /// The top level: text, actions and defines, up to the end.
    fn file(&mut self) -> Parsed<Vec<Node>> {
        let mut root = Vec::new();
        loop {
            let item = self.next()?;
            match item.tok {
                Tok::Eof => return Ok(root),
                Tok::LeftDelim => {
                    let word = self.next_non_space()?;
                    if word.tok == Tok::Keyword(Keyword::Define) {
                        self.action = item.pos;
                        self.definition(item.pos)?;
                        continue;
                    }
                    self.backup(word);
                }
                _ => {}
            }
            self.backup(item);
            match self.text_or_action()? {
                Step::Node(node) => root.push(node),
                Step::End(at) => return fail(at, "unexpected {{end}}"),
                Step::Else(at) => return fail(at, "unexpected {{else}}"),
            }
        }
    }

    /// Nodes up to `{{end}}` or `{{else}}` (returned with them), or to the
    /// end of input (returned with None).
    fn list(&mut self) -> Parsed<(Vec<Node>, Option<Step>)> {
        let mut nodes = Vec::new();
        loop {
            if self.peek_non_space()?.tok == Tok::Eof {
                return Ok((nodes, None));
            }
            match self.text_or_action()? {
                Step::Node(node) => nodes.push(node),
                end => return Ok((nodes, Some(end))),
            }
        }
    }

    fn text_or_action(&mut self) -> Parsed<Step> {
        let item = self.next_non_space()?;
        match item.tok {
            Tok::Text => Ok(Step::Node(Node::Text(self.text(item).into()))),
            Tok::LeftDelim => self.action(item.pos),
            _ => self.unexpected(item, "input"),
        }
    }

    fn action(&mut self, open: usize) -> Parsed<Step> {
        self.action = open;
        let item = self.next_non_space()?;
        let node = match item.tok {
            Tok::Keyword(Keyword::Block) => self.block(open)?,
            Tok::Keyword(k @ (Keyword::Break | Keyword::Continue)) => {
                let word = if k == Keyword::Break { "{{break}}" } else { "{{continue}}" };
                self.expect_right_delim(word)?;
                if self.range_depth == 0 {
                    return fail(item.pos, format!("{word} outside {{{{range}}}}"));
                }
                if k == Keyword::Break {
                    Node::Break
                } else {
                    Node::Continue
                }
            }
            Tok::Keyword(Keyword::Else) => {
                // `else if`/`else with`: the keyword stays for `control`.
                let next = self.peek_non_space()?;
                if !matches!(next.tok, Tok::Keyword(Keyword::If | Keyword::With)) {
                    self.expect_right_delim("else")?;
                }
                return Ok(Step::Else(open));
            }
            Tok::Keyword(Keyword::End) => {
                self.expect_right_delim("end")?;
                return Ok(Step::End(open));
            }
            Tok::Keyword(k @ (Keyword::If | Keyword::Range | Keyword::With)) => self.nested(open, |p| p.control(k))?,
            Tok::Keyword(Keyword::Template) => {
                let name_item = self.next_non_space()?;
                let name = self.template_name(name_item, "template clause")?;
                let next = self.next_non_space()?;
                let pipe = if next.tok == Tok::RightDelim {
                    None
                } else {
                    self.backup(next);
                    Some(self.pipeline("template clause", Tok::RightDelim)?)
                };
                Node::Template { offset: name_item.pos, name, pipe }
            }
            _ => {
                self.backup(item);
                Node::Action(self.pipeline("command", Tok::RightDelim)?)
            }
        };
        Ok(Step::Node(node))
    }

    /// if/range/with: pipeline, list, and an else list, or a chained
    /// `else if`/`else with` that ends with the same `{{end}}`.
    fn control(&mut self, word: Keyword) -> Parsed<Node> {
        let context = match word {
            Keyword::If => "if",
            Keyword::Range => "range",
            _ => "with",
        };
        let src_len = self.src.len();
        let eof = || fail(src_len, format!("unexpected EOF: {{{{{context}}}}} without {{{{end}}}}"));
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        let is_range = word == Keyword::Range;
        self.range_depth += usize::from(is_range);
        let (list, end) = self.list()?;
        self.range_depth -= usize::from(is_range);
        let else_list = match end {
            None => return eof(),
            Some(Step::Else(at)) => {
                let next = self.peek()?;
                if word != Keyword::Range && next.tok == Tok::Keyword(word) {
                    self.next()?;
                    self.action = at;
                    Some(vec![self.nested(at, |p| p.control(word))?])
                } else {
                    match self.list()? {
                        (list, Some(Step::End(_))) => Some(list),
                        (_, Some(Step::Else(at))) => return fail(at, "expected end; found {{else}}"),
                        _ => return eof(),
                    }
                }
            }
            Some(_) => None,
        };
        self.vars.truncate(mark);
        let branch = Branch { pipe, list, else_list };
        Ok(match word {
            Keyword::If => Node::If(branch),
            Keyword::Range => Node::Range(branch),
            _ => Node::With(branch),
        })
    }

    fn template_name(&self, item: Item, context: &str) -> Parsed<String> {
        match item.tok {
            Tok::String | Tok::RawString => {
                literal::unquote_string(self.text(item)).or_else(|message| fail(item.pos, message))
            }
            _ => self.unexpected(item, context),
        }
    }

    /// `{{define "name"}}`, the keyword read: the body, with its own
    /// variables, up to `{{end}}`.
    fn definition(&mut self, open: usize) -> Parsed<()> {
        let name_item = self.next_non_space()?;
        let name = self.template_name(name_item, "define clause")?;
        self.expect_right_delim("define clause")?;
        let body = self.body(open, "define", &name)?;
        self.add_define(open, name, body)
    }

    /// `{{block "name" pipeline}}`: a define, and a call of it.
    fn block(&mut self, open: usize) -> Parsed<Node> {
        let name_item = self.next_non_space()?;
        let name = self.template_name(name_item, "block clause")?;
        let pipe = self.pipeline("block clause", Tok::RightDelim)?;
        let body = self.body(open, "block", &name)?;
        self.add_define(open, name.clone(), body)?;
        Ok(Node::Template { offset: name_item.pos, name, pipe: Some(pipe) })
    }

    fn body(&mut self, open: usize, word: &str, name: &str) -> Parsed<Vec<Node>> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let depth = std::mem::take(&mut self.range_depth);
        let (body, end) = self.nested(open, Self::list)?;
        self.vars = vars;
        self.range_depth = depth;
        match end {
            Some(Step::End(_)) => Ok(body),
            Some(Step::Else(at)) => fail(at, format!("unexpected {{{{else}}}} in {word} clause")),
            _ => fail(open, format!("unexpected EOF in {word} {name:?}")),
        }
    }

    /// Go's rule within one file: a body replaces an empty one, an empty one
    /// changes nothing, and two bodies are an error.
    fn add_define(&mut self, open: usize, name: String, body: Vec<Node>) -> Parsed<()> {
        match self.defines.iter_mut().find(|(n, _)| *n == name) {
            None => self.defines.push((name, body)),
            Some((_, old)) if is_empty(old) => *old = body,
            Some(_) if is_empty(&body) => {}
            Some(_) => return fail(open, format!("multiple definition of template {}", go_quote(&name))),
        }
        Ok(())
    }
}
