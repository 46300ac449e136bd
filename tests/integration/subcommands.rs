//! `rockerc build`, `rockerc completions` and `rockerc man` as a user meets them, without a
//! Docker engine: Rocker's flags and spellings, the notes for the flags rockerc has no use for,
//! the check for missing programs, and the generated completions and man page. (Builds on a
//! real engine are in e2e.rs and cleanup.rs.)

use crate::common::{Run, Test};
use clap::CommandFactory;
use std::path::Path;
use std::process::Command;

fn rockerc(dir: &Path, args: &[&str]) -> Run {
    Test::at(dir).args(args).run()
}

fn text(bytes: impl AsRef<[u8]>) -> String {
    String::from_utf8_lossy(bytes.as_ref()).into_owned()
}

fn sandbox(rockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("rockerc-sub-").tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), rockerfile).unwrap();
    dir
}

const TEMPLATED: &str = "FROM rockerc-test/busybox\nRUN echo {{ .Greeting }}\nTAG x/y:{{ .Version }}\n";

#[test]
fn build_print_takes_rockers_spellings() {
    let dir = sandbox(TEMPLATED);
    std::fs::write(dir.path().join("vars.yml"), "Version: 7\n").unwrap();
    let out = rockerc(dir.path(), &["build", "-f", "Rockerfile", "-var", "Greeting=hi", "-vars", "vars.yml", "-print"]);
    assert_eq!(out.code, 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "FROM rockerc-test/busybox\nRUN echo hi\nTAG x/y:7\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn rocker_global_flags_may_come_before_build() {
    let dir = sandbox(TEMPLATED);
    let out = rockerc(dir.path(), &["--json", "build", "--var=Greeting=hi", "--var", "Version=1", "--print=true", "--push=false"]);
    assert_eq!(out.code, 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "FROM rockerc-test/busybox\nRUN echo hi\nTAG x/y:1\n");
    // --json is Rocker's machine-readable log, which rockerc build now prints (issue 20): no note.
    assert_eq!(text(&out.stderr), "");
}

/// Every flag of Rocker 1.3's `build` and its global flags is accepted; those rockerc has no use
/// for print one note each, and nothing else changes.
#[test]
fn every_rocker_flag_is_accepted_and_the_unused_ones_say_so() {
    let dir = sandbox(TEMPLATED);
    let out = rockerc(
        dir.path(),
        &[
            "build",
            "-f",
            "Rockerfile",
            "--auth",
            "me:secret",
            "--build-arg",
            "A=1",
            "-var",
            "Greeting=hi",
            "-vars",
            "none-*.yml",
            "--no-cache",
            "--reload-cache",
            "--cache-dir",
            "/tmp/c",
            "--no-reuse",
            "--push",
            "--pull",
            "--attach",
            "--meta",
            "--print",
            "--demand-artifacts",
            "--id",
            "x",
            "--artifacts-path",
            "/tmp/a",
            "--no-garbage",
            "--push-retry",
            "3",
            "--verbose",
            "--vv",
            "-D",
            "--json",
            "--colors",
            "-C",
            "--host",
            "unix:///nowhere.sock",
            "-H",
            "unix:///nowhere.sock",
            "--tlsverify",
            "--tls",
            "--tlscacert",
            "ca.pem",
            "--tlscert",
            "cert.pem",
            "--tlskey",
            "key.pem",
            ".",
        ],
    );
    assert_eq!(out.code, 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "FROM rockerc-test/busybox\nRUN echo hi\nTAG x/y:<no value>\n");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("secret"), "the --auth value is never printed:\n{stderr}");
    let notes: Vec<&str> = stderr.lines().filter(|l| l.starts_with("rockerc: note: ")).collect();
    assert_eq!(
        notes,
        [
            "rockerc: note: --reload-cache: rockerc rebuilds every step as with --no-cache; the new results replace the cached ones",
            "rockerc: note: --auth: rockerc pushes and pulls with docker's own credentials; run `docker login REGISTRY` once instead (the value given is not used)",
            "rockerc: note: --cache-dir: rockerc keeps no cache directory; Docker's layer cache holds every step (a MOUNTed RUN's result is tagged rockerc-cache:...)",
            "rockerc: note: --no-reuse: ignored, as Rocker 1.x ignored it",
            "rockerc: note: --meta: ignored, as Rocker 1.x ignored it",
            "rockerc: note: --no-garbage: rockerc leaves no containers behind; images of untagged steps stay as Docker's build cache (`docker image prune` removes them)",
            "rockerc: note: --artifacts-path: rockerc writes no artifact files; `docker image inspect --format '{{.RepoDigests}}' NAME` gives a pushed image's digest",
            "rockerc: note: --push-retry: rockerc pushes once; when a push fails, run the build again with --push (the steps come from the cache)",
            "rockerc: note: --colors: rockerc colours its errors when standard error is a terminal, and nothing else",
            "rockerc: note: --tlscacert/--tlscert/--tlskey: the docker CLI reads ca.pem, cert.pem and key.pem from one directory: set DOCKER_CERT_PATH to it",
        ]
    );
    // --cmd prints the version and the command line first.
    assert!(stderr.starts_with(&format!("rockerc {}: ", env!("CARGO_PKG_VERSION"))), "{stderr}");
}

#[test]
fn an_unknown_build_flag_is_a_usage_error() {
    let dir = sandbox(TEMPLATED);
    let out = rockerc(dir.path(), &["build", "--pussh"]);
    assert_eq!(out.code, 2);
    assert!(text(&out.stderr).contains("unexpected argument '--pussh'"), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("tip: a similar argument exists: '--push'"), "{}", text(&out.stderr));
}

/// `build` as the first word is the subcommand; a Rockerfile of that name is still compiled when
/// named as a path (or after other flags), as before.
#[test]
fn a_rockerfile_named_build_is_compiled_as_a_path() {
    let dir = sandbox("");
    std::fs::write(dir.path().join("build"), "FROM rockerc-test/busybox\n").unwrap();
    let out = rockerc(dir.path(), &["./build"]);
    assert_eq!(out.code, 0, "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("#!/bin/sh\n# Generated by rockerc"));
    let out = rockerc(dir.path(), &["-f", "build"]);
    assert_eq!(out.code, 0, "{}", text(&out.stderr));
    let out = rockerc(dir.path(), &["-C", "build"]);
    assert_eq!(out.code, 1, "-C build is the context `build`, a file here");
    assert!(text(&out.stderr).contains("the build context `build` is not a directory"), "{}", text(&out.stderr));
}

/// A directory holding a symlink to each of these programs, and nothing else: a PATH.
fn path_of(programs: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for p in programs {
        if let Ok(found) = which::which(p) {
            std::os::unix::fs::symlink(found, dir.path().join(p)).unwrap();
        }
    }
    dir
}

#[test]
fn build_says_exactly_which_programs_are_missing() {
    let dir = sandbox(TEMPLATED);
    let tmp = tempfile::tempdir().unwrap();
    let without_docker: Vec<&str> = rockerc::cli::TOOLS.iter().map(|(tool, _)| *tool).filter(|t| *t != "docker").collect();
    let path = path_of(&without_docker);
    let run = |path: &Path| Test::at(dir.path()).arg("build").env("PATH", path.to_str().unwrap()).env("TMPDIR", tmp.path().to_str().unwrap()).run();
    let out = run(path.path());
    assert_eq!(out.code, 1);
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "error[missing-tool]: cannot build: `docker` is not on PATH\n \
         = note: `docker`: the Docker CLI (Debian: apt-get install docker.io)\n \
         = help: install what is missing, or add its directory to PATH; `rockerc Rockerfile > build.sh` compiles without running anything\n"
    );
    std::fs::remove_file(path.path().join("cksum")).unwrap();
    std::fs::remove_file(path.path().join("readlink")).unwrap();
    let out = run(path.path());
    assert_eq!(
        text(&out.stderr).lines().take(4).collect::<Vec<_>>(),
        [
            "error[missing-tool]: cannot build: `docker`, `cksum` and `readlink` are not on PATH",
            " = note: `docker`: the Docker CLI (Debian: apt-get install docker.io)",
            " = note: `cksum`: Debian: coreutils",
            " = note: `readlink`: Debian: coreutils",
        ]
    );
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none(), "nothing is left in TMPDIR");
}

#[test]
fn build_reads_the_rockerfile_of_the_current_directory_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/Rockerfile"), "FROM rockerc-test/busybox\n").unwrap();
    let out = rockerc(dir.path(), &["build", "app"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        text(&out.stderr),
        "error[file-unreadable]: cannot read `Rockerfile`: no such file or directory\n \
         = note: rockerc build reads ./Rockerfile whatever the context, as rocker build did\n \
         = help: name the context's Rockerfile: `rockerc build -f app/Rockerfile app`\n"
    );
}

#[test]
fn build_reports_compile_errors_as_a_compile_does() {
    let dir = sandbox("FROM rockerc-test/busybox\nRUNN true\n");
    let out = rockerc(dir.path(), &["build"]);
    assert_eq!(out.code, 1);
    assert_eq!(text(&out.stdout), "");
    assert!(text(&out.stderr).starts_with("error[unknown-instruction]: unknown instruction `RUNN`"), "{}", text(&out.stderr));
}

#[test]
fn completions_for_bash_know_the_subcommands_and_their_flags() {
    let out = rockerc(Path::new("."), &["completions", "bash"]);
    assert_eq!(out.code, 0);
    let script = text(&out.stdout);
    for flag in ["--emit", "--var", "--vars", "--build-arg", "build", "completions", "man", "--push", "--no-garbage", "--reload-cache", "--attach"] {
        assert!(script.contains(flag), "{flag} is missing from the bash completions");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = rockerc(Path::new("."), &["completions", shell]);
        assert_eq!(out.code, 0, "{shell}");
        assert!(text(&out.stdout).contains("no-garbage"), "{shell}");
    }
    assert_eq!(rockerc(Path::new("."), &["completions", "tcsh"]).code, 2);
}

/// Every option of every command, read from the clap definition itself, is on the page.
#[test]
fn the_man_page_lists_every_option() {
    let out = rockerc(Path::new("."), &["man"]);
    assert_eq!(out.code, 0);
    let page = text(&out.stdout);
    assert!(page.starts_with(".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n.TH rockerc 1"), "{}", &page[..200]);
    assert!(!page.contains("rockerc\\-build(1)"), "the page points at a man page that does not exist");
    assert!(page.contains("\\fBrockerc build\\fR (section ROCKERC BUILD below)") && page.contains(".SH \"ROCKERC BUILD\""));
    let mut cmd = rockerc::cli::Cli::command();
    cmd.build();
    let mut commands = vec![&cmd];
    commands.extend(cmd.get_subcommands());
    for c in commands {
        for arg in c.get_arguments() {
            if let Some(long) = arg.get_long() {
                let roff = format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"));
                assert!(page.contains(&roff), "--{long} of {} is not on the man page", c.get_name());
            }
        }
    }
    for section in [".SH \"ROCKERC BUILD\"", ".SH \"ROCKERC BUILD: RUNNING THE BUILD\"", ".SH \"ROCKERC COMPLETIONS\"", ".SH \"ROCKERC MAN\""] {
        assert!(page.contains(section), "{section}");
    }
    // groff reads it without a warning, where groff is installed.
    if let Ok(groff) = which::which("groff") {
        let mut child =
            Command::new(groff).args(["-man", "-Tutf8", "-ww", "-z"]).stdin(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), page.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "groff: {}", text(&out.stderr));
    }
}
