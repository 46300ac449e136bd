//! Every real Rockerfile in the shared corpus compiles (through [`rockerc::compile`], with a
//! plausible value for each variable its README row lists), or fails with exactly the diagnostic
//! pinned for it in [`EXPECTED_FAILURES`], with the reason it cannot compile.
//!
//! The corpus lives beside the repository, not in it: the files belong to their projects. Point
//! `ROCKERC_CORPUS_DIR` at it and run with `--ignored` (`.ci/run` does); a clone without it shows the
//! test as ignored, never as passed.

use rockerc::source::SourceFile;
use rockerc::template::TemplateOptions;
use rockerc::Options;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Files that cannot compile, each with the code and message of its first error and why it
/// cannot compile (none of these is a rockerc bug: Rocker 1.x rejected or failed on them too).
const EXPECTED_FAILURES: &[(&str, &str, &str)] = &[
    // IMPORTs the path the jar had in the builder; EXPORT kept only `agile-...jar` (rsync without
    // -R), so Rocker's rsync failed here too. The message suggests the store name.
    (
        "Agile-IoT__agile-dummy-protocol__Rockerfile",
        "import-not-exported",
        "IMPORT `iot.agile.protocol.DummyProtocol/target/agile-dummy-protocol-1.0.0-jar-with-dependencies.jar`: no EXPORT before this line puts anything there",
    ),
];

/// Files beside a corpus file that it INCLUDEs (Rocker 0.2), with plausible contents: the corpus
/// holds Rockerfiles only. gmuch's `Dockerfile` held its build stage's FROM.
const FRAGMENTS: &[(&str, &str, &str)] =
    &[("gmuch__gmuch__Rockerfile", "Dockerfile", "FROM golang:1.7\nADD . /go/src/github.com/gmuch/gmuch\nRUN go install github.com/gmuch/gmuch\n")];

/// Variables a file REQUIREs (Rocker 0.2) that the README's table, which lists the template
/// variables (`.Name`), does not: rocker-compose's Rockerfile.exec reads `$VERSION`.
const REQUIRED: &[(&str, &str)] = &[("grammarly__rocker-compose__Rockerfile.exec", "VERSION")];

/// Values for variables whose use needs more than any string: MOUNT sources and destinations
/// (absolute paths), images, values compared in `{{ if eq ... }}` that decide whether a FROM is
/// written. Every other variable gets [`DEFAULT_VALUE`].
const VALUES: &[(&str, &str)] = &[
    // seafile writes its only FROM under `{{ if eq .ARCH "amd64" }}`.
    ("ARCH", "amd64"),
    ("BASE_IMAGE", "ubuntu:16.04"),
    ("DockerImage", "okdocker/nginx:1.0"),
    ("DOCKER_IMAGE", "igalia/mesa"),
    ("NginxVariant", "stable"),
    ("USE_TXC_DXTN", "yes"),
    ("TARGET", "x11_egl"),
    ("DEBUG", "true"),
    ("SERVICE", "api"),
    // MOUNT sources and destinations.
    ("OUTPUT_DIR", "/tmp/output"),
    ("SOURCE_DIR", "/src/albert"),
    ("SRC_DIR", "."),
    ("CHROMIUM_DIR", "/src/chromium"),
    ("CCACHE_DIR", "/tmp/ccache"),
    ("SSH_AUTH_SOCK", "/tmp/ssh-agent.sock"),
    ("GIT_SSH_KEY", "/root/.ssh/id_rsa"),
    ("PWD", "/src/dplyr"),
    ("MAKEFLAGS", "-j4"),
];

/// What every other variable and environment variable is set to: valid in a tag, a path, a RUN.
const DEFAULT_VALUE: &str = "1.0";

fn corpus() -> PathBuf {
    let dir = PathBuf::from(std::env::var_os("ROCKERC_CORPUS_DIR").expect("needs ../shared: set ROCKERC_CORPUS_DIR to shared/corpus"));
    assert!(dir.is_dir(), "ROCKERC_CORPUS_DIR={} is not a directory", dir.display());
    dir
}

/// File name -> (variables, environment variables), from the README table.
fn readme_vars(dir: &Path) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("the corpus has a README.md with a table of variables");
    let mut rows = BTreeMap::new();
    for line in readme.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert!(cells.len() >= 8, "README row with fewer than 6 columns: {line}");
        let words = |c: &str| c.split_whitespace().filter(|w| *w != "-").map(str::to_string).collect::<Vec<_>>();
        rows.insert(cells[1].trim_matches('`').to_string(), (words(cells[5]), words(cells[6])));
    }
    rows
}

fn value_of(name: &str) -> String {
    VALUES.iter().find(|(n, _)| *n == name).map_or(DEFAULT_VALUE, |(_, v)| v).to_string()
}

#[test]
#[ignore = "needs ../shared: set ROCKERC_CORPUS_DIR to shared/corpus and run with --ignored (.ci/run does)"]
fn corpus_compiles_or_fails_as_pinned() {
    let dir = corpus();
    let rows = readme_vars(&dir);
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n != "README.md").collect();
    names.sort();

    let mut compiled = 0;
    let mut failed_as_pinned = 0;
    let mut problems = Vec::new();
    for name in &names {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let file = SourceFile::new(name.clone(), text);
        let Some((vars, env)) = rows.get(name) else {
            problems.push(format!("{name}: not in the README table"));
            continue;
        };
        // Each file compiles in a context of its own, with the fragments it INCLUDEs beside it.
        let context = tempfile::tempdir().unwrap();
        std::fs::write(context.path().join(name), &file.text).unwrap();
        for (_, fragment, contents) in FRAGMENTS.iter().filter(|(f, ..)| f == name) {
            std::fs::write(context.path().join(fragment), contents).unwrap();
        }
        let required = REQUIRED.iter().filter(|(f, _)| f == name).map(|(_, v)| v.to_string());
        let options = Options {
            context_dir: Some(context.path().to_path_buf()),
            rockerfile_path: Some(context.path().join(name)),
            template: TemplateOptions {
                vars: vars.iter().cloned().chain(required).map(|v| format!("{v}={}", value_of(&v))).collect(),
                env: env.iter().map(|e| (e.clone(), value_of(e))).collect(),
                strict: true,
                ..TemplateOptions::default()
            },
            ..Options::default()
        };
        let expected = EXPECTED_FAILURES.iter().find(|(f, ..)| f == name);
        match (rockerc::compile(&file, &options), expected) {
            (Ok(_), None) => compiled += 1,
            (Ok(_), Some(_)) => problems.push(format!("{name}: compiles, but a failure is pinned for it")),
            (Err(failure), expected) => {
                let first = failure.diagnostics.iter().find(|d| d.is_error()).expect("a failure has an error");
                match expected {
                    Some((_, code, message)) if first.code.as_str() == *code && first.message == *message => failed_as_pinned += 1,
                    _ => problems.push(format!("{name}: fails with [{}] {:?}\n{}", first.code, first.message, failure.render(&file, false))),
                }
            }
        }
    }
    for (pinned, ..) in EXPECTED_FAILURES {
        if !names.iter().any(|n| n == pinned) {
            problems.push(format!("{pinned}: a failure is pinned for it, but the corpus has no such file"));
        }
    }
    eprintln!("corpus: {} files: {compiled} compiled, {failed_as_pinned} expected failures (pinned)", names.len());
    assert!(problems.is_empty(), "{} corpus problems:\n{}", problems.len(), problems.join("\n"));
    assert!(names.len() >= 40, "only {} corpus files found in {}", names.len(), dir.display());
}
