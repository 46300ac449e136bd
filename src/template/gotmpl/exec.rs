//! The evaluator of Go templates, over minijinja values, following `text/template`'s `exec.go`:
//! fields of maps (missing keys are `<no value>`), variables on a stack scoped to control
//! structures, `range` over lists, maps (sorted keys) and ints, lazy `and`/`or`, and Go's
//! runtime errors. It writes the output together with the [`Segment`]s of the source map.

use super::lex::Number;
use super::parse::{Command, Node, Operand, OperandKind, Pipe, Tree};
use crate::diagnostic::{suggest, Code, Diagnostic};
use crate::source::{Segment, Span};
use crate::template::funcs::{FuncError, Funcs};
use crate::template::value::{self, kind, list_items, map_entries, map_get, map_keys, missing_to_nil, truth, type_name, GoKind};
use crate::template::Missing;
use crate::template::MAX_RENDERED_BYTES;
use minijinja::value::Value;

/// `{{ template }}` calls nest at most this deep.
pub const MAX_TEMPLATE_DEPTH: usize = 100;
/// Control structures and template calls together nest at most this deep while rendering
/// (each template body may nest up to the parser's limit, so calls multiply the depth).
pub const MAX_RUNTIME_NESTING: usize = 200;
/// Evaluation steps (nodes, commands and range iterations) before rendering gives up: about a
/// second of work in a release build. No template in ../shared/corpus or golden/ takes 100.
pub const MAX_STEPS: u64 = 5_000_000;

type R<T> = Result<T, Box<Diagnostic>>;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub struct Exec<'a> {
    pub src: &'a str,
    pub tree: &'a Tree,
    pub funcs: &'a Funcs,
    pub strict: bool,
    pub out: String,
    pub segments: Vec<Segment>,
    /// Actions that printed a missing value, for [`crate::template::missing`].
    pub missing: Vec<Missing>,
    /// For a variable that was given a missing value: the expression it came from.
    origins: std::collections::HashMap<String, String>,
    vars: Vec<(String, Value)>,
    /// Where the innermost block's variables start in `vars`.
    scope: usize,
    depth: usize,
    nesting: usize,
    steps: u64,
}

fn error(code: Code, span: Span, message: impl Into<String>, label: impl Into<String>) -> Box<Diagnostic> {
    Box::new(Diagnostic::error(code, message).at(span, label).in_original())
}

impl<'a> Exec<'a> {
    pub fn new(src: &'a str, tree: &'a Tree, funcs: &'a Funcs, strict: bool) -> Exec<'a> {
        Exec {
            src,
            tree,
            funcs,
            strict,
            out: String::new(),
            segments: Vec::new(),
            missing: Vec::new(),
            origins: Default::default(),
            vars: Vec::new(),
            scope: 0,
            depth: 0,
            nesting: 0,
            steps: 0,
        }
    }

    pub fn run(&mut self, data: Value) -> Result<(), Box<Diagnostic>> {
        self.vars.push(("$".to_string(), data.clone()));
        let tree = self.tree;
        self.walk_list(&data, &tree.root)?;
        Ok(())
    }

    fn step(&mut self, span: Span) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(error(Code::TemplateTooLarge, span, format!("template evaluation took more than {MAX_STEPS} steps"), "while evaluating this"));
        }
        Ok(())
    }

    fn check_size(&self, span: Span) -> R<()> {
        if self.out.len() > MAX_RENDERED_BYTES {
            return Err(self.too_large(span));
        }
        Ok(())
    }

    fn too_large(&self, span: Span) -> Box<Diagnostic> {
        error(Code::TemplateTooLarge, span, format!("rendered text is larger than {} MiB", MAX_RENDERED_BYTES >> 20), "while writing this")
    }

    fn emit_verbatim(&mut self, span: Span) -> R<()> {
        if span.is_empty() {
            return Ok(());
        }
        let rendered_start = self.out.len();
        self.out.push_str(&self.src[span.start..span.end]);
        match self.segments.last_mut() {
            Some(last) if last.verbatim && last.original_start + last.len == span.start && last.rendered_start + last.len == rendered_start => {
                last.len += span.len();
            }
            _ => self.segments.push(Segment { rendered_start, len: span.len(), original_start: span.start, verbatim: true }),
        }
        self.check_size(span)
    }

    fn emit_action(&mut self, at: usize, text: &str, span: Span) -> R<()> {
        if text.is_empty() {
            return Ok(());
        }
        let rendered_start = self.out.len();
        self.out.push_str(text);
        match self.segments.last_mut() {
            Some(last) if !last.verbatim && last.original_start == at && last.rendered_start + last.len == rendered_start => last.len += text.len(),
            _ => self.segments.push(Segment { rendered_start, len: text.len(), original_start: at, verbatim: false }),
        }
        self.check_size(span)
    }

    fn walk_list(&mut self, dot: &Value, list: &[Node]) -> R<Flow> {
        for node in list {
            match self.walk(dot, node)? {
                Flow::Normal => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &Node) -> R<Flow> {
        if matches!(node, Node::Text(_) | Node::Action { .. } | Node::Break(_) | Node::Continue(_)) {
            return self.walk_node(dot, node);
        }
        self.nesting += 1;
        if self.nesting > MAX_RUNTIME_NESTING {
            let span = match node {
                Node::If { span, .. } | Node::With { span, .. } | Node::Range { span, .. } | Node::Template { span, .. } => {
                    Span::new(span.start, span.start + 2)
                }
                _ => Span::default(),
            };
            return Err(error(
                Code::TemplateTooDeep,
                span,
                format!("templates nest deeper than {MAX_RUNTIME_NESTING} levels while rendering"),
                "too deeply nested",
            ));
        }
        let flow = self.walk_node(dot, node);
        self.nesting -= 1;
        flow
    }

    fn walk_node(&mut self, dot: &Value, node: &Node) -> R<Flow> {
        match node {
            Node::Text(span) => self.emit_verbatim(*span)?,
            Node::Action { span, pipe } => {
                self.step(*span)?;
                let v = self.eval_pipeline(dot, pipe, false)?;
                if pipe.decl.is_empty() {
                    let room = MAX_RENDERED_BYTES.saturating_sub(self.out.len());
                    let Some(text) = value::to_output(&v, room) else { return Err(self.too_large(*span)) };
                    if matches!(kind(&v), GoKind::Missing | GoKind::Nil) {
                        let at = self.out.len();
                        let expression = self.expression(pipe);
                        self.missing.push(Missing {
                            action: *span,
                            expression,
                            rendered: Span::new(at, at + text.len()),
                            shown: value::NO_VALUE,
                            in_fragment: false,
                        });
                    }
                    self.emit_action(span.start, &text, *span)?;
                }
            }
            Node::If { pipe, list, else_list, .. } | Node::With { pipe, list, else_list, .. } => {
                self.step(pipe.span)?;
                let is_with = matches!(node, Node::With { .. });
                let (mark, outer) = (self.vars.len(), self.scope);
                self.scope = mark;
                let v = self.eval_pipeline(dot, pipe, true)?;
                let flow = if truth(&v) {
                    let new_dot = if is_with { v } else { dot.clone() };
                    self.walk_list(&new_dot, list)?
                } else if let Some(else_list) = else_list {
                    self.walk_list(dot, else_list)?
                } else {
                    Flow::Normal
                };
                self.vars.truncate(mark);
                self.scope = outer;
                return Ok(flow);
            }
            Node::Range { span, pipe, list, else_list } => {
                self.step(*span)?;
                let (mark, outer) = (self.vars.len(), self.scope);
                self.scope = mark;
                let collection = self.eval_pipeline(dot, pipe, false)?;
                let entries: Vec<(Value, Value)> = match kind(&collection) {
                    GoKind::List => list_items(&collection).into_iter().enumerate().map(|(i, v)| (Value::from(i as i64), v)).collect(),
                    GoKind::Map => map_entries(&collection),
                    GoKind::Int => {
                        let n = value::as_int(&collection).unwrap_or(0).max(0);
                        // Every iteration is a step: refuse before building the numbers.
                        if n as u64 > MAX_STEPS - self.steps.min(MAX_STEPS) {
                            return Err(error(
                                Code::TemplateTooLarge,
                                pipe.span,
                                format!("range over {n} is too long: templates may take at most {MAX_STEPS} steps"),
                                "",
                            ));
                        }
                        (0..n).map(|i| (Value::from(i), Value::from(i))).collect()
                    }
                    GoKind::Missing | GoKind::Nil => Vec::new(),
                    _ => {
                        return Err(error(
                            Code::TemplateType,
                            pipe.span,
                            format!("range can't iterate over {}", value::to_go_string(&collection)),
                            format!("this is a {}, not a list or map", type_name(&collection)),
                        ))
                    }
                };
                if entries.is_empty() {
                    if let Some(else_list) = else_list {
                        self.walk_list(dot, else_list)?;
                    }
                } else {
                    let body_mark = self.vars.len();
                    self.scope = body_mark;
                    for (index, elem) in entries {
                        self.step(*span)?;
                        self.bind_range_vars(pipe, &index, &elem);
                        let flow = self.walk_list(&elem, list)?;
                        self.vars.truncate(body_mark);
                        if let Flow::Break = flow {
                            break;
                        }
                    }
                }
                self.vars.truncate(mark);
                self.scope = outer;
            }
            Node::Template { span, name, pipe } => {
                self.step(*span)?;
                let Some(body) = self.tree.defines.get(name) else {
                    let mut d = error(Code::TemplateNoSuchTemplate, *span, format!("no such template {name:?}"), "not defined");
                    let names: Vec<&str> = self.tree.defines.keys().map(String::as_str).collect();
                    if let Some(s) = suggest(name, names) {
                        d.help = Some(format!("did you mean {s:?}?"));
                    }
                    return Err(d);
                };
                if self.depth >= MAX_TEMPLATE_DEPTH {
                    return Err(error(
                        Code::TemplateTooDeep,
                        *span,
                        format!("exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"),
                        "called recursively here",
                    ));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p, false)?,
                    None => Value::UNDEFINED,
                };
                // No dynamic scoping: the called template sees only `$`.
                let saved = std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
                let outer = std::mem::replace(&mut self.scope, 0);
                self.depth += 1;
                let result = self.walk_list(&new_dot, body);
                self.depth -= 1;
                self.vars = saved;
                self.scope = outer;
                result?;
            }
            Node::Break(_) => return Ok(Flow::Break),
            Node::Continue(_) => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    /// What an action prints, as written: `.A.B` or `$x.A` for a plain field, else its source.
    fn expression(&self, pipe: &Pipe) -> String {
        if let [Command { args, .. }] = pipe.cmds.as_slice() {
            if let [Operand { kind, .. }] = args.as_slice() {
                match kind {
                    OperandKind::Field(path) => return format!(".{}", path.join(".")),
                    OperandKind::Var(name, fields) if !fields.is_empty() => return format!("{name}.{}", fields.join(".")),
                    OperandKind::Var(name, _) => return self.origins.get(name).cloned().unwrap_or_else(|| name.clone()),
                    _ => {}
                }
            }
        }
        self.src[pipe.span.start..pipe.span.end].trim().to_string()
    }

    fn bind_range_vars(&mut self, pipe: &Pipe, index: &Value, elem: &Value) {
        match pipe.decl.len() {
            0 => {}
            1 => self.set_var(&pipe.decl[0].0, elem.clone()),
            _ => {
                self.set_var(&pipe.decl[0].0, index.clone());
                self.set_var(&pipe.decl[1].0, elem.clone());
            }
        }
    }

    /// Assigns the innermost variable called `name` (range variables are declared once, by the
    /// pipeline, then reassigned per iteration; `$x = v` reassigns too).
    fn set_var(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    /// `$x := v`. Redeclaring a name in the same block replaces it: the old one can no longer be
    /// reached, and keeping the stack short keeps lookups cheap however many actions a file has.
    fn declare(&mut self, name: &str, v: Value) {
        let scope = self.scope;
        match self.vars[scope..].iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = v,
            None => self.vars.push((name.to_string(), v)),
        }
    }

    fn var(&self, name: &str, span: Span) -> R<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(error(Code::TemplateUndefinedVariable, span, format!("undefined variable `{name}`"), "")),
        }
    }

    /// Evaluates a pipeline; `truth_test` marks an `if`/`with` condition, where a missing
    /// variable is a plain "false" even under `--strict`.
    fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe, truth_test: bool) -> R<Value> {
        let mut value: Option<(Value, Span)> = None;
        let single = pipe.cmds.len() == 1;
        for cmd in &pipe.cmds {
            self.step(cmd.span)?;
            let v = self.eval_command(dot, cmd, value.take(), truth_test && single)?;
            value = Some((v, cmd.span));
        }
        let mut v = value.map(|(v, _)| v).unwrap_or(Value::UNDEFINED);
        // Go unwraps a nil interface into "no value".
        if v.is_none() {
            v = Value::UNDEFINED;
        }
        if !pipe.decl.is_empty() && v.is_undefined() {
            // `$v := .Version` with no Version: a later `{{ $v }}` is reported as `.Version`.
            let origin = self.expression(pipe);
            let origin = self.origins.get(&origin).cloned().unwrap_or(origin);
            for (name, _) in &pipe.decl {
                self.origins.insert(name.clone(), origin.clone());
            }
        }
        for (name, _) in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, v.clone());
            } else {
                self.declare(name, v.clone());
            }
        }
        Ok(v)
    }

    fn not_a_function(&self, cmd: &Command, has_final: bool) -> R<()> {
        if cmd.args.len() > 1 || has_final {
            let first = &cmd.args[0];
            let text = &self.src[first.span.start..first.span.end];
            let at = if cmd.args.len() > 1 { cmd.args[1].span } else { cmd.span };
            return Err(Box::new(
                Diagnostic::error(Code::TemplateNotAFunction, format!("can't give argument to non-function {text}"))
                    .at(at, "extra argument")
                    .also(first.span, "this is a value, not a function")
                    .in_original(),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &Command, final_value: Option<(Value, Span)>, truth_test: bool) -> R<Value> {
        let first = &cmd.args[0];
        let has_args = cmd.args.len() > 1 || final_value.is_some();
        match &first.kind {
            OperandKind::Field(path) => self.field_chain(dot.clone(), path, first.span, has_args, truth_test, None),
            OperandKind::Var(name, fields) => {
                let v = self.var(name, first.span)?;
                if fields.is_empty() {
                    self.not_a_function(cmd, final_value.is_some())?;
                    Ok(v)
                } else {
                    self.field_chain(v, fields, first.span, has_args, truth_test, Some(name))
                }
            }
            OperandKind::Pipe(pipe, fields) => {
                if fields.is_empty() {
                    self.not_a_function(cmd, final_value.is_some())?;
                    self.eval_pipeline(dot, pipe, truth_test)
                } else {
                    let v = self.eval_pipeline(dot, pipe, false)?;
                    self.field_chain(v, fields, first.span, has_args, truth_test, Some("(...)"))
                }
            }
            OperandKind::Func(name) => self.call(dot, name, first.span, &cmd.args[1..], final_value, cmd.span),
            OperandKind::Nil => Err(error(Code::TemplateNilCommand, first.span, "nil is not a command", "")),
            _ => {
                self.not_a_function(cmd, final_value.is_some())?;
                self.eval_arg(dot, first, false)
            }
        }
    }

    /// Evaluates `.A.B` on `receiver`. `root` names the variable the chain starts from.
    #[allow(clippy::too_many_arguments)]
    fn field_chain(&mut self, receiver: Value, path: &[String], span: Span, has_args: bool, truth_test: bool, root: Option<&str>) -> R<Value> {
        let mut cur = receiver;
        // Fields sit at the end of the operand's text: `.A.B`, `$x.A.B`, `(p).A.B`.
        let tail: usize = path.iter().map(|f| f.len() + 1).sum();
        let mut field_start = span.end - tail;
        for (i, name) in path.iter().enumerate() {
            let field_span = Span::new(field_start, field_start + name.len() + 1);
            field_start += name.len() + 1;
            let shown = format!("{}.{}", root.unwrap_or(""), path[..=i].join("."));
            let last = i + 1 == path.len();
            cur = match kind(&cur) {
                GoKind::Missing => {
                    if self.strict && !truth_test {
                        return Err(error(Code::TemplateUnknownVariable, field_span, format!("no value for `{shown}`: its parent is missing"), ""));
                    }
                    Value::UNDEFINED
                }
                GoKind::Nil => {
                    return Err(error(
                        Code::TemplateType,
                        field_span,
                        format!("nil pointer evaluating interface {{}}.{name}"),
                        format!("`{}` is null", &shown[..shown.len() - name.len() - 1]),
                    ))
                }
                GoKind::Map => {
                    if has_args && last {
                        return Err(error(
                            Code::TemplateNotAFunction,
                            field_span,
                            format!("{name} is not a method but has arguments"),
                            "a map key, not a function",
                        ));
                    }
                    match map_get(&cur, name) {
                        Some(v) => v,
                        None if self.strict && !truth_test => {
                            return Err(self.unknown_variable(&cur, &shown, name, field_span, i == 0 && root.is_none(), root))
                        }
                        None => Value::UNDEFINED,
                    }
                }
                _ => {
                    return Err(error(
                        Code::TemplateType,
                        field_span,
                        format!("can't evaluate field {name} in type {}", type_name(&cur)),
                        format!("`{}` is a {}", if i == 0 { root.unwrap_or(".") } else { &shown[..shown.len() - name.len() - 1] }, type_name(&cur)),
                    ))
                }
            };
        }
        Ok(cur)
    }

    fn unknown_variable(&self, map: &Value, shown: &str, name: &str, span: Span, top: bool, root: Option<&str>) -> Box<Diagnostic> {
        let is_env = shown.starts_with(".Env.") && shown.matches('.').count() == 2;
        let message = if is_env { format!("environment variable `{name}` is not set (`{shown}`)") } else { format!("unknown variable `{shown}`") };
        let mut d = Diagnostic::error(Code::TemplateUnknownVariable, message).at(span, "no such key").in_original();
        let keys = map_keys(map);
        if let Some(s) = suggest(name, keys.iter().map(String::as_str)) {
            d = d.help(format!("did you mean `{}{}`?", &shown[..shown.len() - name.len()], s));
        } else if top && root.is_none() && !is_env {
            d = d.help(format!("pass it with `--var {name}=...`, or test for it first with `{{{{ if .{name} }}}}`"));
        }
        if !is_env {
            d = d.note("`--strict` is on; without it this renders as `<no value>`");
        }
        Box::new(d)
    }

    /// Evaluates one argument to a value.
    fn eval_arg(&mut self, dot: &Value, arg: &Operand, truth_test: bool) -> R<Value> {
        Ok(match &arg.kind {
            OperandKind::Dot => dot.clone(),
            OperandKind::Nil => Value::from(()),
            OperandKind::Bool(b) => Value::from(*b),
            OperandKind::Num(Number::Int(n)) => Value::from(*n),
            OperandKind::Num(Number::Float(f)) => Value::from(*f),
            OperandKind::Str(s) => Value::from(s.as_str()),
            OperandKind::Field(path) => self.field_chain(dot.clone(), path, arg.span, false, truth_test, None)?,
            OperandKind::Var(name, fields) => {
                let v = self.var(name, arg.span)?;
                if fields.is_empty() {
                    v
                } else {
                    self.field_chain(v, fields, arg.span, false, truth_test, Some(name))?
                }
            }
            OperandKind::Func(name) => self.call(dot, name, arg.span, &[], None, arg.span)?,
            OperandKind::Pipe(pipe, fields) => {
                if fields.is_empty() {
                    self.eval_pipeline(dot, pipe, truth_test)?
                } else {
                    let v = self.eval_pipeline(dot, pipe, false)?;
                    self.field_chain(v, fields, arg.span, false, truth_test, Some("(...)"))?
                }
            }
        })
    }

    fn call(&mut self, dot: &Value, name: &str, name_span: Span, args: &[Operand], final_value: Option<(Value, Span)>, span: Span) -> R<Value> {
        self.step(span)?;
        if name == "and" || name == "or" {
            if args.is_empty() && final_value.is_none() {
                return Err(error(Code::TemplateWrongArgCount, span, format!("wrong number of args for {name}: want at least 1 got 0"), ""));
            }
            // Short-circuit: return the first operand that decides, else the last one.
            let want = name == "or";
            let mut last = Value::UNDEFINED;
            for arg in args {
                last = self.eval_arg(dot, arg, true)?;
                if truth(&last) == want {
                    return Ok(last);
                }
            }
            if let Some((v, _)) = final_value {
                last = v;
            }
            return Ok(last);
        }
        let lenient = name == "not";
        let mut values = Vec::with_capacity(args.len() + 1);
        let mut spans = Vec::with_capacity(args.len() + 1);
        // Arguments that are missing values (a variable nobody set), for the error's cause.
        let mut missing = Vec::new();
        for arg in args {
            let v = self.eval_arg(dot, arg, lenient)?;
            if v.is_undefined() {
                missing.push((values.len(), self.operand_text(arg)));
            }
            values.push(missing_to_nil(v));
            spans.push(arg.span);
        }
        if let Some((v, s)) = final_value {
            if v.is_undefined() {
                missing.push((values.len(), self.src[s.start..s.end].trim().to_string()));
            }
            values.push(missing_to_nil(v));
            spans.push(s);
        }
        self.funcs.call(name, &values).map_err(|e| self.call_error(e, name, name_span, span, &spans, &missing))
    }

    /// An operand as written: `.A.B` or `$x.A` for a field, else its source.
    fn operand_text(&self, arg: &Operand) -> String {
        match &arg.kind {
            OperandKind::Field(path) => format!(".{}", path.join(".")),
            OperandKind::Var(name, fields) if !fields.is_empty() => format!("{name}.{}", fields.join(".")),
            OperandKind::Var(name, _) => self.origins.get(name).cloned().unwrap_or_else(|| name.clone()),
            _ => self.src[arg.span.start..arg.span.end].trim().to_string(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call_error(&self, e: FuncError, name: &str, name_span: Span, span: Span, spans: &[Span], missing: &[(usize, String)]) -> Box<Diagnostic> {
        let (at, label) = match e.arg.and_then(|i| spans.get(i)) {
            Some(s) => (*s, "this argument"),
            None if e.code == Code::TemplateWrongArgCount => (span, "in this call"),
            None => (span, ""),
        };
        let mut d = Diagnostic::error(e.code, e.message).at(at, label).in_original();
        if at != name_span && e.code != Code::TemplateErrorCalled {
            d = d.also(name_span, format!("in this call to `{name}`"));
        }
        if let Some(h) = e.help {
            d = d.help(h);
        }
        // The argument to blame is a variable nobody set: say so, and how to set it.
        if let Some((_, expression)) = missing.iter().find(|(i, _)| Some(*i) == e.arg) {
            d = crate::template::missing::explain_argument(d, expression);
        }
        Box::new(d)
    }
}
