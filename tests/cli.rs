//! The `rockerc` binary as a user meets it: exit codes, what goes to stdout and stderr, `-o DIR`,
//! the build context, Rocker's spellings of flags, and every class of compile error, pinned
//! verbatim as the user reads it.
//!
//! Each test runs the real binary in a fresh temporary directory (its current directory), with
//! stderr not a terminal, so diagnostics have no colour.

use rockerc::source::SourceFile;
use rockerc::Options;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A temporary directory to run rockerc in.
struct Sandbox {
    dir: tempfile::TempDir,
}

/// What one run of rockerc did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox { dir: tempfile::Builder::new().prefix("rockerc-cli-").tempdir().unwrap() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `rel` (creating its directories) and returns the sandbox, for chaining.
    fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Sandbox {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rockerc"));
        cmd.args(args).current_dir(self.dir.path()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("rockerc runs");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        drop(input);
        let out = child.wait_with_output().unwrap();
        Run { code: out.status.code().expect("rockerc exits"), stdout: out.stdout, stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8") }
    }

    /// Every entry under the sandbox (relative path -> contents and mode; directories as `None`).
    fn snapshot(&self) -> BTreeMap<String, Option<(Vec<u8>, u32)>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Option<(Vec<u8>, u32)>>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                if path.is_dir() {
                    out.insert(rel, None);
                    walk(root, &path, out);
                } else {
                    out.insert(rel, Some((std::fs::read(&path).unwrap(), mode(&path))));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode(_: &Path) -> u32 {
    0
}

/// The script the library makes of `text` (named `name`), with the context `context` and no
/// template variables: what stdout must be, byte for byte.
fn expected_script(name: &str, text: &str, context: &str) -> String {
    let options = Options { context: context.into(), sources: Some(sources_of(name, text, context)), ..Options::default() };
    rockerc::compile(&SourceFile::new(name, text), &options).unwrap_or_else(|f| panic!("{}", f.render(&SourceFile::new(name, text), false))).output.script
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

/// Compiles `rockerfile` (as ./Rockerfile, with `args` before it) and returns stderr, checking
/// that the compile failed with exit code 1 and printed nothing on stdout.
fn compile_error(rockerfile: &str, args: &[&str]) -> String {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", rockerfile);
    let mut all = args.to_vec();
    all.push("Rockerfile");
    let run = sandbox.run(&all);
    assert_eq!(run.code, 1, "expected a compile error, got {run:?}");
    assert!(run.stdout.is_empty(), "stdout must be empty on error, got {:?}", run.stdout());
    run.stderr
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
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", HELLO);
    let run = sandbox.run(&["Rockerfile"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(run.stdout(), expected_script("Rockerfile", HELLO, "."));
    assert!(run.stdout().starts_with("#!/bin/sh\n"));
}

#[test]
fn the_default_rockerfile_is_the_one_in_the_current_directory() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", HELLO);
    let run = sandbox.run(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout(), expected_script("Rockerfile", HELLO, "."));
}

#[test]
fn a_compile_error_exits_1_with_nothing_on_stdout() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "FROM alpine\nRUNN x\n");
    let run = sandbox.run(&["Rockerfile"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.starts_with("error[unknown-instruction]"), "{}", run.stderr);
}

#[test]
fn a_missing_rockerfile_exits_1() {
    let run = Sandbox::new().run(&["nope/Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert_eq!(run.stderr, "error[file-unreadable]: cannot read `nope/Rockerfile`: no such file or directory\n");
}

#[test]
fn a_missing_default_rockerfile_says_how_to_name_one() {
    let run = Sandbox::new().run(&[]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert_eq!(
        run.stderr,
        "error[file-unreadable]: cannot read `Rockerfile`: no such file or directory\n \
         = help: rockerc reads ./Rockerfile by default; name another file with `rockerc FILE` or `-f FILE`\n"
    );
}

#[test]
fn a_directory_given_as_the_rockerfile_exits_1() {
    let sandbox = Sandbox::new();
    sandbox.write("app/Rockerfile", HELLO);
    let run = sandbox.run(&["app"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert_eq!(run.stderr, "error[file-unreadable]: `app` is a directory, not a Rockerfile\n = help: name the file: `rockerc app/Rockerfile`\n");
}

#[cfg(unix)]
#[test]
fn an_unreadable_rockerfile_exits_1() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", HELLO);
    std::fs::set_permissions(sandbox.path("Rockerfile"), std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(sandbox.path("Rockerfile")).is_ok() {
        // Running as root: permissions do not stop reading; nothing to test here.
        return;
    }
    let run = sandbox.run(&["Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert_eq!(run.stderr, "error[file-unreadable]: cannot read `Rockerfile`: permission denied\n");
}

#[test]
fn a_rockerfile_that_is_not_utf8_exits_1_naming_the_byte() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", b"FROM alpine\nLABEL author=Ren\xe9\n");
    let run = sandbox.run(&["Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert_eq!(
        run.stderr,
        "error[not-utf8]: `Rockerfile` is not UTF-8 text: byte 0xe9 at line 2, column 17\n \
         = help: save the Rockerfile as UTF-8 (for example with `iconv -f LATIN1 -t UTF-8`)\n"
    );
}

#[test]
fn standard_input_that_is_not_utf8_exits_1() {
    let sandbox = Sandbox::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rockerc"));
    cmd.arg("-").current_dir(sandbox.dir.path()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"FROM \xff\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!((out.status.code(), out.stdout.is_empty()), (Some(1), true));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error[not-utf8]: standard input is not UTF-8 text: byte 0xff at line 1, column 6\n \
         = help: save the Rockerfile as UTF-8 (for example with `iconv -f LATIN1 -t UTF-8`)\n"
    );
}

#[test]
fn a_missing_context_directory_exits_1() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", HELLO);
    let run = sandbox.run(&["-C", "nodir", "Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert_eq!(run.stderr, "error[bad-context]: the build context `nodir` does not exist\n = help: pass an existing directory with -C DIR\n");
}

#[test]
fn a_context_that_is_a_file_exits_1() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", HELLO);
    let run = sandbox.run(&["--context", "Rockerfile", "Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert_eq!(run.stderr, "error[bad-context]: the build context `Rockerfile` is not a directory\n = help: pass an existing directory with -C DIR\n");
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", HELLO);
    let run = sandbox.run(&["--bogus", "Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (2, true));
    assert!(run.stderr.starts_with("error: unexpected argument '--bogus' found\n"), "{}", run.stderr);
    assert!(run.stderr.contains("Usage: rockerc [OPTIONS] [ROCKERFILE]"), "{}", run.stderr);
}

#[test]
fn a_build_arg_without_equals_is_a_usage_error_before_anything_is_read() {
    // The Rockerfile does not exist: the usage error comes first.
    let run = Sandbox::new().run(&["--build-arg", "VERSION", "missing"]);
    assert_eq!((run.code, run.stdout.is_empty()), (2, true));
    assert_eq!(
        run.stderr,
        "error: invalid value 'VERSION' for '--build-arg <NAME=VALUE>': expected NAME=VALUE; to pass the value of the environment variable, write `--build-arg VERSION=\"$VERSION\"`\n\n\
         For more information, try '--help'.\n"
    );
}

#[test]
fn a_build_arg_without_a_name_is_a_usage_error() {
    let run = Sandbox::new().run(&["--build-arg", "=1", "missing"]);
    assert_eq!((run.code, run.stdout.is_empty()), (2, true));
    assert_eq!(
        run.stderr,
        "error: invalid value '=1' for '--build-arg <NAME=VALUE>': expected NAME=VALUE, but the name is empty\n\nFor more information, try '--help'.\n"
    );
}

#[test]
fn two_rockerfiles_are_a_usage_error() {
    let run = Sandbox::new().run(&["-f", "a", "b"]);
    assert_eq!((run.code, run.stdout.is_empty()), (2, true));
    assert!(run.stderr.starts_with("error: the argument '--file <FILE>' cannot be used with '[ROCKERFILE]'"), "{}", run.stderr);
}

#[test]
fn help_and_version_exit_0() {
    let sandbox = Sandbox::new();
    let help = sandbox.run(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout().contains("Rocker's single-dash spellings work too: -var, -vars, -print."));
    let version = sandbox.run(&["--version"]);
    assert_eq!((version.code, version.stdout()), (0, format!("rockerc {}\n", env!("CARGO_PKG_VERSION"))));
}

#[test]
fn warnings_go_to_stderr_and_stdout_is_still_exactly_the_script() {
    let text = "FROM alpine AS builder\nRUN make\nFROM alpine\nCOPY --from=buidler /out /out\n";
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", text);
    let run = sandbox.run(&["Rockerfile"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout(), expected_script("Rockerfile", text, "."));
    assert_eq!(
        run.stderr,
        r#"warning[stage-typo]: `buidler` is not a stage of this file, so it names an image to pull
 --> Rockerfile:4:6
  |
4 | COPY --from=buidler /out /out
  |      ^^^^^^^^^^^^^^ did you mean the stage `builder`?
"#
    );
}

#[test]
fn ports_in_quotes_or_variables_are_left_to_docker() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "FROM alpine\nARG PORT=8080\nEXPOSE \"8080\" $PORT ${PORT}/udp 127.0.0.1:80:80 8000-8010/TCP\n");
    let run = sandbox.run(&["Rockerfile"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
}

// ---------------------------------------------------------------------------------------------
// Inputs: stdin, -f, Rocker's single-dash flags, --print

#[test]
fn dash_reads_standard_input() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_with_stdin(&["-"], Some(HELLO));
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    // From a pipe: there is no file the script could compare.
    let options = Options { context: ".".into(), ..Options::default() };
    assert_eq!(run.stdout(), rockerc::compile(&SourceFile::new("<stdin>", HELLO), &options).unwrap().output.script);
}

#[test]
fn errors_in_standard_input_name_it() {
    let run = Sandbox::new().run_with_stdin(&["-"], Some("FROM alpine\nRUNN x\n"));
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert!(run.stderr.contains(" --> <stdin>:2:1\n"), "{}", run.stderr);
}

#[test]
fn dash_f_names_the_rockerfile_as_rocker_did() {
    let sandbox = Sandbox::new();
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
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", text);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rockerc"));
    let out = cmd
        .args(["--print", "--var", "Version=3.19", "--var", "Debug=", "Rockerfile"])
        .env("ROCKERC_TEST_GREETING", "hi there")
        .current_dir(sandbox.dir.path())
        .output()
        .unwrap();
    assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stderr).as_ref()), (Some(0), ""));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "FROM alpine:3.19  \r\n\n\tRUN echo hi there\n# 3.19");
    // Nothing was compiled, so nothing was written.
    assert_eq!(sandbox.snapshot().len(), 1);
}

#[test]
fn print_of_a_file_without_templates_is_the_file() {
    let text = "FROM alpine\r\nRUN   echo  'a  b'   \nRUNN not checked by --print";
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", text);
    let run = sandbox.run(&["-print", "Rockerfile"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(run.stdout, text.as_bytes());
}

#[test]
fn print_stops_on_a_template_error_with_nothing_on_stdout() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "FROM alpine:{{ .Version }\n");
    let run = sandbox.run(&["--print", "Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert!(run.stderr.starts_with("error[template-syntax]"), "{}", run.stderr);
}

#[test]
fn rocker_single_dash_var_and_vars() {
    let sandbox = Sandbox::new();
    sandbox
        .write("Rockerfile", "FROM {{ .Image }}:{{ .Version }}\nLABEL team={{ .Team }}\n")
        .write("vars.yml", "Image: alpine\nVersion: \"3.18\"\nTeam: core\n")
        .write("more.json", "{\"Team\": \"platform\"}\n");
    // -vars files merge in order; -var wins over them.
    let run = sandbox.run(&["-vars", "vars.yml", "-vars=more.json", "-var", "Version=3.19", "-print", "Rockerfile"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(run.stdout(), "FROM alpine:3.19\nLABEL team=platform\n");
    let long = sandbox.run(&["--vars", "vars.yml", "--vars", "more.json", "--var=Version=3.19", "--print", "Rockerfile"]);
    assert_eq!(long.stdout, run.stdout);
}

#[test]
fn var_at_file_reads_the_value_from_a_file() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "FROM alpine\nLABEL v={{ .Version }}\n").write("VERSION", "1.2.3");
    let run = sandbox.run(&["-var", "Version=@VERSION", "-print", "Rockerfile"]);
    assert_eq!((run.code, run.stdout()), (0, "FROM alpine\nLABEL v=1.2.3\n".to_string()), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// -o DIR

#[test]
fn output_dir_holds_an_executable_script_and_one_dockerfile_per_step() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", TWO_STAGES);
    let run = sandbox.run(&["-o", "build", "Rockerfile"]);
    assert_eq!((run.code, run.stderr.as_str(), run.stdout.is_empty()), (0, "", true));

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
    assert_eq!(std::fs::read_to_string(sandbox.path("build/build.sh")).unwrap(), expected.script);
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
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", every_kind);
    std::fs::create_dir(sandbox.path("dist")).unwrap();
    let run = sandbox.run(&["-o", "build", "Rockerfile"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
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
    assert!(script.lines().count() < 150, "build.sh is {} lines", script.lines().count());
    assert!(!script.contains("rc_parse_args() {") && script.contains(". \"$rc_here/rockerc-runtime.sh\""), "{script}");
    let runtime = std::fs::read_to_string(sandbox.path("build/rockerc-runtime.sh")).unwrap();
    assert!(runtime.contains(&format!("rc_runtime={}\n", env!("CARGO_PKG_VERSION"))) && runtime.contains("rc_parse_args() {"));
    let other = Sandbox::new();
    other.write("Rockerfile", HELLO);
    assert_eq!(other.run(&["-o", "out", "Rockerfile"]).code, 0);
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
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", TWO_STAGES);
    assert_eq!(sandbox.run(&["-o", "build", "Rockerfile"]).code, 0);
    let before = sandbox.snapshot();

    sandbox.write("Rockerfile", "FROM alpine\nRUNN x\n");
    let run = sandbox.run(&["-o", "build", "Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    let mut after = sandbox.snapshot();
    // Only the Rockerfile changed; no temporary directory is left beside `build`.
    after.insert("Rockerfile".into(), before["Rockerfile"].clone());
    assert_eq!(after, before);
}

#[test]
fn output_dir_is_not_created_on_a_compile_error() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "FROM alpine\nRUNN x\n");
    assert_eq!(sandbox.run(&["-o", "out/build", "Rockerfile"]).code, 1);
    assert_eq!(sandbox.snapshot().keys().collect::<Vec<_>>(), ["Rockerfile"]);
}

#[test]
fn output_dir_that_is_not_an_earlier_output_is_refused() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", HELLO).write("src/main.go", "package main\n");
    let before = sandbox.snapshot();
    let run = sandbox.run(&["-o", "src", "Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert_eq!(
        run.stderr,
        "error[output-not-ours]: -o src: the directory is not empty and is not an earlier rockerc output\n \
         = note: rockerc replaces the whole directory, so it only writes into a new or empty one, or one it wrote before\n \
         = help: choose another -o directory\n"
    );
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn output_dir_that_is_a_file_is_refused() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", HELLO).write("build", "not a directory");
    let before = sandbox.snapshot();
    let run = sandbox.run(&["-o", "build", "Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert_eq!(
        run.stderr,
        "error[output-not-ours]: -o build: a file of that name exists\n \
         = help: -o names a directory for build.sh and the Dockerfiles; choose another name\n"
    );
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn output_dir_replaces_an_earlier_output_as_a_whole() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", TWO_STAGES);
    assert_eq!(sandbox.run(&["-o", "build", "Rockerfile"]).code, 0);
    let two = std::fs::read_dir(sandbox.path("build")).unwrap().count();

    sandbox.write("Rockerfile", HELLO);
    let run = sandbox.run(&["-o", "build", "Rockerfile"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    let options =
        Options { context: "..".into(), layout: rockerc::emit::Layout::Directory, sources: Some(sources_of("Rockerfile", HELLO, ".")), ..Options::default() };
    let expected = rockerc::compile(&SourceFile::new("Rockerfile", HELLO), &options).unwrap().output;
    // The Dockerfiles of the earlier output are gone: the directory holds exactly the new one.
    let mut names: Vec<String> = std::fs::read_dir(sandbox.path("build")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.len() < two, "{names:?}");
    assert_eq!(names.len(), expected.files.len() + 1);
    assert_eq!(std::fs::read_to_string(sandbox.path("build/build.sh")).unwrap(), expected.script);
    // Nothing but the Rockerfile and the output beside it.
    let top: Vec<String> = std::fs::read_dir(sandbox.dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(top.len(), 2, "{top:?}");
}

#[test]
fn output_dir_may_be_an_empty_directory() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", HELLO);
    std::fs::create_dir(sandbox.path("build")).unwrap();
    let run = sandbox.run(&["-o", "build", "Rockerfile"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert!(sandbox.path("build/build.sh").is_file());
}

#[test]
fn output_dir_cannot_be_the_current_directory() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.path("empty")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rockerc"));
    let out = cmd.args(["-o", ".", "-"]).current_dir(sandbox.path("empty")).stdin(Stdio::null()).output().unwrap();
    assert_eq!((out.status.code(), out.stdout.is_empty()), (Some(1), true));
    // An empty stdin fails to compile first; with a Rockerfile, the directory is refused.
    sandbox.write("Rockerfile", HELLO);
    let out = Command::new(env!("CARGO_BIN_EXE_rockerc")).args(["-o", ".", "../Rockerfile"]).current_dir(sandbox.path("empty")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error[output-not-ours]: -o .: the output directory cannot be the current directory or one that holds it\n \
         = note: rockerc replaces the output directory as a whole\n \
         = help: name a directory of its own: `-o build`\n"
    );
    assert_eq!(std::fs::read_dir(sandbox.path("empty")).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// The build context

#[test]
fn the_context_defaults_to_the_rockerfiles_directory() {
    let sandbox = Sandbox::new();
    sandbox.write("app/Rockerfile", HELLO);
    let run = sandbox.run(&["app/Rockerfile"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(recorded_context(&run.stdout()), "rc_context=app");
    assert_eq!(run.stdout(), expected_script("app/Rockerfile", HELLO, "app"));
}

#[test]
fn the_context_of_a_rockerfile_in_the_current_directory_is_dot() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", HELLO);
    assert_eq!(recorded_context(&sandbox.run(&["Rockerfile"]).stdout()), "rc_context=.");
    assert_eq!(recorded_context(&sandbox.run_with_stdin(&["-"], Some(HELLO)).stdout()), "rc_context=.");
}

#[test]
fn context_flag_overrides_the_default() {
    let sandbox = Sandbox::new();
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
    let sandbox = Sandbox::new();
    sandbox.write("app/Rockerfile", HELLO);
    let script = |dir: &str| std::fs::read_to_string(sandbox.path(dir).join("build.sh")).unwrap();

    assert_eq!(sandbox.run(&["-o", "build", "app/Rockerfile"]).code, 0);
    assert_eq!(recorded_context(&script("build")), "rc_context=../app");
    assert_eq!(sandbox.run(&["-o", "app/build", "app/Rockerfile"]).code, 0);
    assert_eq!(recorded_context(&script("app/build")), "rc_context=..");
    assert_eq!(sandbox.run(&["-o", "out/deep/build", "-C", ".", "app/Rockerfile"]).code, 0);
    assert_eq!(recorded_context(&script("out/deep/build")), "rc_context=../../..");
}

// ---------------------------------------------------------------------------------------------
// --error-format json

fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}"))).collect()
}

#[test]
fn json_errors_are_one_object_per_line_with_positions_in_the_original_file() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "FROM alpine\n{{ if true }}\n  RUNN x\n{{ end }}\nCOPY y\n");
    let run = sandbox.run(&["--error-format", "json", "Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
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
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "FROM alpine:{{ .Versoin }}\n");
    let run = sandbox.run(&["--error-format", "json", "--strict", "-var", "Version=1", "Rockerfile"]);
    let e = &json_lines(&run.stderr)[0];
    assert_eq!((e["code"].as_str(), e["primary"]["line"].as_u64(), e["primary"]["column"].as_u64()), (Some("template-unknown-variable"), Some(1), Some(16)));
    assert_eq!(e["help"], "did you mean `.Version`?");

    let run = sandbox.run(&["--error-format=json", "missing"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    let e = &json_lines(&run.stderr)[0];
    assert_eq!((e["code"].as_str(), e["file"].as_str(), e["primary"].is_null()), (Some("file-unreadable"), Some("missing"), true));

    let run = sandbox.run(&["--error-format", "json", "-var", "Version", "Rockerfile"]);
    assert_eq!(json_lines(&run.stderr)[0]["code"], "var-missing-equals");
}

#[test]
fn json_warnings_go_to_stderr_on_success() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "FROM alpine AS builder\nFROM buildr\n");
    let run = sandbox.run(&["--error-format", "json", "Rockerfile"]);
    assert_eq!(run.code, 0);
    let w = &json_lines(&run.stderr)[0];
    assert_eq!((w["severity"].as_str(), w["code"].as_str()), (Some("warning"), Some("stage-typo")));
}

// ---------------------------------------------------------------------------------------------
// Every class of compile error, verbatim

/// A misspelt instruction: the closest one is suggested.
#[test]
fn unknown_instruction_suggests_the_closest() {
    assert_eq!(
        compile_error("FROM alpine\nRUNN echo hi\n", &[]),
        r#"error[unknown-instruction]: unknown instruction `RUNN`
 --> Rockerfile:2:1
  |
2 | RUNN echo hi
  | ^^^^ did you mean `RUN`?
"#
    );
}

/// A lower-case word where an instruction should be is most often a continuation that lost its backslash.
#[test]
fn unknown_word_on_its_own_line_asks_about_a_lost_backslash() {
    assert_eq!(
        compile_error("FROM alpine\nRUN apt-get install -y \\\n    git\n    curl\n", &[]),
        r#"error[unknown-instruction]: unknown instruction `curl`
 --> Rockerfile:4:5
  |
4 |     curl
  |     ^^^^ not a Dockerfile or Rocker instruction
  = help: if this line continues the instruction above, end the line above with `\`
"#
    );
}

/// Rocker 0.2's REQUIRE: a variable that is not set fails the compile, naming it, its line and
/// how to set it; nothing is written.
#[test]
fn require_names_the_unset_variable_and_how_to_set_it() {
    assert_eq!(
        compile_error("FROM alpine\nREQUIRE [\"VERSION\", \"COMMIT\"]\n", &["-var", "COMMIT=abc"]),
        r#"error[required-variable]: the variable `VERSION` is required but not set
 --> Rockerfile:2:10
  |
2 | REQUIRE ["VERSION", "COMMIT"]
  |          ^^^^^^^^^ REQUIREd here
  = help: set it: `rockerc -var VERSION=VALUE ...`, or `VERSION: VALUE` in a `-vars` file
"#
    );
}

/// REQUIRE with its variables set builds nothing: the output is the same as without the line.
#[test]
fn require_satisfied_emits_nothing() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "REQUIRE VERSION\nFROM alpine\nRUN echo {{ .VERSION }}\n");
    let with = sandbox.run(&["-var", "VERSION=1.2", "--emit", "buildkit", "Rockerfile"]);
    assert_eq!(with.code, 0, "{with:?}");
    sandbox.write("Rockerfile", "FROM alpine\nRUN echo {{ .VERSION }}\n");
    let without = sandbox.run(&["-var", "VERSION=1.2", "--emit", "buildkit", "Rockerfile"]);
    let strip = |s: &str| s.lines().filter(|l| !l.contains("Rockerfile:") && !l.contains("cksum") && !l.contains("rc_source")).collect::<Vec<_>>().join("\n");
    assert!(!with.stdout().contains("REQUIRE"), "REQUIRE must leave no trace in the output");
    assert_eq!(strip(&with.stdout()), strip(&without.stdout()));
}

/// INCLUDE of a file that is not there: the path it looked at, relative to the including file.
#[test]
fn include_of_a_missing_file_says_where_it_looked() {
    let out = compile_error("FROM alpine\nINCLUDE common.Rockerfile\n", &[]);
    assert!(out.starts_with("error[include-unreadable]: cannot read the INCLUDEd file `common.Rockerfile`: no such file\n --> Rockerfile:2:9\n"), "{out}");
    assert!(out.contains("= help: an INCLUDE path is relative to the file that includes it"), "{out}");
}

/// Rocker 0.2's VAR: the help shows both ways to set the variable now.
#[test]
fn rocker_0_2_var() {
    assert_eq!(
        compile_error("FROM alpine\nVAR Version=1.0\n", &[]),
        r#"error[unknown-instruction]: unknown instruction `VAR`
 --> Rockerfile:2:1
  |
2 | VAR Version=1.0
  | ^^^ a Rocker 0.2 instruction
  = help: VAR was removed in Rocker 1.0; pass `-var Version=1.0` to rockerc, or write `{{ $Version := "1.0" }}`
"#
    );
}

/// `FROM image name` lacks AS.
#[test]
fn from_with_two_words_suggests_as() {
    assert_eq!(
        compile_error("FROM golang:1.22 builder\nRUN go build\n", &[]),
        r#"error[wrong-arguments]: FROM requires either one or three arguments
 --> Rockerfile:1:6
  |
1 | FROM golang:1.22 builder
  |      ^^^^^^^^^^^^^^^^^^^ expected `FROM <image>` or `FROM <image> AS <name>`
  = help: to name the stage, write `FROM golang:1.22 AS builder`
"#
    );
}

/// A bare FROM.
#[test]
fn from_without_an_image() {
    assert_eq!(
        compile_error("FROM\n", &[]),
        r#"error[wrong-arguments]: FROM requires either one or three arguments
 --> Rockerfile:1:1
  |
1 | FROM
  | ^^^^ expected `FROM <image>` or `FROM <image> AS <name>`
  = help: name the base image: `FROM alpine:3.19`, or `FROM scratch` for an empty one
"#
    );
}

/// COPY with one argument.
#[test]
fn copy_with_one_argument_lacks_a_destination() {
    assert_eq!(
        compile_error("FROM alpine\nCOPY app.js\n", &[]),
        r#"error[wrong-arguments]: COPY requires at least two arguments: the sources, then the destination
 --> Rockerfile:2:6
  |
2 | COPY app.js
  |      ^^^^^^ the only argument: a destination is missing
  = help: write where it goes in the image: `COPY app.js /app/`
"#
    );
}

/// COPY alone.
#[test]
fn copy_without_arguments() {
    assert_eq!(
        compile_error("FROM alpine\nCOPY\n", &[]),
        r#"error[wrong-arguments]: COPY requires a source and a destination
 --> Rockerfile:2:1
  |
2 | COPY
  | ^^^^ expected `COPY <source>... <destination>`
  = help: write `COPY . /app/` to copy the whole build context
"#
    );
}

/// USER alone.
#[test]
fn user_without_arguments() {
    assert_eq!(
        compile_error("FROM alpine\nUSER\n", &[]),
        r#"error[wrong-arguments]: USER requires exactly one argument
 --> Rockerfile:2:1
  |
2 | USER
  | ^^^^ expected `USER <user>[:<group>]`
  = help: write `USER nobody` or `USER 1000:1000`
"#
    );
}

/// TAG takes one name.
#[test]
fn tag_with_two_names() {
    assert_eq!(
        compile_error("FROM alpine\nTAG myapp:1.0 myapp:latest\n", &[]),
        r#"error[wrong-arguments]: TAG takes one image name, not 2
 --> Rockerfile:2:5
  |
2 | TAG myapp:1.0 myapp:latest
  |     ^^^^^^^^^^^^^^^^^^^^^^ 2 names
  = help: write one TAG per name: `TAG myapp:1.0`, then `TAG myapp:latest` on the next line
"#
    );
}

/// A JSON array in exec form holds only strings.
#[test]
fn nested_json_array() {
    assert_eq!(
        compile_error("FROM alpine\nCMD [ \"a\", [ \"nested\" ] ]\n", &[]),
        r#"error[json-not-strings]: JSON array in CMD must contain only strings
 --> Rockerfile:2:12
  |
2 | CMD [ "a", [ "nested" ] ]
  |            ^^^^^^^^^^^^ this is an array, not a string
"#
    );
}

/// Only ARG may precede the first FROM; one error, not one per line.
#[test]
fn instruction_before_the_first_from() {
    assert_eq!(
        compile_error("RUN echo hi\nRUN echo again\nFROM alpine\n", &[]),
        r#"error[before-from]: RUN before the first FROM
 --> Rockerfile:1:1
  |
1 | RUN echo hi
  | ^^^ only ARG may come before the first FROM
3 | FROM alpine
  | ---- the first FROM
  = help: move the RUN below a FROM: instructions run in the image a FROM starts
"#
    );
}

/// Without any FROM, the error says so once.
#[test]
fn no_from_at_all() {
    assert_eq!(
        compile_error("MAINTAINER me\nRUN echo hi\nRUN echo again\n", &[]),
        r#"error[no-from]: the Rockerfile has no FROM instruction
 --> Rockerfile:1:1
  |
1 | MAINTAINER me
  | ^^^^^^^^^^ MAINTAINER needs an image, and no FROM starts one
  = help: start the file with `FROM <image>`; if a template should write the FROM, `rockerc --print` shows what it wrote
"#
    );
}

/// IMPORT needs an earlier EXPORT.
#[test]
fn import_before_any_export() {
    assert_eq!(
        compile_error("FROM alpine\nIMPORT /app\n", &[]),
        r#"error[import-before-export]: IMPORT before any EXPORT
 --> Rockerfile:2:1
  |
2 | IMPORT /app
  | ^^^^^^^^^^^ nothing has been EXPORTed at this point of the file
  = help: EXPORT the files from an earlier stage: `EXPORT /path/in/builder`
"#
    );
}

/// IMPORT of the path the file had in the builder: EXPORT kept only its last component.
#[test]
fn import_of_the_builder_path_suggests_the_store_name() {
    assert_eq!(
        compile_error("FROM golang AS builder\nRUN go build -o /out/app .\nEXPORT /out/app\nFROM alpine\nIMPORT /out/app /usr/local/bin/\n", &[]),
        r#"error[import-not-exported]: IMPORT `/out/app`: no EXPORT before this line puts anything there
 --> Rockerfile:5:8
  |
5 | IMPORT /out/app /usr/local/bin/
  |        ^^^^^^^^ did you mean `app`?
  = note: the export store holds: `app`
  = help: EXPORT keeps only the last component of the path it copies, as rsync does: `EXPORT /a/b/c` puts `c` in the store; IMPORT names it as it is in the store: `app`
"#
    );
}

/// IMPORT of a name no EXPORT stored.
#[test]
fn import_of_a_path_nothing_exported() {
    assert_eq!(
        compile_error("FROM golang AS builder\nEXPORT /out/app\nFROM alpine\nIMPORT tool /usr/local/bin/\n", &[]),
        r#"error[import-not-exported]: IMPORT `tool`: no EXPORT before this line puts anything there
 --> Rockerfile:4:8
  |
4 | IMPORT tool /usr/local/bin/
  |        ^^^^ no EXPORT before this line puts anything at this path of the export store
  = note: the export store holds: `app`
  = help: EXPORT keeps only the last component of the path it copies, as rsync does: `EXPORT /a/b/c` puts `c` in the store, and `IMPORT c` reads it
"#
    );
}

/// COPY --from a stage number that does not exist yet.
#[test]
fn copy_from_an_unknown_stage_index() {
    assert_eq!(
        compile_error("FROM alpine AS builder\nFROM alpine\nCOPY --from=2 /a /b\n", &[]),
        r#"error[unknown-stage]: there is no stage 2 before this one
 --> Rockerfile:3:6
  |
3 | COPY --from=2 /a /b
  |      ^^^^^^^^ stages are numbered from 0; 2 so far
  = help: name an earlier stage by its number or its AS name: 0 or `builder`, 1
"#
    );
}

/// A misspelt flag.
#[test]
fn unknown_copy_flag_suggests_the_closest() {
    assert_eq!(
        compile_error("FROM alpine AS builder\nFROM alpine\nCOPY --form=builder /a /b\n", &[]),
        r#"error[unknown-flag]: unknown flag for COPY: `--form=builder`
 --> Rockerfile:3:6
  |
3 | COPY --form=builder /a /b
  |      ^^^^^^^^^^^^^^ did you mean `--from`?
"#
    );
}

/// BuildKit-only flags name the backend and what to use instead.
#[test]
fn run_mount_needs_buildkit() {
    assert_eq!(
        compile_error("FROM alpine\nRUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n", &[]),
        r#"error[needs-buildkit]: RUN --mount needs BuildKit
 --> Rockerfile:2:5
  |
2 | RUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ the sh backend builds with Docker's legacy builder, which does not support this flag
  = help: use Rocker's MOUNT instruction, which the sh backend lowers to `docker run` with mounts
"#
    );
}

/// COPY --chmod is BuildKit-only.
#[test]
fn copy_chmod_needs_buildkit() {
    assert_eq!(
        compile_error("FROM alpine\nCOPY --chmod=755 run.sh /usr/local/bin/\n", &[]),
        r#"error[needs-buildkit]: COPY --chmod needs BuildKit
 --> Rockerfile:2:6
  |
2 | COPY --chmod=755 run.sh /usr/local/bin/
  |      ^^^^^^^^^^^ the sh backend builds with Docker's legacy builder, which does not support this flag
  = help: build this file with a BuildKit backend, or drop the flag
"#
    );
}

/// Heredocs are BuildKit-only: the legacy builder reads the body as instructions.
#[test]
fn run_heredoc_needs_buildkit() {
    assert_eq!(
        compile_error("FROM alpine\nRUN <<EOF\napk add git\nEOF\n", &[]),
        r#"error[needs-buildkit]: RUN with a heredoc (`<<EOF`) needs BuildKit
 --> Rockerfile:2:5
  |
2 | RUN <<EOF
  |     ^^^^^ the sh backend builds with Docker's legacy builder, which reads the heredoc body as instructions
  = help: write the commands on the RUN line, joined with `&&` (continue lines with `\`), or COPY a script and RUN it
"#
    );
}

/// COPY with a heredoc is BuildKit-only too.
#[test]
fn copy_heredoc_needs_buildkit() {
    assert_eq!(
        compile_error("FROM alpine\nCOPY <<EOF /etc/motd\nhello\nEOF\n", &[]),
        r#"error[needs-buildkit]: COPY with a heredoc (`<<EOF`) needs BuildKit
 --> Rockerfile:2:6
  |
2 | COPY <<EOF /etc/motd
  |      ^^^^^ the sh backend builds with Docker's legacy builder, which reads the heredoc body as instructions
  = help: put the file in the build context and `COPY` it from there
"#
    );
}

/// `FROM image ASS name`: the second word must be AS.
#[test]
fn from_with_a_misspelt_as() {
    assert_eq!(
        compile_error("FROM alpine ASS base\n", &[]),
        r#"error[wrong-arguments]: FROM requires either one or three arguments
 --> Rockerfile:1:6
  |
1 | FROM alpine ASS base
  |      ^^^^^^^^^^^^^^^ expected `FROM <image>` or `FROM <image> AS <name>`
  = help: the second word must be AS: `FROM alpine AS base`
"#
    );
}

/// MOUNT alone: the help shows both forms.
#[test]
fn mount_without_arguments() {
    assert_eq!(
        compile_error("FROM alpine\nMOUNT\n", &[]),
        r#"error[wrong-arguments]: MOUNT requires at least one argument
 --> Rockerfile:2:1
  |
2 | MOUNT
  | ^^^^^ expected `MOUNT [<source>:]<absolute path>...`
  = help: write `MOUNT /root/.cache` for a volume kept between builds, or `MOUNT .:/src` for a host directory
"#
    );
}

/// A port Docker would reject when it builds, caught when compiling.
#[test]
fn expose_of_an_invalid_port() {
    assert_eq!(
        compile_error("FROM alpine\nEXPOSE 8080 http\n", &[]),
        r#"error[bad-port]: invalid port `http` in EXPOSE
 --> Rockerfile:2:13
  |
2 | EXPOSE 8080 http
  |             ^^^^ expected a port number (0-65535), a range, and optionally /tcp, /udp or /sctp
  = help: write `EXPOSE 8080`, `EXPOSE 53/udp` or `EXPOSE 8000-8010`
"#
    );
}

/// `$VAR` in TAG was Rocker 0.2; the help names the variable.
#[test]
fn tag_with_a_rocker_0_2_variable() {
    assert_eq!(
        compile_error("FROM alpine\nTAG myapp:$VERSION\n", &[]),
        r#"error[bad-image-name]: invalid image name `myapp:$VERSION` in TAG
 --> Rockerfile:2:11
  |
2 | TAG myapp:$VERSION
  |           ^^^^^^^^ the tag `$VERSION` starts with `$`: a tag starts with a letter, a digit or `_`
  = help: Rocker 0.2 replaced `$VERSION` with a variable here; Rocker 1.x and rockerc do not: write `{{ .VERSION }}` and pass `-var VERSION=...`
"#
    );
}

/// Repository names are lower case.
#[test]
fn push_with_an_upper_case_name() {
    assert_eq!(
        compile_error("FROM alpine\nPUSH MyApp:1.0\n", &[]),
        r#"error[bad-image-name]: invalid image name `MyApp:1.0` in PUSH
 --> Rockerfile:2:6
  |
2 | PUSH MyApp:1.0
  |      ^^^^^ repository names must be lowercase (`MyApp`)
  = help: did you mean `myapp:1.0`?
"#
    );
}

/// A volume MOUNT needs an absolute path.
#[test]
fn mount_of_a_relative_volume_path() {
    assert_eq!(
        compile_error("FROM alpine\nMOUNT cache\n", &[]),
        r#"error[bad-mount]: volume destination `cache` is not an absolute path
 --> Rockerfile:2:7
  |
2 | MOUNT cache
  |       ^^^^^ mount destinations must start with `/`
  = help: write `MOUNT /cache` for a volume kept between builds, or `MOUNT cache:/path/in/container` for the host path `cache`
"#
    );
}

/// `:/dest` has no source.
#[test]
fn mount_with_an_empty_source() {
    assert_eq!(
        compile_error("FROM alpine\nMOUNT :/root/.ssh\n", &[]),
        r#"error[bad-mount]: MOUNT source is empty
 --> Rockerfile:2:7
  |
2 | MOUNT :/root/.ssh
  |       ^^^^^^^^^^^ expected `source:/destination`
  = help: for a volume that persists between builds, write just the destination: `MOUNT /root/.cache`
"#
    );
}

/// An unknown option after the destination, with a suggestion.
#[test]
fn mount_with_an_unknown_option() {
    assert_eq!(
        compile_error("FROM alpine\nMOUNT .:/src:rx\n", &[]),
        r#"error[bad-mount]: unknown MOUNT option `rx`
 --> Rockerfile:2:14
  |
2 | MOUNT .:/src:rx
  |              ^^ did you mean `ro`?
  = help: options after the destination are ro, rw, z, Z, shared, rshared, slave, rslave, private, rprivate, delegated
"#
    );
}

/// A bind MOUNT needs an absolute destination.
#[test]
fn mount_with_a_relative_destination() {
    assert_eq!(
        compile_error("FROM alpine\nMOUNT ./src:src\n", &[]),
        r#"error[bad-mount]: MOUNT destination `src` is not an absolute path
 --> Rockerfile:2:13
  |
2 | MOUNT ./src:src
  |             ^^^ mount destinations must start with `/`
  = help: write the destination as an absolute path inside the container: `/src`
"#
    );
}

/// The error is in a line a template block kept: it points at line 2 of the file, not of the rendered text.
#[test]
fn error_in_a_template_block_points_at_the_line_written() {
    assert_eq!(
        compile_error("{{ if true }}\nRUNN x\n{{ end }}\n", &[]),
        r#"error[unknown-instruction]: unknown instruction `RUNN`
 --> Rockerfile:2:1
  |
2 | RUNN x
  | ^^^^ did you mean `RUN`?
"#
    );
}

/// Template lines before the error do not shift its line number.
#[test]
fn error_after_template_lines_points_at_the_line_written() {
    assert_eq!(
        compile_error("FROM alpine\n{{ $v := \"1\" }}\n{{ if .Debug }}\nRUN echo debug\n{{ end }}\nRUNN x\n", &["-var", "Debug=1"]),
        r#"error[unknown-instruction]: unknown instruction `RUNN`
 --> Rockerfile:6:1
  |
6 | RUNN x
  | ^^^^ did you mean `RUN`?
"#
    );
}

/// A bad value produced by `{{ .Name }}` points at the action.
#[test]
fn error_in_a_value_a_template_wrote_points_at_the_action() {
    assert_eq!(
        compile_error("FROM alpine\nTAG {{ .Name }}\n", &["-var", "Name=My-App"]),
        r#"error[bad-image-name]: invalid image name `My-App` in TAG
 --> Rockerfile:2:5
  |
2 | TAG {{ .Name }}
  |     ^^^^^^^^^^^ repository names must be lowercase (`My-App`)
  = help: did you mean `my-app`?
"#
    );
}

/// Under --strict, an unknown variable is an error with a suggestion.
#[test]
fn strict_unknown_variable_suggests_the_closest() {
    assert_eq!(
        compile_error("FROM alpine:{{ .Versoin }}\n", &["--strict", "-var", "Version=3.19"]),
        r#"error[template-unknown-variable]: unknown variable `.Versoin`
 --> Rockerfile:1:16
  |
1 | FROM alpine:{{ .Versoin }}
  |                ^^^^^^^^ no such key
  = note: `--strict` is on; without it this renders as `<no value>`
  = help: did you mean `.Version`?
"#
    );
}

/// A -vars file that does not exist.
#[test]
fn unreadable_vars_file() {
    assert_eq!(
        compile_error("FROM alpine\n", &["-vars", "missing.yml"]),
        r#"error[vars-file-unreadable]: cannot read vars file `missing.yml`: no such file
"#
    );
}

/// -var without `=`.
#[test]
fn var_without_equals() {
    assert_eq!(
        compile_error("FROM alpine\n", &["-var", "Version"]),
        r#"error[var-missing-equals]: template variable `Version` has no `=`: -var takes NAME=VALUE
 = help: write `--var Version=VALUE` (or `--var Version=` for an empty value)
"#
    );
}

/// A stage name used twice.
#[test]
fn duplicate_stage_name() {
    assert_eq!(
        compile_error("FROM alpine AS build\nFROM alpine AS Build\n", &[]),
        r#"error[duplicate-stage]: stage name `build` is already used
 --> Rockerfile:2:16
  |
2 | FROM alpine AS Build
  |                ^^^^^ already the name of stage 1 (build)
1 | FROM alpine AS build
  |                ----- first used here
  = note: stage names are case-insensitive
  = help: give each stage its own name
"#
    );
}

/// EXPORT cannot climb out of the export store.
#[test]
fn export_outside_the_store() {
    assert_eq!(
        compile_error("FROM alpine\nEXPORT /app ../../etc\n", &[]),
        r#"error[bad-path]: EXPORT destination `../../etc` leaves the export store
 --> Rockerfile:2:13
  |
2 | EXPORT /app ../../etc
  |             ^^^^^^^^^ `..` may not climb above the store's root
"#
    );
}

/// Docker runs ONBUILD triggers and knows no MOUNT.
#[test]
fn rocker_instruction_as_onbuild_trigger() {
    assert_eq!(
        compile_error("FROM alpine\nONBUILD MOUNT /cache\n", &[]),
        r#"error[rocker-onbuild]: MOUNT can't be an ONBUILD trigger
 --> Rockerfile:2:9
  |
2 | ONBUILD MOUNT /cache
  |         ^^^^^ Docker runs ONBUILD triggers and does not know Rocker's instructions
  = help: put the instruction in the Rockerfile that builds FROM this image
"#
    );
}

/// Several errors: all of them, in file order, a blank line between.
#[test]
fn every_error_is_reported_separated_by_a_blank_line() {
    assert_eq!(
        compile_error("FROM alpine\nRUNN x\nCOPY y\n", &[]),
        r#"error[unknown-instruction]: unknown instruction `RUNN`
 --> Rockerfile:2:1
  |
2 | RUNN x
  | ^^^^ did you mean `RUN`?

error[wrong-arguments]: COPY requires at least two arguments: the sources, then the destination
 --> Rockerfile:3:6
  |
3 | COPY y
  |      ^ the only argument: a destination is missing
  = help: write where it goes in the image: `COPY y /app/`
"#
    );
}

/// `{{ range }}` repeats a bad line: identical diagnostics are printed once.
#[test]
fn a_template_range_repeating_a_bad_line_reports_it_once() {
    assert_eq!(
        compile_error("FROM alpine\n{{ range $i := seq 3 }}\nRUNN {{ $i }}\n{{ end }}\n", &[]),
        r#"error[unknown-instruction]: unknown instruction `RUNN`
 --> Rockerfile:3:1
  |
3 | RUNN {{ $i }}
  | ^^^^ did you mean `RUN`?
"#
    );
}

/// HEALTHCHECK is checked as Docker's instruction layer checks it.
#[test]
fn healthcheck_forms() {
    assert_eq!(
        compile_error("FROM alpine\nHEALTHCHECK FOO bar\n", &[]),
        "error[wrong-arguments]: unknown HEALTHCHECK type `FOO`\n --> Rockerfile:2:13\n  |\n2 | HEALTHCHECK FOO bar\n  |             ^^^ expected CMD or NONE\n  = help: write `HEALTHCHECK CMD <command>` or `HEALTHCHECK NONE`\n"
    );
    assert!(compile_error("FROM alpine\nHEALTHCHECK CMD\n", &[]).starts_with("error[wrong-arguments]: HEALTHCHECK CMD requires a command\n"));
    assert!(compile_error("FROM alpine\nHEALTHCHECK NONE extra\n", &[]).starts_with("error[wrong-arguments]: HEALTHCHECK NONE takes no other arguments\n"));
    assert_eq!(
        compile_error("FROM alpine\nHEALTHCHECK --interval=5x CMD true\n", &[]),
        "error[bad-flag-value]: invalid value for --interval: `5x`\n --> Rockerfile:2:13\n  |\n2 | HEALTHCHECK --interval=5x CMD true\n  |             ^^^^^^^^^^^^^ expected a duration such as 30s, 1m30s or 500ms (at least 1ms, or 0)\n"
    );
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "FROM alpine\nHEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD curl -f http://localhost/\nHEALTHCHECK NONE\n");
    assert_eq!(sandbox.run(&["Rockerfile"]).code, 0);
}

/// The legacy builder ignores `# syntax=`: a warning, and the compile goes on.
#[test]
fn syntax_directive_is_a_warning() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "# syntax=docker/dockerfile:1\nFROM alpine\n");
    let run = sandbox.run(&["Rockerfile"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stderr,
        "warning[ignored-directive]: the `syntax` directive chooses a BuildKit frontend; the sh backend builds with Docker's legacy builder, which ignores it\n --> Rockerfile:1:3\n  |\n1 | # syntax=docker/dockerfile:1\n  |   ^^^^^^^^^^^^^^^^^^^^^^^^^^\n  = help: rockerc rejects BuildKit-only syntax for this backend, so the file builds the same without it\n"
    );
}

/// Lints Docker never gives: warnings on stderr, and the compile goes on.
#[test]
fn rocker_lints() {
    let sandbox = Sandbox::new();
    sandbox
        .write("Rockerfile", "FROM a\nEXPORT /src /app\nMOUNT ./missing:/m\nRUN true\nPUSH user/app:1\nPUSH localhost:5000/app:1\nEXPORT /out/app /bin/app\n");
    let run = sandbox.run(&["Rockerfile"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stderr,
        "warning[rsync-nesting]: EXPORT /src /app: a directory lands at /app/src, a file at /app\n --> Rockerfile:2:8\n  |\n2 | EXPORT /src /app\n  |        ^^^^^^^^^ rsync copies a directory into the destination\n  = help: write `EXPORT /src/ /app` for the directory's contents at /app, or `EXPORT /src /app/` to nest it on purpose\n\n\
         warning[mount-source-missing]: MOUNT source `./missing` does not exist in the build context\n --> Rockerfile:3:7\n  |\n3 | MOUNT ./missing:/m\n  |       ^^^^^^^^^ the build script will create it as an empty directory\n  = help: create it, or check the path (it is relative to the build context)\n\n\
         warning[push-without-registry]: PUSH user/app:1 goes to Docker Hub\n --> Rockerfile:5:6\n  |\n5 | PUSH user/app:1\n  |      ^^^^^^^^^^ no registry in the name: docker.io/user/app\n  = help: name the registry to push elsewhere: `PUSH registry.example.com/team/app:1.0`\n"
    );
}

/// On a terminal the same diagnostic is coloured as rustc colours its own: the header red and
/// bold, the gutter blue, the caret in the header's colour, unless NO_COLOR is set. (`script`
/// gives rockerc a terminal.)
#[test]
fn diagnostics_are_coloured_on_a_terminal() {
    let sandbox = Sandbox::new();
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
    let sandbox = Sandbox::new();
    // One step with a large Dockerfile (larger than build.sh, which is written first).
    let big: String = std::iter::once("FROM alpine\n".to_string()).chain((0..7).map(|i| format!("RUN echo {i}{}\n", "x".repeat(60_000)))).collect();
    sandbox.write("Rockerfile", &big);
    let limited = |args: &str| {
        let out = Command::new("sh")
            .args(["-c", &format!("trap '' XFSZ; ulimit -f 400; exec \"$0\" {args}"), env!("CARGO_BIN_EXE_rockerc")])
            .current_dir(sandbox.dir.path())
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = limited("-o out/new Rockerfile");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.starts_with("error[output-failed]: cannot write `") && err.contains("01-stage1.Dockerfile`: file too large"), "{err}");
    assert_eq!(sandbox.snapshot().keys().collect::<Vec<_>>(), ["Rockerfile"], "not even the parent it created stays");

    sandbox.write("small/Rockerfile", HELLO);
    assert_eq!(sandbox.run(&["-o", "build", "small/Rockerfile"]).code, 0);
    let before = sandbox.snapshot();
    let (code, err) = limited("-o build Rockerfile");
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(sandbox.snapshot(), before, "the earlier output is unchanged and nothing is left beside it");
}

#[test]
fn output_dir_under_a_file_fails_without_writing() {
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", HELLO).write("file", "in the way\n");
    let before = sandbox.snapshot();
    let run = sandbox.run(&["-o", "file/build", "Rockerfile"]);
    assert_eq!((run.code, run.stdout.is_empty()), (1, true));
    assert!(run.stderr.starts_with("error[output-failed]: cannot create `file/build`: `file` is a file, not a directory"), "{}", run.stderr);
    assert_eq!(sandbox.snapshot(), before);
}

/// An IMPORT waits for (and the script replays) only the EXPORTs whose place in the store lies
/// inside what it reads, or holds it; not those beside it. Stages that each EXPORT into their own
/// `/artifacts/sN` make a chain, not a file where every stage waits for every earlier one.
#[test]
fn an_import_waits_only_for_exports_that_can_change_what_it_reads() {
    let sandbox = Sandbox::new();
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

/// A vars file in the checkout that a symbolic link takes out of it is refused, naming the file
/// and where the link leads; nothing is written to stdout.
#[test]
fn a_vars_file_linked_out_of_the_checkout_is_refused() {
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("config.yml"), "auth: HOST-ONLY\n").unwrap();
    let sandbox = Sandbox::new();
    sandbox.write("Rockerfile", "FROM x\nRUN echo {{ json . }}\n");
    std::os::unix::fs::symlink(host.path().join("config.yml"), sandbox.path("v.yml")).unwrap();
    let run = sandbox.run(&["-vars", "v.yml", "Rockerfile"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout().is_empty());
    let to = host.path().join("config.yml").canonicalize().unwrap();
    assert_eq!(
        run.stderr,
        format!(
            "error[vars-file-link-leaves-checkout]: vars file `v.yml` is in the checkout, but a symbolic link on the way leads out of it, to `{}`; rockerc reads no vars file through such a link\n = note: the files in a checkout may come from a pull request, and a link there could hand any file of this machine to the template\n = help: put the file itself in the checkout, or, to read a file outside it on purpose, name that file by its own path\n",
            to.display()
        )
    );
}
