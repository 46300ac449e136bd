//! The stage graph (petgraph). (To be written.)
