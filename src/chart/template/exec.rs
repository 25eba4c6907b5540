//! Executing parsed templates with Go `text/template` semantics: dot and
//! `$`, variable scopes, pipelines passing their value as the last
//! argument, field chains on maps and objects (a missing key is nil, a
//! field of nil is an error), range over lists, maps (sorted keys) and ints,
//! and the functions that need the engine itself (`include`, `tpl`, `and`,
//! `or`). Plain functions live in `funcs`.
//!
//! Errors read like Go's: `template: FILE:LINE:COL: executing "NAME" at
//! <CMD>: MESSAGE`; `fail` and `required` read like Helm's.

use super::funcs::{self, FuncError};
use super::node::{self, line_col, Arg, Branch, Command, Node, Pipe};
use super::parse;
use super::value::Value;
use std::collections::HashMap;
use std::rc::Rc;

/// Helm stops `include` recursion at this depth.
const MAX_DEPTH: usize = 1000;
/// How deep execution may nest: template calls (`include`, `template`,
/// `tpl`) and the bodies of if, with and range, together. Each file nests
/// at most `parse::MAX_NESTING` deep, but a recursive define nests again
/// with each call; this bounds the stack a render takes so a template
/// recursing inside its ifs gets an error, not a stack overflow. Measured
/// in a release build: 1000 `include`s take under 3 MiB, 1500 levels of
/// calls and ifs under 4 MiB; renders run on the main thread, which has
/// 8 MiB (debug builds take about four times as much, AddressSanitizer
/// builds about three).
pub const MAX_NESTING: usize = 1500;
/// The most steps one execution takes (each node run, each time round a
/// range), so that loops inside loops end with an error rather than run
/// for hours; real charts take thousands.
pub const MAX_STEPS: u64 = 10_000_000;
/// The most output one execution makes (a template's text, or what an
/// `include` or `tpl` returns).
pub const MAX_OUTPUT: usize = funcs::MAX_STRING;

/// A named template: a file's top level, or a `define`.
#[derive(Debug)]
pub struct Template {
    pub name: String,
    /// The file it was parsed from, for error positions.
    pub file: Rc<str>,
    pub src: Rc<str>,
    pub nodes: Vec<Node>,
}

/// All templates that can call each other (Helm puts every file of a chart
/// and its subcharts in one set).
#[derive(Debug, Default)]
pub struct TemplateSet {
    templates: HashMap<String, Rc<Template>>,
    /// What `lookup` asks: a cluster when installing into one; none
    /// offline (`template`, `create`), where it finds nothing, as Helm's
    /// `template` does.
    pub cluster: Option<ClusterLookup>,
}

/// Helm's `lookup apiVersion kind namespace name`: the object as JSON (an
/// empty map when there is none; a list `{items: [...]}` when `name` is
/// empty), read from the cluster the chart is installed into.
pub type LookupFn = dyn Fn(&str, &str, &str, &str) -> Result<serde_json::Value, String>;

/// A cluster to look objects up in, for `lookup`.
#[derive(Clone)]
pub struct ClusterLookup(pub Rc<LookupFn>);

impl std::fmt::Debug for ClusterLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterLookup")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
}

impl TemplateSet {
    /// Parses a file into the set: its top level under `file`, and each
    /// `define` under its own name (a later file's define wins, as in Go;
    /// an empty redefinition does not replace a body).
    pub fn add_file(&mut self, file: &str, src: &str) -> Result<(), TemplateError> {
        let parsed = parse::parse(src).map_err(|e| {
            let (line, col) = line_col(src, e.offset);
            TemplateError { message: format!("parse error at ({file}:{line}:{col}): {}", e.message) }
        })?;
        let file_rc: Rc<str> = file.into();
        let src_rc: Rc<str> = src.into();
        for (name, nodes) in parsed.defines {
            if node::is_empty(&nodes) && self.templates.contains_key(&name) {
                continue;
            }
            let template = Template { name: name.clone(), file: file_rc.clone(), src: src_rc.clone(), nodes };
            self.templates.insert(name, Rc::new(template));
        }
        let root = Template { name: file.to_string(), file: file_rc, src: src_rc, nodes: parsed.root };
        self.templates.insert(file.to_string(), Rc::new(root));
        Ok(())
    }

    /// Runs the template `name` with `data` as dot and `$`.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, TemplateError> {
        let mut exec = Exec { sets: vec![self], depth: 0, nesting: 0, steps: 0 };
        exec.run_named(name, data)
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type Vars = Vec<(String, Value)>;

struct Exec<'a> {
    /// The chart's set, then any sets added by `tpl` (searched last first).
    sets: Vec<&'a TemplateSet>,
    /// Template calls in progress (`MAX_DEPTH`).
    depth: usize,
    /// Template calls and bodies in progress (`MAX_NESTING`).
    nesting: usize,
    /// Steps taken (`MAX_STEPS`).
    steps: u64,
}

/// Where an error happened, for Go-style messages.
struct Here<'t> {
    template: &'t Template,
}

impl Here<'_> {
    /// An error about the template as a whole (a limit reached).
    fn limit(&self, message: impl std::fmt::Display) -> TemplateError {
        TemplateError {
            message: format!("template: {}: executing \"{}\": {message}", self.template.file, self.template.name),
        }
    }

    fn error(&self, offset: usize, span: Option<(usize, usize)>, message: impl std::fmt::Display) -> TemplateError {
        let at = span.map(|(s, e)| command_text(&self.template.src, s, e));
        self.error_at(offset, at, message)
    }

    /// An error `at <what>`: the text Go shows for the node that failed.
    fn error_at(&self, offset: usize, what: Option<&str>, message: impl std::fmt::Display) -> TemplateError {
        let (line, col) = line_col(&self.template.src, offset);
        let at = what.map(|w| format!(" at <{w}>")).unwrap_or_default();
        TemplateError {
            message: format!(
                "template: {}:{line}:{col}: executing \"{}\"{at}: {message}",
                self.template.file, self.template.name
            ),
        }
    }
}

impl<'a> Exec<'a> {
    fn lookup(&self, name: &str) -> Option<Rc<Template>> {
        self.sets.iter().rev().find_map(|s| s.templates.get(name).cloned())
    }

    fn run_named(&mut self, name: &str, data: &Value) -> Result<String, TemplateError> {
        let template = self.lookup(name).ok_or_else(|| TemplateError {
            message: format!("template: no template {name:?} associated with template"),
        })?;
        self.run(&template, data)
    }

    fn run(&mut self, template: &Template, data: &Value) -> Result<String, TemplateError> {
        if self.depth >= MAX_DEPTH {
            return Err(TemplateError {
                message: format!(
                    "rendering template has a nested reference name: {}: unable to execute template",
                    template.name
                ),
            });
        }
        self.depth += 1;
        let mut out = String::new();
        let mut vars: Vars = vec![("$".into(), data.clone())];
        let here = Here { template };
        let result = self.walk(&here, &template.nodes, data, &mut vars, &mut out);
        self.depth -= 1;
        result.map(|_| out)
    }

    /// `walk_nodes` one level deeper, within `MAX_NESTING`.
    fn walk(
        &mut self,
        here: &Here,
        nodes: &[Node],
        dot: &Value,
        vars: &mut Vars,
        out: &mut String,
    ) -> Result<Flow, TemplateError> {
        if self.nesting >= MAX_NESTING {
            return Err(here.limit(format!(
                "templates and their if, with and range bodies nest more than {MAX_NESTING} deep \
                 (a template that calls itself?)"
            )));
        }
        self.nesting += 1;
        let flow = self.walk_nodes(here, nodes, dot, vars, out);
        self.nesting -= 1;
        flow
    }

    /// One more step (`MAX_STEPS`), and the output still within
    /// `MAX_OUTPUT`.
    fn step(&mut self, here: &Here, out: &str) -> Result<(), TemplateError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(here.limit(format!(
                "more than {MAX_STEPS} steps (actions run, and times round a range); a loop that does not end?"
            )));
        }
        if out.len() > MAX_OUTPUT {
            return Err(here.limit(format!("the output is more than {} MiB", MAX_OUTPUT >> 20)));
        }
        Ok(())
    }

    fn walk_nodes(
        &mut self,
        here: &Here,
        nodes: &[Node],
        dot: &Value,
        vars: &mut Vars,
        out: &mut String,
    ) -> Result<Flow, TemplateError> {
        for node in nodes {
            self.step(here, out)?;
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.pipe(here, pipe, dot, vars)?;
                    if pipe.vars.is_empty() {
                        out.push_str(&v.go_string());
                    }
                }
                Node::If(b) => {
                    let mark = vars.len();
                    let cond = self.pipe(here, &b.pipe, dot, vars)?;
                    let list = if cond.truthy() { Some(&b.list) } else { b.else_list.as_ref() };
                    let flow = match list {
                        Some(list) => self.walk(here, list, dot, vars, out)?,
                        None => Flow::Normal,
                    };
                    vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::With(b) => {
                    let mark = vars.len();
                    let v = self.pipe(here, &b.pipe, dot, vars)?;
                    let flow = if v.truthy() {
                        self.walk(here, &b.list, &v, vars, out)?
                    } else if let Some(list) = &b.else_list {
                        self.walk(here, list, dot, vars, out)?
                    } else {
                        Flow::Normal
                    };
                    vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(b) => self.range(here, b, dot, vars, out)?,
                Node::Template { offset, name, pipe } => {
                    let data = match pipe {
                        Some(p) => {
                            let mark = vars.len();
                            let v = self.pipe(here, p, dot, vars)?;
                            vars.truncate(mark);
                            v
                        }
                        None => Value::Nil,
                    };
                    let template = self.lookup(name).ok_or_else(|| {
                        let call = template_call_text(&here.template.src, name, pipe.as_ref());
                        here.error_at(*offset, Some(&call), format!("template {name:?} not defined"))
                    })?;
                    out.push_str(&self.run(&template, &data)?);
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        self.step(here, out)?;
        Ok(Flow::Normal)
    }

    fn range(
        &mut self,
        here: &Here,
        b: &Branch,
        dot: &Value,
        vars: &mut Vars,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        let mark = vars.len();
        let value = self.pipe_value(here, &b.pipe, dot, vars)?;
        let items: Vec<(Value, Value)> = match &value {
            Value::List(l) => l.iter().enumerate().map(|(i, v)| (Value::Int(i as i64), v.clone())).collect(),
            Value::Map(m) => m.borrow().iter().map(|(k, v)| (Value::str(k.as_str()), v.clone())).collect(),
            Value::Int(n) if b.pipe.vars.len() > 1 => {
                let cmd = b.pipe.cmds.last().expect("a parsed pipeline has a command");
                let message = format!("can't use {n} to iterate over more than one variable");
                return Err(here.error(cmd.pos, Some(cmd.span), message));
            }
            Value::Int(n) if *n > funcs::MAX_ELEMENTS => {
                let cmd = b.pipe.cmds.last().expect("a parsed pipeline has a command");
                let message = format!("range over {n}: more than {} times round", funcs::MAX_ELEMENTS);
                return Err(here.error(cmd.pos, Some(cmd.span), message));
            }
            Value::Int(n) => (0..*n).map(|i| (Value::Int(i), Value::Int(i))).collect(),
            Value::Object(o) if o.entries().is_some() => {
                o.entries().unwrap_or_default().into_iter().map(|(k, v)| (Value::from(k), v)).collect()
            }
            Value::Nil => Vec::new(),
            other => {
                let cmd = b.pipe.cmds.last().expect("a parsed pipeline has a command");
                let message = format!("range can't iterate over {}", other.go_string());
                return Err(here.error(cmd.pos, Some(cmd.span), message));
            }
        };
        if items.is_empty() {
            if let Some(list) = &b.else_list {
                self.walk(here, list, dot, vars, out)?;
            }
            vars.truncate(mark);
            return Ok(());
        }
        for (key, item) in items {
            self.step(here, out)?;
            vars.truncate(mark);
            match b.pipe.vars.as_slice() {
                [] => {}
                [one] => self.bind(vars, one, item.clone(), b.pipe.is_assign),
                [k, v, ..] => {
                    self.bind(vars, k, key, b.pipe.is_assign);
                    self.bind(vars, v, item.clone(), b.pipe.is_assign);
                }
            }
            let flow = self.walk(here, &b.list, &item, vars, out)?;
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        vars.truncate(mark);
        Ok(())
    }

    fn bind(&self, vars: &mut Vars, name: &str, value: Value, assign: bool) {
        if assign {
            if let Some(slot) = vars.iter_mut().rev().find(|(n, _)| n == name) {
                slot.1 = value;
                return;
            }
        }
        vars.push((name.to_string(), value));
    }

    /// Evaluates a pipeline and declares or assigns its variables.
    fn pipe(&mut self, here: &Here, pipe: &Pipe, dot: &Value, vars: &mut Vars) -> Result<Value, TemplateError> {
        let value = self.pipe_value(here, pipe, dot, vars)?;
        for name in &pipe.vars {
            if pipe.is_assign && !vars.iter().any(|(n, _)| n == name) {
                let cmd = pipe.cmds.last().expect("a parsed pipeline has a command");
                return Err(here.error(cmd.pos, Some(cmd.span), format!("undefined variable: {name}")));
            }
            self.bind(vars, name, value.clone(), pipe.is_assign);
        }
        Ok(value)
    }

    fn pipe_value(&mut self, here: &Here, pipe: &Pipe, dot: &Value, vars: &mut Vars) -> Result<Value, TemplateError> {
        let mut last: Option<Value> = None;
        for cmd in &pipe.cmds {
            last = Some(self.command(here, cmd, dot, vars, last)?);
        }
        Ok(last.unwrap_or_default())
    }

    fn command(
        &mut self,
        here: &Here,
        cmd: &Command,
        dot: &Value,
        vars: &mut Vars,
        last: Option<Value>,
    ) -> Result<Value, TemplateError> {
        let err = |m: String| here.error(cmd.pos, Some(cmd.span), m);
        let rest = &cmd.args[1..];
        match &cmd.args[0] {
            Arg::Ident(name) => self.function(here, cmd, name, rest, dot, vars, last),
            Arg::Field(chain) => {
                let args = self.args(here, rest, dot, vars, last)?;
                field_chain(dot.clone(), chain, args).map_err(err)
            }
            Arg::Variable(name, chain) => {
                let v = variable(vars, name).ok_or_else(|| err(format!("undefined variable: {name}")))?;
                if chain.is_empty() {
                    no_args(rest, &last).map_err(err)?;
                    return Ok(v);
                }
                let args = self.args(here, rest, dot, vars, last)?;
                field_chain(v, chain, args).map_err(err)
            }
            Arg::Chain(base, chain) => {
                let v = self.arg(here, base, dot, vars)?;
                let args = self.args(here, rest, dot, vars, last)?;
                field_chain(v, chain, args).map_err(err)
            }
            Arg::Nil => Err(err("nil is not a command".into())),
            other => {
                no_args(rest, &last).map_err(err)?;
                self.arg(here, other, dot, vars)
            }
        }
    }

    fn args(
        &mut self,
        here: &Here,
        args: &[Arg],
        dot: &Value,
        vars: &mut Vars,
        last: Option<Value>,
    ) -> Result<Vec<Value>, TemplateError> {
        let mut values = Vec::with_capacity(args.len() + 1);
        for a in args {
            values.push(self.arg(here, a, dot, vars)?);
        }
        values.extend(last);
        Ok(values)
    }

    /// An operand used as an argument: a bare function name is a call
    /// without arguments.
    fn arg(&mut self, here: &Here, arg: &Arg, dot: &Value, vars: &mut Vars) -> Result<Value, TemplateError> {
        match arg {
            Arg::Dot => Ok(dot.clone()),
            Arg::Nil => Ok(Value::Nil),
            Arg::Literal(v) => Ok(v.clone()),
            Arg::Field(chain) => field_chain(dot.clone(), chain, Vec::new()).map_err(|m| here.error(0, None, m)),
            Arg::Variable(name, chain) => {
                let v =
                    variable(vars, name).ok_or_else(|| here.error(0, None, format!("undefined variable: {name}")))?;
                field_chain(v, chain, Vec::new()).map_err(|m| here.error(0, None, m))
            }
            Arg::Chain(base, chain) => {
                let v = self.arg(here, base, dot, vars)?;
                field_chain(v, chain, Vec::new()).map_err(|m| here.error(0, None, m))
            }
            Arg::Pipe(p) => {
                let mark = vars.len();
                let v = self.pipe(here, p, dot, vars);
                vars.truncate(mark);
                v
            }
            Arg::Ident(name) => {
                let cmd = Command { span: (0, 0), pos: 0, args: vec![Arg::Ident(name.clone())] };
                self.function(here, &cmd, name, &[], dot, vars, None)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn function(
        &mut self,
        here: &Here,
        cmd: &Command,
        name: &str,
        rest: &[Arg],
        dot: &Value,
        vars: &mut Vars,
        last: Option<Value>,
    ) -> Result<Value, TemplateError> {
        let at = |m: String| here.error(cmd.pos, Some(cmd.span), m);
        // and/or evaluate their arguments only as far as needed.
        if name == "and" || name == "or" {
            let mut result = Value::Nil;
            let total = rest.len() + usize::from(last.is_some());
            if total == 0 {
                return Err(at(format!("wrong number of args for {name}: want at least 1 got 0")));
            }
            for a in rest {
                result = self.arg(here, a, dot, vars)?;
                if result.truthy() != (name == "and") {
                    return Ok(result);
                }
            }
            if let Some(l) = last {
                result = l;
            }
            return Ok(result);
        }
        let args = self.args(here, rest, dot, vars, last)?;
        match name {
            "include" => {
                let template = args
                    .first()
                    .and_then(Value::as_str)
                    .ok_or_else(|| at("error calling include: template name must be a string".into()))?;
                let data = args.get(1).cloned().unwrap_or_default();
                if self.lookup(template).is_none() {
                    return Err(at(format!(
                        "error calling include: template: no template {template:?} associated with template {:?}",
                        here.template.name
                    )));
                }
                self.run_named(template, &data).map(Value::from)
            }
            "lookup" if self.sets[0].cluster.is_some() => {
                let cluster = self.sets[0].cluster.as_ref().expect("checked");
                if args.len() != 4 {
                    return Err(at(format!("error calling lookup: wrong number of args: want 4 got {}", args.len())));
                }
                let text: Vec<String> = args.iter().map(|a| a.as_str().unwrap_or_default().to_string()).collect();
                let found = (cluster.0)(&text[0], &text[1], &text[2], &text[3])
                    .map_err(|e| at(format!("error calling lookup: {e}")))?;
                super::convert::from_json(&found.to_string()).map_err(|e| at(format!("error calling lookup: {e}")))
            }
            "tpl" => {
                let text = match args.first() {
                    Some(Value::Str(s)) => s.to_string(),
                    Some(other) => other.go_string(),
                    None => return Err(at("error calling tpl: wrong number of args".into())),
                };
                let data = args.get(1).cloned().unwrap_or_default();
                self.tpl(here, &text, &data).map(Value::from)
            }
            _ => match funcs::call(name, &args) {
                Ok(Value::Str(s)) if s.len() > funcs::MAX_STRING => Err(at(format!(
                    "error calling {name}: the result is {} bytes, more than the {} MiB a string may have",
                    s.len(),
                    funcs::MAX_STRING >> 20
                ))),
                Ok(v) => Ok(v),
                Err(FuncError::Unknown) => Err(at(format!("function {name:?} not defined"))),
                Err(FuncError::Fail(message)) => {
                    let (line, col) = line_col(&here.template.src, cmd.pos);
                    Err(TemplateError {
                        message: format!("execution error at ({}:{line}:{col}): {message}", here.template.file),
                    })
                }
                Err(FuncError::Call(message)) => Err(at(format!("error calling {name}: {message}"))),
            },
        }
    }

    /// Helm's `tpl`: the text is parsed as one more template that can use
    /// every define of the chart, and its own defines, then run.
    fn tpl(&mut self, here: &Here, text: &str, data: &Value) -> Result<String, TemplateError> {
        let name = here.template.file.to_string();
        let mut extra = TemplateSet::default();
        extra
            .add_file(&name, text)
            .map_err(|e| TemplateError { message: format!("error calling tpl: {}", e.message) })?;
        let sets: Vec<&TemplateSet> = self.sets.iter().copied().chain(std::iter::once(&extra)).collect();
        let mut inner = Exec { sets, depth: self.depth, nesting: self.nesting, steps: self.steps };
        let template = extra.templates.get(&name).cloned().expect("just added");
        let result = inner.run(&template, data);
        self.steps = inner.steps;
        result.map_err(|e| TemplateError { message: format!("error calling tpl: {}", e.message) })
    }
}

/// Go's text of a template call, `{{template "name" .}}`, for messages.
fn template_call_text(src: &str, name: &str, pipe: Option<&Pipe>) -> String {
    let pipe_text = pipe.and_then(|p| Some(command_text(src, p.offset, p.cmds.last()?.span.1)));
    match pipe_text {
        Some(text) => format!("{{{{template {name:?} {text}}}}}"),
        None => format!("{{{{template {name:?}}}}}"),
    }
}

/// The source of a command for messages; a command that runs to the end
/// of its action has no recorded end, so it stops at the delimiter.
fn command_text(src: &str, start: usize, end: usize) -> &str {
    let start = start.min(src.len());
    let end =
        if end > start && end <= src.len() { end } else { src[start..].find("}}").map_or(src.len(), |i| start + i) };
    src.get(start..end).unwrap_or("").trim().trim_end_matches('-').trim()
}

fn variable(vars: &Vars, name: &str) -> Option<Value> {
    vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}

fn no_args(rest: &[Arg], last: &Option<Value>) -> Result<(), String> {
    if rest.is_empty() && last.is_none() {
        Ok(())
    } else {
        Err("can't give argument to non-function".into())
    }
}

/// Walks `.a.b.c` from `value`; the last name gets `args` (a method call).
///
/// Go tells two nils apart here: a nil that a pipeline or variable
/// produced is an invalid value, and any field of it is again nothing
/// (`($x.missing).field` renders empty); a nil met inside the chain is a
/// typed nil interface, and a field of it is an error.
fn field_chain(mut value: Value, chain: &[String], args: Vec<Value>) -> Result<Value, String> {
    if matches!(value, Value::Nil) {
        return Ok(Value::Nil);
    }
    let last = chain.len().saturating_sub(1);
    let mut args = Some(args);
    // A value looked up in a map has Go's static type interface {}, which
    // is what Go names when a field of it cannot be evaluated.
    let mut from_map = false;
    for (i, name) in chain.iter().enumerate() {
        let call_args = if i == last { args.take().unwrap_or_default() } else { Vec::new() };
        let next = field(&value, name, &call_args, from_map)?;
        from_map = matches!(value, Value::Map(_));
        value = next;
    }
    if let Some(a) = args {
        if !a.is_empty() {
            return Err(format!("can't give argument to non-function {}", value.go_string()));
        }
    }
    Ok(value)
}

fn field(receiver: &Value, name: &str, args: &[Value], from_map: bool) -> Result<Value, String> {
    match receiver {
        Value::Map(m) => {
            if !args.is_empty() {
                return Err(format!("{name} is not a method but has arguments"));
            }
            Ok(m.borrow().get(name).cloned().unwrap_or_default())
        }
        Value::Object(o) => {
            if !args.is_empty() {
                return match o.call(name, args) {
                    Some(r) => r,
                    None => Err(format!("can't evaluate field {name} in type {}", o.type_name())),
                };
            }
            if let Some(v) = o.field(name) {
                return Ok(v);
            }
            match o.call(name, args) {
                Some(r) => r,
                None => Err(format!("can't evaluate field {name} in type {}", o.type_name())),
            }
        }
        Value::Nil => Err(format!("nil pointer evaluating interface {{}}.{name}")),
        other => {
            let type_name = if from_map { "interface {}" } else { other.type_name() };
            Err(format!("can't evaluate field {name} in type {type_name}"))
        }
    }
}
