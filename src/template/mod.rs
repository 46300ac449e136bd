//! Template rendering in front of the parser: Rocker's Go `text/template` dialect (and plain
//! Jinja), evaluated with minijinja, with a [`SourceMap`] from rendered text back to the file.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{SourceFile, SourceMap, Span};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where template variables come from. `-vars` files merge in order, then `-var` assignments
/// (later wins) override them; `.Env` is the environment at compile time.
#[derive(Clone, Debug, Default)]
pub struct TemplateOptions {
    /// `-vars FILE`, in command-line order.
    pub var_files: Vec<PathBuf>,
    /// `-var K=V`, raw, in command-line order.
    pub vars: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Unknown variables are errors (with a suggestion) instead of rendering `<no value>`.
    pub strict: bool,
}

/// The Rockerfile after templates, and where each part of it came from.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub text: String,
    pub map: SourceMap,
}

/// Renders `file`. Diagnostics point into the original file ([`Diagnostic::in_original`]).
pub fn render(file: &SourceFile, _options: &TemplateOptions) -> Result<Rendered, Diagnostics> {
    if let Some(at) = file.text.find("{{") {
        return Err(Diagnostic::error("template-unsupported", "templates (`{{ ... }}`) are not supported yet")
            .at(Span::new(at, at + 2), "template action starts here")
            .in_original()
            .into());
    }
    Ok(Rendered { text: file.text.clone(), map: SourceMap::identity() })
}
