//! Template variables without a value, reported by their cause.
//!
//! Without `--strict`, a variable nobody set renders as `<no value>` (Go, as Rocker did) or as
//! nothing (Jinja). What reaches the Rockerfile then fails far from the cause: `MOUNT
//! {{ .Env.KEY }}:/k` says "volume destination `<no` is not an absolute path", `TAG
//! app:{{ .Version }}` says "image names cannot contain ' '". The renderers record each such
//! expression ([`Missing`]); an error on a rendered line that holds one is reported as what it
//! is (the variable, the `{{ ... }}` that reads it, how to set it), with the symptom as a note,
//! and every other one is a warning.

use crate::diagnostic::{Code, Coords, Diagnostic, Severity};
use crate::source::Span;

/// An expression that rendered a missing value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// The whole `{{ ... }}` in the file as the user wrote it.
    pub action: Span,
    /// What it reads, as written: `.Version`, `.Env.GIT_SSH_KEY`, `Version`, `printf "%s" .X`.
    pub expression: String,
    /// What it wrote into the rendered text, there.
    pub rendered: Span,
    /// How it rendered: `<no value>` (Go) or `` (Jinja).
    pub shown: &'static str,
    /// It is in a fragment an INCLUDE brought in: `action` is in that file, so diagnostics
    /// point at `rendered`, which the source map takes into the fragment.
    pub in_fragment: bool,
}

impl Missing {
    /// Points `d` at the expression, in the file it was written in.
    fn place(&self, d: Diagnostic, label: String) -> Diagnostic {
        if self.in_fragment {
            d.at(self.rendered, label)
        } else {
            d.at(self.action, label).in_original()
        }
    }
}

impl Missing {
    fn help(&self) -> String {
        help(&self.expression, !self.shown.is_empty())
    }

    fn renders_as(&self) -> String {
        if self.shown.is_empty() {
            "renders as nothing".to_string()
        } else {
            format!("renders as `{}`", self.shown)
        }
    }
}

/// `-var`, `-vars` or the environment: where the value of `expr` would come from, in words, and
/// the template's way to give a default (`go`: the Go dialect, else Jinja).
fn help(expr: &str, go: bool) -> String {
    let bare = expr.strip_prefix('.').unwrap_or(expr);
    let parts: Vec<&str> = bare.split('.').collect();
    let path = (go == expr.starts_with('.') && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))).then_some(parts);
    let default = if go { format!("`{{{{ or {expr} \"...\" }}}}`") } else { format!("`{{{{ {expr} | default(\"...\") }}}}`") };
    match path.as_deref() {
        Some(["Env", var]) => {
            format!("set the environment variable: `export {var}=...` (or `{var}=... rockerc ...`); or give a default in the template: {default}")
        }
        Some([name]) => format!("set it: `-var {name}=...`, or `{name}: ...` in a `-vars` file; or give a default in the template: {default}"),
        Some([first, rest @ ..]) => {
            format!("set it in a `-vars` file (`{first}:` with `{}` under it); or give a default in the template: {default}", rest.join("."))
        }
        _ => format!("give what it reads a value (`-var`, `-vars` or the environment), or a default in the template: {default}"),
    }
}

/// `d`, an error about a function argument that is `expression`, a variable with no value: the
/// cause as a note, how to set it as the help.
pub fn explain_argument(d: Diagnostic, expression: &str) -> Diagnostic {
    d.note(format!("`{expression}` has no value")).help(help(expression, true)).note(STRICT)
}

const STRICT: &str = "`--strict` reports every template variable that has no value, before anything else is checked";

/// The error a symptom of `missing` becomes: the variable at its expression, the symptom as a
/// note.
fn as_cause(symptom: &Diagnostic, missing: &Missing) -> Diagnostic {
    let mut d = missing.place(Diagnostic::error(Code::TemplateNoValue, format!("`{}` has no value", missing.expression)), missing.renders_as()).note(format!(
        "so: {}{}",
        symptom.message,
        symptom.primary.as_ref().filter(|l| !l.message.is_empty()).map(|l| format!(" ({})", l.message)).unwrap_or_default()
    ));
    d = d.help(missing.help());
    d.note(STRICT)
}

/// The warning for a missing value that caused no error.
fn as_warning(missing: &Missing) -> Diagnostic {
    missing
        .place(Diagnostic::warning(Code::TemplateNoValue, format!("`{}` has no value: it {}", missing.expression, missing.renders_as())), String::new())
        .help(missing.help())
        .note(STRICT)
}

/// The line of `text` that holds `at`, as a byte range.
fn line_of(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    (start, end)
}

/// `diagnostics` (spans in `rendered`), with each error on a line where a missing value landed
/// reported as that value instead.
pub fn blame(diagnostics: Vec<Diagnostic>, missing: &[Missing], rendered: &str) -> Vec<Diagnostic> {
    if missing.is_empty() {
        return diagnostics;
    }
    let mut out: Vec<Diagnostic> = Vec::new();
    for d in diagnostics {
        let culprit = match (&d.primary, d.severity, d.coords) {
            (Some(primary), Severity::Error, Coords::Rendered) => {
                let (start, _) = line_of(rendered, primary.span.start);
                let (_, end) = line_of(rendered, primary.span.end);
                missing.iter().find(|m| m.rendered.start >= start && m.rendered.start <= end)
            }
            _ => None,
        };
        match culprit {
            Some(m) => {
                let cause = as_cause(&d, m);
                if !out.contains(&cause) {
                    out.push(cause);
                }
            }
            None => out.push(d),
        }
    }
    out
}

/// A warning for each expression (once, however often it rendered) whose missing value landed
/// on a line that is not a comment.
pub fn warnings(missing: &[Missing], rendered: &str) -> Vec<Diagnostic> {
    let mut seen: Vec<(bool, Span)> = Vec::new();
    let mut out = Vec::new();
    for m in missing {
        let (start, end) = line_of(rendered, m.rendered.start);
        if rendered[start..end].trim_start().starts_with('#') || seen.contains(&(m.in_fragment, m.action)) {
            continue;
        }
        seen.push((m.in_fragment, m.action));
        out.push(as_warning(m));
    }
    out
}
