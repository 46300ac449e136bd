//! Logical lines -> instructions, with nom. (To be written.)

use super::Parsed;
use crate::diagnostic::Diagnostic;

pub fn parse(_text: &str) -> Result<Parsed, Diagnostic> {
    Err(Diagnostic::error("not-implemented", "the parser is not written yet"))
}
