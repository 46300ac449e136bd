//! The one error type. Every stage reports problems as [`Diagnostic`]s carrying spans; they are
//! turned into text (or JSON) exactly once, by [`Diagnostic::render`], at the edge of the program.

mod code;

pub use code::Code;

use crate::source::{SourceFile, SourceMap, Span};
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Which text a diagnostic's spans point into.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Coords {
    /// The rendered Rockerfile (after templates); mapped back through the [`SourceMap`].
    #[default]
    Rendered,
    /// The file as the user wrote it (template errors are found before there is rendered text).
    Original,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The class of problem; its name (`unknown-instruction`) is what editors and tests key on.
    pub code: Code,
    pub message: String,
    /// Where the problem is; `None` for problems with no place in the file (a missing context dir).
    pub primary: Option<Label>,
    pub secondary: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
    pub coords: Coords,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
            coords: Coords::Rendered,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    /// Points the diagnostic at `span`, with `label` printed under the caret (may be empty).
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.primary = Some(Label { span, message: label.into() });
        self
    }

    pub fn also(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label { span, message: label.into() });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn in_original(mut self) -> Diagnostic {
        self.coords = Coords::Original;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Where the primary span lands in the original file: 1-based (line, column).
    pub fn location(&self, file: &SourceFile, map: &SourceMap) -> Option<(usize, usize)> {
        let span = self.original_span(self.primary.as_ref()?.span, map, file);
        Some(file.line_col(span.start))
    }

    /// Where the primary span lands in the Rockerfile; for a line an INCLUDE brought in, the
    /// INCLUDE's place in the Rockerfile.
    fn original_span(&self, span: Span, map: &SourceMap, file: &SourceFile) -> Span {
        match self.coords {
            Coords::Rendered => widen_to_action(map.span_to_original(span), &file.text),
            Coords::Original => span,
        }
    }

    /// Where a span was written: the file (the Rockerfile or a fragment) and the span there,
    /// then the INCLUDE lines that brought that file in, innermost first.
    fn locate<'a>(&self, span: Span, map: &'a SourceMap, file: &'a SourceFile) -> Vec<(&'a SourceFile, Span)> {
        match self.coords {
            Coords::Rendered => {
                let mut chain = map.locate(span, file);
                if let Some((f, s)) = chain.first_mut() {
                    *s = widen_to_action(*s, &f.text);
                }
                chain
            }
            Coords::Original => vec![(file, span)],
        }
    }

    /// rustc-style text:
    ///
    /// ```text
    /// error[unknown-instruction]: unknown instruction `RUNN`
    ///  --> Rockerfile:3:1
    ///   |
    /// 3 | RUNN echo hi
    ///   | ^^^^ did you mean `RUN`?
    /// ```
    pub fn render(&self, file: &SourceFile, map: &SourceMap, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let sev_color = match self.severity {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
        };
        let mut out = String::new();
        let head = format!("{}[{}]", self.severity.as_str(), self.code);
        let _ = writeln!(out, "{}{}", paint(sev_color, &head), paint("1", &format!(": {}", self.message)));

        let mut labels: Vec<(&Label, bool)> = Vec::new();
        if let Some(primary) = &self.primary {
            labels.push((primary, true));
        }
        labels.extend(self.secondary.iter().map(|l| (l, false)));

        // A problem with no place in the file (a `-vars` file that cannot be read) shows no
        // `-->` line: pointing at the Rockerfile would send the reader to the wrong file.
        let mut primary_width = 0;
        if !labels.is_empty() {
            // Each label in the file it points into; a label in a fragment brings the INCLUDE
            // lines that led there (as rustc shows a macro's expansion site).
            let mut located: Vec<(&SourceFile, usize, usize, usize, String, bool)> = Vec::new();
            let mut includes: Vec<(&SourceFile, Span)> = Vec::new();
            let mut at_depth: Vec<(&SourceFile, Span, usize, &Label, bool)> = Vec::new();
            for &(label, primary) in &labels {
                let chain = self.locate(label.span, map, file);
                let (f, span) = chain[0];
                at_depth.push((f, span, 0, label, primary));
                includes.extend(chain.into_iter().skip(1));
            }
            // The labels first, then the INCLUDE lines that led to them.
            at_depth.extend(includes.into_iter().map(|(f, span)| (f, span, 1, labels[0].0, false)));
            {
                for (f, span, depth, label, primary) in at_depth {
                    let (line, col) = f.line_col(span.start);
                    // Only the first line of a multi-line span is shown.
                    let line_len = f.line_text(line).chars().count();
                    let (end_line, end_col) = f.line_col(span.end);
                    let width = if end_line == line { end_col.saturating_sub(col).max(1) } else { (line_len + 1).saturating_sub(col).max(1) };
                    let message = if depth == 0 { label.message.clone() } else { "in this INCLUDE".to_string() };
                    let entry = (f, line, col, width, message, primary && depth == 0);
                    // An INCLUDE shown once is enough, however many labels lead through it.
                    if depth > 0 && located.iter().any(|l| std::ptr::eq(l.0, f) && l.1 == line && l.2 == col) {
                        continue;
                    }
                    located.push(entry);
                }
            }
            let gutter = located.iter().map(|l| l.1.to_string().len()).max().unwrap_or(1);
            if self.primary.is_some() {
                primary_width = located[0].1.to_string().len();
            }
            let (first_file, line, col, ..) = located[0];
            let _ = writeln!(out, "{:gutter$}{} {}:{}:{}", "", paint("1;34", "-->"), first_file.name, line, col);
            let bar = paint("1;34", "|");
            let _ = writeln!(out, "{:gutter$} {}", "", bar);
            let mut shown: (*const SourceFile, usize) = (first_file, 0);
            for (f, line, col, width, message, primary) in located {
                if !std::ptr::eq(shown.0, f) {
                    let _ = writeln!(out, "{:gutter$} {}", "", bar);
                    let _ = writeln!(out, "{:gutter$}{} {}:{}:{}", "", paint("1;34", ":::"), f.name, line, col);
                    let _ = writeln!(out, "{:gutter$} {}", "", bar);
                    shown = (f, 0);
                }
                let text = f.line_text(line);
                // Labels on the line just shown go under it, without repeating the line.
                if line != shown.1 {
                    let _ = writeln!(out, "{} {} {}", paint("1;34", &format!("{line:>gutter$}")), bar, text);
                    shown.1 = line;
                }
                let marker = if primary { "^" } else { "-" };
                // Columns count characters; tabs are kept so the caret lines up under them.
                let pad: String = text.chars().take(col - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                let carets = marker.repeat(width);
                let tail = if message.is_empty() { String::new() } else { format!(" {message}") };
                let _ = writeln!(out, "{:gutter$} {} {}{}", "", bar, pad, paint(if primary { sev_color } else { "1;34" }, &format!("{carets}{tail}")));
            }
        }
        let pad = " ".repeat(primary_width);
        for note in &self.notes {
            let _ = writeln!(out, "{pad} {} note: {}", paint("1;34", "="), note);
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} {} help: {}", paint("1;34", "="), help);
        }
        out
    }

    /// One JSON object per diagnostic (`--error-format json`), with 1-based positions in the
    /// original file.
    pub fn to_json(&self, file: &SourceFile, map: &SourceMap) -> serde_json::Value {
        // Positions in the file the span was written in; a span in a fragment also names that
        // file and the INCLUDE lines that brought it in (`included_from`, innermost first).
        let place = |span: Span| {
            let chain = self.locate(span, map, file);
            let at = |f: &SourceFile, span: Span| {
                let (line, column) = f.line_col(span.start);
                let (end_line, end_column) = f.line_col(span.end);
                serde_json::json!({
                    "line": line, "column": column, "end_line": end_line, "end_column": end_column,
                    "start": span.start, "end": span.end,
                })
            };
            let (f, span) = chain[0];
            let mut v = at(f, span);
            if chain.len() > 1 {
                v["file"] = serde_json::Value::String(f.name.clone());
                v["included_from"] = chain[1..]
                    .iter()
                    .map(|(f, s)| {
                        let mut w = at(f, *s);
                        w["file"] = serde_json::Value::String(f.name.clone());
                        w
                    })
                    .collect();
            }
            v
        };
        let label = |l: &Label| {
            let mut v = place(l.span);
            v["message"] = serde_json::Value::String(l.message.clone());
            v
        };
        serde_json::json!({
            "severity": self.severity.as_str(),
            "code": self.code.as_str(),
            "message": self.message,
            "file": file.name,
            "primary": self.primary.as_ref().map(label),
            "secondary": self.secondary.iter().map(label).collect::<Vec<_>>(),
            "notes": self.notes,
            "help": self.help,
        })
    }
}

/// A rendered span maps text a template action wrote (`{{ .Name }}`) to the action's first
/// character; a span that ends inside an action is widened to its closing `}}` on that line, so
/// the caret underlines the whole action that produced the text.
fn widen_to_action(span: Span, text: &str) -> Span {
    if span.is_empty() || span.end > text.len() {
        return span;
    }
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[span.end..].find('\n').map_or(text.len(), |i| span.end + i);
    // One character past the end: a span that maps to an action ends after its first `{`.
    let upto = (span.end + 1).min(line_end);
    let Some(before) = text.get(line_start..upto) else { return span };
    let Some(open) = before.rfind("{{") else { return span };
    if before[open..].contains("}}") {
        return span;
    }
    match text[line_start + open..line_end].find("}}") {
        Some(close) => Span::new(span.start, line_start + open + close + 2),
        None => span,
    }
}

/// Several diagnostics from one compile; at least one is an error when this is returned as `Err`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// The candidate closest to `word` (case-insensitively), if it is close enough to be a typo.
/// Distance is strsim's optimal string alignment (Levenshtein with an adjacent transposition
/// counting as one edit), so `RUNN`, `RNU` and `RU` are each one edit from `RUN`.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_l = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(&word_l, &c.to_lowercase()), c))
        .filter(|&(d, c)| d > 0 && d <= (c.chars().count().max(word.chars().count()) / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_and_the_line() {
        let file = SourceFile::new("Rockerfile", "FROM a\nRUNN echo hi\n");
        let d = Diagnostic::error(Code::UnknownInstruction, "unknown instruction `RUNN`").at(Span::new(7, 11), "did you mean `RUN`?");
        assert_eq!(
            d.render(&file, &SourceMap::identity(), false),
            "error[unknown-instruction]: unknown instruction `RUNN`\n\
             \x20--> Rockerfile:2:1\n\
             \x20 |\n\
             2 | RUNN echo hi\n\
             \x20 | ^^^^ did you mean `RUN`?\n"
        );
    }

    #[test]
    fn a_problem_without_a_place_names_no_file_position() {
        let file = SourceFile::new("Rockerfile", "FROM a\n");
        let d = Diagnostic::error(Code::VarMissingEquals, "`--var foo` has no `=`").help("write `--var foo=VALUE`");
        assert_eq!(d.render(&file, &SourceMap::identity(), false), "error[var-missing-equals]: `--var foo` has no `=`\n = help: write `--var foo=VALUE`\n");
    }

    #[test]
    fn labels_on_one_line_show_it_once() {
        let file = SourceFile::new("Rockerfile", "{{ assert .X }}\n");
        let d = Diagnostic::error(Code::TemplateAssertFailed, "assertion failed")
            .at(Span::new(10, 12), "this argument")
            .also(Span::new(3, 9), "in this call")
            .in_original();
        assert_eq!(
            d.render(&file, &SourceMap::identity(), false),
            "error[template-assert-failed]: assertion failed\n\
             \x20--> Rockerfile:1:11\n\
             \x20 |\n\
             1 | {{ assert .X }}\n\
             \x20 |           ^^ this argument\n\
             \x20 |    ------ in this call\n"
        );
    }

    #[test]
    fn a_span_ending_inside_an_action_underlines_the_action() {
        let text = "FROM a\nTAG app:{{ .V }} x\n";
        // `{{ .V }}` starts at byte 15; a rendered span maps to its first character.
        assert_eq!(widen_to_action(Span::new(15, 16), text), Span::new(15, 23));
        assert_eq!(widen_to_action(Span::new(11, 16), text), Span::new(11, 23));
        // Spans outside actions, or ending before one, stay as they are.
        assert_eq!(widen_to_action(Span::new(7, 10), text), Span::new(7, 10));
        assert_eq!(widen_to_action(Span::new(11, 15), text), Span::new(11, 15));
        assert_eq!(widen_to_action(Span::new(24, 25), text), Span::new(24, 25));
    }

    #[test]
    fn suggests_close_words_only() {
        let kws = ["RUN", "FROM", "EXPORT", "IMPORT", "MOUNT"];
        assert_eq!(suggest("RUNN", kws), Some("RUN"));
        assert_eq!(suggest("exprot", kws), Some("EXPORT"));
        assert_eq!(suggest("FORM", kws), Some("FROM"));
        assert_eq!(suggest("RNU", kws), Some("RUN"));
        assert_eq!(suggest("XYZZY", kws), None);
    }
}
