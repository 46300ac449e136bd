//! The runtime every generated script carries (src/emit/runtime.sh and its companions, as
//! `rockerc::emit::runtime()` writes them beside build.sh) on its own, without a Docker engine:
//! how it reads its options, how it quotes words for `eval`, how it takes the build lock (a live
//! holder is waited for, a dead one is reaped), and when a no-op run may trust its stamp.
//!
//! Each test runs the same transcript under dash (Debian's /bin/sh) and under BusyBox sh with
//! BusyBox's tools only (Alpine, the docker:cli image), and expects the same lines from both.
//! Where the runtime calls `docker`, a stand-in on PATH answers from files (see [`FAKE_DOCKER`])
//! and logs each call, so a test can say exactly what the runtime asked of the engine.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A stand-in for the docker CLI, for the calls the runtime's lock and no-op check make; state
/// lives under `$FAKE`: `images/NAME` (an image's id, `/` in NAME as `_`), `containers/NAME/{id,label}`,
/// and `log`, one line per call.
const FAKE_DOCKER: &str = r#"#!/bin/sh
printf '%s\n' "$*" >> "$FAKE/log"
case "$1 $2" in
  "image inspect")
    format=$4
    shift 5
    for image in "$@"; do
      file="$FAKE/images/$(printf '%s' "$image" | tr / _)"
      [ -f "$file" ] || { printf 'Error: No such image: %s\n' "$image" >&2; exit 1; }
      case $format in *Size*) printf '%s 1000\n' "$(cat "$file")" ;; *) cat "$file" ;; esac
    done
    ;;
  "create --pull")
    name=$5 label=${7#rockerc.lock=}
    if mkdir "$FAKE/containers/$name" 2>/dev/null; then
      printf 'id-%s-%s\n' "$name" "$$" > "$FAKE/containers/$name/id"
      printf '%s\n' "$label" > "$FAKE/containers/$name/label"
      cat "$FAKE/containers/$name/id"
    else
      printf 'Error response from daemon: Conflict. The container name "/%s" is already in use\n' "$name" >&2
      exit 1
    fi
    ;;
  "container inspect")
    [ -d "$FAKE/containers/$6" ] || { printf 'Error: No such container: %s\n' "$6" >&2; exit 1; }
    printf '%s %s\n' "$(cat "$FAKE/containers/$6/id")" "$(cat "$FAKE/containers/$6/label")"
    ;;
  "rm -f")
    shift 3
    for id in "$@"; do
      for c in "$FAKE"/containers/*; do
        if [ -f "$c/id" ] && [ "$(cat "$c/id")" = "$id" ]; then rm -rf "$c"; fi
      done
    done
    ;;
  "ps -a")
    prefix=$(printf '%s' "$6" | sed 's|^name=^/?||')
    for c in "$FAKE"/containers/*; do
      case ${c##*/} in "$prefix"*) cat "$c/id" ;; esac
    done
    ;;
  *)
    printf 'fake docker: not expected: %s\n' "$*" >&2
    exit 1
    ;;
esac
"#;

/// A directory with the runtime, the fake docker and its state, and a TMPDIR of its own.
struct Bench {
    dir: tempfile::TempDir,
    /// BusyBox applets (and the real tools BusyBox lacks) for the BusyBox runs.
    busybox: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::Builder::new().prefix("rockerc-runtime-").tempdir().unwrap();
        std::fs::write(dir.path().join(rockerc::emit::RUNTIME_FILE), rockerc::emit::runtime()).unwrap();
        for sub in ["bin", "fake/images", "fake/containers", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("fake/log"), "").unwrap();
        let docker = dir.path().join("bin/docker");
        std::fs::write(&docker, FAKE_DOCKER).unwrap();
        std::fs::set_permissions(&docker, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        Bench { dir, busybox: busybox_path() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Forgets the fake engine's containers, its log and the temporary directory (for the next
    /// shell); its images stay.
    fn reset(&self) {
        for dir in ["fake/containers", "tmp"] {
            std::fs::remove_dir_all(self.path(dir)).unwrap();
            std::fs::create_dir(self.path(dir)).unwrap();
        }
        std::fs::write(self.path("fake/log"), "").unwrap();
    }

    /// What the fake docker was asked, one call a line; the log starts afresh.
    fn docker_calls(&self) -> String {
        let log = std::fs::read_to_string(self.path("fake/log")).unwrap();
        std::fs::write(self.path("fake/log"), "").unwrap();
        log
    }

    /// Runs `script` after sourcing the runtime, in the bench, under `shell`.
    fn sh(&self, shell: Shell, script: &str, env: &[(&str, &str)]) -> Output {
        self.sh_sourcing(shell, rockerc::emit::RUNTIME_FILE, script, env)
    }

    /// Writes the definitions of the BuildKit backend's script for `rockerfile` (its plan and its
    /// runtime, without the call to rc_main) as `bk.sh`, for [`Bench::sh_sourcing`].
    fn buildkit_script(&self, rockerfile: &str) {
        let proj = self.path("bkproj");
        std::fs::create_dir_all(&proj).unwrap();
        std::fs::write(proj.join("Rockerfile"), rockerfile).unwrap();
        let script = Test::at(&proj).args(["--emit", "buildkit", "Rockerfile"]).status(0).run().stdout();
        let defs = script.strip_suffix("rc_main \"$@\"\nexit\n}\n").expect("the script ends by calling rc_main");
        std::fs::write(self.path("bk.sh"), defs.replacen("\n{\n", "\n", 1)).unwrap();
    }

    /// Runs `script` after sourcing `file` (in the bench), under `shell`.
    fn sh_sourcing(&self, shell: Shell, file: &str, script: &str, env: &[(&str, &str)]) -> Output {
        let (program, path, sh) = match shell {
            Shell::Dash => ("/bin/dash", format!("{}:/usr/bin:/bin", self.path("bin").display()), "/bin/dash"),
            Shell::BusyBox => ("/bin/busybox", format!("{}:{}", self.path("bin").display(), self.busybox.path().display()), "/bin/busybox sh"),
        };
        let mut cmd = Command::new(program);
        if shell == Shell::BusyBox {
            cmd.arg("sh");
        }
        cmd.arg("-c")
            .arg(format!("set -eu\n. ./{file}\n{script}"))
            // $0, from which a script finds its own folder: the current one.
            .arg("./build.sh")
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env("TMPDIR", self.path("tmp"))
            .env("FAKE", self.path("fake"))
            // The shell under test, to run a whole script with.
            .env("SH", sh);
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shell {
    Dash,
    BusyBox,
}

const SHELLS: [Shell; 2] = [Shell::Dash, Shell::BusyBox];

fn text(out: &Output) -> (Option<i32>, String, String) {
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

// ---------------------------------------------------------------------------------------------
// Options

/// Every option in every spelling the usage lists, and an option's value taken whole even when
/// it looks like an option.
#[test]
fn options_are_read_in_every_spelling() {
    let bench = Bench::new();
    let show = r#"printf '%s\n' "push=$rc_push attach=$rc_attach no_cache=$rc_no_cache pull=$rc_pull quiet=$rc_quiet verbose=$rc_verbose" \
  "context=$rc_context given=$rc_context_given recorded=$rc_context_recorded id=$rc_build_id jobs=$rc_jobs_max" "allow=$(printf '%s' "$rc_allow_given" | tr '\n' '|')""#;
    let cases: &[(&str, &str)] = &[
        ("", "push=0 attach=0 no_cache=0 pull=0 quiet=0 verbose=0\ncontext=ctx given=0 recorded=ctx id=default jobs=\nallow=\n"),
        (
            "--push --attach --no-cache --pull --quiet --verbose --context dir --id x --jobs 3 --allow-mount /a --allow-mount=/b c",
            "push=1 attach=1 no_cache=1 pull=1 quiet=1 verbose=1\ncontext=dir given=1 recorded=ctx id=x jobs=3\nallow=/a|/b c|\n",
        ),
        ("-q -v -j 4", "push=0 attach=0 no_cache=0 pull=0 quiet=1 verbose=1\ncontext=ctx given=0 recorded=ctx id=default jobs=4\nallow=\n"),
        ("-j5 --context=d2 --id=y", "push=0 attach=0 no_cache=0 pull=0 quiet=0 verbose=0\ncontext=d2 given=1 recorded=ctx id=y jobs=5\nallow=\n"),
        ("--jobs=6 --id --push", "push=0 attach=0 no_cache=0 pull=0 quiet=0 verbose=0\ncontext=ctx given=0 recorded=ctx id=--push jobs=6\nallow=\n"),
        ("--id -- --context --", "push=0 attach=0 no_cache=0 pull=0 quiet=0 verbose=0\ncontext=-- given=1 recorded=ctx id=-- jobs=\nallow=\n"),
    ];
    for shell in SHELLS {
        for (args, expected) in cases {
            // The arguments as the user's shell splits them: `/b c` is one word.
            let script = format!("rc_default_id=default rc_context=ctx\nset -- {}\nrc_parse_args \"$@\"\n{show}", args.replace("/b c", "'/b c'"));
            let out = bench.sh(shell, &script, &[]);
            assert_eq!(text(&out), (Some(0), expected.to_string(), String::new()), "{shell:?}: {args}");
        }
    }
}

/// A word the script does not know stops it before anything runs: exit 2, the word, and the
/// usage on stderr. That includes `--` (the script takes no operands, so there is nothing for it
/// to end), flags run together (`-qv`: each flag is a word of its own) and a missing value.
#[test]
fn unknown_options_and_missing_values_are_usage_errors() {
    let bench = Bench::new();
    let cases: &[(&str, &str)] = &[
        ("--bogus", "unknown option: --bogus"),
        ("--", "unknown option: --"),
        ("-qv", "unknown option: -qv"),
        ("--push extra", "unknown option: extra"),
        ("--PUSH", "unknown option: --PUSH"),
        ("--context", "--context needs a directory"),
        ("--id", "--id needs a value"),
        ("--allow-mount", "--allow-mount needs a path"),
        ("-j", "--jobs needs a number"),
        ("--jobs 0", "--jobs needs a positive number"),
        ("-j x", "--jobs needs a positive number"),
        ("--jobs=-1", "--jobs needs a positive number"),
        ("-j2x", "--jobs needs a positive number"),
    ];
    for shell in SHELLS {
        for (args, message) in cases {
            let script = format!("rc_default_id='' rc_context=.\nrc_parse_args {args}\necho parsed");
            let (code, stdout, stderr) = text(&bench.sh(shell, &script, &[]));
            assert_eq!((code, stdout.as_str()), (Some(2), ""), "{shell:?}: {args}: {stderr}");
            assert!(stderr.starts_with(&format!("rockerc: {message}\nOptions:\n  --push ")), "{shell:?}: {args}: {stderr}");
            assert!(stderr.ends_with("  -h, --help      print this help\n"), "{shell:?}: {args}: {stderr}");
        }
        let out =
            bench.sh(shell, "rc_default_id='' rc_context=.\nrc_help() { echo 'Builds the images of Rockerfile.'; }\nrc_parse_args --push --help --bogus", &[]);
        let (code, stdout, stderr) = text(&out);
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "{shell:?}: --help");
        assert!(stdout.starts_with("Builds the images of Rockerfile.\nOptions:\n  --push "), "{shell:?}: {stdout}");
    }
}

/// The BuildKit backend's script reads the options its usage lists (fewer than the sh
/// backend's) in every spelling, takes an option's value whole, and stops at a word it does not
/// know, as the sh backend's does.
#[test]
fn the_buildkit_script_reads_its_options() {
    let bench = Bench::new();
    bench.buildkit_script("FROM rockerc-test/busybox\nRUN true\n");
    let show = r#"printf '%s\n' "push=$rc_push attach=$rc_attach no_cache=$rc_no_cache pull=$rc_pull quiet=$rc_quiet verbose=$rc_verbose" \
  "context=$rc_context given=$rc_context_given recorded=$rc_context_recorded" "allow=$(printf '%s' "$rc_allow_given" | tr '\n' '|')""#;
    let cases: &[(&str, &str)] = &[
        ("", "push=0 attach=0 no_cache=0 pull=0 quiet=0 verbose=0\ncontext=ctx given=0 recorded=ctx\nallow=\n"),
        (
            "--push --attach --no-cache --pull --quiet --verbose --context dir --allow-mount /a --allow-mount='/b c'",
            "push=1 attach=1 no_cache=1 pull=1 quiet=1 verbose=1\ncontext=dir given=1 recorded=ctx\nallow=/a|/b c|\n",
        ),
        ("-q -v --context=d2", "push=0 attach=0 no_cache=0 pull=0 quiet=1 verbose=1\ncontext=d2 given=1 recorded=ctx\nallow=\n"),
        ("--context --push", "push=0 attach=0 no_cache=0 pull=0 quiet=0 verbose=0\ncontext=--push given=1 recorded=ctx\nallow=\n"),
    ];
    let errors: &[(&str, &str)] = &[
        ("--bogus", "unknown option: --bogus"),
        // The sh backend's options that the BuildKit script has no use for.
        ("--id x", "unknown option: --id"),
        ("-j 2", "unknown option: -j"),
        ("--", "unknown option: --"),
        ("--context", "--context needs a directory"),
        ("--allow-mount", "--allow-mount needs a path"),
    ];
    for shell in SHELLS {
        for (args, expected) in cases {
            let out = bench.sh_sourcing(shell, "bk.sh", &format!("rc_context=ctx\nrc_parse_args {args}\n{show}"), &[]);
            assert_eq!(text(&out), (Some(0), expected.to_string(), String::new()), "{shell:?}: {args}");
        }
        for (args, message) in errors {
            let (code, stdout, stderr) = text(&bench.sh_sourcing(shell, "bk.sh", &format!("rc_context=.\nrc_parse_args {args}\necho parsed"), &[]));
            assert_eq!((code, stdout.as_str()), (Some(2), ""), "{shell:?}: {args}: {stderr}");
            assert!(stderr.starts_with(&format!("rockerc: {message}\nOptions:\n  --push ")), "{shell:?}: {args}: {stderr}");
        }
        let (code, stdout, stderr) = text(&bench.sh_sourcing(shell, "bk.sh", "rc_context=.\nrc_parse_args --push -h --bogus", &[]));
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "{shell:?}: --help");
        assert!(
            stdout.starts_with("Builds the images of Rockerfile with BuildKit (a script generated by rockerc).\n\nUsage: sh build.sh [options]\nOptions:\n"),
            "{stdout}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Quoting

/// Words that a shell would split, expand or run, each through rc_q and back through `eval`: the
/// same bytes come out, and nothing in them runs. The runtime builds option lists this way.
#[test]
fn quoted_words_come_back_through_eval_unchanged() {
    let bench = Bench::new();
    let words = [
        "plain",
        "",
        " ",
        "two words",
        "it's",
        "''",
        "'\\''",
        "a\"b",
        "back\\slash\\",
        "$HOME ${HOME} $(touch ran) `touch ran` $((1+1))",
        "*",
        "~",
        "-n",
        "--flag=x y",
        "tab\there",
        "line\nbreak",
        "trailing newline\n",
        "quote and newline '\n",
        "\n",
        "ünïcødé ✓",
        "semi; rm -rf /; echo",
        "|&<>(){}[]!#",
    ];
    let env: Vec<(String, String)> = words.iter().enumerate().map(|(i, w)| (format!("W{i}"), w.to_string())).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let script = format!(
        "i=0\nwhile [ $i -lt {} ]; do\n  eval \"w=\\$W$i\"\n  eval \"set -- $(rc_q \"$w\")\"\n  if [ $# = 1 ] && [ \"$1\" = \"$w\" ]; then echo \"$i ok\"; else echo \"$i differs: $#\"; fi\n  i=$((i + 1))\ndone\n\
         eval \"set -- $(rc_q a)$(rc_q \"b c\")$(rc_q \"it's\")\"\necho \"$# words: $1|$2|$3\"",
        words.len()
    );
    let expected: String = (0..words.len()).map(|i| format!("{i} ok\n")).collect::<String>() + "3 words: a|b c|it's\n";
    // The BuildKit backend's script quotes with the same rc_q (the prelude both carry).
    bench.buildkit_script("FROM rockerc-test/busybox\nRUN true\n");
    for (shell, file) in SHELLS.iter().flat_map(|&shell| [(shell, rockerc::emit::RUNTIME_FILE), (shell, "bk.sh")]) {
        let out = bench.sh_sourcing(shell, file, &script, &env);
        let (code, stdout, stderr) = text(&out);
        let failed: Vec<String> = stdout
            .lines()
            .filter(|l| !l.ends_with(" ok") && !l.contains("words"))
            .map(|l| format!("{l} ({:?})", words[l.split(' ').next().unwrap().parse::<usize>().unwrap()]))
            .collect();
        assert!(failed.is_empty(), "{shell:?}, {file}: words rc_q does not give back: {failed:?}");
        assert_eq!((code, stdout, stderr), (Some(0), expected.clone(), String::new()), "{shell:?}, {file}");
        assert!(!bench.path("ran").exists(), "{shell:?}, {file}: a quoted word ran");
    }
}

/// rc_csv doubles the quotes of a `--mount` field; rc_word leaves a word bare only when nothing
/// in it is special to the shell, as a user would type it.
#[test]
fn csv_fields_and_shown_words_are_quoted_as_their_readers_read_them() {
    let bench = Bench::new();
    let script = r#"rc_csv 'a"b""c'; echo; rc_csv plain; echo
rc_word build/out-1.2_x:y=z@a%b+c,d; echo
rc_word 'two words'; echo
rc_word ''; echo
rc_word "it's"; echo
rc_word '$x'; echo"#;
    let expected = "a\"\"b\"\"\"\"c\nplain\nbuild/out-1.2_x:y=z@a%b+c,d \n'two words' \n'' \n'it'\\''s' \n'$x' \n";
    for shell in SHELLS {
        assert_eq!(text(&bench.sh(shell, script, &[])), (Some(0), expected.to_string(), String::new()), "{shell:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// A step's output: what the failure path and the progress lines show, secrets masked

/// A failed BuildKit step's log: BuildKit's bookkeeping around the RUN's own lines.
const BUILDKIT_LOG: &str = "#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 120B done\n#1 DONE 0.0s\n\n\
#2 [internal] load .dockerignore\n#2 DONE 0.0s\n\n#5 [1/2] FROM docker.io/library/busybox\n#5 CACHED\n\n\
#6 [build 2/2] RUN echo working; exit 3\n#6 0.412 working\n#6 0.413 \x1b[1malmost\x1b[0m 50%\r100%\n#6\n\
#6 ERROR: process \"/bin/sh -c echo working; exit 3\" did not complete successfully: exit code: 3\n";

/// The same from Docker's legacy builder, with the notice a newer client prints first.
const LEGACY_LOG: &str = concat!(
    "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n",
    "            BuildKit is currently disabled; enable it by removing the DOCKER_BUILDKIT=0\n",
    "            environment-variable.\n",
    "\n",
    "Sending build context to Docker daemon  2.048kB\n",
    "Step 1/2 : FROM busybox\n",
    " ---> 3f57d9401f8d\n",
    "Step 2/2 : RUN echo working; exit 3\n",
    " ---> Running in 0a1b2c\n",
    "working\n",
    "Removing intermediate container 0a1b2c\n",
    "The command '/bin/sh -c echo working; exit 3' returned a non-zero code: 3\n",
);

/// One filter says which lines of a step's log are Docker's or BuildKit's own bookkeeping:
/// the failure path shows the rest as it is (BuildKit's `#6 0.412` before a line says which step
/// printed it), and the progress line shows the last of them without the prefix and without
/// control characters.
#[test]
fn a_step_log_shows_the_commands_output_without_dockers_bookkeeping() {
    let bench = Bench::new();
    std::fs::write(bench.path("buildkit.log"), BUILDKIT_LOG).unwrap();
    std::fs::write(bench.path("legacy.log"), LEGACY_LOG).unwrap();
    let script = "rc_secrets=''\nfor log in buildkit legacy; do rc_command_output < $log.log; echo \"[$(rc_last_line $log.log)]\"; done";
    let expected = "#6 0.412 working\n#6 0.413 \x1b[1malmost\x1b[0m 50%\r100%\n\
#6 ERROR: process \"/bin/sh -c echo working; exit 3\" did not complete successfully: exit code: 3\n\
[ERROR: process \"/bin/sh -c echo working; exit 3\" did not complete successfully: exit code: 3]\n\
Sending build context to Docker daemon  2.048kB\nStep 1/2 : FROM busybox\n ---> 3f57d9401f8d\n\
Step 2/2 : RUN echo working; exit 3\n ---> Running in 0a1b2c\nworking\nThe command '/bin/sh -c echo working; exit 3' returned a non-zero code: 3\n\
[The command '/bin/sh -c echo working; exit 3' returned a non-zero code: 3]\n";
    // A step still running: its last line is the RUN's own, its progress bar's last state.
    let running = "rc_secrets=''\nhead -n 13 buildkit.log > running.log\necho \"[$(rc_last_line running.log)]\"";
    for shell in SHELLS {
        assert_eq!(text(&bench.sh(shell, script, &[])), (Some(0), expected.to_string(), String::new()), "{shell:?}");
        assert_eq!(text(&bench.sh(shell, running, &[])), (Some(0), "[100%]\n".to_string(), String::new()), "{shell:?}");
    }
}

/// A secret's value never shows: not whole (a value of several lines too), not a line of it,
/// not as an unquoted `echo $KEY` joins it, not in the progress line. Both shells, both awks.
#[test]
fn secrets_are_masked_whole_by_line_and_as_the_shell_joins_them() {
    let bench = Bench::new();
    let key = "-----BEGIN KEY-----\nAbCdEfGh12\n  IjKl  \n-----END KEY-----\n";
    let log = format!("quoted: {key}one line: AbCdEfGh12\njoined: -----BEGIN KEY----- AbCdEfGh12 IjKl -----END KEY-----\nshort: ab\ntoken=s3cr3t%value\n");
    std::fs::write(bench.path("step.log"), &log).unwrap();
    let script = "rc_secrets='KEY TOKEN'\nrc_mask < step.log\necho \"[$(rc_last_line step.log)]\"";
    let expected = "quoted: ***\none line: ***\njoined: ***\nshort: ab\ntoken=***\n[token=***]\n";
    for shell in SHELLS {
        let out = bench.sh(shell, script, &[("KEY", key), ("TOKEN", "s3cr3t%value")]);
        assert_eq!(text(&out), (Some(0), expected.to_string(), String::new()), "{shell:?}");
    }
    // The BuildKit script masks with the same function (its failure tail: masked, then cut).
    bench.buildkit_script("FROM rockerc-test/busybox\nRUN true\n");
    for shell in SHELLS {
        let out = bench.sh_sourcing(shell, "bk.sh", "rc_secrets='KEY TOKEN'\nrc_mask < step.log | tail -n 3", &[("KEY", key), ("TOKEN", "s3cr3t%value")]);
        assert_eq!(text(&out), (Some(0), "joined: ***\nshort: ab\ntoken=***\n".to_string(), String::new()), "{shell:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The lock

/// What every lock test sets before rc_lock: this build's temporary directory (as rc_setup makes
/// it), its run id and the hash of its build id.
const LOCK_SETUP: &str = r#"rc_quiet=0 rc_mode=plain rc_json=0 rc_clr='' rc_clr_err='' rc_monitor_pid='' rc_rockerfile=Rockerfile rc_main_pid=$$ rc_id_hash=42 rc_volumes=''
rc_tmp=$(mktemp -d "$TMPDIR/rockerc.XXXXXX")
mkdir "$rc_tmp/empty"
rc_run_id=${rc_tmp##*.}
lock="$FAKE/containers/rockerc-lock-42"
# holds LABEL: the lock as a build with that label left it.
holds() { mkdir "$lock"; echo id-holder > "$lock/id"; printf '%s\n' "$1" > "$lock/label"; }
# label_of PID START: the label rc_whoami writes for process PID, with START for its start time
# (or its real one), run id `dead1` and temporary directory $TMPDIR/rockerc.dead1.
label_of() {
  (rc_main_pid=$$ rc_run_id=dead1 rc_tmp="$TMPDIR/rockerc.dead1"; rc_whoami; set -- "$1" $rc_me
   if [ -z "${START:-}" ]; then rc_started "$1"; START=$rc_start; fi
   printf '%s %s %s %s %s' "$1" "$START" "$4" "$5" "$6")
}
ours() { [ "$(cut -d ' ' -f 1,4,5 "$lock/label")" = "$$ $rc_run_id $rc_tmp" ]; }
# until_said: waits (up to a minute) until the build in the background has said it waits.
until_said() { i=0; until grep -q waiting "$TMPDIR/said" 2>/dev/null || [ $i -ge 60 ]; do sleep 1; i=$((i + 1)); done; }
"#;

/// A build that finds the lock held by a live build on this machine waits, says so once, and
/// takes the lock when the holder lets it go.
#[test]
fn a_live_holder_is_waited_for() {
    let bench = Bench::new();
    let script = format!(
        "{LOCK_SETUP}sleep 60 & holder=$!\nholds \"$(label_of $holder)\"\n\
         rc_lock > \"$TMPDIR/said\" &\ntaker=$!\nuntil_said\nsleep 2\n\
         if ours; then echo 'taken from a live holder'; fi\n\
         kill $holder; rm -rf \"$lock\"\nwait $taker\n\
         ours && echo taken\nsed \"s/$holder/HOLDER/\" \"$TMPDIR/said\""
    );
    for shell in SHELLS {
        bench.reset();
        let (code, stdout, stderr) = text(&bench.sh(shell, &script, &[]));
        assert_eq!(
            (code, stdout.as_str(), stderr.as_str()),
            (Some(0), "taken\nwaiting for another build of Rockerfile (process HOLDER) to finish\n", ""),
            "{shell:?}"
        );
        let calls = bench.docker_calls();
        assert!(calls.lines().filter(|l| l.starts_with("create ")).count() >= 2, "{shell:?}: it kept trying:\n{calls}");
        assert!(!calls.contains("rm -f"), "{shell:?}: nothing of a live holder is removed:\n{calls}");
    }
}

/// A holder that cannot be checked from here (another machine or process namespace) counts as
/// alive, and the message says how to remove its lock if it is gone.
#[test]
fn a_holder_elsewhere_is_waited_for_and_the_message_says_how_to_free_it() {
    let bench = Bench::new();
    let script = format!(
        "{LOCK_SETUP}holds \"1 100 host:elsewhere dead1 /tmp/rockerc.dead1\"\n\
         rc_lock > \"$TMPDIR/said\" &\ntaker=$!\nuntil_said\nrm -rf \"$lock\"\nwait $taker\nours && echo taken\ncat \"$TMPDIR/said\""
    );
    for shell in SHELLS {
        bench.reset();
        assert_eq!(
            text(&bench.sh(shell, &script, &[])),
            (
                Some(0),
                "taken\nwaiting for another build of Rockerfile (process 1 on another machine or container) to finish\n  (if that build is gone, remove its lock: docker rm -f rockerc-lock-42)\n".to_string(),
                String::new()
            ),
            "{shell:?}"
        );
        bench.docker_calls();
    }
}

/// A holder on this machine whose process is gone (or whose process id now names another
/// process: its start time differs) is dead: its temporary directory (secrets first) and its
/// containers are removed, others' containers are not, and the lock is taken at once.
#[test]
fn a_dead_holder_is_reaped_and_the_lock_taken_over() {
    let bench = Bench::new();
    for (shell, holder) in [(Shell::Dash, "gone"), (Shell::BusyBox, "gone"), (Shell::Dash, "reused"), (Shell::BusyBox, "reused")] {
        bench.reset();
        let pid = match holder {
            // A process that has ended.
            "gone" => "sleep 0 & pid=$!; wait $pid; START=5",
            // A live process with another start time: its id was reused.
            _ => "sleep 60 & pid=$!; START=1",
        };
        let script = format!(
            "{LOCK_SETUP}dead=\"$TMPDIR/rockerc.dead1\"\nmkdir -p \"$dead/run.3\"; echo dead1 > \"$dead/run-id\"; echo s3cret > \"$dead/run.3/secret.TOKEN\"\n\
             for c in rockerc-dead1-1 rockerc-dead1-7 rockerc-other-1; do mkdir \"$FAKE/containers/$c\"; echo \"id-$c\" > \"$FAKE/containers/$c/id\"; done\n\
             {pid}\nholds \"$(label_of $pid)\"\n\
             rc_lock\nours && echo taken\n[ -e \"$dead\" ] || echo 'its directory is gone'\nls \"$FAKE/containers\"\nkill $pid 2>/dev/null || :"
        );
        let (code, stdout, stderr) = text(&bench.sh(shell, &script, &[]));
        assert_eq!(
            (code, stdout.as_str(), stderr.as_str()),
            (
                Some(0),
                "a build of Rockerfile that held the lock is gone; removing what it left\ntaken\nits directory is gone\nrockerc-lock-42\nrockerc-other-1\n",
                ""
            ),
            "{shell:?}, a holder {holder}"
        );
        let calls = bench.docker_calls();
        for removed in ["rm -f -v id-rockerc-dead1-1", "rm -f -v id-rockerc-dead1-7", "rm -f -v id-holder"] {
            assert!(calls.contains(removed), "{shell:?}: no `{removed}`:\n{calls}");
        }
    }
}

/// The directory a dead holder's label names is removed only if it is one of rockerc's and says
/// itself that it belongs to that run: a forged or stale label cannot make a build delete
/// another directory.
#[test]
fn a_dead_holder_label_cannot_make_the_lock_remove_another_directory() {
    let bench = Bench::new();
    for shell in SHELLS {
        bench.reset();
        let script = format!(
            "{LOCK_SETUP}mkdir -p \"$TMPDIR/rockerc.dead1\" \"$TMPDIR/mine\"\necho other > \"$TMPDIR/rockerc.dead1/run-id\"\n\
             sleep 0 & pid=$!; wait $pid\n\
             holds \"$pid 1 $(label_of $$ | cut -d ' ' -f 3) dead1 $TMPDIR/rockerc.dead1\"\nrc_lock >/dev/null\n\
             rm -rf \"$lock\"\nholds \"$pid 1 $(label_of $$ | cut -d ' ' -f 3) dead1 $TMPDIR/mine\"\nrc_lock >/dev/null\n\
             rm -rf \"$lock\"\nholds \"$pid 1 $(label_of $$ | cut -d ' ' -f 3) ../x $TMPDIR/rockerc.dead1\"\nrc_lock >/dev/null\n\
             ls \"$TMPDIR\" | grep -v \"^${{rc_tmp##*/}}$\""
        );
        assert_eq!(text(&bench.sh(shell, &script, &[])), (Some(0), "mine\nrockerc.dead1\n".to_string(), String::new()), "{shell:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The no-op stamps

/// A project compiled with `-o build`: a Rockerfile that COPYs one file, and the plan's own
/// definitions to source (build.sh is one block, `{ ... rc_main "$@"; exit; }`: without the
/// braces and the call).
fn stamped_project(bench: &Bench) -> PathBuf {
    let proj = bench.path("proj");
    std::fs::create_dir_all(proj.join("src")).unwrap();
    std::fs::write(proj.join("Rockerfile"), "FROM rockerc-test/busybox\nCOPY src/a.txt /a.txt\nTAG rockerc-noop/app:1\n").unwrap();
    std::fs::write(proj.join("src/a.txt"), "one\n").unwrap();
    std::fs::write(proj.join("unrelated.txt"), "not read by the build\n").unwrap();
    Test::at(&proj).args(["-o", "build", "Rockerfile"]).status(0).run();
    let script = std::fs::read_to_string(proj.join("build/build.sh")).unwrap();
    let plan = script.strip_suffix("rc_main \"$@\"\nexit\n}\n").expect("build.sh ends by calling rc_main");
    let plan = plan.replacen("\n{\n", "\n", 1);
    std::fs::write(proj.join("build/plan.sh"), plan).unwrap();
    for (image, id) in [("rockerc-test/busybox", "sha256:base1"), ("rockerc-noop/app:1", "sha256:app1"), ("sha256:app1", "sha256:app1")] {
        std::fs::write(bench.path("fake/images").join(image.replace('/', "_")), format!("{id}\n")).unwrap();
    }
    proj
}

/// Sources the plan (in `proj/build`, as build.sh would from there) and parses `args`.
fn plan_script(args: &str, then: &str) -> String {
    format!("cd proj/build\n. ./plan.sh\nrc_parse_args {args}\nrc_resolve_context\n{then}")
}

/// A build, as the stamp sees it: notes the inputs before any step reads them, and when done
/// writes the stamp (the one stage built `sha256:app1`).
const WRITE_STAMP: &str = r#"rc_tmp=$(mktemp -d "$TMPDIR/rockerc.XXXXXX")
mkdir "$rc_tmp/img" "$rc_tmp/empty"
rc_inputs_at_start
echo sha256:app1 > "$rc_tmp/img/stage.0"
: > "$rc_tmp/steps"; : > "$rc_tmp/tags"
rc_write_stamp
rm -rf "$rc_tmp"
"#;

/// After a build has written its stamp, the next run with nothing changed is a no-op; any change
/// a full build would see (an input's contents or time, an input gone, a base image or a built
/// image replaced, a flag that must build, another build id, a stamp cut short) is not. A file
/// the build does not read changes nothing.
#[test]
fn a_stamp_is_trusted_only_while_nothing_the_build_reads_changed() {
    let bench = Bench::new();
    let proj = stamped_project(&bench);
    let up_to_date = |shell: Shell, args: &str| {
        let out = bench.sh(shell, &plan_script(args, "if rc_up_to_date; then echo up-to-date; else echo build; fi"), &[]);
        let (code, stdout, stderr) = text(&out);
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "{shell:?}: {stdout}");
        stdout.trim() == "up-to-date"
    };
    let stamp_dir = bench.path("home/.cache/rockerc");
    for shell in SHELLS {
        let _ = std::fs::remove_dir_all(&stamp_dir);
        assert!(!up_to_date(shell, ""), "{shell:?}: no stamp yet");
        let wrote = bench.sh(shell, &plan_script("", WRITE_STAMP), &[]);
        assert_eq!(text(&wrote).0, Some(0), "{shell:?}: {:?}", text(&wrote));
        assert!(up_to_date(shell, ""), "{shell:?}: nothing changed since the stamp");
        assert!(up_to_date(shell, "-q -j 2"), "{shell:?}: flags that do not change what is built");
        let calls = bench.docker_calls();
        assert!(calls.lines().all(|l| l.starts_with("image inspect ")), "{shell:?}: a no-op asks only for image ids:\n{calls}");

        std::fs::write(proj.join("unrelated.txt"), "changed, but not read\n").unwrap();
        assert!(up_to_date(shell, ""), "{shell:?}: a file the build does not read");

        for flag in ["--no-cache", "--pull", "--push", "--attach", "--id other"] {
            assert!(!up_to_date(shell, flag), "{shell:?}: {flag}");
        }

        // A base image replaced, then put back.
        let base = bench.path("fake/images/rockerc-test_busybox");
        std::fs::write(&base, "sha256:base2\n").unwrap();
        assert!(!up_to_date(shell, ""), "{shell:?}: a new base image");
        std::fs::write(&base, "sha256:base1\n").unwrap();
        assert!(up_to_date(shell, ""), "{shell:?}");
        // The tag moved to another image, or the image gone.
        let app = bench.path("fake/images/rockerc-noop_app:1");
        std::fs::write(&app, "sha256:other\n").unwrap();
        assert!(!up_to_date(shell, ""), "{shell:?}: the TAG names another image");
        std::fs::remove_file(&app).unwrap();
        assert!(!up_to_date(shell, ""), "{shell:?}: the tagged image is gone");
        std::fs::write(&app, "sha256:app1\n").unwrap();
        assert!(up_to_date(shell, ""), "{shell:?}");

        // The stamp cut short.
        let stamp = std::fs::read_dir(&stamp_dir).unwrap().next().is_some();
        assert!(stamp);
        let file = walk_files(&stamp_dir).pop().unwrap();
        let whole = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, whole.lines().take(3).map(|l| format!("{l}\n")).collect::<String>()).unwrap();
        assert!(!up_to_date(shell, ""), "{shell:?}: a stamp cut short");
        std::fs::write(&file, &whole).unwrap();
        assert!(up_to_date(shell, ""), "{shell:?}");

        // An input rewritten with the same bytes: its time changed.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(proj.join("src/a.txt"), "one\n").unwrap();
        assert!(!up_to_date(shell, ""), "{shell:?}: an input touched");
        let rewrite = bench.sh(shell, &plan_script("", WRITE_STAMP), &[]);
        assert_eq!(text(&rewrite).0, Some(0));
        assert!(up_to_date(shell, ""), "{shell:?}");
        // An input gone.
        std::fs::rename(proj.join("src/a.txt"), proj.join("a.txt.away")).unwrap();
        assert!(!up_to_date(shell, ""), "{shell:?}: an input gone");
        std::fs::rename(proj.join("a.txt.away"), proj.join("src/a.txt")).unwrap();
        bench.docker_calls();
    }
}

/// The whole script, run as a user runs it, takes the no-op path on its stamp: one line, exit 0,
/// and one docker call (the image ids).
#[test]
fn a_no_op_run_of_the_script_makes_one_docker_call() {
    let bench = Bench::new();
    stamped_project(&bench);
    for shell in SHELLS {
        let wrote = bench.sh(shell, &plan_script("", WRITE_STAMP), &[]);
        assert_eq!(text(&wrote).0, Some(0), "{shell:?}: {:?}", text(&wrote));
        bench.docker_calls();
        let out = bench.sh(shell, "set +eu\nexec $SH proj/build/build.sh", &[]);
        assert_eq!(
            text(&out),
            (
                Some(0),
                // The last line is the one scripts around Rocker read (issue 20): the final image's id.
                "up to date: nothing Rockerfile reads has changed since the last build (--no-cache rebuilds)\nSuccessfully built sha256:app1\n".to_string(),
                String::new()
            ),
            "{shell:?}"
        );
        assert_eq!(bench.docker_calls().lines().count(), 1, "{shell:?}");
    }
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}
