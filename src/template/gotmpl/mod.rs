//! Go's `text/template` dialect: lexer, parser and an evaluator over minijinja values.

pub mod exec;
pub mod lex;
pub mod parse;

use crate::diagnostic::Diagnostic;
use crate::source::Segment;
use crate::template::funcs::Funcs;
use crate::template::Missing;
use minijinja::value::Value;

/// Builder methods for boxed diagnostics (errors are boxed to keep `Result`s small).
pub(crate) trait BoxedDiagnostic {
    fn help(self, help: impl Into<String>) -> Self;
    fn also(self, span: crate::source::Span, label: impl Into<String>) -> Self;
}

impl BoxedDiagnostic for Box<Diagnostic> {
    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    fn also(mut self, span: crate::source::Span, label: impl Into<String>) -> Self {
        self.secondary.push(crate::diagnostic::Label { span, message: label.into() });
        self
    }
}

struct KnownFuncs;

impl parse::FuncSet for KnownFuncs {
    fn has(&self, name: &str) -> bool {
        Funcs::has(name)
    }

    fn names(&self) -> Vec<&'static str> {
        Funcs::names()
    }
}

/// Renders `src` over `data`: the text, the source-map segments, and the actions that printed a
/// missing value.
pub fn render(src: &str, data: Value, funcs: &Funcs, strict: bool) -> Result<(String, Vec<Segment>, Vec<Missing>), Box<Diagnostic>> {
    let items = lex::lex(src)?;
    let tree = parse::parse(&items, &KnownFuncs).map_err(|e| note_open_action(src, &items, e))?;
    drop(items);
    let mut exec = exec::Exec::new(src, &tree, funcs, strict);
    exec.run(data)?;
    Ok((exec.out, exec.segments, exec.missing))
}

/// A parse error inside an action that began on an earlier line: most often that action's `}}`
/// is missing and it swallowed the lines after it, so point at where it opened too.
fn note_open_action(src: &str, items: &[lex::Item], e: Box<Diagnostic>) -> Box<Diagnostic> {
    let Some(at) = e.primary.as_ref().map(|p| p.span.start) else { return e };
    let open = items.iter().take_while(|i| i.span.start <= at).fold(None, |open, i| match i.tok {
        lex::Tok::Open => Some(i.span),
        lex::Tok::Close => None,
        _ => open,
    });
    match open {
        Some(open) if src.get(open.end..at).is_some_and(|between| between.contains('\n')) => {
            e.also(open, "the action that opens here runs on over the next line: is its `}}` missing?")
        }
        _ => e,
    }
}
