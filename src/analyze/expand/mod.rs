//! Docker's word expansion (BuildKit's shell lexer): quote removal, escapes, `$X`, `${X:-d}` and
//! friends, as Dockerfile instructions apply it at build time. (To be written.)

mod pattern;
mod unicode;
