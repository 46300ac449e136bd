//! Variables the way Docker expands them at compile time: global ARGs in FROM lines (with
//! `--build-arg` overrides) decide which stage, TAGged image or external image a stage builds on;
//! inside a stage, ARG scoping and the ENV/ARG precedence of each builder decide what
//! `Program::scope_at` reports; and the lints that catch a global ARG used where Docker does not
//! see it, pinned verbatim.

use rockerc::analyze::{analyze_with, Base, Builder, Options as AnalyzeOptions, Program, VarValue, DEFAULT_PATH};
use rockerc::source::SourceFile;
use rockerc::{compile, Options};

fn build_args(args: &[(&str, &str)]) -> Vec<(String, String)> {
    args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The analysed program of `text` (no templates in these files).
fn program(text: &str, args: &[(&str, &str)]) -> Program {
    let ast = rockerc::syntax::parse(text).unwrap_or_else(|d| panic!("{}", d.message)).ast;
    let options = AnalyzeOptions { build_args: build_args(args), ..AnalyzeOptions::default() };
    analyze_with(&ast, text, &options).unwrap_or_else(|d| panic!("{:?}", d.0))
}

/// What `rockerc` prints for `text` on stderr: the errors of a failed compile, or the warnings
/// of a successful one, each rendered as the user reads it.
fn diagnostics(text: &str, args: &[(&str, &str)]) -> (bool, String) {
    let file = SourceFile::new("Rockerfile", text);
    let options = Options { build_args: build_args(args), ..Options::default() };
    match compile(&file, &options) {
        Ok(c) => (true, c.warnings.iter().map(|d| d.render(&file, &c.map, false)).collect::<Vec<_>>().join("\n")),
        Err(f) => (false, f.render(&file, false)),
    }
}

fn known(v: &str) -> VarValue {
    VarValue::Known(v.to_string())
}

// ---- FROM lines ----

#[test]
fn from_expands_the_global_args() {
    let p = program("ARG REPO=alpine\nARG TAG=3.19\nARG IMAGE=\"$REPO\":${TAG}\nFROM ${IMAGE}\n", &[]);
    assert_eq!(p.stages[0].from.image.value, "${IMAGE}");
    assert_eq!(p.stages[0].from.expanded, "alpine:3.19");
    assert_eq!(p.stages[0].from.base, Base::External("alpine:3.19".into()));
}

#[test]
fn build_args_override_global_defaults() {
    let text = "ARG TAG=3.19\nFROM alpine:${TAG}\n";
    assert_eq!(program(text, &[("TAG", "edge")]).stages[0].from.base, Base::External("alpine:edge".into()));
    // An ARG declared without a default takes its value from --build-arg alone.
    let text = "ARG TAG\nFROM alpine:${TAG:-latest}\n";
    assert_eq!(program(text, &[]).stages[0].from.expanded, "alpine:latest");
    assert_eq!(program(text, &[("TAG", "3")]).stages[0].from.expanded, "alpine:3");
    // A --build-arg with no ARG before the first FROM does not reach FROM lines.
    let text = "FROM alpine:${TAG:-latest}\n";
    assert_eq!(program(text, &[("TAG", "3")]).stages[0].from.expanded, "alpine:latest");
}

#[test]
fn an_expanded_name_can_name_a_stage_or_a_tagged_image() {
    let text = "ARG BASE=builder\nFROM busybox AS builder\nTAG app:v1\nFROM ${BASE}\nFROM app:${V:-v1}\n";
    let p = program(text, &[]);
    assert_eq!(p.stages[1].from.base, Base::Stage(0));
    assert_eq!(p.stages[2].from.base, Base::Tagged { stage: 0, item: 0, name: "app:v1".into() });
    // Stage names are case-insensitive, as in Docker.
    assert_eq!(program(text, &[("BASE", "BUILDER")]).stages[1].from.base, Base::Stage(0));
    // Overridden to an image, the same line builds on that image.
    assert_eq!(program(text, &[("BASE", "debian:12")]).stages[1].from.base, Base::External("debian:12".into()));
}

#[test]
fn a_redeclared_global_arg_without_a_value_forgets_its_default() {
    // The legacy builder, which the sh backend builds with, keeps the last declaration.
    let p = program("ARG TAG=1\nARG TAG\nFROM alpine:${TAG:-2}\n", &[]);
    assert_eq!(p.stages[0].from.expanded, "alpine:2");
}

#[test]
fn a_from_that_expands_to_nothing_is_an_error_at_the_variable() {
    let (ok, text) = diagnostics("ARG BASE\nFROM ${BASE}\nRUN true\n", &[]);
    assert!(!ok);
    assert_eq!(
        text,
        "error[empty-base-name]: FROM `${BASE}` names no image: it expands to nothing
 --> Rockerfile:2:6
  |
2 | FROM ${BASE}
  |      ^^^^^^^ `BASE` is declared without a default, and no --build-arg sets it
  = help: pass `--build-arg BASE=<image>`, or give it a default: `ARG BASE=<image>`
"
    );
    let (ok, text) = diagnostics("ARG BASE=\nFROM $BASE\n", &[]);
    assert!(!ok);
    assert!(text.contains("2 | FROM $BASE\n  |      ^^^^^ `BASE` is empty\n"), "{text}");
    let (ok, text) = diagnostics("FROM busybox\nARG BASE=alpine\nFROM ${BASE}\n", &[]);
    assert!(!ok);
    assert_eq!(
        text,
        "error[empty-base-name]: FROM `${BASE}` names no image: it expands to nothing
 --> Rockerfile:3:6
  |
3 | FROM ${BASE}
  |      ^^^^^^^ `BASE` is not declared before the first FROM, so it has no value here
  = note: stage 1 declares an ARG `BASE`, but FROM lines see only the ARGs declared before the first FROM
  = help: declare it at the top of the file, before the first FROM: `ARG BASE` (or `ARG BASE=<default>`)
"
    );
    assert!(diagnostics("ARG BASE\nFROM ${BASE}\n", &[("BASE", "alpine")]).0);
}

#[test]
fn a_from_that_expands_to_an_invalid_name_is_an_error_at_the_variable() {
    let (ok, text) = diagnostics("ARG TAG\nFROM alpine:${TAG}\n", &[]);
    assert!(!ok);
    assert_eq!(
        text,
        "error[bad-image-name]: FROM `alpine:${TAG}` expands to `alpine:`, which is not a valid image name
 --> Rockerfile:2:13
  |
2 | FROM alpine:${TAG}
  |             ^^^^^^ `TAG` is declared without a default, and no --build-arg sets it
  = note: the tag after `:` is empty
  = help: pass `--build-arg TAG=<image>`, or give it a default: `ARG TAG=<image>`
"
    );
    let (ok, text) = diagnostics("FROM Alpine\n", &[]);
    assert!(!ok);
    assert!(text.starts_with("error[bad-image-name]: invalid image name `Alpine` in FROM\n"), "{text}");
    let (ok, text) = diagnostics("ARG T=${U:?set_U}\nFROM alpine:${T}\n", &[]);
    assert!(!ok);
    assert!(text.starts_with("error[bad-expansion]: cannot expand the default of ARG `T`: U: set_U\n"), "{text}");
    let (ok, text) = diagnostics("FROM alpine:${T\n", &[]);
    assert!(!ok);
    assert!(text.starts_with("error[bad-expansion]: cannot expand `alpine:${T` in FROM: syntax error: missing '}'\n"), "{text}");
}

#[test]
fn an_undeclared_variable_in_from_is_a_warning() {
    let (ok, text) = diagnostics("FROM alpine${SUFFIX}\n", &[("SUFFIX", ":3")]);
    assert!(ok);
    assert_eq!(
        text,
        "warning[undefined-arg-in-from]: FROM uses `SUFFIX`, which no ARG before the first FROM declares
 --> Rockerfile:1:12
  |
1 | FROM alpine${SUFFIX}
  |            ^^^^^^^^^ `SUFFIX` is not declared before the first FROM, so it has no value here
  = note: --build-arg SUFFIX reaches FROM lines only through an ARG declared before the first FROM
  = help: declare it at the top of the file, before the first FROM: `ARG SUFFIX` (or `ARG SUFFIX=<default>`)
"
    );
}

#[test]
fn copy_from_is_not_expanded() {
    // Docker uses --from as written and fails on `$`; rockerc says so and what works instead.
    let (ok, text) = diagnostics("ARG SRC=builder\nFROM busybox AS builder\nFROM busybox\nCOPY --from=${SRC} /a /a\n", &[]);
    assert!(!ok);
    assert_eq!(
        text,
        "error[variable-in-copy-from]: Docker does not expand variables in COPY --from: `${SRC}`
 --> Rockerfile:4:6
  |
4 | COPY --from=${SRC} /a /a
  |      ^^^^^^^^^^^^^ used as written, which names no stage and no valid image
  = help: name a stage after the image before this one: `ARG SRC` before the first FROM, then `FROM ${SRC} AS src`, and write `COPY --from=src`
"
    );
}

// ---- Inside a stage: Program::scope_at ----

#[test]
fn a_global_arg_is_seen_in_a_stage_only_after_it_is_declared_again() {
    let p = program("ARG V=1\nFROM scratch\nRUN true\nARG V\nRUN true\n", &[]);
    for builder in [Builder::Legacy, Builder::BuildKit] {
        assert_eq!(p.scope_at(0, 0, builder).get("V"), VarValue::Unset);
        assert_eq!(p.scope_at(0, 2, builder).get("V"), known("1"));
    }
    // The --build-arg value wins over the global default.
    let p = program("ARG V=1\nFROM scratch\nARG V\n", &[("V", "2")]);
    assert_eq!(p.scope_at(0, 1, Builder::Legacy).get("V"), known("2"));
}

#[test]
fn arg_defaults_build_args_and_declarations_without_a_value() {
    let p = program("FROM scratch\nARG A=x\nARG B=${A}y C\nARG D=$C\n", &[("C", "c")]);
    let s = p.scope_at(0, 3, Builder::Legacy);
    assert_eq!((s.get("A"), s.get("B"), s.get("C"), s.get("D")), (known("x"), known("xy"), known("c"), known("c")));
    // Declared without a value and without a --build-arg: declared, but unset.
    let p = program("FROM scratch\nARG E\n", &[]);
    assert_eq!(p.scope_at(0, 1, Builder::Legacy).get("E"), VarValue::Unset);
    assert!(p.scope_at(0, 1, Builder::Legacy).declares("E"));
}

#[test]
fn env_values_are_expanded_with_the_values_before_the_line() {
    let p = program("FROM scratch\nENV A=1\nENV A=2 B=$A C=\"${A} and $A\"\n", &[]);
    let s = p.scope_at(0, 2, Builder::Legacy);
    assert_eq!((s.get("A"), s.get("B"), s.get("C")), (known("2"), known("1"), known("1 and 1")));
    assert_eq!(s.get("PATH"), known(DEFAULT_PATH));
    assert_eq!(s.expand("$PATH:/opt/bin").unwrap().value, known(&format!("{DEFAULT_PATH}:/opt/bin")));
}

#[test]
fn env_wins_over_an_arg_of_the_same_name() {
    // ENV after ARG: every builder uses the ENV (Docker's documented example).
    let p = program("FROM scratch\nARG V=arg\nENV V=env\n", &[("V", "build-arg")]);
    for builder in [Builder::Legacy, Builder::BuildKit] {
        assert_eq!(p.scope_at(0, 2, builder).get("V"), known("env"), "{builder:?}");
    }
    // ENV before ARG: the legacy builder (the sh backend's) still prefers the ENV; BuildKit lets
    // the later ARG win.
    let p = program("FROM scratch\nENV V=env\nARG V=arg\n", &[]);
    assert_eq!(p.scope_at(0, 2, Builder::Legacy).get("V"), known("env"));
    assert_eq!(p.scope_at(0, 2, Builder::BuildKit).get("V"), known("arg"));
    // `ENV V=${V:-default}` bakes an ARG into the image.
    let p = program("FROM scratch\nARG V\nENV V=${V:-v1.0.0}\n", &[("V", "v2")]);
    assert_eq!(p.scope_at(0, 2, Builder::Legacy).get("V"), known("v2"));
    let p = program("FROM scratch\nARG V\nENV V=${V:-v1.0.0}\n", &[]);
    assert_eq!(p.scope_at(0, 2, Builder::Legacy).get("V"), known("v1.0.0"));
}

#[test]
fn an_external_base_image_may_set_any_variable() {
    let p = program("FROM alpine\nARG V=1\nENV E=2\n", &[]);
    let s = p.scope_at(0, 2, Builder::Legacy);
    assert_eq!(s.get("HOME"), VarValue::Unknown);
    assert_eq!(s.get("E"), known("2"));
    // The legacy builder would prefer an ENV V of alpine's to the ARG; BuildKit would not.
    assert_eq!(s.get("V"), VarValue::UnlessBaseEnv("1".into()));
    assert_eq!(p.scope_at(0, 2, Builder::BuildKit).get("V"), known("1"));
    let e = s.expand("$HOME/app").unwrap();
    assert_eq!((e.value, e.expansion.unset), (VarValue::Unknown, vec!["HOME".to_string()]));
    assert_eq!(s.expand("/opt/$V").unwrap().value, VarValue::UnlessBaseEnv("/opt/1".into()));
    assert_eq!(s.expand("/opt/$E").unwrap().value, known("/opt/2"));
}

#[test]
fn a_stage_of_the_file_passes_on_its_env_and_to_buildkit_its_args() {
    let text = "FROM scratch AS base\nENV E=1\nARG A=2\nONBUILD ENV T=3\nFROM base\nRUN true\n";
    let p = program(text, &[]);
    let legacy = p.scope_at(1, 0, Builder::Legacy);
    assert_eq!((legacy.get("E"), legacy.get("A"), legacy.get("T")), (known("1"), VarValue::Unset, known("3")));
    let buildkit = p.scope_at(1, 0, Builder::BuildKit);
    assert_eq!((buildkit.get("E"), buildkit.get("A"), buildkit.get("T")), (known("1"), known("2"), known("3")));
}

#[test]
fn buildkit_platform_args_are_unknown_until_given() {
    let p = program("FROM scratch\nARG TARGETARCH\n", &[]);
    assert_eq!(p.scope_at(0, 1, Builder::BuildKit).get("TARGETARCH"), VarValue::Unknown);
    assert_eq!(p.scope_at(0, 1, Builder::Legacy).get("TARGETARCH"), VarValue::Unset);
    let p = program("FROM scratch\nARG TARGETARCH\n", &[("TARGETARCH", "arm64")]);
    assert_eq!(p.scope_at(0, 1, Builder::BuildKit).get("TARGETARCH"), known("arm64"));
}

// ---- The lint ----

#[test]
fn a_global_arg_used_in_a_stage_that_does_not_declare_it_is_a_warning() {
    let text = "ARG VERSION=1.2\nFROM alpine:${VERSION}\nWORKDIR /app/${VERSION}\nRUN echo $VERSION\nARG VERSION\nRUN echo $VERSION\n";
    let (ok, warnings) = diagnostics(text, &[]);
    assert!(ok);
    // Once per stage, at the first use.
    assert_eq!(
        warnings,
        "warning[arg-out-of-scope]: global ARG `VERSION` used in a stage that does not declare it
 --> Rockerfile:3:14
  |
3 | WORKDIR /app/${VERSION}
  |              ^^^^^^^^^^ the global value does not reach this instruction
1 | ARG VERSION=1.2
  | --------------- declared before the first FROM: only FROM lines see it
  = help: declare it in the stage to use the global value: `ARG VERSION` on a line after `FROM alpine:${VERSION}`
"
    );
}

#[test]
fn the_lint_looks_where_docker_expands() {
    let warned = |body: &str| {
        let (ok, w) = diagnostics(&format!("ARG V=1\nFROM alpine\n{body}\n"), &[]);
        assert!(ok, "{w}");
        w.contains("warning[arg-out-of-scope]")
    };
    for body in [
        "ENV X=$V",
        "LABEL v=${V}",
        "ARG X=$V",
        "USER $V",
        "EXPOSE $V",
        "VOLUME /$V",
        "COPY a-$V /a",
        "ADD --chown=$V a /a",
        "STOPSIGNAL $V",
        "RUN echo \"$V\"",
    ] {
        assert!(warned(body), "{body}");
    }
    // Not expanded when the stage builds (CMD, ENTRYPOINT, HEALTHCHECK run in the container;
    // ONBUILD in a later build; MOUNT sources when the script runs), or not a variable.
    for body in ["CMD echo $V", "ENTRYPOINT echo $V", "HEALTHCHECK CMD test $V", "ONBUILD RUN echo $V", "MOUNT /$V", "RUN echo '$V'", "RUN [\"echo\", \"$V\"]"]
    {
        assert!(!warned(body), "{body}");
    }
    // Declared in the stage (by ARG or ENV), or set by an ENV of a base stage: in scope.
    for body in ["ARG V\nRUN echo $V", "ENV V=2\nRUN echo $V", "ARG V=3\nRUN echo $V"] {
        assert!(!warned(body), "{body}");
    }
    let (_, w) = diagnostics("ARG V=1\nFROM alpine AS base\nENV V=2\nFROM base\nRUN echo $V\n", &[]);
    assert_eq!(w, "");
    // Each stage is told once.
    let (_, w) = diagnostics("ARG V=1\nFROM alpine\nRUN echo $V\nFROM alpine\nRUN echo $V\n", &[]);
    assert_eq!(w.matches("warning[arg-out-of-scope]").count(), 2, "{w}");
}
