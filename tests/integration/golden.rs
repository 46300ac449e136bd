//! The golden examples: what rockerc emits for each `golden/<name>/Rockerfile`, pinned as insta
//! snapshots in `golden/<name>/snapshots/` (the `-o DIR` output: build.sh, the plan, and one file
//! per step: a Dockerfile, or the code of a MOUNTed RUN, an EXPORT, an IMPORT into a MOUNT or an
//! ATTACH; the runtime beside them, the same for every example, is pinned as its version and
//! hash). Every script must be deterministic and `shellcheck -s sh` clean, and every Dockerfile
//! must parse again, with rockerc's parser and with an independent one (`parse-dockerfile`), to
//! the same instructions.
//!
//! An example may hold `vars.yml` (passed as `--vars`) and `env` (`NAME=VALUE` lines: the whole
//! environment its templates see, so `.Env` does not depend on the machine).
//!
//! Update after an intended change: `cargo insta test --accept` (or `INSTA_UPDATE=always cargo test`).

use rockerc::emit::{Layout, RUNTIME_FILE};
use rockerc::source::SourceFile;
use rockerc::{compile, Options};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.join("Rockerfile").is_file()).collect();
    dirs.sort();
    dirs
}

fn compile_example(dir: &Path, layout: Layout) -> rockerc::emit::Emitted {
    let text = std::fs::read_to_string(dir.join("Rockerfile")).unwrap();
    let cksum = |text: &str| format!("{} {}", rockerc::emit::buildkit::cksum(text.as_bytes()), text.len());
    // As `rockerc [--vars vars.yml] Rockerfile` compiles it in its folder.
    let mut sources = rockerc::emit::Sources { files: vec![("Rockerfile".into(), cksum(&text))], args: "Rockerfile".into() };
    let file = SourceFile::new("Rockerfile", text);
    // INCLUDE paths are relative to the Rockerfile, inside its folder (the context).
    let mut options = Options { layout, rockerfile_path: Some(dir.join("Rockerfile")), context_dir: Some(dir.to_path_buf()), ..Options::default() };
    options.template.base_dir = Some(dir.to_path_buf());
    if dir.join("vars.yml").is_file() {
        options.template.var_files.push(dir.join("vars.yml"));
        sources.files.push(("vars.yml".into(), cksum(&std::fs::read_to_string(dir.join("vars.yml")).unwrap())));
        sources.args = "--vars vars.yml Rockerfile".into();
    }
    options.sources = Some(sources);
    if let Ok(env) = std::fs::read_to_string(dir.join("env")) {
        options.template.env = env.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    }
    match compile(&file, &options) {
        Ok(c) => c.output,
        Err(f) => panic!("{} does not compile:\n{}", dir.display(), f.render(&file, false)),
    }
}

#[test]
fn golden_outputs_match_their_snapshots() {
    for dir in examples() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let out = compile_example(&dir, Layout::Directory);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(dir.join("snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_description(format!("rockerc -o DIR golden/{name}/Rockerfile"));
        settings.bind(|| {
            insta::assert_snapshot!("build.sh", out.script_text());
            for (file, text) in &out.files {
                if file == RUNTIME_FILE {
                    // The same file for every example: src/emit/runtime.sh and sources.sh.
                    assert_eq!(text, &rockerc::emit::runtime());
                    insta::assert_snapshot!(file.as_str(), runtime_summary(text));
                } else {
                    insta::assert_snapshot!(file.as_str(), text);
                }
            }
        });
    }
}

/// The runtime as a golden snapshot shows it: its version and hash, not its 1,000 lines.
fn runtime_summary(text: &str) -> String {
    format!("rockerc runtime {}, sha256 {}, {} lines\n", env!("CARGO_PKG_VERSION"), rockerc::emit::runtime_hash(text), text.lines().count())
}

#[test]
fn output_is_deterministic() {
    for dir in examples() {
        for layout in [Layout::Single, Layout::Directory] {
            let a = compile_example(&dir, layout);
            let b = compile_example(&dir, layout);
            assert_eq!(a, b, "{} compiles differently twice", dir.display());
        }
    }
}

#[test]
fn emitted_dockerfiles_parse_again() {
    let mut checked = 0;
    for dir in examples() {
        let out = compile_example(&dir, Layout::Directory);
        for (file, text) in out.files.iter().filter(|(f, _)| f.ends_with(".Dockerfile")) {
            let parsed = rockerc::syntax::parse(text).unwrap_or_else(|d| panic!("{}/{file} does not parse: {}", dir.display(), d.message));
            assert!(
                parsed.ast.instructions.iter().all(|i| !i.kind.is_rocker() && i.kind != rockerc::syntax::Keyword::Unknown),
                "{}/{file} holds an instruction Docker does not know",
                dir.display()
            );
            // An independent parser must read the same instructions, and the same FROM images.
            let other = parse_dockerfile::parse(text).unwrap_or_else(|e| panic!("parse-dockerfile cannot read {}/{file}: {e}\n{text}", dir.display()));
            let ours: Vec<(&str, Option<String>)> = parsed
                .ast
                .instructions
                .iter()
                .map(|i| {
                    let image = match (&i.kind, &i.args) {
                        (rockerc::syntax::Keyword::From, rockerc::syntax::Args::List(words)) => words.first().map(|w| w.value.clone()),
                        _ => None,
                    };
                    (i.kind.as_str(), image)
                })
                .collect();
            let theirs: Vec<(&str, Option<String>)> = other.instructions.iter().map(independent_keyword).collect();
            assert_eq!(ours, theirs, "rockerc and parse-dockerfile read {}/{file} differently:\n{text}", dir.display());
            checked += 1;
        }
    }
    assert!(checked > 0, "no emitted Dockerfile was checked");
}

/// The keyword of an instruction as parse-dockerfile reads it, with the image of a FROM.
fn independent_keyword(instruction: &parse_dockerfile::Instruction) -> (&'static str, Option<String>) {
    use parse_dockerfile::Instruction as I;
    match instruction {
        I::Add(_) => ("ADD", None),
        I::Arg(_) => ("ARG", None),
        I::Cmd(_) => ("CMD", None),
        I::Copy(_) => ("COPY", None),
        I::Entrypoint(_) => ("ENTRYPOINT", None),
        I::Env(_) => ("ENV", None),
        I::Expose(_) => ("EXPOSE", None),
        I::From(from) => ("FROM", Some(from.image.value.to_string())),
        I::Healthcheck(_) => ("HEALTHCHECK", None),
        I::Label(_) => ("LABEL", None),
        I::Maintainer(_) => ("MAINTAINER", None),
        I::Onbuild(_) => ("ONBUILD", None),
        I::Run(_) => ("RUN", None),
        I::Shell(_) => ("SHELL", None),
        I::Stopsignal(_) => ("STOPSIGNAL", None),
        I::User(_) => ("USER", None),
        I::Volume(_) => ("VOLUME", None),
        I::Workdir(_) => ("WORKDIR", None),
        _ => ("(an instruction rockerc does not know)", None),
    }
}

#[test]
fn scripts_are_shellcheck_clean() {
    let available = Command::new("shellcheck").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !available {
        if std::env::var("ROCKERC_E2E").as_deref() == Ok("require") {
            panic!("shellcheck is not installed");
        }
        eprintln!("\n*** SHELLCHECK SKIPPED: shellcheck is not installed (apt-get install shellcheck) ***\n");
        return;
    }
    for dir in examples() {
        for layout in [Layout::Single, Layout::Directory] {
            // As written: with `-o DIR`, shellcheck follows build.sh into the step files and the
            // runtime beside it (the .shellcheckrc there says so).
            let out = compile_example(&dir, layout);
            let written = tempfile::tempdir().unwrap();
            std::fs::write(written.path().join("build.sh"), out.script_text()).unwrap();
            for (file, text) in &out.files {
                std::fs::write(written.path().join(file), text).unwrap();
            }
            let result = Command::new("shellcheck").args(["-s", "sh", "build.sh"]).current_dir(written.path()).output().unwrap();
            assert!(
                result.status.success(),
                "shellcheck -s sh finds problems in the {layout:?} script of {}:\n{}",
                dir.display(),
                String::from_utf8_lossy(&result.stdout)
            );
        }
    }
}

#[test]
fn line_numbers_are_those_of_the_file_as_written() {
    // Three template lines vanish when rendered; every line the output cites must still be the
    // line of the Rockerfile the user wrote.
    let file = SourceFile::new("R", "{{/* a\nb\nc */}}\nFROM rockerc-test/busybox\nRUN echo {{ .X }}\nTAG x\n");
    let mut options = Options::default();
    options.template.vars = vec!["X=1".into()];
    let out = compile(&file, &options).unwrap_or_else(|f| panic!("{}", f.render(&file, false))).output.script_text();
    for expected in ["#   stage 1  R:4-6  FROM rockerc-test/busybox", "  rc_step 1 R:4-5 'RUN echo 1'", "  # R:6  TAG x", "# R:5\nRUN echo 1"] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

/// What the golden examples do not show: the backtick escape directive, every Docker instruction
/// the sh backend passes through, a MOUNTed RUN between plain ones. Both parsers must read each
/// Dockerfile rockerc emits for it to the same instructions.
#[test]
fn emitted_dockerfiles_with_every_instruction_parse_with_both_parsers() {
    let text = "# escape=`\nARG BASE=rockerc-test/busybox\nFROM ${BASE} AS build\nARG V=1 W\nENV A=1 `\n  B=\"two words\"\nLABEL a=b\nRUN echo $V `\n  && echo done\nMOUNT /cache\nRUN echo cached\nUSER root\nWORKDIR /app\nSHELL [\"/bin/sh\", \"-c\"]\nEXPOSE 80/tcp 53/udp\nVOLUME [\"/data\"]\nSTOPSIGNAL SIGTERM\nHEALTHCHECK --interval=5s CMD true\nONBUILD RUN echo child\nMAINTAINER someone\nCOPY --chown=1:1 a /a\nADD b /b\nCMD [\"sh\"]\nENTRYPOINT [\"/bin/sh\", \"-c\"]\nFROM scratch\nCOPY --from=build /app /app\n";
    let file = SourceFile::new("Rockerfile", text);
    let options = Options { layout: Layout::Directory, ..Options::default() };
    let out = compile(&file, &options).unwrap_or_else(|f| panic!("{}", f.render(&file, false))).output;
    let dockerfiles: Vec<&(String, String)> = out.files.iter().filter(|(n, _)| n.ends_with(".Dockerfile")).collect();
    assert!(dockerfiles.len() >= 3, "expected several Dockerfiles, got {:?}", out.files.iter().map(|(n, _)| n).collect::<Vec<_>>());
    for (name, df) in dockerfiles {
        let ours: Vec<&str> =
            rockerc::syntax::parse(df).unwrap_or_else(|d| panic!("{name}: {}", d.message)).ast.instructions.iter().map(|i| i.kind.as_str()).collect();
        let other = parse_dockerfile::parse(df).unwrap_or_else(|e| panic!("parse-dockerfile cannot read {name}: {e}\n{df}"));
        let theirs: Vec<&str> = other.instructions.iter().map(|i| independent_keyword(i).0).collect();
        assert_eq!(ours, theirs, "{name}:\n{df}");
        assert!(df.starts_with("# escape=`\n"), "{name} lost the escape directive:\n{df}");
    }
}
