//! Parsing the inside of an action, for `parse`: a pipeline's declared or
//! assigned variables, its commands, their operands and terms, with Go's
//! checks (variables declared before use, at most two declarations and only
//! in range, no literal after the first `|`, no field of a literal).
//!
//! Reads items through the parser only; decoding a literal is `literal`'s.

use super::super::lex::{Item, Keyword, Tok};
use super::super::literal::{self, go_quote};
use super::super::node::{Arg, Command, Pipe};
use super::super::value::Value;
use super::{fail, Parsed, Parser};

impl Parser<'_> {
    /// `[$a[, $b] (:=|=)] command | command ...` up to `end`, which is
    /// read too.
    pub(super) fn pipeline(&mut self, context: &str, end: Tok) -> Parsed<Pipe> {
        let offset = self.peek_non_space()?.pos;
        let (vars, is_assign) = self.declarations(context)?;
        let mut cmds: Vec<Command> = Vec::new();
        loop {
            let item = self.next_non_space()?;
            if item.tok == end {
                if cmds.is_empty() {
                    let at = if end == Tok::RightDelim { self.action } else { item.pos };
                    return fail(at, format!("missing value for {context}"));
                }
                for (i, cmd) in cmds.iter().enumerate().skip(1) {
                    if matches!(cmd.args[0], Arg::Literal(_) | Arg::Dot | Arg::Nil) {
                        return fail(cmd.pos, format!("non executable command in pipeline stage {}", i + 1));
                    }
                }
                return Ok(Pipe { offset, vars, is_assign, cmds });
            }
            match item.tok {
                Tok::Bool
                | Tok::CharConstant
                | Tok::Complex
                | Tok::Dot
                | Tok::Field
                | Tok::Ident
                | Tok::Number
                | Tok::Keyword(Keyword::Nil)
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup(item);
                    cmds.push(self.command()?);
                }
                _ => return self.unexpected(item, context),
            }
        }
    }

    /// The variables a pipeline declares or assigns: one, or two in range.
    fn declarations(&mut self, context: &str) -> Parsed<(Vec<String>, bool)> {
        let mut vars = Vec::new();
        loop {
            let var = self.peek_non_space()?;
            if var.tok != Tok::Variable {
                return Ok((vars, false));
            }
            self.next()?;
            let after = self.peek()?;
            let next = self.peek_non_space()?;
            let name = self.text(var).to_string();
            match next.tok {
                Tok::Assign | Tok::Declare => {
                    self.next()?;
                    vars.push(name.clone());
                    self.vars.push(name);
                    return Ok((vars, next.tok == Tok::Assign));
                }
                Tok::Char if self.text(next) == "," => {
                    self.next()?;
                    vars.push(name.clone());
                    self.vars.push(name);
                    if context == "range" && vars.len() < 2 {
                        match self.peek_non_space()?.tok {
                            Tok::Variable | Tok::RightDelim | Tok::RightParen => continue,
                            _ => return fail(next.pos, "range can only initialize variables"),
                        }
                    }
                    return fail(next.pos, format!("too many declarations in {context}"));
                }
                _ => {
                    // Not a declaration: put the variable (and its space) back.
                    if after.tok == Tok::Space {
                        self.backup(after);
                    }
                    self.backup(var);
                    return Ok((vars, false));
                }
            }
        }
    }

    /// Space-separated operands up to `|` (read), `}}` or `)` (left).
    fn command(&mut self) -> Parsed<Command> {
        let start = self.peek_non_space()?.pos;
        let mut args = Vec::new();
        let mut pos = start;
        let end = loop {
            self.peek_non_space()?;
            if let Some((arg, arg_pos)) = self.operand()? {
                if args.is_empty() {
                    pos = arg_pos;
                }
                args.push(arg);
            }
            let item = self.next()?;
            match item.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => {
                    self.backup(item);
                    break item.pos;
                }
                Tok::Pipe => break item.pos,
                _ => return self.unexpected(item, "operand"),
            }
        };
        if args.is_empty() {
            return fail(start, "empty command");
        }
        Ok(Command { span: (start, end), pos, args })
    }

    /// A term with any `.field` chain glued to it, and the position Go
    /// gives it (a chain's is that of its second part).
    fn operand(&mut self) -> Parsed<Option<(Arg, usize)>> {
        let Some((term, item)) = self.term()? else { return Ok(None) };
        let mut chain = Vec::new();
        let chain_pos = self.peek()?.pos;
        while self.peek()?.tok == Tok::Field {
            let field = self.next()?;
            chain.push(self.text(field)[1..].to_string());
        }
        if chain.is_empty() {
            return Ok(Some((term, item.pos)));
        }
        let arg = match term {
            Arg::Field(mut fields) => {
                fields.extend(chain);
                Arg::Field(fields)
            }
            Arg::Variable(name, _) => Arg::Variable(name, chain),
            Arg::Literal(_) | Arg::Nil | Arg::Dot => {
                return fail(chain_pos, format!("unexpected . after term {}", go_quote(self.text(item))));
            }
            other => Arg::Chain(Box::new(other), chain),
        };
        Ok(Some((arg, chain_pos)))
    }

    /// A literal, function name, `.`, `.Field`, `$var` or `(pipeline)`;
    /// None (and nothing read) when the next item is none of these.
    fn term(&mut self) -> Parsed<Option<(Arg, Item)>> {
        let item = self.next_non_space()?;
        let text = self.text(item);
        let literal = |r: Result<Value, String>| r.or_else(|message| fail(item.pos, message));
        let arg = match item.tok {
            Tok::Ident => Arg::Ident(text.to_string()),
            Tok::Dot => Arg::Dot,
            Tok::Keyword(Keyword::Nil) => Arg::Nil,
            Tok::Variable => {
                if !self.vars.iter().any(|v| v == text) {
                    return fail(item.pos, format!("undefined variable {}", go_quote(text)));
                }
                Arg::Variable(text.to_string(), Vec::new())
            }
            Tok::Field => Arg::Field(vec![text[1..].to_string()]),
            Tok::Bool => Arg::Literal(Value::Bool(text == "true")),
            Tok::CharConstant => Arg::Literal(literal(literal::unquote_char(text).map(Value::Int))?),
            Tok::Number | Tok::Complex => Arg::Literal(literal(literal::number(text))?),
            Tok::String | Tok::RawString => Arg::Literal(literal(literal::unquote_string(text).map(Value::from))?),
            Tok::LeftParen => {
                Arg::Pipe(Box::new(self.nested(item.pos, |p| p.pipeline("parenthesized pipeline", Tok::RightParen))?))
            }
            _ => {
                self.backup(item);
                return Ok(None);
            }
        };
        Ok(Some((arg, item)))
    }
}
