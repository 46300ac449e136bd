//! Template rendering in front of the parser: Rocker's Go `text/template` dialect (and plain
//! Jinja), evaluated with minijinja's value model (Go) or minijinja itself (Jinja), with a
//! [`SourceMap`] from rendered text back to the file.
//!
//! How a file selects its dialect: [`detect_dialect`]; the template language as users see it:
//! `docs/templates.md`.

mod budget;
pub mod fragment;
mod funcs;
mod gofmt;
mod gotmpl;
mod image;
mod jinja;
mod jinja_tags;
pub mod memory;
pub mod missing;
mod value;
mod vars;
mod yaml;

pub use funcs::shell_quote;
pub use missing::Missing;
pub use vars::{load_vars, var_input_files, Vars};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{Segment, SourceFile, SourceMap, Span};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Rendered text larger than this is an error in either dialect, not an out-of-memory abort.
/// Far above any real file: the benchmark's generated 1000-stage file is 6 MB, and the parser's
/// instruction cap ([`crate::syntax::MAX_INSTRUCTIONS`]) stops most files well before this.
pub const MAX_RENDERED_BYTES: usize = 32 << 20;

/// The template language a Rockerfile is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    /// Go's `text/template`, as Rocker rendered it (the default).
    #[default]
    Go,
    /// Jinja, as minijinja implements it.
    Jinja,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Go => "go",
            Dialect::Jinja => "jinja",
        }
    }

    pub fn from_name(name: &str) -> Option<Dialect> {
        match name.trim().to_ascii_lowercase().as_str() {
            "go" | "gotemplate" | "go-template" => Some(Dialect::Go),
            "jinja" | "jinja2" | "j2" => Some(Dialect::Jinja),
            _ => None,
        }
    }
}

/// Where template variables come from. `-vars` files merge in order, then `-var` assignments
/// (later wins) override them; `.Env` is the environment at compile time.
#[derive(Clone, Debug, Default)]
pub struct TemplateOptions {
    /// `-vars FILE`, in command-line order (globs allowed, as in Rocker).
    pub var_files: Vec<PathBuf>,
    /// `-var K=V`, raw, in command-line order.
    pub vars: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Unknown variables are errors (with a suggestion) instead of rendering `<no value>`.
    pub strict: bool,
    /// `--demand-artifacts`: the `image` helper must match an artifact.
    pub demand_artifacts: bool,
    /// Forces a dialect; `None` lets the file choose ([`detect_dialect`]).
    pub dialect: Option<Dialect>,
    /// Where relative `-vars` and `-var K=@file` paths are resolved; `None` is the current
    /// directory.
    pub base_dir: Option<PathBuf>,
    /// The checkout: folders whose files may come from a pull request. A vars file named inside
    /// one (`-vars vars/*.yml`, `-var K=@notes.txt`, or an absolute path into it) is read only if
    /// it is still inside one once its links are followed. Empty: `base_dir` (or the current
    /// directory). A path that names a file outside every one of them is the invoker's choice.
    pub checkout: Vec<PathBuf>,
    /// `--secret NAME`: `.NAME` and `.Env.NAME` render as `${NAME}`, which the build script
    /// fills from its environment for the RUNs that use it.
    pub secrets: Vec<String>,
}

/// The Rockerfile after templates, and where each part of it came from.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub text: String,
    pub map: SourceMap,
    /// Problems that did not stop rendering (e.g. a `-vars` glob that matched nothing).
    pub warnings: Vec<Diagnostic>,
    /// Expressions that rendered a missing value (see [`missing`]).
    pub missing: Vec<Missing>,
}

/// The directive that selects a dialect on a file's first line: `# rockerc: dialect=jinja`.
const DIRECTIVE: &str = "rockerc:";

/// The dialect of `file`: `options.dialect` if set, else a first-line directive
/// (`# rockerc: dialect=jinja` or `dialect=go`), else the extension (`.j2`, `.jinja`), else Go.
pub fn detect_dialect(file: &SourceFile, options: &TemplateOptions) -> Dialect {
    if let Some(d) = options.dialect {
        return d;
    }
    let first = file.text.lines().next().unwrap_or("").trim();
    if let Some(rest) = first.strip_prefix('#').map(str::trim).and_then(|r| r.strip_prefix(DIRECTIVE)) {
        if let Some(d) = rest.trim().strip_prefix("dialect").map(|r| r.trim_start().trim_start_matches('=')).and_then(Dialect::from_name) {
            return d;
        }
    }
    let name = file.name.to_ascii_lowercase();
    if name.ends_with(".j2") || name.ends_with(".jinja") || name.ends_with(".jinja2") {
        return Dialect::Jinja;
    }
    Dialect::Go
}

/// Renders `file`. Diagnostics point into the original file ([`Diagnostic::in_original`]).
pub fn render(file: &SourceFile, options: &TemplateOptions) -> Result<Rendered, Diagnostics> {
    let _watch = memory::watch();
    let vars = load_vars(options)?;
    render_with_vars(file, options, &vars)
}

/// Renders `file` with variables already loaded by [`load_vars`]. The dialect line is rockerc's,
/// not Docker's: it is left out of the rendered text, so a `# escape=` directive after it is still
/// the first line Docker's parser sees.
pub fn render_with_vars(file: &SourceFile, options: &TemplateOptions, vars: &Vars) -> Result<Rendered, Diagnostics> {
    let _watch = memory::watch();
    let rendered = render_all(file, options, vars)?;
    Ok(strip_dialect_line(file, rendered))
}

/// Length of the first line (with its newline) when it is a dialect directive.
fn dialect_line_len(file: &SourceFile) -> Option<usize> {
    let first = file.text.split_inclusive('\n').next()?;
    let body = first.trim().strip_prefix('#')?.trim().strip_prefix(DIRECTIVE)?;
    body.trim().strip_prefix("dialect")?;
    Some(first.len())
}

fn strip_dialect_line(file: &SourceFile, rendered: Rendered) -> Rendered {
    let Some(len) = dialect_line_len(file) else { return rendered };
    if !rendered.text.starts_with(&file.text[..len]) {
        return rendered;
    }
    let text = rendered.text[len..].to_string();
    let segments: Vec<Segment> = if rendered.map.segments().is_empty() {
        vec![Segment { rendered_start: 0, len: text.len(), original_start: len, verbatim: true }]
    } else {
        rendered
            .map
            .segments()
            .iter()
            .filter(|s| s.rendered_start + s.len > len)
            .map(|s| {
                let cut = len.saturating_sub(s.rendered_start);
                Segment {
                    rendered_start: s.rendered_start + cut - len,
                    len: s.len - cut,
                    original_start: if s.verbatim { s.original_start + cut } else { s.original_start },
                    verbatim: s.verbatim,
                }
            })
            .collect()
    };
    // What moved up by the dialect line's length; a missing value on that line is dropped with it.
    let missing = rendered
        .missing
        .into_iter()
        .filter(|m| m.rendered.start >= len)
        .map(|m| Missing { rendered: Span::new(m.rendered.start - len, m.rendered.end - len), ..m })
        .collect();
    Rendered { text, map: SourceMap::from_segments(segments), warnings: rendered.warnings, missing }
}

fn render_all(file: &SourceFile, options: &TemplateOptions, vars: &Vars) -> Result<Rendered, Diagnostics> {
    let dialect = detect_dialect(file, options);
    let has_template = match dialect {
        Dialect::Go => file.text.contains("{{"),
        Dialect::Jinja => file.text.contains("{{") || file.text.contains("{%") || file.text.contains("{#"),
    };
    if !has_template {
        return Ok(Rendered { text: file.text.clone(), map: SourceMap::identity(), warnings: vars.warnings.clone(), missing: Vec::new() });
    }
    let data = vars.data(options);
    let funcs = funcs::Funcs { image: image::ImageResolver::from_vars(&data), budget: budget::Budget::default() };
    let result = match dialect {
        Dialect::Go => gotmpl::render(&file.text, data, &funcs, options.strict),
        Dialect::Jinja => jinja::render(&file.text, data, funcs, options.strict),
    };
    match result {
        Ok((text, segments, missing)) => Ok(Rendered { text, map: SourceMap::from_segments(segments), warnings: vars.warnings.clone(), missing }),
        Err(d) => {
            let mut all = vars.warnings.clone();
            all.push(*d);
            Err(Diagnostics(all))
        }
    }
}
