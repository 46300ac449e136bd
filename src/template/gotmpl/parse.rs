//! The parser of Go's `text/template`, as `text/template/parse` defines the grammar: a list of
//! text and actions, control structures closed by `{{end}}`, pipelines of commands, and the
//! parse-time checks Go makes (unknown functions, undeclared variables, `break` outside `range`).

use super::lex::{Item, Number, Tok};
use super::BoxedDiagnostic as _;
use crate::diagnostic::{suggest, Code, Diagnostic};
use crate::source::Span;
use std::collections::HashMap;

/// Control structures and parentheses nest at most this deep (so the parser and the evaluator
/// never overflow the stack).
pub const MAX_NESTING: usize = 100;

#[derive(Debug, Clone)]
pub enum Node {
    Text(Span),
    Action { span: Span, pipe: Pipe },
    If { span: Span, pipe: Pipe, list: Vec<Node>, else_list: Option<Vec<Node>> },
    With { span: Span, pipe: Pipe, list: Vec<Node>, else_list: Option<Vec<Node>> },
    Range { span: Span, pipe: Pipe, list: Vec<Node>, else_list: Option<Vec<Node>> },
    Template { span: Span, name: String, pipe: Option<Pipe> },
    Break(Span),
    Continue(Span),
}

#[derive(Debug, Clone)]
pub struct Pipe {
    pub span: Span,
    /// Variables declared (`:=`) or assigned (`=`) by this pipeline.
    pub decl: Vec<(String, Span)>,
    pub is_assign: bool,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub struct Command {
    pub span: Span,
    pub args: Vec<Operand>,
}

#[derive(Debug, Clone)]
pub struct Operand {
    pub span: Span,
    pub kind: OperandKind,
}

#[derive(Debug, Clone)]
pub enum OperandKind {
    Dot,
    Nil,
    Bool(bool),
    Num(Number),
    Str(String),
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B` (`$` alone is the root data)
    Var(String, Vec<String>),
    /// A function name.
    Func(String),
    /// `(pipeline)` followed by `.A.B` (possibly none).
    Pipe(Box<Pipe>, Vec<String>),
}

#[derive(Debug, Default)]
pub struct Tree {
    pub root: Vec<Node>,
    pub defines: HashMap<String, Vec<Node>>,
}

/// The function names the evaluator knows; unknown names are parse errors, as in Go.
pub trait FuncSet {
    fn has(&self, name: &str) -> bool;
    fn names(&self) -> Vec<&'static str>;
}

pub fn parse(items: &[Item], funcs: &dyn FuncSet) -> Result<Tree, Box<Diagnostic>> {
    let mut p = Parser { items, pos: 0, vars: vec!["$".to_string()], funcs, range_depth: 0, depth: 0, tree: Tree::default() };
    let (root, end) = p.list(true)?;
    if let Some((what, span)) = end {
        return Err(syntax(span, format!("unexpected {{{{{what}}}}}"), "nothing to close here"));
    }
    let mut tree = p.tree;
    tree.root = root;
    Ok(tree)
}

fn syntax(span: Span, message: impl Into<String>, label: impl Into<String>) -> Box<Diagnostic> {
    Box::new(Diagnostic::error(Code::TemplateSyntax, message).at(span, label).in_original())
}

struct Parser<'a> {
    items: &'a [Item],
    pos: usize,
    vars: Vec<String>,
    funcs: &'a dyn FuncSet,
    range_depth: usize,
    depth: usize,
    tree: Tree,
}

/// Why a list stopped: `{{end}}` or `{{else}}` (the `else` item is left for the caller).
type ListEnd = Option<(&'static str, Span)>;

impl Parser<'_> {
    fn peek(&self) -> Option<&Item> {
        self.items.get(self.pos)
    }

    fn next(&mut self) -> Option<&Item> {
        let item = self.items.get(self.pos);
        self.pos += 1;
        item
    }

    fn eof_span(&self) -> Span {
        self.items.last().map(|i| Span::point(i.span.end)).unwrap_or_default()
    }

    fn expect_close(&mut self, context: &str) -> Result<Span, Box<Diagnostic>> {
        match self.next().cloned() {
            Some(Item { tok: Tok::Close, span, .. }) => Ok(span),
            Some(item) => Err(syntax(item.span, format!("unexpected {} in {context}", describe(&item.tok)), "expected `}}`")),
            None => Err(syntax(self.eof_span(), format!("unexpected end of input in {context}"), "")),
        }
    }

    /// Parses nodes until the end of input, `{{end}}` or `{{else ...}}`.
    fn list(&mut self, top: bool) -> Result<(Vec<Node>, ListEnd), Box<Diagnostic>> {
        let mut nodes = Vec::new();
        while let Some(item) = self.next().cloned() {
            match item.tok {
                Tok::Text => nodes.push(Node::Text(item.span)),
                Tok::Open => {
                    let open = item.span;
                    match self.peek().map(|i| i.tok.clone()) {
                        Some(Tok::Keyword("end")) => {
                            self.pos += 1;
                            let close = self.expect_close("end")?;
                            return Ok((nodes, Some(("end", open.join(close)))));
                        }
                        Some(Tok::Keyword("else")) => {
                            self.pos += 1;
                            return Ok((nodes, Some(("else", open))));
                        }
                        Some(Tok::Keyword("define")) if top => {
                            self.pos += 1;
                            self.define(open)?;
                        }
                        _ => nodes.push(self.action(open)?),
                    }
                }
                other => return Err(syntax(item.span, format!("unexpected {}", describe(&other)), "")),
            }
        }
        Ok((nodes, None))
    }

    fn action(&mut self, open: Span) -> Result<Node, Box<Diagnostic>> {
        let Some(item) = self.peek().cloned() else {
            return Err(syntax(open, "unclosed action", ""));
        };
        match item.tok {
            Tok::Keyword(kw @ ("if" | "with" | "range")) => {
                self.pos += 1;
                self.control(kw, open)
            }
            Tok::Keyword("template") => {
                self.pos += 1;
                self.template_call(open)
            }
            Tok::Keyword("block") => {
                self.pos += 1;
                self.block(open)
            }
            Tok::Keyword(kw @ ("break" | "continue")) => {
                self.pos += 1;
                let close = self.expect_close(kw)?;
                let span = open.join(close);
                if self.range_depth == 0 {
                    return Err(syntax(span, format!("{{{{{kw}}}}} outside {{{{range}}}}"), "only allowed inside a range"));
                }
                Ok(if kw == "break" { Node::Break(span) } else { Node::Continue(span) })
            }
            Tok::Keyword("define") => {
                Err(syntax(item.span, "unexpected {{define}} inside a control structure", "").help("`define` is only allowed at the top level of the file"))
            }
            Tok::Close => Err(syntax(open.join(item.span), "missing value for command", "empty action")),
            _ => {
                let pipe = self.pipeline("command", false)?;
                let close = self.expect_close("command")?;
                Ok(Node::Action { span: open.join(close), pipe })
            }
        }
    }

    fn enter(&mut self, span: Span) -> Result<(), Box<Diagnostic>> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(Box::new(
                Diagnostic::error(Code::TemplateTooDeep, format!("template nesting is deeper than {MAX_NESTING} levels"))
                    .at(span, "too deeply nested")
                    .in_original(),
            ));
        }
        Ok(())
    }

    /// `if`, `with` and `range`: pipeline, list, optional else (or `else if` / `else with`), end.
    fn control(&mut self, kw: &'static str, open: Span) -> Result<Node, Box<Diagnostic>> {
        self.enter(open)?;
        let mark = self.vars.len();
        let pipe = self.pipeline(kw, kw == "range")?;
        self.expect_close(kw)?;
        if kw == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.list(false)?;
        if kw == "range" {
            self.range_depth -= 1;
        }
        let (else_list, end_span) = match end {
            None => {
                return Err(syntax(open, format!("unexpected end of input: {{{{{kw}}}}} has no {{{{end}}}}"), "opened here").help("close it with `{{ end }}`"))
            }
            Some(("end", span)) => (None, span),
            Some((_, else_span)) => {
                // `{{else if ...}}` / `{{else with ...}}` nest a new control that shares the end.
                let chained = match self.peek().map(|i| &i.tok) {
                    Some(Tok::Keyword(k @ ("if" | "with"))) if *k == kw => Some(*k),
                    _ => None,
                };
                if let Some(k) = chained {
                    self.pos += 1;
                    let nested = self.control(k, else_span)?;
                    let end = node_span(&nested);
                    (Some(vec![nested]), end)
                } else {
                    self.expect_close("else")?;
                    let (else_list, end) = self.list(false)?;
                    match end {
                        Some(("end", span)) => (Some(else_list), span),
                        Some((_, span)) => {
                            return Err(syntax(span, format!("expected {{{{end}}}}; found {{{{else}}}} again in {{{{{kw}}}}}"), "second else")
                                .also(else_span, "first else"))
                        }
                        None => {
                            return Err(syntax(open, format!("unexpected end of input: {{{{{kw}}}}} has no {{{{end}}}}"), "opened here")
                                .help("close it with `{{ end }}`"))
                        }
                    }
                }
            }
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        let span = open.join(end_span);
        Ok(match kw {
            "if" => Node::If { span, pipe, list, else_list },
            "with" => Node::With { span, pipe, list, else_list },
            _ => Node::Range { span, pipe, list, else_list },
        })
    }

    fn template_name(&mut self, context: &str) -> Result<(String, Span), Box<Diagnostic>> {
        match self.next().cloned() {
            Some(Item { tok: Tok::Str(name), span, .. }) => Ok((name, span)),
            Some(item) => Err(syntax(item.span, format!("unexpected {} in {context} clause", describe(&item.tok)), "expected a quoted template name")),
            None => Err(syntax(self.eof_span(), format!("unexpected end of input in {context} clause"), "")),
        }
    }

    fn template_call(&mut self, open: Span) -> Result<Node, Box<Diagnostic>> {
        let (name, _) = self.template_name("template")?;
        let pipe = if matches!(self.peek().map(|i| &i.tok), Some(Tok::Close)) { None } else { Some(self.pipeline("template", false)?) };
        let close = self.expect_close("template")?;
        Ok(Node::Template { span: open.join(close), name, pipe })
    }

    fn define(&mut self, open: Span) -> Result<(), Box<Diagnostic>> {
        let (name, name_span) = self.template_name("define")?;
        self.expect_close("define")?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (body, end) = self.list(false)?;
        self.vars = saved;
        match end {
            Some(("end", _)) => {}
            Some((_, span)) => return Err(syntax(span, "unexpected {{else}} in define", "")),
            None => return Err(syntax(open, "unexpected end of input: {{define}} has no {{end}}", "opened here")),
        }
        if self.tree.defines.insert(name.clone(), body).is_some() {
            return Err(syntax(name_span, format!("template {name:?} is defined twice"), "second definition"));
        }
        Ok(())
    }

    fn block(&mut self, open: Span) -> Result<Node, Box<Diagnostic>> {
        let (name, name_span) = self.template_name("block")?;
        let pipe = if matches!(self.peek().map(|i| &i.tok), Some(Tok::Close)) { None } else { Some(self.pipeline("block", false)?) };
        let close = self.expect_close("block")?;
        self.enter(open)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (body, end) = self.list(false)?;
        self.vars = saved;
        self.depth -= 1;
        match end {
            Some(("end", _)) => {}
            Some((_, span)) => return Err(syntax(span, "unexpected {{else}} in block", "")),
            None => return Err(syntax(open, "unexpected end of input: {{block}} has no {{end}}", "opened here")),
        }
        if self.tree.defines.insert(name.clone(), body).is_some() {
            return Err(syntax(name_span, format!("template {name:?} is defined twice"), "second definition"));
        }
        Ok(Node::Template { span: open.join(close), name, pipe })
    }

    /// `[decl] command ('|' command)*`, up to (not including) `}}` or `)`.
    fn pipeline(&mut self, context: &str, is_range: bool) -> Result<Pipe, Box<Diagnostic>> {
        let start = self.peek().map(|i| i.span.start).unwrap_or(0);
        let mut decl = Vec::new();
        let mut is_assign = false;
        // Declarations: `$x :=`, `$x =`, and in range `$i, $v :=`.
        let save = self.pos;
        while let (Some(Item { tok: Tok::Var(name), span, .. }), Some(next)) = (self.items.get(self.pos).cloned(), self.items.get(self.pos + 1).cloned()) {
            match next.tok {
                Tok::Declare | Tok::Assign => {
                    is_assign = next.tok == Tok::Assign;
                    decl.push((name, span));
                    self.pos += 2;
                    break;
                }
                Tok::Comma if is_range && decl.is_empty() => {
                    decl.push((name, span));
                    self.pos += 2;
                    continue;
                }
                _ => {
                    if !decl.is_empty() {
                        return Err(syntax(next.span, "expected `:=` or `=` after range variables", ""));
                    }
                    break;
                }
            }
        }
        if decl.is_empty() {
            self.pos = save;
        } else if is_assign {
            for (name, span) in &decl {
                if !self.vars.contains(name) {
                    return Err(self.undefined_variable(name, *span));
                }
            }
        }
        let mut cmds = Vec::new();
        loop {
            cmds.push(self.command(context)?);
            match self.peek().map(|i| &i.tok) {
                Some(Tok::Pipe) => {
                    self.pos += 1;
                }
                _ => break,
            }
        }
        if !is_assign {
            for (name, _) in &decl {
                self.vars.push(name.clone());
            }
        }
        let end = cmds.last().map(|c| c.span.end).unwrap_or(start);
        Ok(Pipe { span: Span::new(start, end), decl, is_assign, cmds })
    }

    fn command(&mut self, context: &str) -> Result<Command, Box<Diagnostic>> {
        let mut args = Vec::new();
        loop {
            let Some(item) = self.peek().cloned() else {
                return Err(syntax(self.eof_span(), format!("unexpected end of input in {context}"), ""));
            };
            match item.tok {
                Tok::Close | Tok::RParen | Tok::Pipe => {
                    if args.is_empty() {
                        let what = if matches!(item.tok, Tok::Pipe) { "missing value before `|`" } else { "missing value for command" };
                        return Err(syntax(item.span, what.to_string(), "expected a value"));
                    }
                    break;
                }
                _ => {
                    if !args.is_empty() && !item.space_before {
                        return Err(syntax(item.span, format!("unexpected {} in operand", describe(&item.tok)), "separate arguments with a space"));
                    }
                    args.push(self.operand()?);
                }
            }
        }
        let span = args[0].span.join(args[args.len() - 1].span);
        Ok(Command { span, args })
    }

    /// Field names directly following a term (`(x).A.B`, `$x.A`).
    fn fields(&mut self) -> Vec<String> {
        let mut fields = Vec::new();
        while let Some(Item { tok: Tok::Field(f), space_before: false, .. }) = self.peek() {
            fields.push(f.clone());
            self.pos += 1;
        }
        fields
    }

    fn operand(&mut self) -> Result<Operand, Box<Diagnostic>> {
        let item = self.next().cloned().expect("operand called on a token");
        let mut span = item.span;
        let kind = match item.tok {
            Tok::Dot => OperandKind::Dot,
            Tok::Nil => OperandKind::Nil,
            Tok::Bool(b) => OperandKind::Bool(b),
            Tok::Num(n) => OperandKind::Num(n),
            Tok::Char(c) => OperandKind::Num(Number::Int(c)),
            Tok::Str(s) => OperandKind::Str(s),
            Tok::Field(f) => {
                let mut path = vec![f];
                path.extend(self.fields());
                OperandKind::Field(path)
            }
            Tok::Var(name) => {
                if !self.vars.contains(&name) {
                    return Err(self.undefined_variable(&name, item.span));
                }
                OperandKind::Var(name, self.fields())
            }
            Tok::Ident(name) => {
                if !self.funcs.has(&name) {
                    let mut d = Diagnostic::error(Code::TemplateUnknownFunction, format!("function `{name}` is not defined"))
                        .at(item.span, "unknown function")
                        .in_original();
                    if name.eq_ignore_ascii_case("include") {
                        // Helm's and Rocker 0.2's habit: the fragment is an instruction here.
                        d = d.help(
                            "to splice in a file, use the INCLUDE instruction on a line of its own: `INCLUDE path/to/fragment` (the path is relative to this file, and the fragment is rendered with the same variables)",
                        );
                    } else if let Some(s) = suggest(&name, self.funcs.names()) {
                        d = d.help(format!("did you mean `{s}`?"));
                    }
                    return Err(Box::new(d));
                }
                OperandKind::Func(name)
            }
            Tok::LParen => {
                self.enter(item.span)?;
                let pipe = self.pipeline("parenthesized pipeline", false)?;
                self.depth -= 1;
                match self.next().cloned() {
                    Some(Item { tok: Tok::RParen, span: close, .. }) => span = span.join(close),
                    Some(other) => {
                        return Err(syntax(other.span, format!("unexpected {} in parenthesized pipeline", describe(&other.tok)), "expected `)`")
                            .also(item.span, "opened here"))
                    }
                    None => return Err(syntax(item.span, "unclosed left paren", "")),
                }
                OperandKind::Pipe(Box::new(pipe), self.fields())
            }
            other => return Err(syntax(item.span, format!("unexpected {} in operand", describe(&other)), "")),
        };
        // A field chain can only follow a value that has fields.
        if let Some(Item { tok: Tok::Field(_), space_before: false, span: fspan }) = self.peek() {
            return Err(
                syntax(*fspan, "unexpected field after this operand", "").help("wrap the call in parentheses to take a field of its result: `(f x).Field`")
            );
        }
        if let OperandKind::Var(_, f) | OperandKind::Pipe(_, f) | OperandKind::Field(f) = &kind {
            if !f.is_empty() {
                span.end = self.items[self.pos - 1].span.end;
            }
        }
        Ok(Operand { span, kind })
    }

    fn undefined_variable(&self, name: &str, span: Span) -> Box<Diagnostic> {
        let mut d = Diagnostic::error(Code::TemplateUndefinedVariable, format!("undefined variable `{name}`")).at(span, "not declared here").in_original();
        if let Some(s) = suggest(name, self.vars.iter().map(String::as_str)) {
            d = d.help(format!("did you mean `{s}`?"));
        } else {
            d = d.help(format!("declare it first with `{{{{ {name} := ... }}}}`"));
        }
        Box::new(d)
    }
}

fn node_span(node: &Node) -> Span {
    match node {
        Node::Text(s) | Node::Break(s) | Node::Continue(s) => *s,
        Node::Action { span, .. } | Node::If { span, .. } | Node::With { span, .. } | Node::Range { span, .. } | Node::Template { span, .. } => *span,
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Text => "text".into(),
        Tok::Open => "`{{`".into(),
        Tok::Close => "`}}`".into(),
        Tok::Field(f) => format!("field `.{f}`"),
        Tok::Dot => "`.`".into(),
        Tok::Var(v) => format!("variable `{v}`"),
        Tok::Ident(i) => format!("`{i}`"),
        Tok::Keyword(k) => format!("keyword `{k}`"),
        Tok::Bool(b) => format!("`{b}`"),
        Tok::Nil => "`nil`".into(),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Num(_) | Tok::Char(_) => "number".into(),
        Tok::Pipe => "`|`".into(),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Declare => "`:=`".into(),
        Tok::Assign => "`=`".into(),
        Tok::Comma => "`,`".into(),
    }
}
