//! Rockerfile text -> [`Ast`], with a span on every node.
//!
//! Two layers, as in BuildKit: `lexer` turns physical lines into logical instructions (parser
//! directives, the escape character, line continuations with their comment and blank lines,
//! heredoc bodies) while keeping a map from every logical character back to its byte in the
//! text; `parser` (nom) splits each logical line into keyword, flags and argument nodes by the
//! form its instruction takes. Nothing here knows what an instruction *does*.

// `Diagnostic` is the project's one error type and is returned by value by design; a parse
// error ends the parse, so its size costs nothing on the hot path.
#![allow(clippy::result_large_err)]

pub mod ast;
pub mod dump;
mod heredoc;
pub mod include;
pub mod json;
mod json_array;
mod lexer;
mod parser;

pub use ast::*;
pub use heredoc::variable_name_len;
pub use parser::{MAX_INSTRUCTIONS, MAX_STAGES};

use crate::diagnostic::Diagnostic;

/// A parse and the warnings it produced (empty continuation lines, ...).
#[derive(Clone, Debug)]
pub struct Parsed {
    pub ast: Ast,
    pub warnings: Vec<Diagnostic>,
}

/// Parses rendered Rockerfile text. Spans in the result are byte offsets into `text`.
pub fn parse(text: &str) -> Result<Parsed, Diagnostic> {
    parser::parse(text)
}
