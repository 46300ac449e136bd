//! BuildKit's s-expression dump of the parser layer (the format of the conformance `result`
//! files). (To be written.)
