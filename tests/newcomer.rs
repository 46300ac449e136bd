//! What a new user meets first, checked as they would meet it: the test suites that need
//! `../shared` say so in cargo's own summary of a fresh clone instead of passing without having
//! run anything.

use std::path::Path;

/// The suites that read `../shared` (through `ROCKERC_CONFORMANCE_DIR` or `ROCKERC_CORPUS_DIR`)
/// are `#[ignore = "needs ../shared: ..."]`: a clone without it lists them as ignored, `.ci/run`
/// runs them with `--ignored`, and run without the variable they fail rather than pass.
#[test]
fn suites_that_need_shared_are_ignored_without_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.push(root.join("tests/common/mod.rs"));
    files.sort();
    let mut shared_tests = Vec::new();
    let mut problems = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let fns = functions(&text);
        // A function reads ../shared if it names one of the variables in code, or calls one that does.
        let mut reads: Vec<&str> = fns
            .iter()
            .filter(|f| {
                code(f.body).contains("\"ROCKERC_CONFORMANCE_DIR\"")
                    || code(f.body).contains("\"ROCKERC_CORPUS_DIR\"")
            })
            .map(|f| f.name)
            .collect();
        loop {
            let more: Vec<&str> = fns
                .iter()
                .filter(|f| {
                    !reads.contains(&f.name)
                        && reads
                            .iter()
                            .any(|r| code(f.body).contains(&format!("{r}(")))
                })
                .map(|f| f.name)
                .collect();
            if more.is_empty() {
                break;
            }
            reads.extend(more);
        }
        let name = path.file_name().unwrap().to_string_lossy();
        for f in fns
            .iter()
            .filter(|f| f.attributes.contains("#[test]") && reads.contains(&f.name))
        {
            shared_tests.push(format!("{name}: {}", f.name));
            if !f.attributes.contains("#[ignore = \"needs ../shared") {
                problems.push(format!(
                    "{name}: {} reads ../shared but is not #[ignore = \"needs ../shared: ...\"]",
                    f.name
                ));
            }
            if code(f.body).contains("return;") || code(f.body).contains("SKIPPED") {
                problems.push(format!(
                    "{name}: {} can return without running (a skip reported as `ok`)",
                    f.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for suite in [
        "conformance_parser.rs",
        "conformance_shell.rs",
        "corpus.rs",
        "template_corpus.rs",
    ] {
        assert!(
            shared_tests.iter().any(|t| t.starts_with(suite)),
            "no test of {suite} was found to read ../shared: {shared_tests:?}"
        );
    }
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(
        ci.lines()
            .any(|l| l.starts_with("cargo test") && l.contains("--ignored")),
        ".ci/run must run the ignored suites:\n{ci}"
    );
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
        let Some(rest) = line
            .strip_prefix("fn ")
            .or_else(|| line.strip_prefix("pub fn "))
        else {
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
        let end = lines[i..]
            .iter()
            .position(|l| *l == "}")
            .map_or(text.len(), |k| starts[i + k]);
        out.push(Function {
            name,
            attributes: attributes.join("\n"),
            body: &text[starts[i]..end],
        });
    }
    out
}

/// The code of a body without its comments.
fn code(body: &str) -> String {
    body.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
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
    for tool in ["sh", "id", "mktemp", "grep", "sed", "head", "tail", "rm", "sleep", "env", "cat", "dirname", "mkdir", "cp", "ln", "chmod", "chown", "tar", "ldd", "sort", "flock", "nohup"] {
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
