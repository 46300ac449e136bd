//! rockerc compiles Rockerfiles into plain Dockerfiles and a POSIX sh script that builds them
//! with nothing but the docker CLI.
//!
//! The pipeline, one module per stage, data flowing one way:
//! [`template`] -> [`syntax`] -> [`analyze`] -> [`graph`] -> [`lower`] -> [`emit`].

pub mod analyze;
pub mod diagnostic;
pub mod emit;
pub mod graph;
pub mod lower;
pub mod source;
pub mod syntax;
pub mod template;
