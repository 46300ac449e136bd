//! What a new user meets first, checked as they would meet it: a script written anywhere builds
//! the Rockerfile's folder, and refuses to run in another context or after the Rockerfile changed;
//! `tests/setup.sh` copes with a fresh machine; the test suites that need `../shared` say so in
//! cargo's own summary of a fresh clone instead of passing without having run anything.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A folder `proj` holding the hello example (a C builder and a busybox runtime), in a fresh
/// folder of its own; while it is held, no other test builds the example (these change what its
/// tag names).
fn project() -> (tempfile::TempDir, PathBuf, Hold) {
    let alone = golden_lock("export-import").exclusive();
    let root = tempfile::Builder::new().prefix("rockerc-newcomer-").tempdir().unwrap();
    let proj = root.path().join("proj");
    std::fs::create_dir(&proj).unwrap();
    for file in ["Rockerfile", "hello.c"] {
        std::fs::copy(repo_root().join("golden/export-import").join(file), proj.join(file)).unwrap();
    }
    need_images_for(&std::fs::read_to_string(proj.join("Rockerfile")).unwrap());
    (root, proj, alone)
}

/// `cd DIR && rockerc ARGS > OUT`, standard output a file as the shell makes it.
fn compile_to_file(dir: &Path, args: &[&str], out: &Path, stdin: Option<&Path>) {
    let mut cmd = rockerc();
    cmd.current_dir(dir).args(args).stdout(std::fs::File::create(out).unwrap());
    if let Some(input) = stdin {
        cmd.stdin(std::fs::File::open(input).unwrap());
    }
    let status = cmd.status().unwrap();
    assert!(status.success(), "rockerc {args:?} > {} failed", out.display());
}

/// `sh SCRIPT ARGS` from `cwd`, with a stamp folder of its own.
fn sh(script: &Path, args: &[&str], cwd: &Path, cache: &Path) -> Output {
    Command::new("sh").arg(script).args(args).current_dir(cwd).env("XDG_CACHE_HOME", cache).stdin(Stdio::null()).output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The folder a script's recorded context names, from the script's own folder.
fn recorded_context(script: &Path) -> PathBuf {
    let body = std::fs::read_to_string(script).unwrap();
    let line = body.lines().find_map(|l| l.strip_prefix("rc_context=")).expect("the script records its context");
    script.parent().unwrap().join(line.trim_matches('\'')).canonicalize().unwrap()
}

/// `rockerc Rockerfile > ../a.sh`, `> /var/tmp/x.sh`, `-o ../out`, `- < Rockerfile`: the context
/// is the Rockerfile's folder wherever the script goes, and the script builds it from anywhere.
/// Moved away from it, or given another folder with --context, it refuses and says which folders
/// and which option; `--context` (relative to where it runs) still works.
#[test]
fn the_context_is_the_rockerfiles_folder_wherever_the_script_is_written() {
    if !engine_or_skip("the_context_is_the_rockerfiles_folder_wherever_the_script_is_written") {
        return;
    }
    let _g = engine_lock(module_path!());
    let (root, proj, _alone) = project();
    let root = root.path().canonicalize().unwrap();
    let proj = proj.canonicalize().unwrap();
    let cache = tempfile::tempdir().unwrap();

    compile_to_file(&proj, &["Rockerfile"], &root.join("a.sh"), None);
    compile_to_file(&proj, &["-"], &root.join("b.sh"), Some(&proj.join("Rockerfile")));
    let far = tempfile::Builder::new().prefix("rockerc-newcomer-").tempdir_in("/var/tmp").unwrap();
    compile_to_file(&proj, &["Rockerfile"], &far.path().join("x.sh"), None);
    Test::at(&proj).args(["-o", "../out", "Rockerfile"]).status(0).run();
    for script in [root.join("a.sh"), root.join("b.sh"), far.path().join("x.sh"), root.join("out/build.sh")] {
        assert_eq!(recorded_context(&script), proj, "{}", script.display());
    }
    // The script in the parent folder builds the Rockerfile's folder (`..` would have no hello.c).
    let out = sh(&root.join("a.sh"), &[], Path::new("/"), cache.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(docker_str(&["run", "--rm", "rockerc-golden/hello"]), "hello, world");

    // Moved away from its context: it refuses, naming the context it looked for, the Rockerfile
    // and --context.
    std::fs::create_dir(root.join("elsewhere")).unwrap();
    std::fs::copy(root.join("a.sh"), root.join("elsewhere/a.sh")).unwrap();
    let out = sh(&root.join("elsewhere/a.sh"), &[], &root, cache.path());
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let gone = root.join("elsewhere/proj");
    assert!(
        said.contains(&format!(
            "the build context {} is not a directory, so {}/Rockerfile, the Rockerfile this script was compiled from, is not there",
            gone.display(),
            gone.display()
        )),
        "{said}"
    );
    assert!(said.contains("--context DIR"), "{said}");
    // The folder the user names with --context, relative to where they are.
    let out = sh(&root.join("elsewhere/a.sh"), &["--context", "proj"], &root, cache.path());
    assert!(out.status.success(), "{}", text(&out));
    // A folder without the Rockerfile it was compiled from.
    let out = sh(&root.join("a.sh"), &["--context", "elsewhere"], &root, cache.path());
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let other = root.join("elsewhere");
    assert!(
        said.contains(&format!(
            "the build context {} does not hold {}/Rockerfile, the Rockerfile this script was compiled from",
            other.display(),
            other.display()
        )),
        "{said}"
    );
    assert!(said.contains("--context names the build context"), "{said}");
    // Written outside every folder it shares with the context, it records the context's absolute
    // path: moved anywhere, it still builds.
    std::fs::copy(far.path().join("x.sh"), root.join("elsewhere/x.sh")).unwrap();
    let out = sh(&root.join("elsewhere/x.sh"), &[], Path::new("/"), cache.path());
    assert!(out.status.success(), "{}", text(&out));
}

/// Edit the Rockerfile and run the old script: it does not say `up to date` and build the old
/// one; it says the Rockerfile changed and gives the exact command that compiles it again, which
/// works. `rockerc build` compiles anew each time.
#[test]
fn a_stale_script_says_to_compile_again_and_rockerc_build_recompiles() {
    if !engine_or_skip("a_stale_script_says_to_compile_again_and_rockerc_build_recompiles") {
        return;
    }
    let _g = engine_lock(module_path!());
    let (root, proj, _alone) = project();
    let root = root.path().canonicalize().unwrap();
    let proj = proj.canonicalize().unwrap();
    let cache = tempfile::tempdir().unwrap();
    compile_to_file(&proj, &["Rockerfile"], &proj.join("build.sh"), None);
    Test::at(&proj).args(["-o", &root.join("out").display().to_string(), "Rockerfile"]).status(0).run();
    let out = sh(&proj.join("build.sh"), &[], &proj, cache.path());
    assert!(out.status.success(), "{}", text(&out));
    // The no-op checks the Rockerfile without a process: older than the stamp, no cksum runs.
    let spy = tempfile::tempdir().unwrap();
    let calls = spy.path().join("calls");
    let real = which::which("cksum").unwrap();
    std::fs::write(spy.path().join("cksum"), format!("#!/bin/sh\necho cksum >> '{}'\nexec '{}' \"$@\"\n", calls.display(), real.display())).unwrap();
    std::fs::set_permissions(spy.path().join("cksum"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let spied_path = format!("{}:{}", spy.path().display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("sh").arg(proj.join("build.sh")).current_dir(&proj).env("XDG_CACHE_HOME", cache.path()).env("PATH", &spied_path).output().unwrap();
    assert!(text(&out).contains("up to date"), "{}", text(&out));
    assert!(!calls.exists(), "the no-op ran cksum");

    let rockerfile = std::fs::read_to_string(proj.join("Rockerfile")).unwrap();
    std::fs::write(proj.join("Rockerfile"), rockerfile.replace("CMD [\"/bin/hello\"]", "CMD [\"/bin/hello\", \"again\"]")).unwrap();
    let out = Command::new("sh").arg(proj.join("build.sh")).current_dir(&proj).env("XDG_CACHE_HOME", cache.path()).env("PATH", &spied_path).output().unwrap();
    assert!(calls.exists(), "a Rockerfile newer than the stamp has its checksum compared");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains(&format!("rockerc: error: {}/Rockerfile has changed since this script was compiled from it", proj.display())), "{said}");
    let command = format!("  cd {} && rockerc Rockerfile > {}/build.sh", proj.display(), proj.display());
    assert!(said.lines().any(|l| l == command), "the exact command, {command:?}, in:\n{said}");
    let out = sh(&root.join("out/build.sh"), &[], &proj, cache.path());
    let said = text(&out);
    assert!(said.lines().any(|l| l == format!("  cd {} && rockerc -o {}/out Rockerfile", proj.display(), root.display())), "{said}");

    // The command it gives works, from anywhere.
    let bin = Path::new(env!("CARGO_BIN_EXE_rockerc")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    run_ok(Command::new("sh").arg("-c").arg(command.trim()).current_dir("/").env("PATH", &path));
    let out = sh(&proj.join("build.sh"), &[], &proj, cache.path());
    assert!(out.status.success() && !text(&out).contains("up to date"), "{}", text(&out));
    assert_eq!(image_config("rockerc-golden/hello:latest")["Cmd"], serde_json::json!(["/bin/hello", "again"]));

    // rockerc build compiles what the Rockerfile says now.
    std::fs::write(proj.join("Rockerfile"), rockerfile.replace("CMD [\"/bin/hello\"]", "CMD [\"/bin/hello\", \"built\"]")).unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_rockerc")).arg("build").current_dir(&proj).env("XDG_CACHE_HOME", cache.path()).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success() && !text(&out).contains("up to date"), "{}", text(&out));
    assert_eq!(image_config("rockerc-golden/hello:latest")["Cmd"], serde_json::json!(["/bin/hello", "built"]));
}

/// The suites that read `../shared` (through `ROCKERC_CONFORMANCE_DIR` or `ROCKERC_CORPUS_DIR`)
/// are `#[ignore = "needs ../shared: ..."]`: a clone without it lists them as ignored, `.ci/run`
/// runs them with `--ignored`, and run without the variable they fail rather than pass.
#[test]
fn suites_that_need_shared_are_ignored_without_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The test binaries (tests/*.rs, tests/*/main.rs) and the modules of the integration binary.
    let mut files: Vec<_> = ["tests", "tests/integration"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("tests/integration/common.rs")), "{files:?}");
    let mut shared_tests = Vec::new();
    let mut problems = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let fns = functions(&text);
        // A function reads ../shared if it names one of the variables in code, or calls one that does.
        let mut reads: Vec<&str> = fns
            .iter()
            .filter(|f| code(f.body).contains("\"ROCKERC_CONFORMANCE_DIR\"") || code(f.body).contains("\"ROCKERC_CORPUS_DIR\""))
            .map(|f| f.name)
            .collect();
        loop {
            let more: Vec<&str> =
                fns.iter().filter(|f| !reads.contains(&f.name) && reads.iter().any(|r| code(f.body).contains(&format!("{r}(")))).map(|f| f.name).collect();
            if more.is_empty() {
                break;
            }
            reads.extend(more);
        }
        let name = path.file_name().unwrap().to_string_lossy();
        for f in fns.iter().filter(|f| f.attributes.contains("#[test]") && reads.contains(&f.name)) {
            shared_tests.push(format!("{name}: {}", f.name));
            if !f.attributes.contains("#[ignore = \"needs ../shared") {
                problems.push(format!("{name}: {} reads ../shared but is not #[ignore = \"needs ../shared: ...\"]", f.name));
            }
            if code(f.body).contains("return;") || code(f.body).contains("SKIPPED") {
                problems.push(format!("{name}: {} can return without running (a skip reported as `ok`)", f.name));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for suite in ["conformance_parser.rs", "conformance_shell.rs", "corpus.rs", "template_corpus.rs"] {
        assert!(shared_tests.iter().any(|t| t.starts_with(suite)), "no test of {suite} was found to read ../shared: {shared_tests:?}");
    }
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.starts_with("cargo test") && l.contains("--ignored")), ".ci/run must run the ignored suites:\n{ci}");
}

struct Function<'a> {
    name: &'a str,
    /// The attribute lines right above `fn`.
    attributes: String,
    body: &'a str,
}

/// The top-level functions of a Rust file, with their attributes and bodies (up to the first
/// `}` in column 0: rustfmt's layout).
fn functions(text: &str) -> Vec<Function<'_>> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut offset = 0;
    let starts: Vec<usize> = lines
        .iter()
        .map(|l| {
            let at = offset;
            offset += l.len() + 1;
            at
        })
        .collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("fn ").or_else(|| line.strip_prefix("pub fn ")) else {
            continue;
        };
        let name = &rest[..rest.find(['(', '<']).unwrap_or(rest.len())];
        let mut attributes = Vec::new();
        for above in lines[..i].iter().rev() {
            if above.starts_with("#[") {
                attributes.push(*above);
            } else if !above.starts_with("///") {
                break;
            }
        }
        let end = lines[i..].iter().position(|l| *l == "}").map_or(text.len(), |k| starts[i + k]);
        out.push(Function { name, attributes: attributes.join("\n"), body: &text[starts[i]..end] });
    }
    out
}

/// The code of a body without its comments.
fn code(body: &str) -> String {
    body.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

/// `tests/setup.sh` on a machine whose package manager, Docker and registry are stand-ins that
/// record what they are asked: it waits while another apt holds the lock, keeps needrestart quiet,
/// builds only the base images asked for (the hello example does not need the 1.1 GB node image),
/// and never kills or stops a process it did not start.
#[test]
fn setup_waits_for_the_package_lock_builds_only_what_is_needed_and_kills_nothing() {
    let sandbox = tempfile::tempdir().unwrap();
    let bin = sandbox.path().join("bin");
    let state = sandbox.path().join("state");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    for tool in [
        "sh", "id", "mktemp", "grep", "sed", "head", "tail", "rm", "sleep", "env", "cat", "dirname", "mkdir", "cp", "ln", "chmod", "chown", "tar", "ldd",
        "sort", "flock", "nohup",
    ] {
        if let Ok(path) = which::which(tool) {
            std::os::unix::fs::symlink(path, bin.join(tool)).unwrap();
        }
    }
    let stub = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\nstate='{}'\n{body}\n", state.display())).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    };
    // Another apt holds the lock for the first two calls.
    stub(
        "apt-get",
        r#"n=$(cat "$state/apt-calls" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$state/apt-calls"
if [ "$n" -le 2 ]; then echo 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)' >&2; exit 100; fi
echo "apt-get $* NEEDRESTART_SUSPEND=${NEEDRESTART_SUSPEND-unset}" >> "$state/log""#,
    );
    stub(
        "docker",
        r#"case $1 in
  info) exit 0 ;;
  image) grep -qxF "$3" "$state/images" 2>/dev/null ;;
  import) cat > /dev/null; for a; do last=$a; done; echo "docker import $last" >> "$state/log"; echo "$last" >> "$state/images" ;;
  build) cat > /dev/null; echo "docker build $*" >> "$state/log"; echo rockerc-test/node:latest >> "$state/images" ;;
  *) echo "docker $*" >> "$state/log" ;;
esac"#,
    );
    stub("curl", r#"cat "$state/registry""#);
    // debootstrap --variant=minbase --include=... SUITE TARGET MIRROR
    stub("debootstrap", r#"echo "debootstrap $*" >> "$state/log"; mkdir -p "$4/usr/bin" && : > "$4/usr/bin/gcc" && chmod 755 "$4/usr/bin/gcc""#);
    stub("docker-registry", r#"echo "docker-registry $*" >> "$state/log""#);
    stub("sudo", r#"exec "$@""#);
    for forbidden in ["pkill", "killall", "systemctl", "service", "fuser"] {
        stub(forbidden, &format!(r#"echo "FORBIDDEN {forbidden} $*" >> "$state/log""#));
    }
    let setup = |args: &[&str], registry: &str| {
        std::fs::write(state.join("registry"), registry).unwrap();
        let out = std::process::Command::new(bin.join("sh"))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/setup.sh"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("PATH", &bin)
            .env("TMPDIR", sandbox.path())
            .env("ROCKERC_ROOTFS_CACHE", sandbox.path().join("rootfs"))
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "setup {args:?} failed:\n{text}");
        let log = std::fs::read_to_string(state.join("log")).unwrap_or_default();
        std::fs::remove_file(state.join("log")).ok();
        (text, log)
    };

    // A fresh machine (no dockerd, no dot), a registry that answers, the hello example.
    let (out, log) = setup(&["golden/export-import"], "200");
    assert!(out.contains("setup: waiting for the package manager's lock (held by process 4242 (apt-get))"), "{out}");
    assert!(log.contains("apt-get -q -o DPkg::Lock::Timeout=60 update NEEDRESTART_SUSPEND=1"), "{log}");
    assert!(log.lines().any(|l| l.contains(" install -y ") && l.contains("docker.io") && l.ends_with("NEEDRESTART_SUSPEND=1")), "{log}");
    assert!(log.contains("docker import rockerc-test/busybox:latest") && log.contains("docker import rockerc-test/builder:latest"), "{log}");
    assert!(!log.contains("rockerc-test/node"), "the hello example needs no node image:\n{log}");
    assert!(!log.contains("FORBIDDEN"), "{log}");

    // Only what is asked, only once: the node image, on the builder already there.
    let (_, log) = setup(&["images", "node"], "200");
    assert!(log.contains("docker build") && log.contains("rockerc-test/node:latest"), "{log}");
    assert!(!log.contains("import") && !log.contains("debootstrap") && !log.contains("apt-get"), "{log}");
    let (_, log) = setup(&["images", "golden/npm-cache-ssh", "all"], "200");
    assert!(log.is_empty(), "every image is there: {log}");

    // A registry that asks for logins, which this run did not start: reported, left alone.
    let (out, log) = setup(&[], "401");
    assert!(out.contains("the registry on 127.0.0.1:5000 asks for logins, and this script did not start it"), "{out}");
    assert!(!log.contains("FORBIDDEN") && !log.contains("docker-registry serve"), "{log}");
}

/// Every measured figure in README.md and docs/ (a time, a size, a ratio in prose) is one that
/// BENCHMARKS.md's "Other figures" table names with the command behind it; the others are
/// settings, listed here with what they are. A figure nobody can reproduce goes stale (the README
/// said 30-40 ms for a no-op long after it took 10-20).
#[test]
fn every_figure_in_the_docs_names_the_command_behind_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings: &[(&str, &str)] = &[
        ("45 seconds", "how long .ci/run fuzzes each target"),
        ("30 seconds", "the progress heartbeat's default interval (ROCKERC_HEARTBEAT)"),
        ("10 MB", "the size of a hostile test input"),
        ("32 MiB", "a template limit"),
        ("64 MiB", "a template limit"),
        ("1 MiB", "a template limit (printf widths)"),
        ("256 MiB", "a template limit (what a render holds)"),
        ("512 MiB", "a template limit (all helper results)"),
    ];
    let benchmarks = std::fs::read_to_string(root.join("BENCHMARKS.md")).unwrap();
    let table = benchmarks.split("## Other figures").nth(1).and_then(|t| t.split("\n## ").next()).expect("BENCHMARKS.md has an \"Other figures\" section");
    let mut docs = vec![root.join("README.md")];
    docs.extend(std::fs::read_dir(root.join("docs")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "md")));
    let mut problems = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        // Paragraphs of prose (a figure may be broken across lines), with the line each starts on.
        let mut paragraphs: Vec<(usize, String)> = Vec::new();
        let mut in_code = false;
        let mut current: Option<(usize, String)> = None;
        for (n, line) in text.lines().enumerate() {
            let fence = line.starts_with("```");
            if fence || in_code || line.trim().is_empty() {
                paragraphs.extend(current.take());
                in_code ^= fence;
                continue;
            }
            current.get_or_insert_with(|| (n + 1, String::new())).1.push_str(&format!(" {line}"));
        }
        paragraphs.extend(current);
        for (n, paragraph) in paragraphs {
            for figure in figures(&paragraph) {
                let known = table.contains(&figure) || settings.iter().any(|(s, _)| *s == figure);
                if !known {
                    problems.push(format!(
                        "{}:{n}: {figure:?} is not in BENCHMARKS.md's \"Other figures\" with its command",
                        doc.strip_prefix(root).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Measured-looking figures in a line of prose: a number (or a range) with a unit of time or size,
/// or a ratio like `3.3x`.
fn figures(line: &str) -> Vec<String> {
    let units = ["milliseconds", "seconds", "minutes", "ms", "s", "min", "kB", "MB", "GB", "MiB", "GiB", "x"];
    let words: Vec<&str> = line.split(|c: char| c.is_whitespace() || "(),;`".contains(c)).filter(|w| !w.is_empty()).collect();
    let number = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-') && w.chars().next().unwrap().is_ascii_digit();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if number(w) {
            if let Some(unit) = words.get(i + 1).filter(|u| units.contains(&u.trim_end_matches(['.', ':']))) {
                out.push(format!("{w} {}", unit.trim_end_matches(['.', ':'])));
            }
        } else if let Some(n) = w.strip_suffix('x').or_else(|| w.strip_suffix("ms")).filter(|n| number(n) && !n.ends_with('.')) {
            out.push(format!("{n}{}", &w[n.len()..]));
        }
    }
    out
}

/// `.ci/run` runs the README's first command and its tour verbatim (tests/readme_tour.sh, which
/// reads them out of README.md), after the test command the README gives.
#[test]
fn ci_runs_the_readme_tour_verbatim() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let test = ci.lines().position(|l| l.starts_with("sh tests/setup.sh && cargo test")).expect(".ci/run runs the README's test command");
    let tour = ci.lines().position(|l| l == "sh tests/readme_tour.sh").expect(".ci/run runs tests/readme_tour.sh");
    assert!(tour > test);
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme.split("## A five-minute tour").nth(1).expect("the README has its tour").split("\n## ").next().unwrap();
    assert!(
        section.matches("```sh").count() >= 3 && section.contains("```text"),
        "the tour's commands and what they print are what readme_tour.sh runs and checks"
    );
}

/// The integration tests are one binary: at most three files match tests/*.rs, every file in
/// tests/integration/ is a module its main.rs declares (a file nobody declares never compiles,
/// and its tests never run, silently), and README.md's Tests section names every module.
#[test]
fn the_integration_tests_are_one_binary_and_the_readme_names_every_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let top: Vec<PathBuf> =
        std::fs::read_dir(root.join("tests")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "rs")).collect();
    assert!(top.len() <= 3, "more than three test binaries in tests/*.rs: {top:?}");
    let main = std::fs::read_to_string(root.join("tests/integration/main.rs")).unwrap();
    let declared: Vec<&str> = main.lines().filter_map(|l| l.strip_prefix("mod ")).map(|l| l.trim_end_matches(';')).collect();
    let mut files: Vec<String> = std::fs::read_dir(root.join("tests/integration"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|m| m != "main")
        .collect();
    files.sort();
    let mut sorted = declared.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, files, "tests/integration/main.rs must declare exactly the files beside it");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let tests = &readme[readme.find("\n## Tests\n").expect("README.md has a Tests section")..];
    let tests = &tests[..tests[1..].find("\n## ").map_or(tests.len(), |e| e + 1)];
    let unnamed: Vec<&&str> = declared.iter().filter(|m| **m != "common" && !tests.contains(&format!("`{m}`"))).collect();
    assert!(unnamed.is_empty(), "modules the README's Tests section does not name: {unnamed:?}");
}
