//! The tree a template parses into, as Go's `text/template/parse/node.go`
//! holds it: text, actions with pipelines, if/range/with with their else
//! lists, template calls, break and continue; and the positions shared by
//! `lex`, `parse` and `exec` (the syntax error, offsets as line:column).
//!
//! Data only: building the tree is `parse`'s, running it `exec`'s. Byte
//! offsets are kept where `exec` reports positions as Go does.

use super::value::Value;
use std::rc::Rc;

/// A lex or parse error, with the byte offset it happened at.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

/// 1-based line and 0-based byte column of an offset, as Go reports them.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1);
    (line, col)
}

#[derive(Debug)]
pub enum Node {
    /// Text between actions, already trimmed by `{{-`/`-}}`.
    Text(Rc<str>),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    /// `{{template "name" pipe}}`, or the call a `block` makes; `offset` is
    /// where the name is, as Go reports it.
    Template {
        offset: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

/// The body of if/range/with: condition pipeline, list, optional else list
/// (an `else if` or `else with` is an else list holding one node).
#[derive(Debug)]
pub struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub struct Pipe {
    /// Where the pipeline starts (its first variable or command).
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

/// A parsed template file: its top-level nodes and the defines in it (each
/// name once; an empty redefinition does not replace a body, as in Go).
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub root: Vec<Node>,
    pub defines: Vec<(String, Vec<Node>)>,
}

/// Go's `IsEmptyTree`: nothing but space.
pub fn is_empty(nodes: &[Node]) -> bool {
    nodes.iter().all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}
