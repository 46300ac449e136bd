//! rockerc's integration tests: one binary, so every test shares one build, one set of helpers
//! and one schedule (`cargo test --test integration`). A module per concern; `common` holds what
//! they share: the [`common::Test`] builder that runs the real `rockerc` binary and checks what a
//! user sees, the Docker engine and its base images, and what looks inside images.
//!
//! Run one module or one test by its path: `cargo test --test integration cli::`,
//! `cargo test --test integration e2e::export_import_ships_only_the_binary`.
//!
//! The tests run at the same time, on one engine: every name a test gives the engine (tags,
//! containers, volumes, networks) is unique to it, a build that may meet another test's `rmi`
//! runs with `--no-cache`, and what must run alone takes [`common::engine_lock`].

mod common;

mod builder;
mod cache;
mod cleanup;
mod cli;
mod conformance_parser;
mod conformance_shell;
mod corpus;
mod diagnostics;
mod differential;
mod dot;
mod dropin;
mod e2e;
mod e2e_templates;
mod emit_ast;
mod expansion;
mod explain;
mod fusion;
mod fuzz_regressions;
mod golden;
mod grammar;
mod hostile;
mod newcomer;
mod parity;
mod podman;
mod progress;
mod remote;
mod rocker_suite;
mod runtime;
mod secrets;
mod subcommands;
mod template_corpus;
mod template_go;
mod template_jinja;
mod template_robustness;
mod template_vars;
