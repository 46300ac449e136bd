//! The `rockerc` binary as a user meets it: exit codes, what goes to stdout and stderr, `-o DIR`,
//! the build context, Rocker's spellings of flags, and every class of compile error, pinned
//! verbatim as the user reads it.
//!
//! Each test runs the real binary in a fresh temporary directory (its current directory), with
//! stderr not a terminal, so diagnostics have no colour.

use crate::common::{mode, Dir, Test};
use rockerc::source::SourceFile;
use rockerc::Options;
use std::process::Command;

/// The script the library makes of `text` (named `name`), with the context `context` and no
/// template variables: what stdout must be, byte for byte.
fn expected_script(name: &str, text: &str, context: &str) -> String {
    let options = Options { context: context.into(), sources: Some(sources_of(name, text, context)), ..Options::default() };
    rockerc::compile(&SourceFile::new(name, text), &options)
        .unwrap_or_else(|f| panic!("{}", f.render(&SourceFile::new(name, text), false)))
        .output
        .script_text()
}

/// What a script compiled from `name` (relative to the current directory, inside `context`)
/// checks before it builds: the Rockerfile, relative to the context, and its `cksum`.
fn sources_of(name: &str, text: &str, context: &str) -> rockerc::emit::Sources {
    let in_context = if context == "." { name } else { name.strip_prefix(&format!("{context}/")).expect("the Rockerfile is in the context") };
    let sum = format!("{} {}", rockerc::emit::buildkit::cksum(text.as_bytes()), text.len());
    rockerc::emit::Sources { files: vec![(in_context.to_string(), sum)], args: in_context.to_string() }
}

/// The `rc_context=...` line of a script.
fn recorded_context(script: &str) -> &str {
    script.lines().find(|l| l.starts_with("rc_context=")).expect("the script records its context")
}

const HELLO: &str = "FROM alpine:3.19\nRUN echo hello > /hello\nCMD [\"cat\", \"/hello\"]\n";

/// Two stages with an EXPORT/IMPORT between them: several Dockerfiles with `-o`.
const TWO_STAGES: &str = "\
FROM golang:1.22 AS builder
WORKDIR /src
COPY . .
RUN go build -o /out/app .
EXPORT /out/app

FROM alpine:3.19
IMPORT app /usr/local/bin/
CMD [\"app\"]
";

// ---------------------------------------------------------------------------------------------
// Exit codes, stdout and stderr

#[test]
fn a_compile_prints_exactly_the_script_and_exits_0() {
    let run = Test::new().write("Rockerfile", HELLO).arg("Rockerfile").status(0).stderr("").stdout(expected_script("Rockerfile", HELLO, ".")).run();
    assert!(run.stdout().starts_with("#!/bin/sh\n"));
}

#[test]
fn the_default_rockerfile_is_the_one_in_the_current_directory() {
    Test::new().write("Rockerfile", HELLO).status(0).stdout(expected_script("Rockerfile", HELLO, ".")).run();
}

#[test]
fn a_compile_error_exits_1_with_nothing_on_stdout() {
    let run = Test::new().write("Rockerfile", "FROM alpine\nRUNN x\n").arg("Rockerfile").status(1).stdout("").run();
    assert!(run.stderr.starts_with("error[unknown-instruction]"), "{}", run.stderr);
}

#[cfg(unix)]
#[test]
fn an_unreadable_rockerfile_exits_1() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", HELLO);
    std::fs::set_permissions(sandbox.path("Rockerfile"), std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(sandbox.path("Rockerfile")).is_ok() {
        // Running as root: permissions do not stop reading; nothing to test here.
        return;
    }
    Test::in_dir(&sandbox).arg("Rockerfile").status(1).stdout("").stderr("error[file-unreadable]: cannot read `Rockerfile`: permission denied\n").run();
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let run = Test::new().write("Rockerfile", HELLO).args(["--bogus", "Rockerfile"]).status(2).stdout("").run();
    assert!(run.stderr.starts_with("error: unexpected argument '--bogus' found\n"), "{}", run.stderr);
    assert!(run.stderr.contains("Usage: rockerc [OPTIONS] [ROCKERFILE]"), "{}", run.stderr);
}

#[test]
fn two_rockerfiles_are_a_usage_error() {
    let run = Test::new().args(["-f", "a", "b"]).status(2).stdout("").run();
    assert!(run.stderr.starts_with("error: the argument '--file <FILE>' cannot be used with '[ROCKERFILE]'"), "{}", run.stderr);
}

#[test]
fn help_and_version_exit_0() {
    let help = Test::new().arg("--help").status(0).run();
    assert!(help.stdout().contains("Rocker's single-dash spellings work too: -var, -vars, -print."));
    Test::new().arg("--version").status(0).stdout(format!("rockerc {}\n", env!("CARGO_PKG_VERSION"))).run();
}

#[test]
fn warnings_go_to_stderr_and_stdout_is_still_exactly_the_script() {
    let text = "FROM alpine AS builder\nRUN make\nFROM alpine\nCOPY --from=buidler /out /out\n";
    Test::new()
        .write("Rockerfile", text)
        .arg("Rockerfile")
        .status(0)
        .stdout(expected_script("Rockerfile", text, "."))
        .stderr(
            r#"warning[stage-typo]: `buidler` is not a stage of this file, so it names an image to pull
 --> Rockerfile:4:6
  |
4 | COPY --from=buidler /out /out
  |      ^^^^^^^^^^^^^^ did you mean the stage `builder`?
"#,
        )
        .run();
}

#[test]
fn ports_in_quotes_or_variables_are_left_to_docker() {
    Test::new()
        .write("Rockerfile", "FROM alpine\nARG PORT=8080\nEXPOSE \"8080\" $PORT ${PORT}/udp 127.0.0.1:80:80 8000-8010/TCP\n")
        .arg("Rockerfile")
        .status(0)
        .stderr("")
        .run();
}

// ---------------------------------------------------------------------------------------------
// Inputs: stdin, -f, Rocker's single-dash flags, --print

#[test]
fn dash_reads_standard_input() {
    // From a pipe: there is no file the script could compare.
    let options = Options { context: ".".into(), ..Options::default() };
    let expected = rockerc::compile(&SourceFile::new("<stdin>", HELLO), &options).unwrap().output.script_text();
    Test::new().arg("-").stdin(HELLO).status(0).stderr("").stdout(expected).run();
}

#[test]
fn errors_in_standard_input_name_it() {
    let run = Test::new().arg("-").stdin("FROM alpine\nRUNN x\n").status(1).stdout("").run();
    assert!(run.stderr.contains(" --> <stdin>:2:1\n"), "{}", run.stderr);
}

#[test]
fn dash_f_names_the_rockerfile_as_rocker_did() {
    let sandbox = Dir::new();
    sandbox.write("ci/Rockerfile.release", HELLO);
    let by_flag = sandbox.run(&["-f", "ci/Rockerfile.release"]);
    let by_position = sandbox.run(&["ci/Rockerfile.release"]);
    assert_eq!((by_flag.code, by_flag.stderr.as_str()), (0, ""));
    assert_eq!(by_flag.stdout, by_position.stdout);
    assert_eq!(sandbox.run(&["--file", "ci/Rockerfile.release"]).stdout, by_position.stdout);
    assert_eq!(sandbox.run(&["-f", "-"]).code, 1, "an empty stdin has no instructions");
}

#[test]
fn print_writes_the_rendered_rockerfile_byte_for_byte_and_stops() {
    // Trailing blanks, a CRLF line, no final newline: all kept.
    let text = "FROM alpine:{{ .Version }}  \r\n{{ if .Debug }}RUN echo debug{{ end }}\n\tRUN echo {{ .Env.ROCKERC_TEST_GREETING }}\n# {{ .Version }}";
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", text);
    Test::in_dir(&sandbox)
        .args(["--print", "--var", "Version=3.19", "--var", "Debug=", "Rockerfile"])
        .env("ROCKERC_TEST_GREETING", "hi there")
        .status(0)
        .stderr("")
        .stdout("FROM alpine:3.19  \r\n\n\tRUN echo hi there\n# 3.19")
        .run();
    // Nothing was compiled, so nothing was written.
    assert_eq!(sandbox.snapshot().len(), 1);
}

#[test]
fn print_of_a_file_without_templates_is_the_file() {
    let text = "FROM alpine\r\nRUN   echo  'a  b'   \nRUNN not checked by --print";
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", text);
    let run = Test::in_dir(&sandbox).args(["-print", "Rockerfile"]).status(0).stderr("").run();
    assert_eq!(run.stdout, text.as_bytes());
}

#[test]
fn print_stops_on_a_template_error_with_nothing_on_stdout() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", "FROM alpine:{{ .Version }\n");
    let run = Test::in_dir(&sandbox).args(["--print", "Rockerfile"]).status(1).stdout("").run();
    assert!(run.stderr.starts_with("error[template-syntax]"), "{}", run.stderr);
}

#[test]
fn rocker_single_dash_var_and_vars() {
    let sandbox = Dir::new();
    sandbox
        .write("Rockerfile", "FROM {{ .Image }}:{{ .Version }}\nLABEL team={{ .Team }}\n")
        .write("vars.yml", "Image: alpine\nVersion: \"3.18\"\nTeam: core\n")
        .write("more.json", "{\"Team\": \"platform\"}\n");
    // -vars files merge in order; -var wins over them.
    let run = Test::in_dir(&sandbox).args(["-vars", "vars.yml", "-vars=more.json", "-var", "Version=3.19", "-print", "Rockerfile"]).status(0).stderr("").run();
    assert_eq!(run.stdout(), "FROM alpine:3.19\nLABEL team=platform\n");
    let long = sandbox.run(&["--vars", "vars.yml", "--vars", "more.json", "--var=Version=3.19", "--print", "Rockerfile"]);
    assert_eq!(long.stdout, run.stdout);
}

#[test]
fn var_at_file_reads_the_value_from_a_file() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", "FROM alpine\nLABEL v={{ .Version }}\n").write("VERSION", "1.2.3");
    let run = sandbox.run(&["-var", "Version=@VERSION", "-print", "Rockerfile"]);
    assert_eq!((run.code, run.stdout()), (0, "FROM alpine\nLABEL v=1.2.3\n".to_string()), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// -o DIR

#[test]
fn output_dir_holds_an_executable_script_and_one_dockerfile_per_step() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", TWO_STAGES);
    Test::in_dir(&sandbox).args(["-o", "build", "Rockerfile"]).status(0).stderr("").stdout("").run();

    let options = Options {
        context: "..".into(),
        layout: rockerc::emit::Layout::Directory,
        sources: Some(sources_of("Rockerfile", TWO_STAGES, ".")),
        ..Options::default()
    };
    let expected = rockerc::compile(&SourceFile::new("Rockerfile", TWO_STAGES), &options).unwrap().output;
    assert!(expected.files.len() >= 2, "two stages make at least two Dockerfiles: {:?}", expected.files.iter().map(|f| &f.0).collect::<Vec<_>>());

    let mut written: Vec<String> = std::fs::read_dir(sandbox.path("build")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    written.sort();
    let mut names: Vec<String> = expected.files.iter().map(|(n, _)| n.clone()).chain(["build.sh".to_string()]).collect();
    names.sort();
    assert_eq!(written, names);
    assert_eq!(std::fs::read_to_string(sandbox.path("build/build.sh")).unwrap(), expected.script_text());
    assert_eq!(mode(&sandbox.path("build/build.sh")), 0o755);
    for (name, text) in &expected.files {
        assert!([".Dockerfile", ".sh", ".shellcheckrc"].iter().any(|s| name.ends_with(s)), "{name}");
        assert_eq!(&std::fs::read_to_string(sandbox.path("build").join(name)).unwrap(), text);
        assert_eq!(mode(&sandbox.path("build").join(name)), 0o644);
    }
}

/// `-o DIR` is for review: every step has a file of its own (a Dockerfile, or what a MOUNTed RUN,
/// an EXPORT, an IMPORT into a MOUNT or an ATTACH runs), build.sh is the plan, and the runtime is
/// a file beside it, the same for every Rockerfile. Printed as one script, the plan comes first
/// and the runtime after it.
#[test]
fn review_output_has_a_file_per_step_and_the_plan_first() {
    let every_kind = "FROM alpine:3.19 AS builder\nMOUNT /cache\nRUN make\nEXPORT /out/app\nATTACH [\"sh\"]\n\
                      FROM alpine:3.19\nMOUNT ./dist:/dist\nIMPORT app /dist/\nIMPORT app /usr/local/bin/\nCMD [\"app\"]\n";
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", every_kind);
    std::fs::create_dir(sandbox.path("dist")).unwrap();
    Test::in_dir(&sandbox).args(["-o", "build", "Rockerfile"]).status(0).stderr("").run();
    let script = std::fs::read_to_string(sandbox.path("build/build.sh")).unwrap();
    let files: Vec<String> = std::fs::read_dir(sandbox.path("build")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let steps: Vec<usize> = script.lines().filter_map(|l| l.trim().strip_prefix("rc_step ")).map(|l| l.split(' ').next().unwrap().parse().unwrap()).collect();
    assert_eq!(steps, [1, 2, 3, 4, 5], "{script}");
    for (step, kind) in steps.iter().zip(["run.sh", "export.sh", "attach.sh", "import.sh", "Dockerfile"]) {
        let name = format!("{step:02}-stage{}.{kind}", if *step <= 3 { "1-builder" } else { "2" });
        assert!(files.contains(&name), "no {name} among {files:?}");
        assert!(script.contains(&name), "build.sh does not use {name}");
        let text = std::fs::read_to_string(sandbox.path("build").join(&name)).unwrap();
        assert!(text.starts_with("# Generated by rockerc from Rockerfile:"), "{name} says where it comes from:\n{text}");
    }
    assert!(std::fs::read_to_string(sandbox.path("build/04-stage2.import.sh")).unwrap().contains("rc_import_mount \"$rc_store\" /dist/"));
    assert!(std::fs::read_to_string(sandbox.path("build/03-stage1-builder.attach.sh")).unwrap().contains("rc_attach"));

    // build.sh is the plan; the runtime is beside it, versioned, the same for another project.
    // (150 lines with rc_pick_builder, issue 16)
    assert!(script.lines().count() < 160, "build.sh is {} lines", script.lines().count());
    assert!(!script.contains("rc_parse_args() {") && script.contains(". \"$rc_here/rockerc-runtime.sh\""), "{script}");
    let runtime = std::fs::read_to_string(sandbox.path("build/rockerc-runtime.sh")).unwrap();
    assert!(runtime.contains(&format!("rc_runtime={}\n", env!("CARGO_PKG_VERSION"))) && runtime.contains("rc_parse_args() {"));
    let other = Dir::new();
    other.write("Rockerfile", HELLO);
    Test::in_dir(&other).args(["-o", "out", "Rockerfile"]).status(0).run();
    assert_eq!(std::fs::read_to_string(other.path("out/rockerc-runtime.sh")).unwrap(), runtime, "the runtime is the same for every Rockerfile");

    // One script: the plan first, the Dockerfiles, then the runtime.
    let single = sandbox.run(&["Rockerfile"]).stdout();
    let at = |what: &str| single.find(what).unwrap_or_else(|| panic!("no {what:?} in the script"));
    assert!(at("rc_stage_1() {") < at("rc_main() {") && at("rc_main() {") < at("rc_dockerfile_5() {") && at("rc_dockerfile_5() {") < at("rc_parse_args() {"));
    // Read whole before it runs: the last lines close the one block the script is.
    assert!(single.ends_with("rc_main \"$@\"\nexit\n}\n"));
}

#[test]
fn output_dir_is_left_byte_for_byte_as_it_was_on_a_compile_error() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", TWO_STAGES);
    Test::in_dir(&sandbox).args(["-o", "build", "Rockerfile"]).status(0).run();
    let before = sandbox.snapshot();

    sandbox.write("Rockerfile", "FROM alpine\nRUNN x\n");
    Test::in_dir(&sandbox).args(["-o", "build", "Rockerfile"]).status(1).stdout("").run();
    let mut after = sandbox.snapshot();
    // Only the Rockerfile changed; no temporary directory is left beside `build`.
    after.insert("Rockerfile".into(), before["Rockerfile"].clone());
    assert_eq!(after, before);
}

#[test]
fn output_dir_is_not_created_on_a_compile_error() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", "FROM alpine\nRUNN x\n");
    Test::in_dir(&sandbox).args(["-o", "out/build", "Rockerfile"]).status(1).run();
    assert_eq!(sandbox.snapshot().keys().collect::<Vec<_>>(), ["Rockerfile"]);
}

#[test]
fn output_dir_replaces_an_earlier_output_as_a_whole() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", TWO_STAGES);
    Test::in_dir(&sandbox).args(["-o", "build", "Rockerfile"]).status(0).run();
    let two = std::fs::read_dir(sandbox.path("build")).unwrap().count();

    sandbox.write("Rockerfile", HELLO);
    Test::in_dir(&sandbox).args(["-o", "build", "Rockerfile"]).status(0).stderr("").run();
    let options =
        Options { context: "..".into(), layout: rockerc::emit::Layout::Directory, sources: Some(sources_of("Rockerfile", HELLO, ".")), ..Options::default() };
    let expected = rockerc::compile(&SourceFile::new("Rockerfile", HELLO), &options).unwrap().output;
    // The Dockerfiles of the earlier output are gone: the directory holds exactly the new one.
    let mut names: Vec<String> = std::fs::read_dir(sandbox.path("build")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.len() < two, "{names:?}");
    assert_eq!(names.len(), expected.files.len() + 1);
    assert_eq!(std::fs::read_to_string(sandbox.path("build/build.sh")).unwrap(), expected.script_text());
    // Nothing but the Rockerfile and the output beside it.
    let top: Vec<String> = std::fs::read_dir(sandbox.root()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(top.len(), 2, "{top:?}");
}

#[test]
fn output_dir_may_be_an_empty_directory() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", HELLO);
    std::fs::create_dir(sandbox.path("build")).unwrap();
    Test::in_dir(&sandbox).args(["-o", "build", "Rockerfile"]).status(0).stderr("").run();
    assert!(sandbox.path("build/build.sh").is_file());
}

#[test]
fn output_dir_cannot_be_the_current_directory() {
    let sandbox = Dir::new();
    std::fs::create_dir(sandbox.path("empty")).unwrap();
    Test::in_dir(&sandbox).current_dir("empty").args(["-o", ".", "-"]).status(1).stdout("").run();
    // An empty stdin fails to compile first; with a Rockerfile, the directory is refused.
    sandbox.write("Rockerfile", HELLO);
    Test::in_dir(&sandbox)
        .current_dir("empty")
        .args(["-o", ".", "../Rockerfile"])
        .status(1)
        .stderr(
            "error[output-not-ours]: -o .: the output directory cannot be the current directory or one that holds it\n \
             = note: rockerc replaces the output directory as a whole\n \
             = help: name a directory of its own: `-o build`\n",
        )
        .run();
    assert_eq!(std::fs::read_dir(sandbox.path("empty")).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// The build context

#[test]
fn the_context_defaults_to_the_rockerfiles_directory() {
    let sandbox = Dir::new();
    sandbox.write("app/Rockerfile", HELLO);
    let run = Test::in_dir(&sandbox).args(["app/Rockerfile"]).status(0).stderr("").run();
    assert_eq!(recorded_context(&run.stdout()), "rc_context=app");
    assert_eq!(run.stdout(), expected_script("app/Rockerfile", HELLO, "app"));
}

#[test]
fn the_context_of_a_rockerfile_in_the_current_directory_is_dot() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", HELLO);
    assert_eq!(recorded_context(&sandbox.run(&["Rockerfile"]).stdout()), "rc_context=.");
    assert_eq!(recorded_context(&sandbox.run_with_stdin(&["-"], Some(HELLO)).stdout()), "rc_context=.");
}

#[test]
fn context_flag_overrides_the_default() {
    let sandbox = Dir::new();
    sandbox.write("app/Rockerfile", HELLO);
    std::fs::create_dir(sandbox.path("ctx")).unwrap();
    assert_eq!(recorded_context(&sandbox.run(&["-C", ".", "app/Rockerfile"]).stdout()), "rc_context=.");
    assert_eq!(recorded_context(&sandbox.run(&["--context", "ctx", "app/Rockerfile"]).stdout()), "rc_context=ctx");
    assert_eq!(recorded_context(&sandbox.run(&["--context=ctx/", "app/Rockerfile"]).stdout()), "rc_context=ctx");
    let absolute = sandbox.path("ctx").to_string_lossy().into_owned();
    assert_eq!(recorded_context(&sandbox.run(&["-C", &absolute, "app/Rockerfile"]).stdout()), "rc_context=ctx");
}

#[test]
fn the_recorded_context_is_relative_to_the_output_dir() {
    let sandbox = Dir::new();
    sandbox.write("app/Rockerfile", HELLO);
    let script = |dir: &str| std::fs::read_to_string(sandbox.path(dir).join("build.sh")).unwrap();

    Test::in_dir(&sandbox).args(["-o", "build", "app/Rockerfile"]).status(0).run();
    assert_eq!(recorded_context(&script("build")), "rc_context=../app");
    Test::in_dir(&sandbox).args(["-o", "app/build", "app/Rockerfile"]).status(0).run();
    assert_eq!(recorded_context(&script("app/build")), "rc_context=..");
    Test::in_dir(&sandbox).args(["-o", "out/deep/build", "-C", ".", "app/Rockerfile"]).status(0).run();
    assert_eq!(recorded_context(&script("out/deep/build")), "rc_context=../../..");
}

// ---------------------------------------------------------------------------------------------
// --error-format json

fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}"))).collect()
}

#[test]
fn json_errors_are_one_object_per_line_with_positions_in_the_original_file() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", "FROM alpine\n{{ if true }}\n  RUNN x\n{{ end }}\nCOPY y\n");
    let run = Test::in_dir(&sandbox).args(["--error-format", "json", "Rockerfile"]).status(1).stdout("").run();
    let errors = json_lines(&run.stderr);
    assert_eq!(errors.len(), 2, "{}", run.stderr);
    let e = &errors[0];
    assert_eq!(e["severity"], "error");
    assert_eq!(e["code"], "unknown-instruction");
    assert_eq!(e["message"], "unknown instruction `RUNN`");
    assert_eq!(e["file"], "Rockerfile");
    assert_eq!((e["primary"]["line"].as_u64(), e["primary"]["column"].as_u64()), (Some(3), Some(3)));
    assert_eq!((e["primary"]["end_line"].as_u64(), e["primary"]["end_column"].as_u64()), (Some(3), Some(7)));
    assert_eq!(e["primary"]["message"], "did you mean `RUN`?");
    assert_eq!(errors[1]["code"], "wrong-arguments");
    assert_eq!((errors[1]["primary"]["line"].as_u64(), errors[1]["primary"]["column"].as_u64()), (Some(5), Some(6)));
    assert_eq!(errors[1]["help"], "write where it goes in the image: `COPY y /app/`");
}

#[test]
fn json_covers_template_errors_and_problems_outside_the_file() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", "FROM alpine:{{ .Versoin }}\n");
    let run = sandbox.run(&["--error-format", "json", "--strict", "-var", "Version=1", "Rockerfile"]);
    let e = &json_lines(&run.stderr)[0];
    assert_eq!((e["code"].as_str(), e["primary"]["line"].as_u64(), e["primary"]["column"].as_u64()), (Some("template-unknown-variable"), Some(1), Some(16)));
    assert_eq!(e["help"], "did you mean `.Version`?");

    let run = Test::in_dir(&sandbox).args(["--error-format=json", "missing"]).status(1).stdout("").run();
    let e = &json_lines(&run.stderr)[0];
    assert_eq!((e["code"].as_str(), e["file"].as_str(), e["primary"].is_null()), (Some("file-unreadable"), Some("missing"), true));

    let run = sandbox.run(&["--error-format", "json", "-var", "Version", "Rockerfile"]);
    assert_eq!(json_lines(&run.stderr)[0]["code"], "var-missing-equals");
}

#[test]
fn json_warnings_go_to_stderr_on_success() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", "FROM alpine AS builder\nFROM buildr\n");
    let run = sandbox.run(&["--error-format", "json", "Rockerfile"]);
    assert_eq!(run.code, 0);
    let w = &json_lines(&run.stderr)[0];
    assert_eq!((w["severity"].as_str(), w["code"].as_str()), (Some("warning"), Some("stage-typo")));
}

// ---------------------------------------------------------------------------------------------
// Every class of compile error, verbatim

/// HEALTHCHECK is checked as Docker's instruction layer checks it.
#[test]
fn healthcheck_forms() {
    // `HEALTHCHECK FOO bar` and `--interval=5x`: tests/fixtures/diagnostics/healthcheck-*.rockerfile.
    for (rockerfile, starts) in [
        ("FROM alpine\nHEALTHCHECK CMD\n", "error[wrong-arguments]: HEALTHCHECK CMD requires a command\n"),
        ("FROM alpine\nHEALTHCHECK NONE extra\n", "error[wrong-arguments]: HEALTHCHECK NONE takes no other arguments\n"),
    ] {
        let run = Test::new().write("Rockerfile", rockerfile).arg("Rockerfile").status(1).stdout("").run();
        assert!(run.stderr.starts_with(starts), "{}", run.stderr);
    }
    Test::new()
        .write("Rockerfile", "FROM alpine\nHEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD curl -f http://localhost/\nHEALTHCHECK NONE\n")
        .arg("Rockerfile")
        .status(0)
        .run();
}

/// On a terminal the same diagnostic is coloured as rustc colours its own: the header red and
/// bold, the gutter blue, the caret in the header's colour, unless NO_COLOR is set. (`script`
/// gives rockerc a terminal.)
#[test]
fn diagnostics_are_coloured_on_a_terminal() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", "FROM alpine\nRUNN x\n");
    let bin = env!("CARGO_BIN_EXE_rockerc");
    let on_terminal = |no_color: Option<&str>| {
        let mut script = Command::new("script");
        script.args(["-qec", &format!("'{bin}' Rockerfile"), "/dev/null"]).current_dir(sandbox.path("."));
        match no_color {
            Some(v) => script.env("NO_COLOR", v),
            None => script.env_remove("NO_COLOR"),
        };
        let out = script.output().expect("script(1) from util-linux runs");
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
    };
    let plain = "error[unknown-instruction]: unknown instruction `RUNN`\n --> Rockerfile:2:1\n  |\n2 | RUNN x\n  | ^^^^ did you mean `RUN`?\n";
    // https://no-color.org: set and not empty means no colour, even on a terminal.
    assert_eq!(on_terminal(Some("1")), plain);
    let (red, bold, blue, reset) = ("\x1b[1;31m", "\x1b[1m", "\x1b[1;34m", "\x1b[0m");
    let coloured = format!(
        "{red}error[unknown-instruction]{reset}{bold}: unknown instruction `RUNN`{reset}\n \
             {blue}-->{reset} Rockerfile:2:1\n  \
             {blue}|{reset}\n\
             {blue}2{reset} {blue}|{reset} RUNN x\n  \
             {blue}|{reset} {red}^^^^ did you mean `RUN`?{reset}\n"
    );
    assert_eq!(on_terminal(None), coloured);
    assert_eq!(on_terminal(Some("")), coloured, "an empty NO_COLOR does not count");
}

/// A write that fails part-way (here: a file-size limit the second file exceeds, with SIGXFSZ
/// ignored so the write returns EFBIG) leaves no half-written directory: a new DIR is not
/// created, an earlier output stays byte for byte, and no staging directory stays beside it.
#[test]
fn output_dir_is_never_half_written_when_a_write_fails() {
    let sandbox = Dir::new();
    // One step with a large Dockerfile (larger than build.sh, which is written first).
    let big: String = std::iter::once("FROM alpine\n".to_string()).chain((0..7).map(|i| format!("RUN echo {i}{}\n", "x".repeat(60_000)))).collect();
    sandbox.write("Rockerfile", &big);
    let limited = |args: &str| {
        let out = Command::new("sh")
            .args(["-c", &format!("trap '' XFSZ; ulimit -f 400; exec \"$0\" {args}"), env!("CARGO_BIN_EXE_rockerc")])
            .current_dir(sandbox.root())
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = limited("-o out/new Rockerfile");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.starts_with("error[output-failed]: cannot write `") && err.contains("01-stage1.Dockerfile`: file too large"), "{err}");
    assert_eq!(sandbox.snapshot().keys().collect::<Vec<_>>(), ["Rockerfile"], "not even the parent it created stays");

    sandbox.write("small/Rockerfile", HELLO);
    Test::in_dir(&sandbox).args(["-o", "build", "small/Rockerfile"]).status(0).run();
    let before = sandbox.snapshot();
    let (code, err) = limited("-o build Rockerfile");
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(sandbox.snapshot(), before, "the earlier output is unchanged and nothing is left beside it");
}

#[test]
fn output_dir_under_a_file_fails_without_writing() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", HELLO).write("file", "in the way\n");
    let before = sandbox.snapshot();
    let run = Test::in_dir(&sandbox).args(["-o", "file/build", "Rockerfile"]).status(1).stdout("").run();
    assert!(run.stderr.starts_with("error[output-failed]: cannot create `file/build`: `file` is a file, not a directory"), "{}", run.stderr);
    assert_eq!(sandbox.snapshot(), before);
}

/// An IMPORT waits for (and the script replays) only the EXPORTs whose place in the store lies
/// inside what it reads, or holds it; not those beside it. Stages that each EXPORT into their own
/// `/artifacts/sN` make a chain, not a file where every stage waits for every earlier one.
#[test]
fn an_import_waits_only_for_exports_that_can_change_what_it_reads() {
    let sandbox = Dir::new();
    sandbox.write(
        "Rockerfile",
        "FROM alpine\nEXPORT /etc/hostname /artifacts/s0/\n\
         FROM alpine\nEXPORT /etc/hostname /artifacts/s1/\n\
         FROM alpine\nIMPORT /artifacts/s1 /one\n\
         FROM alpine\nIMPORT /artifacts /all\n\
         FROM alpine\nEXPORT /etc/hostname /artifacts\n\
         FROM alpine\nIMPORT /artifacts/s1 /again\n",
    );
    let run = sandbox.run(&["Rockerfile"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let script = String::from_utf8(run.stdout).unwrap();
    let waits: Vec<&str> = script.lines().filter(|l| l.starts_with("#   stage ") && l.contains("<- ")).map(|l| l.split("  ").last().unwrap()).collect();
    assert_eq!(
        waits,
        [
            "<- stage 2",          // IMPORT /artifacts/s1: not the EXPORT to s0 beside it
            "<- stage 1, stage 2", // IMPORT /artifacts: both
            "<- stage 2, stage 5", // /artifacts/s1 again: an EXPORT to /artifacts may replace it
        ],
        "{script}"
    );
    let replays: Vec<&str> = script.lines().filter(|l| l.trim_start().starts_with("rc_place ")).map(str::trim).collect();
    assert_eq!(
        replays,
        [
            "rc_place \"$rc_store\" 1 artifacts/s1/ 1",
            "rc_place \"$rc_store\" 0 artifacts/s0/ 1",
            "rc_place \"$rc_store\" 1 artifacts/s1/ 1",
            "rc_place \"$rc_store\" 1 artifacts/s1/ 1",
            "rc_place \"$rc_store\" 2 artifacts 1",
        ]
    );
}

/// REQUIRE with its variables set builds nothing: the output is the same as without the line.
#[test]
fn require_satisfied_emits_nothing() {
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", "REQUIRE VERSION\nFROM alpine\nRUN echo {{ .VERSION }}\n");
    let with = Test::in_dir(&sandbox).args(["-var", "VERSION=1.2", "--emit", "buildkit", "Rockerfile"]).status(0).run();
    sandbox.write("Rockerfile", "FROM alpine\nRUN echo {{ .VERSION }}\n");
    let without = Test::in_dir(&sandbox).args(["-var", "VERSION=1.2", "--emit", "buildkit", "Rockerfile"]).status(0).run();
    let strip = |s: &str| s.lines().filter(|l| !l.contains("Rockerfile:") && !l.contains("cksum") && !l.contains("rc_source")).collect::<Vec<_>>().join("\n");
    assert!(!with.stdout().contains("REQUIRE"), "REQUIRE must leave no trace in the output");
    assert_eq!(strip(&with.stdout()), strip(&without.stdout()));
}

/// INCLUDE of a file that is not there: the path it looked at, relative to the including file.
#[test]
fn include_of_a_missing_file_says_where_it_looked() {
    let run = Test::new().write("Rockerfile", "FROM alpine\nINCLUDE common.Rockerfile\n").arg("Rockerfile").status(1).stdout("").run();
    let out = run.stderr;
    assert!(out.starts_with("error[include-unreadable]: cannot read the INCLUDEd file `common.Rockerfile`: no such file\n --> Rockerfile:2:9\n"), "{out}");
    assert!(out.contains("= help: an INCLUDE path is relative to the file that includes it"), "{out}");
}

/// A vars file in the checkout that a symbolic link takes out of it is refused, naming the file
/// and where the link leads; nothing is written to stdout.
#[test]
fn a_vars_file_linked_out_of_the_checkout_is_refused() {
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("config.yml"), "auth: HOST-ONLY\n").unwrap();
    let sandbox = Dir::new();
    sandbox.write("Rockerfile", "FROM x\nRUN echo {{ json . }}\n");
    std::os::unix::fs::symlink(host.path().join("config.yml"), sandbox.path("v.yml")).unwrap();
    let to = host.path().join("config.yml").canonicalize().unwrap();
    Test::in_dir(&sandbox)
        .args(["-vars", "v.yml", "Rockerfile"])
        .status(1)
        .stdout("")
        .stderr(format!(
            "error[vars-file-link-leaves-checkout]: vars file `v.yml` is in the checkout, but a symbolic link on the way leads out of it, to `{}`; rockerc reads no vars file through such a link\n = note: the files in a checkout may come from a pull request, and a link there could hand any file of this machine to the template\n = help: put the file itself in the checkout, or, to read a file outside it on purpose, name that file by its own path\n",
            to.display()
        ))
        .run();
}
