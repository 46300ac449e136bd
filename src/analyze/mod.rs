//! AST -> a checked [`Program`]: typed instructions split into stages, with the scopes that
//! matter at compile time (MOUNTs per FROM, ARG/ENV, WORKDIR, USER, SHELL). (To be written.)

pub mod expand;
