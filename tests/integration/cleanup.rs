//! What a build leaves behind: after success, after a failing step, and after Ctrl-C or a TERM at
//! any point, no container and no temporary directory of the script remains, and a failed build
//! leaves the previous images under their tags. Each test counts only what its own builds made
//! (by label, build id or temporary directory): other modules' tests run on the engine at the
//! same time. The tests of this module take turns (`engine_lock`): interrupts land at a moment.

use crate::common::*;
use std::process::Command;

/// A Rockerfile of its own in a fresh context directory, compiled to build.sh there.
fn inline_example(rockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), rockerfile).unwrap();
    let out = Test::at(dir.path()).arg("Rockerfile").status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    dir
}

fn temp_dirs_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

#[test]
fn a_failing_step_leaves_nothing_and_keeps_the_previous_image() {
    if !engine_or_skip("a_failing_step_leaves_nothing_and_keeps_the_previous_image") {
        return;
    }
    let _g = engine_lock(module_path!());
    let good = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nRUN echo good > /state\nTAG rockerc-e2e/failing-{{id}}:latest\n"));
    let tag = format!("rockerc-e2e/failing-{}:latest", good.id);
    run_ok(&mut good.command(&[]));
    let before = image_id(&tag);

    let bad = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nRUN echo new > /state\nTAG {tag}\nMOUNT /cache\nRUN echo about to fail; exit 3\n"));
    let out = bad.command(&[]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("step 2 failed: Rockerfile:6 RUN echo about to fail; exit 3"), "{err}");
    assert!(err.contains("the command exited with status 3"), "{err}");
    assert!(err.contains("about to fail"), "the end of the step's output is shown:\n{err}");
    let made = bad.made();
    assert_eq!(made.volumes.len(), 1, "the MOUNT volume stays: {made:?}");
    assert_eq!(Made { untagged: 0, volumes: vec![], ..made }, Made::default(), "nothing else but the layer cache stays");
    assert_eq!(image_id(&tag), before, "the failed build moved the tag");
    bad.remove_all();
    good.remove_all();
}

#[test]
fn interrupts_stop_the_build_and_clean_up() {
    if !engine_or_skip("interrupts_stop_the_build_and_clean_up") {
        return;
    }
    let _g = engine_lock(module_path!());
    // Mid-RUN of a MOUNTed RUN (`docker run`): no cache tag is made for the unfinished RUN.
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nMOUNT /cache\nRUN echo $$ started; sleep 300\n"));
    interrupt_in(&s, Phase::RunningContainer, "RUN echo", |before| with_persisting(before, 1, &[], &s));
    s.remove_all();
}

/// `rockerc build` waits while the script cleans up: Ctrl-C (to the whole group) or a TERM to
/// rockerc alone ends the script through its traps, and rockerc exits with its status, leaving
/// neither containers nor its own temporary directory.
#[test]
fn interrupting_rockerc_build_cleans_up_and_exits_as_the_script_did() {
    if !engine_or_skip("interrupting_rockerc_build_cleans_up_and_exits_as_the_script_did") {
        return;
    }
    use std::os::unix::process::CommandExt;
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nMOUNT /cache\nRUN echo $$ started; sleep 300\n"));
    for (signal, whole_group, code) in [("INT", true, 130), ("TERM", false, 143)] {
        let mut child = rockerc()
            .args(["build", "--no-cache", "--id", &s.id])
            .current_dir(s.ctx.path())
            .env("TMPDIR", s.tmp.path())
            .env("XDG_CACHE_HOME", s.tmp.path().join("..").join(format!("cache-{}", s.id)))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while !Phase::RunningContainer.reached(&s) {
            assert!(child.try_wait().unwrap().is_none(), "SIG{signal}: rockerc build ended before its RUN started");
            assert!(started.elapsed().as_secs() < 60, "SIG{signal}: the RUN container never started");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let target = if whole_group { format!("-{}", child.id()) } else { child.id().to_string() };
        run_ok(Command::new("kill").arg(format!("-{signal}")).arg("--").arg(&target));
        let interrupted = std::time::Instant::now();
        let status = child.wait().unwrap();
        assert!(interrupted.elapsed().as_secs() < 5, "SIG{signal} took {:?} to stop the build", interrupted.elapsed());
        assert_eq!(status.code(), Some(code), "SIG{signal}: rockerc exits as the script did");
        let made = s.made();
        assert_eq!((made.containers, made.temp, made.processes), (vec![], vec![], vec![]), "SIG{signal}: containers, temp dirs or processes left");
    }
    s.remove_all();
}

#[test]
fn a_failing_stage_stops_the_stages_running_beside_it() {
    if !engine_or_skip("a_failing_stage_stops_the_stages_running_beside_it") {
        return;
    }
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!(
        "FROM {BUSYBOX} AS slow\n{{label}}\nMOUNT /cache\nRUN sleep 300\nEXPORT /etc/passwd\n\n\
         FROM {BUSYBOX} AS broken\n{{label}}\nRUN sleep 2; echo broken on purpose; exit 7\nEXPORT /etc/group\n\n\
         FROM {BUSYBOX}\nIMPORT passwd group /srv/\n"
    ));
    let started = std::time::Instant::now();
    let out = s.command(&["--no-cache", "--jobs", "2"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(started.elapsed().as_secs() < 60, "the slow stage was not stopped ({:?})", started.elapsed());
    assert!(err.contains("step 4 failed: Rockerfile:7-9 LABEL, RUN (2 instructions)"), "{err}");
    // The legacy builder's last lines, or BuildKit's.
    assert!(
        err.contains("broken on purpose\nThe command '/bin/sh -c sleep 2; echo broken on purpose; exit 7' returned a non-zero code: 7")
            || (err.contains(" broken on purpose\n")
                && err.contains("ERROR: executor failed running [/bin/sh -c sleep 2; echo broken on purpose; exit 7]: exit code: 7")),
        "{err}"
    );
    let made = s.made();
    assert_eq!(made.volumes.len(), 1, "the MOUNT volume stays: {made:?}");
    assert_eq!(Made { untagged: 0, volumes: vec![], ..made }, Made::default(), "nothing else but the layer cache stays");
    s.remove_all();
}

#[test]
fn two_builds_of_one_rockerfile_take_turns_and_both_succeed() {
    if !engine_or_skip("two_builds_of_one_rockerfile_take_turns_and_both_succeed") {
        return;
    }
    let _g = engine_lock(module_path!());
    // Both write into the same MOUNT volume: with a lock, each sees only its own writes.
    let ex = inline_example(&format!(
        "FROM {BUSYBOX}\nMOUNT /shared\nRUN rm -f /shared/owner && echo $$ > /shared/owner && sleep 3 && cat /shared/owner > /seen && test \"$(cat /shared/owner)\" = \"$$\"\nTAG rockerc-e2e/locked:latest\n"
    ));
    let spawn = || {
        let cache = tempfile::tempdir().unwrap();
        let child = Command::new("sh")
            .arg(ex.path().join("build.sh"))
            .arg("--no-cache")
            .env("XDG_CACHE_HOME", cache.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        (child, cache)
    };
    let (a, _ca) = spawn();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (b, _cb) = spawn();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for out in [&a, &b] {
        assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    let waited = [&a, &b].iter().filter(|o| String::from_utf8_lossy(&o.stdout).contains("waiting for another build")).count();
    assert_eq!(waited, 1, "one build waited for the other");
    assert!(image_files("rockerc-e2e/locked:latest").contains_key("/seen"));
}

#[test]
fn different_rockerfiles_never_share_a_volume() {
    if !engine_or_skip("different_rockerfiles_never_share_a_volume") {
        return;
    }
    let _g = engine_lock(module_path!());
    // The same MOUNT path in two Rockerfiles (two contexts): two volumes.
    let rockerfile = format!("FROM {BUSYBOX}\nMOUNT /cache\nRUN ls /cache > /before && echo $PPID > /cache/mine\n");
    let (a, b) = (inline_example(&rockerfile), inline_example(&rockerfile));
    let before: std::collections::BTreeSet<String> = docker_str(&["volume", "ls", "-q"]).lines().map(str::to_string).collect();
    for ex in [&a, &b] {
        let cache = tempfile::tempdir().unwrap();
        run_ok(Command::new("sh").arg(ex.path().join("build.sh")).arg("--no-cache").env("XDG_CACHE_HOME", cache.path()));
    }
    let after: std::collections::BTreeSet<String> = docker_str(&["volume", "ls", "-q"]).lines().map(str::to_string).collect();
    // Only the volumes of these two builds (other tests make volumes at the same time): the
    // script names them `rockerc_<128 bits of the SHA-256 of the build id>_...`, the id being
    // `<context>:Rockerfile`.
    let ours: Vec<String> =
        [&a, &b].iter().map(|ex| format!("rockerc_{}_", id_hash(&format!("{}:Rockerfile", ex.path().canonicalize().unwrap().display())))).collect();
    let new: Vec<&String> = after.difference(&before).filter(|v| ours.iter().any(|o| v.starts_with(o.as_str()))).collect();
    assert_eq!(new.len(), 2, "one volume each: {new:?}");
    assert!(ours.iter().all(|o| new.iter().any(|v| v.starts_with(o.as_str()))), "one volume each: {new:?}");
    for v in new {
        docker(&["volume", "rm", v]);
    }
}

/// The script checks for docker and its daemon before anything else, and says what to do.
#[test]
fn a_missing_docker_or_daemon_is_reported_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), "FROM rockerc-test/busybox\nRUN true\n").unwrap();
    let out = Test::at(dir.path()).arg("Rockerfile").status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // No docker on PATH (only the POSIX tools the script uses).
    let bin = tempfile::tempdir().unwrap();
    for tool in [
        "sh",
        "mkdir",
        "rm",
        "cat",
        "mktemp",
        "date",
        "awk",
        "cksum",
        "sha256sum",
        "cut",
        "sed",
        "grep",
        "find",
        "tr",
        "sort",
        "mv",
        "cp",
        "tail",
        "ps",
        "getconf",
        "sleep",
        "dirname",
    ] {
        if let Some(path) = ["/usr/bin", "/bin"].iter().map(|d| std::path::Path::new(d).join(tool)).find(|p| p.exists()) {
            std::os::unix::fs::symlink(path, bin.path().join(tool)).unwrap();
        }
    }
    let out = Command::new("sh")
        .arg(dir.path().join("build.sh"))
        .env("PATH", bin.path())
        .env("XDG_CACHE_HOME", cache.path())
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "rockerc: error: docker is not on PATH; install the Docker CLI (Debian: apt-get install docker.io)\n");

    // A daemon that does not answer.
    let out = Command::new("sh")
        .arg(dir.path().join("build.sh"))
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("XDG_CACHE_HOME", cache.path())
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.ends_with("rockerc: error: the Docker daemon does not answer; start it (systemctl start docker, or dockerd &) or set DOCKER_HOST\n"), "{err}");
    assert!(err.contains("/nonexistent/docker.sock"), "docker's own reason is shown: {err}");
    assert!(temp_dirs_in(tmp.path()).is_empty(), "nothing left behind");
}

// -----------------------------------------------------------------------------------------------
// Interrupts in each phase of a step, counted per resource class. Other tests build on the same
// daemon at the same time, so only what this build made is counted: its images carry a label of
// their own (and every container of them inherits it), its MOUNT volumes are named from its
// `--id`, and its temporary directory, lock and processes live under a TMPDIR of its own.
//
// What persists, by design: the MOUNT volumes (the user's caches), the `rockerc-cache:` tag of a
// MOUNTed RUN that finished (a cache entry, like Docker's layer cache), and untagged images of
// steps that finished (Docker's own layer cache). What must not: containers, the temporary
// directory, the lock, a running docker client, a tag the Rockerfile names (TAGs apply only at
// the end of a successful build), a cache tag of a step that did not finish.

/// One Rockerfile built with a label and a build id of its own (`{label}` in the text becomes
/// `LABEL rockerc.test=ID`).
struct Scenario {
    ctx: tempfile::TempDir,
    id: String,
    tmp: tempfile::TempDir,
}

/// What a build made that is still there, by resource class.
#[derive(Debug, Default, PartialEq)]
struct Made {
    containers: Vec<String>,
    tags: Vec<String>,
    untagged: usize,
    volumes: Vec<String>,
    temp: Vec<String>,
    processes: Vec<String>,
}

impl Scenario {
    fn new(rockerfile: &str) -> Scenario {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let id = format!("t{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let ctx = inline_example(&rockerfile.replace("{label}", &format!("LABEL rockerc.test={id}")).replace("{id}", &id));
        Scenario { ctx, id, tmp: tempfile::tempdir().unwrap() }
    }

    /// Changes the Rockerfile in place (same context, label and build id) and compiles it again.
    fn rewrite(&self, rockerfile: &str) {
        let text = rockerfile.replace("{label}", &format!("LABEL rockerc.test={}", self.id)).replace("{id}", &self.id);
        std::fs::write(self.ctx.path().join("Rockerfile"), text).unwrap();
        let out = Test::at(self.ctx.path()).arg("Rockerfile").status(0).run();
        std::fs::write(self.ctx.path().join("build.sh"), out.stdout).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg(self.ctx.path().join("build.sh")).args(["--id", &self.id]).args(args).env("TMPDIR", self.tmp.path());
        // A cache directory of its own: never the no-op fast path.
        cmd.env("XDG_CACHE_HOME", self.tmp.path().join("..").join(format!("cache-{}", self.id)));
        cmd
    }

    fn made(&self) -> Made {
        let label = format!("label=rockerc.test={}", self.id);
        let mut containers: Vec<String> = docker_str(&["ps", "-a", "--filter", &label, "--format", "{{.Names}}"]).lines().map(str::to_string).collect();
        containers.sort();
        let images = docker_str(&["images", "-a", "--no-trunc", "--filter", &label, "--format", "{{.Repository}}:{{.Tag}}"]);
        let mut tags: Vec<String> = images.lines().filter(|t| *t != "<none>:<none>").map(str::to_string).collect();
        tags.sort();
        let untagged = images.lines().filter(|t| *t == "<none>:<none>").count();
        let prefix = format!("rockerc_{}_", id_hash(&self.id));
        let mut volumes: Vec<String> = docker_str(&["volume", "ls", "-q", "--filter", &format!("name={prefix}")]).lines().map(str::to_string).collect();
        volumes.sort();
        // The script's own processes (the progress monitor, a stage in the background) name
        // build.sh in the context; its helpers name files in its temporary directory.
        let mut processes = processes_naming(self.tmp.path());
        for p in processes_naming(self.ctx.path()) {
            if !processes.contains(&p) {
                processes.push(p);
            }
        }
        Made { containers, tags, untagged, volumes, temp: temp_dirs_in(self.tmp.path()), processes }
    }

    /// Removes what the build made on the engine (the test's own leftovers).
    fn remove_all(&self) {
        let label = format!("label=rockerc.test={}", self.id);
        for c in docker_str(&["ps", "-a", "-q", "--filter", &label]).lines() {
            docker(&["rm", "-f", "-v", c]);
        }
        let made = self.made();
        for t in &made.tags {
            let _ = Command::new("docker").args(["rmi", t]).output();
        }
        for v in &made.volumes {
            let _ = Command::new("docker").args(["volume", "rm", v]).output();
        }
        let ids = docker_str(&["images", "-a", "-q", "--filter", &label]);
        let mut ids: Vec<&str> = ids.lines().collect();
        ids.dedup();
        // Children before parents: retry until nothing of ours is left (or nothing moves).
        for _ in 0..5 {
            if ids.is_empty() {
                break;
            }
            ids.retain(|i| !Command::new("docker").args(["rmi", "-f", i]).output().is_ok_and(|o| o.status.success()));
        }
    }
}

/// What the script names a build id's volumes and lock with: 128 bits of its SHA-256.
fn id_hash(s: &str) -> String {
    let out = run_ok(Command::new("sh").args(["-c", "printf '%s' \"$1\" | sha256sum | cut -c 1-32", "sh", s]));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The command lines (NULs as spaces) of the processes whose arguments name `dir`.
fn processes_naming(dir: &std::path::Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if !entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<String> = cmdline.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.iter().any(|a| a.contains(&needle)) {
            found.push(args.join(" "));
        }
    }
    found
}

/// Where to interrupt: the first moment this is true is inside the phase under test.
enum Phase {
    /// a docker client runs with this subcommand and an argument containing this text
    Docker(&'static str, &'static str),
    /// a container of the build's images is running
    RunningContainer,
    /// a `docker build` runs this RUN: a container of the build's images under the legacy
    /// builder; under BuildKit, whose RUN containers are its own (no `docker ps` shows them),
    /// the script's step log names it (`#5 [2/2] RUN ...`)
    BuildRun(&'static str),
}

impl Phase {
    fn reached(&self, s: &Scenario) -> bool {
        match self {
            Phase::Docker(sub, arg) => processes_naming(s.tmp.path()).iter().any(|p| {
                let words: Vec<&str> = p.split(' ').collect();
                words.first().is_some_and(|w| w.ends_with("docker")) && words.get(1) == Some(sub) && words.iter().any(|w| w.contains(arg))
            }),
            Phase::RunningContainer => !docker_str(&["ps", "-q", "--filter", &format!("label=rockerc.test={}", s.id), "--filter", "status=running"]).is_empty(),
            Phase::BuildRun(run) => {
                Phase::RunningContainer.reached(s)
                    || std::fs::read_dir(s.tmp.path()).unwrap().flatten().any(|d| {
                        std::fs::read_dir(d.path()).into_iter().flatten().flatten().any(|f| {
                            f.file_name().to_string_lossy().starts_with("log.")
                                && std::fs::read_to_string(f.path()).unwrap_or_default().lines().any(|l| l.starts_with('#') && l.contains(&format!("] {run}")))
                        })
                    })
            }
        }
    }
}

/// Interrupts a build of `s` in `phase`, with SIGINT to the process group (Ctrl-C) and SIGTERM
/// to the script alone (a CI timeout), and checks what is left against what was there before
/// plus `persisting` (the resources that are meant to stay). `unfinished` is the step whose
/// progress line must not have been printed: the signal landed before it was done.
fn interrupt_in(s: &Scenario, phase: Phase, unfinished: &str, persisting: impl Fn(&Made) -> Made) {
    interrupt_in_with(s, &[], phase, unfinished, persisting)
}

/// The same, with these options given to the script.
fn interrupt_in_with(s: &Scenario, options: &[&str], phase: Phase, unfinished: &str, persisting: impl Fn(&Made) -> Made) {
    use std::os::unix::process::CommandExt;
    for (signal, whole_group) in [("INT", true), ("TERM", false)] {
        let before = s.made();
        let mut child = s
            .command(&[&["--jobs", "1"], options].concat())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while !phase.reached(s) {
            if let Some(status) = child.try_wait().unwrap() {
                let out = child.wait_with_output().unwrap();
                panic!(
                    "SIG{signal}: the build ended ({status}) before the phase:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(started.elapsed().as_secs() < 60, "SIG{signal}: the phase was never reached");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let target = if whole_group { format!("-{}", child.id()) } else { child.id().to_string() };
        run_ok(Command::new("kill").arg(format!("-{signal}")).arg("--").arg(&target));
        let interrupted = std::time::Instant::now();
        let out = child.wait_with_output().unwrap();
        let stopped = interrupted.elapsed();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        // A TERM to the script alone once waited for a `docker cp` to finish its stream.
        assert!(stopped.as_secs() < 5, "SIG{signal} took {stopped:?} to stop the build");
        assert!(!out.status.success(), "SIG{signal}: the script must exit non-zero");
        // A step's start line ("[2/3] Rockerfile:4 RUN ... ...") and its heartbeats name it while it
        // runs; only its finished line ("... (1.2s)", "... (cached, ...)") says it was done.
        // On a terminal the live lines name it too ("[1/1] Rockerfile:3-4 2s RUN ... | output"):
        // a finished line ends with its time in parentheses.
        let finished = stdout.lines().any(|l| l.contains(unfinished) && !l.ends_with(" ...") && !l.contains(": running for ") && l.trim_end().ends_with("s)"));
        assert!(!finished, "SIG{signal} landed after `{unfinished}` was done:\n{stdout}");
        // The daemon removes the container of a cancelled `docker build` RUN itself, just after
        // the client is gone: give it a moment.
        let mut after = s.made();
        let at_exit = after.containers.len();
        let settle = std::time::Instant::now();
        while !after.containers.is_empty() && settle.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(200));
            after = s.made();
        }
        let settled = settle.elapsed();
        let expected = persisting(&before);
        eprintln!(
            "SIG{signal} after {:.1}s, stopped in {stopped:.1?} (exit {:?}): containers {} ({at_exit} at exit, gone after {settled:.1?}), tags {:?}, untagged images {}, volumes {:?}, temp entries {}, processes {}",
            interrupted.duration_since(started).as_secs_f64(),
            out.status.code(),
            after.containers.len(),
            after.tags,
            after.untagged,
            after.volumes,
            after.temp.len(),
            after.processes.len(),
        );
        assert_eq!(
            Made { untagged: expected.untagged, ..after },
            Made { untagged: expected.untagged, ..expected },
            "SIG{signal}: what is left differs from what should persist\n{stdout}{stderr}"
        );
    }
}

/// Volumes named from the build id, tags with the given prefixes: the classes a scenario expects
/// to persist once it has run that far.
fn with_persisting(before: &Made, volumes: usize, tag_prefixes: &[&str], s: &Scenario) -> Made {
    let now = s.made();
    assert_eq!(now.volumes.len(), volumes, "the MOUNT volumes are there: {:?}", now.volumes);
    let tags = now.tags.iter().filter(|t| tag_prefixes.iter().any(|p| t.starts_with(p))).cloned().collect();
    Made { volumes: now.volumes, tags, untagged: before.untagged, ..Made::default() }
}

#[test]
fn an_interrupt_mid_export_leaves_only_the_caches() {
    if !engine_or_skip("an_interrupt_mid_export_leaves_only_the_caches") {
        return;
    }
    let _g = engine_lock(module_path!());
    // The EXPORT copies a 1 GiB file (sparse on the host, so cheap to make) out of a container
    // through a MOUNT: `docker cp` streams it for seconds.
    let s = Scenario::new(&format!(
        "FROM {BUSYBOX}\n{{label}}\nMOUNT /cache\nRUN echo kept > /cache/marker\nMOUNT ./data:/data\nEXPORT /data/big\n\n\
         FROM {BUSYBOX}\n{{label}}\nIMPORT big /big\nTAG rockerc-e2e/interrupt-{{id}}:latest\n"
    ));
    std::fs::create_dir(s.ctx.path().join("data")).unwrap();
    let big = std::fs::File::create(s.ctx.path().join("data/big")).unwrap();
    big.set_len(1 << 30).unwrap();
    interrupt_in(&s, Phase::Docker("cp", "/x/"), "EXPORT /data/big", |before| with_persisting(before, 1, &["rockerc-cache:"], &s));
    // The volume kept what the finished RUN wrote.
    let vol = s.made().volumes[0].clone();
    let marker = docker_str(&["run", "--rm", "--mount", &format!("type=volume,src={vol},dst=/c"), BUSYBOX, "cat", "/c/marker"]);
    assert_eq!(marker, "kept");
    // The next build succeeds (with a small file, to keep the test short).
    big.set_len(3).unwrap();
    let out = run_ok(&mut s.command(&[]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("(cached,"), "the MOUNTed RUN's cache survived: {}", String::from_utf8_lossy(&out.stdout));
    let made = s.made();
    assert!(made.tags.contains(&format!("rockerc-e2e/interrupt-{}:latest", s.id)), "{made:?}");
    assert!(made.containers.is_empty() && made.temp.is_empty() && made.processes.is_empty(), "{made:?}");
    s.remove_all();
}

#[test]
fn an_interrupt_mid_context_upload_leaves_only_the_caches() {
    if !engine_or_skip("an_interrupt_mid_context_upload_leaves_only_the_caches") {
        return;
    }
    let _g = engine_lock(module_path!());
    // The COPY's build context holds a 1 GiB file: the docker client streams it to the daemon
    // for seconds (the script has no shell pipe between docker processes; these streams are
    // its pipes: the context of a build, and `docker cp`).
    let s = Scenario::new(&format!(
        "FROM {BUSYBOX}\n{{label}}\nMOUNT /cache\nRUN echo kept > /cache/marker\nCOPY big /big\nTAG rockerc-e2e/interrupt-{{id}}:latest\n"
    ));
    let big = std::fs::File::create(s.ctx.path().join("big")).unwrap();
    big.set_len(1 << 30).unwrap();
    interrupt_in(&s, Phase::Docker("build", "/sub."), "COPY", |before| with_persisting(before, 1, &["rockerc-cache:"], &s));
    big.set_len(3).unwrap();
    run_ok(&mut s.command(&[]));
    let made = s.made();
    assert!(made.tags.contains(&format!("rockerc-e2e/interrupt-{}:latest", s.id)), "{made:?}");
    assert!(made.containers.is_empty() && made.temp.is_empty() && made.processes.is_empty(), "{made:?}");
    s.remove_all();
}

#[test]
fn an_interrupt_mid_build_run_leaves_no_container() {
    if !engine_or_skip("an_interrupt_mid_build_run_leaves_no_container") {
        return;
    }
    let _g = engine_lock(module_path!());
    // A RUN without MOUNTs runs inside `docker build`: its container is the daemon's, not named
    // by the script. The file written by the first build shortens the second.
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nCOPY go /go\nRUN test -s /go || sleep 300\nTAG rockerc-e2e/interrupt-{{id}}:latest\n"));
    std::fs::write(s.ctx.path().join("go"), "").unwrap();
    interrupt_in(&s, Phase::BuildRun("RUN test -s /go"), "RUN test", |before| with_persisting(before, 0, &[], &s));
    std::fs::write(s.ctx.path().join("go"), "yes").unwrap();
    run_ok(&mut s.command(&[]));
    assert!(s.made().tags.contains(&format!("rockerc-e2e/interrupt-{}:latest", s.id)));
    s.remove_all();
}

#[test]
fn a_failing_build_run_leaves_no_container() {
    if !engine_or_skip("a_failing_build_run_leaves_no_container") {
        return;
    }
    let _g = engine_lock(module_path!());
    // A RUN without MOUNTs fails inside `docker build`, whose legacy builder keeps the failed
    // step's container unless told --force-rm.
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nRUN echo failing on purpose; exit 4\nTAG rockerc-e2e/failing-{{id}}:latest\n"));
    let out = s.command(&[]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("failing on purpose"), "{err}");
    let made = s.made();
    eprintln!("after the failure: {made:?}");
    assert_eq!(Made { untagged: 0, ..made }, Made::default(), "only Docker's layer cache may stay");
    s.remove_all();
}

// -----------------------------------------------------------------------------------------------
// Nothing lost: a build writes on the host only where the Rockerfile says.

/// Every entry under `dir` (links as `-> target`, files with their contents), for before/after.
fn tree(dir: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, format!("-> {}", std::fs::read_link(&p).unwrap().display()));
            } else if meta.is_dir() {
                out.insert(rel, "dir".into());
                todo.push(p);
            } else {
                out.insert(rel, std::fs::read_to_string(&p).unwrap_or_else(|_| "<binary>".into()));
            }
        }
    }
    out
}

#[test]
fn exports_never_write_through_a_link_out_of_the_store() {
    if !engine_or_skip("exports_never_write_through_a_link_out_of_the_store") {
        return;
    }
    let _g = engine_lock(module_path!());
    // The store is a directory on the host; an image's absolute link there points at the host.
    // rsync in Rocker's container would have followed it inside that container; rockerc must
    // not follow it on the host, neither to replace what is there nor to read it into an image.
    let victim = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(victim.path().join("d")).unwrap();
    std::fs::create_dir_all(victim.path().join("keep")).unwrap();
    std::fs::write(victim.path().join("d/file"), "precious\n").unwrap();
    std::fs::write(victim.path().join("keep/file"), "precious\n").unwrap();
    let before = tree(victim.path());
    let v = victim.path().display();
    for (export, import) in [("EXPORT /d evil", "evil"), ("EXPORT /d evil/", "evil"), ("EXPORT /e/ evil/keep/", "evil"), ("", "evil/keep")] {
        let s = Scenario::new(&format!(
            "FROM {BUSYBOX}\n{{label}}\nRUN ln -s {v} /evil && mkdir -p /d /e && echo new > /d/file && echo new > /e/file\nEXPORT /evil\n{export}\n\n\
             FROM {BUSYBOX}\n{{label}}\nIMPORT {import} /y\n"
        ));
        let out = s.command(&[]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{export} / IMPORT {import}: {err}");
        // EXPORT into the store through the link, or IMPORT through it: refused either way.
        let refused = err.contains("the export store has a symbolic link at evil; rockerc does not follow links there")
            || err.contains("passes through the symbolic link evil -> ") && err.contains("which leads out of it");
        assert!(refused, "{export}: {err}");
        assert_eq!(tree(victim.path()), before, "{export} / IMPORT {import} changed files outside the store");
        let made = s.made();
        assert_eq!(Made { untagged: 0, ..made }, Made::default());
        s.remove_all();
    }
}

#[test]
fn an_import_into_a_host_mount_touches_only_the_names_it_imports() {
    if !engine_or_skip("an_import_into_a_host_mount_touches_only_the_names_it_imports") {
        return;
    }
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!(
        "FROM {BUSYBOX}\n{{label}}\nRUN mkdir -p /o/logs && echo new > /o/report.txt && echo new > /o/logs/unit.log && echo new > /o/linked.txt\nEXPORT /o/\n\n\
         FROM {BUSYBOX}\n{{label}}\nMOUNT ./out:/out\nIMPORT report.txt logs linked.txt /out/\n# {{abs}}\n"
    ));
    let ctx = s.ctx.path();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "precious\n").unwrap();
    std::fs::create_dir_all(ctx.join("out/logs")).unwrap();
    std::fs::create_dir_all(ctx.join("out2")).unwrap();
    // A sibling with a similar name, files the IMPORT does not name, and links out of the tree
    // (absolute and relative) where the IMPORT writes.
    std::fs::write(ctx.join("out2/report.txt"), "sibling\n").unwrap();
    std::fs::write(ctx.join("out/other.txt"), "kept\n").unwrap();
    std::fs::write(ctx.join("out/logs/old.log"), "kept\n").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), ctx.join("out/report.txt")).unwrap();
    std::os::unix::fs::symlink("../../outside-secret", ctx.join("out/linked.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), ctx.join("out/abs")).unwrap();
    let outside_before = tree(outside.path());
    let sibling_before = tree(&ctx.join("out2"));
    run_ok(&mut s.command(&[]));
    assert_eq!(tree(outside.path()), outside_before, "a link was followed out of the tree");
    assert_eq!(tree(&ctx.join("out2")), sibling_before, "the sibling out2 was touched");
    let out = tree(&ctx.join("out"));
    assert_eq!(out["report.txt"], "new\n", "the link is replaced by the file, not written through");
    assert_eq!(out["linked.txt"], "new\n");
    assert_eq!(out["logs/unit.log"], "new\n");
    assert_eq!(out["other.txt"], "kept\n", "an IMPORT adds to the directory; it deletes nothing");
    assert_eq!(out["logs/old.log"], "kept\n");
    assert_eq!(out["abs"], format!("-> {}", outside.path().display()), "IMPORT into a link resolves it inside the container");
    assert!(!ctx.join("outside-secret").exists());
    // An IMPORT into a directory that is a link out of the tree (in the container, a link to a
    // path that does not exist): rsync -a fails there (mkdir: File exists), and so does the
    // build, without touching what the link points at on the host.
    s.rewrite(&std::fs::read_to_string(ctx.join("Rockerfile")).unwrap().replace("# {abs}", "IMPORT report.txt /out/abs/"));
    let failed = s.command(&[]).output().unwrap();
    assert!(!failed.status.success());
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(err.contains("IMPORT at Rockerfile:") && err.contains("never writes through a link"), "{err}");
    assert_eq!(tree(outside.path()), outside_before, "IMPORT into a link wrote out of the tree");
    let made = s.made();
    assert_eq!(Made { untagged: 0, ..made }, Made::default());
    s.remove_all();
}

#[test]
fn a_build_failing_late_leaves_every_tag_where_it_was() {
    if !engine_or_skip("a_build_failing_late_leaves_every_tag_where_it_was") {
        return;
    }
    let _g = engine_lock(module_path!());
    // Two stages, each TAGged; the second stage's last step fails after the first stage's TAG
    // was reached. Neither tag moves, no new tag appears (not even a cache tag), and the images
    // stay usable.
    let rockerfile = |version: &str, last: &str| {
        format!(
            "FROM {BUSYBOX} AS base\n{{label}}\nRUN echo {version} > /version\nTAG rockerc-e2e/late-{{id}}-base:latest\n\n\
             FROM rockerc-e2e/late-{{id}}-base:latest\nMOUNT /cache\nRUN cat /version > /copied\nTAG rockerc-e2e/late-{{id}}-app:latest\nMOUNT /cache2\nRUN {last}\n"
        )
    };
    let v1 = Scenario::new(&rockerfile("v1", "true"));
    run_ok(&mut v1.command(&[]));
    let tags = [format!("rockerc-e2e/late-{}-base:latest", v1.id), format!("rockerc-e2e/late-{}-app:latest", v1.id)];
    let ids: Vec<String> = tags.iter().map(|t| image_id(t)).collect();
    let tagged_before = v1.made().tags;

    // The same build id, tags and label: the Rockerfile changed in place.
    v1.rewrite(&rockerfile("v2", "echo late failure; exit 5"));
    let out = v1.command(&[]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("late failure"), "{err}");
    for (tag, id) in tags.iter().zip(&ids) {
        assert_eq!(&image_id(tag), id, "{tag} moved");
    }
    assert_eq!(file_text(&image_files(&tags[1]), "/copied"), "v1\n");
    // The MOUNTed RUN of v2 that finished keeps its cache tag (the next build reuses it); the
    // failed one made none, and no name the Rockerfile TAGs was touched.
    let made = v1.made();
    let new: Vec<&String> = made.tags.iter().filter(|t| !tagged_before.contains(t)).collect();
    eprintln!("tags before {}, after {}, new: {new:?}", tagged_before.len(), made.tags.len());
    assert!(tagged_before.iter().all(|t| made.tags.contains(t)), "a tag went away: {made:?}");
    assert_eq!(new.len(), 1, "one cache tag, for the finished MOUNTed RUN: {new:?}");
    assert!(new[0].starts_with("rockerc-cache:"), "{new:?}");
    assert!(made.containers.is_empty() && made.temp.is_empty() && made.processes.is_empty(), "{made:?}");
    v1.remove_all();
}

// -----------------------------------------------------------------------------------------------
// The lock per build id is the engine's: builds whose clients have different TMPDIRs, or only
// BusyBox's tools, still take turns; a dead holder's lock is taken over by exactly one build at a
// time, after its containers and files (its secrets first) are gone.

/// A RUN that owns the shared volume for a while and fails if anyone else wrote to it meanwhile.
const OWNER_RUN: &str =
    "MOUNT /shared\nRUN rm -f /shared/owner && echo $$ > /shared/owner && sleep 2 && test \"$(cat /shared/owner)\" = \"$$\" && cat /shared/owner > /seen\n";

fn lock_name(id: &str) -> String {
    format!("rockerc-lock-{}", id_hash(id))
}

fn lock_containers(id: &str) -> Vec<String> {
    docker_str(&["ps", "-a", "--filter", &format!("name=^/{}$", lock_name(id)), "--format", "{{.ID}}"]).lines().map(str::to_string).collect()
}

#[test]
fn builds_with_different_tmpdirs_and_busybox_tools_take_turns() {
    if !engine_or_skip("builds_with_different_tmpdirs_and_busybox_tools_take_turns") {
        return;
    }
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\n{OWNER_RUN}"));
    let busybox = busybox_path();
    let other_tmp = tempfile::tempdir().unwrap();
    let a = s.command(&["--no-cache"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // The second build: another TMPDIR, and BusyBox's tools only (its `ps` has no -p).
    let mut b = Command::new(busybox.path().join("sh"));
    b.arg(s.ctx.path().join("build.sh")).args(["--id", &s.id, "--no-cache"]).env("PATH", busybox.path()).env("TMPDIR", other_tmp.path());
    b.env("XDG_CACHE_HOME", s.tmp.path().join("cache-b"));
    let b = b.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for out in [&a, &b] {
        assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    let waited = [&a, &b].iter().filter(|o| String::from_utf8_lossy(&o.stdout).contains("waiting for another build")).count();
    assert_eq!(waited, 1, "one build waited for the other");
    assert!(lock_containers(&s.id).is_empty(), "the lock is released");
    assert!(temp_dirs_in(other_tmp.path()).is_empty());
    s.remove_all();
}

#[test]
fn a_stale_lock_is_taken_over_by_one_build_at_a_time_after_its_leftovers_are_gone() {
    if !engine_or_skip("a_stale_lock_is_taken_over_by_one_build_at_a_time_after_its_leftovers_are_gone") {
        return;
    }
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\n{OWNER_RUN}"));
    run_ok(&mut s.command(&["--no-cache"]));
    // A holder that died with SIGKILL: a process that is gone, on this machine, with its
    // temporary directory (a plaintext secret in it) and a RUN container still running.
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap().trim().to_string();
    let ns = std::fs::read_link("/proc/self/ns/pid").unwrap().display().to_string();
    let dead_tmp = s.tmp.path().join("rockerc.Dead42");
    std::fs::create_dir_all(dead_tmp.join("run.1")).unwrap();
    std::fs::write(dead_tmp.join("run-id"), "Dead42\n").unwrap();
    std::fs::write(dead_tmp.join("run.1/secret.TOKEN"), "plaintext").unwrap();
    let leftover = "rockerc-Dead42-1-1".to_string();
    docker(&["run", "-d", "--name", &leftover, "--label", &format!("rockerc.test={}", s.id), BUSYBOX, "sleep", "300"]);
    let label = format!("rockerc.lock={pid} 12345 {boot}/{ns} Dead42 {}", dead_tmp.display());
    docker(&["create", "--name", &lock_name(&s.id), "--label", &label, "rockerc-lock:1", "/x"]);

    // Several builds find it at once: one at a time takes it over, none runs beside another.
    let builds: Vec<_> = (0..4)
        .map(|_| {
            let tmp = tempfile::tempdir().unwrap();
            let child = s
                .command(&["--no-cache"])
                .env("TMPDIR", tmp.path())
                .env("XDG_CACHE_HOME", tmp.path().join("cache"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (child, tmp)
        })
        .collect();
    let mut reaped = 0;
    for (child, tmp) in builds {
        let out = child.wait_with_output().unwrap();
        let shown = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "two builds ran at once, or one died: {shown}");
        reaped += usize::from(shown.contains("that held the lock is gone; removing what it left"));
        assert!(temp_dirs_in(tmp.path()).iter().all(|e| e == "cache"), "{:?}", temp_dirs_in(tmp.path()));
    }
    assert!(reaped >= 1, "no build noticed the dead holder");
    assert!(!dead_tmp.exists(), "the dead build's temporary directory (and secret) is still there");
    assert!(docker_str(&["ps", "-a", "-q", "--filter", &format!("name=^/{leftover}$")]).is_empty(), "the dead build's container still runs");
    assert!(lock_containers(&s.id).is_empty(), "the lock is released");
    s.remove_all();
}

#[test]
fn a_build_killed_mid_run_is_cleaned_up_by_the_next_one() {
    if !engine_or_skip("a_build_killed_mid_run_is_cleaned_up_by_the_next_one") {
        return;
    }
    use std::os::unix::process::CommandExt;
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nMOUNT /cache\nRUN test -n \"$TOKEN\" && echo $$ > /cache/writer && sleep 300\n"));
    let out = Test::at(s.ctx.path()).args(["--secret", "TOKEN", "Rockerfile"]).status(0).run();
    std::fs::write(s.ctx.path().join("build.sh"), out.stdout).unwrap();
    // Started the way a CI job starts it, then killed with SIGKILL, with its process group.
    let mut child = s
        .command(&["--no-cache"])
        .env("TOKEN", "hunter2-secret")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !Phase::RunningContainer.reached(&s) {
        assert!(started.elapsed().as_secs() < 60, "the RUN never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    run_ok(Command::new("kill").arg("-KILL").arg("--").arg(format!("-{}", child.id())));
    child.wait().unwrap();
    let secret_files = || run_ok(Command::new("sh").arg("-c").arg(format!("grep -rl hunter2-secret {} || true", s.tmp.path().display()))).stdout;
    assert!(!secret_files().is_empty(), "the killed build left its secret file behind (the test's premise)");
    assert!(Phase::RunningContainer.reached(&s), "its RUN container goes on (the test's premise)");

    // The next build of the same id (the Rockerfile changed meanwhile), with another TMPDIR: it
    // finds the dead holder, stops its container, removes its files, and builds.
    s.rewrite(&format!("FROM {BUSYBOX}\n{{label}}\nMOUNT /cache\nRUN cat /cache/writer > /seen\n"));
    let other = tempfile::tempdir().unwrap();
    let out = s.command(&["--no-cache"]).env("TMPDIR", other.path()).output().unwrap();
    let shown = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("that held the lock is gone; removing what it left"), "{shown}");
    assert!(!Phase::RunningContainer.reached(&s), "the killed build's RUN container still runs");
    assert!(lock_containers(&s.id).is_empty(), "the lock is released");
    assert!(secret_files().is_empty(), "the dead build's secret is still on disk");
    assert!(temp_dirs_in(s.tmp.path()).iter().all(|e| !e.starts_with("rockerc.")), "{:?}", temp_dirs_in(s.tmp.path()));
    s.remove_all();
}

/// `sh build.sh | head -1`: the reader goes away after one line; the script stops at its next
/// line of output and cleans up, whether SIGPIPE reaches it or is ignored (its writes fail).
#[test]
fn a_build_piped_into_head_leaves_nothing() {
    if !engine_or_skip("a_build_piped_into_head_leaves_nothing") {
        return;
    }
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!(
        "FROM {BUSYBOX}\n{{label}}\nRUN echo one > /one\nMOUNT /cache\nRUN echo two > /two\nRUN echo three > /three\nTAG rockerc-e2e/piped-{{id}}:latest\n"
    ));
    for ignore in ["", "trap '' PIPE; "] {
        let line = format!("{ignore}sh \"$0\" --no-cache --id \"$1\" | head -n 1");
        let out = Command::new("sh")
            .args(["-c", &line])
            .arg(s.ctx.path().join("build.sh"))
            .arg(&s.id)
            .env("TMPDIR", s.tmp.path())
            .env("XDG_CACHE_HOME", s.tmp.path().join("..").join(format!("cache-{}", s.id)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1, "{ignore}: {}", String::from_utf8_lossy(&out.stdout));
        let made = s.made();
        assert_eq!((made.containers.clone(), made.temp.clone(), made.processes.clone()), (vec![], vec![], vec![]), "{ignore}: left behind: {made:?}");
        assert!(lock_containers(&s.id).is_empty(), "{ignore}: the lock is left");
        assert!(!made.tags.iter().any(|t| t.starts_with("rockerc-e2e/piped")), "{ignore}: the build went on to its TAG: {made:?}");
    }
    s.remove_all();
}

/// A cache tag anyone can compute is not a cache hit unless rockerc made it: an image tagged with
/// the name of a MOUNTed RUN's cache entry is run again, not shipped.
#[test]
fn a_cache_tag_someone_else_made_is_not_trusted() {
    if !engine_or_skip("a_cache_tag_someone_else_made_is_not_trusted") {
        return;
    }
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nMOUNT /cache\nRUN echo built by rockerc > /result\nTAG rockerc-e2e/poison-{{id}}:latest\n"));
    let image = format!("rockerc-e2e/poison-{}:latest", s.id);
    // Each build with a stamp directory of its own: never the no-op fast path.
    let build = || {
        let stamps = tempfile::tempdir().unwrap();
        run_ok(s.command(&[]).env("XDG_CACHE_HOME", stamps.path()))
    };
    build();
    let cached = build();
    assert!(String::from_utf8_lossy(&cached.stdout).contains("(cached,"), "rockerc's own entry is a hit");
    let entry = s.made().tags.into_iter().find(|t| t.starts_with("rockerc-cache:")).expect("a cache entry");
    // Another build on the same engine makes an image of its own under that name: on the same
    // parent, without the label, or with rockerc's label copied.
    let label = docker_str(&["image", "inspect", "--format", "{{index .Config.Labels \"rockerc.cache\"}}", &entry]);
    let forgeries = [
        format!("FROM {BUSYBOX}\nLABEL rockerc.test={}\nRUN echo poisoned > /result\n", s.id),
        // The same label, word for word: its signature is of another result.
        format!("FROM {BUSYBOX}\nLABEL rockerc.test={}\nRUN echo poisoned > /result\nLABEL rockerc.cache=\"{label}\"\n", s.id),
    ];
    for forged in forgeries {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), forged).unwrap();
        run_ok(Command::new("docker").args(["build", "-q", "-t", &entry, "."]).env("DOCKER_BUILDKIT", "0").current_dir(dir.path()));
        let out = build();
        assert!(!String::from_utf8_lossy(&out.stdout).contains("(cached,"), "a forged cache entry was taken:\n{}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(file_text(&image_files(&image), "/result"), "built by rockerc\n");
        // And the entry is rockerc's again.
        assert!(String::from_utf8_lossy(&build().stdout).contains("(cached,"));
    }
    s.remove_all();
}

/// Tags are applied all or nothing, and a name is never where docker reads an option: a name
/// docker refuses (a rejected reference, one that looks like an option, a digest) leaves every
/// earlier tag of the build where it was, and says which TAG line it is.
#[test]
fn a_tag_docker_refuses_moves_no_tag() {
    if !engine_or_skip("a_tag_docker_refuses_moves_no_tag") {
        return;
    }
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nRUN echo v1 > /v\nTAG rockerc-e2e/tags-{{id}}:first\nTAG rockerc-e2e/tags-{{id}}:second\n"));
    let first = format!("rockerc-e2e/tags-{}:first", s.id);
    run_ok(&mut s.command(&[]));
    let before = image_id(&first);
    let sentinel = tempfile::tempdir().unwrap();
    // The compile-time check knows Docker's grammar; the script must hold even for a name that
    // reaches it (an edited script, an older rockerc): the second TAG's name is replaced.
    for bad in ["x-.io/app:1", "-x.io/app", "--help", "rockerc-e2e/tags@sha256:0123456789012345678901234567890123456789012345678901234567890123"] {
        s.rewrite(&format!("FROM {BUSYBOX}\n{{label}}\nRUN echo v2 > /v\nTAG rockerc-e2e/tags-{{id}}:first\nTAG rockerc-e2e/tags-{{id}}:second\n"));
        let script = std::fs::read_to_string(s.ctx.path().join("build.sh")).unwrap();
        let quoted = format!("'{}'", bad.replace('\'', "'\\''"));
        std::fs::write(s.ctx.path().join("build.sh"), script.replace(&format!("rockerc-e2e/tags-{}:second", s.id), &quoted)).unwrap();
        let out = s.command(&[]).current_dir(sentinel.path()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad}: {err}");
        assert!(err.contains("TAG at Rockerfile:5: docker refuse"), "{bad}: the error names the TAG line:\n{err}");
        assert!(err.contains(&format!(" the name {bad}")), "{bad}: the error names the name:\n{err}");
        assert_eq!(image_id(&first), before, "{bad}: the first TAG moved although the second was refused");
        assert!(std::fs::read_dir(sentinel.path()).unwrap().next().is_none(), "{bad}: docker took the name for an option and wrote a file");
    }
    s.remove_all();
}

/// `kill -9` of the script alone while two stages run MOUNTed RUNs in the background: its
/// stages outlive it. The next build of the same id removes their containers and the dead
/// build's directory, and the orphaned stages stop instead of starting their next step.
#[test]
fn a_build_whose_main_process_alone_was_killed_leaves_nothing_running_after_the_next() {
    if !engine_or_skip("a_build_whose_main_process_alone_was_killed_leaves_nothing_running_after_the_next") {
        return;
    }
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!(
        "FROM {BUSYBOX} AS a\n{{label}}\nMOUNT /cache\nRUN sleep 30\nRUN echo next > /a\n\nFROM {BUSYBOX} AS b\n{{label}}\nMOUNT /cache2\nRUN sleep 30\nRUN echo next > /b\n"
    ));
    let mut child = s.command(&["--no-cache", "--jobs", "2"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let started = std::time::Instant::now();
    let running = || docker_str(&["ps", "-q", "--filter", &format!("label=rockerc.test={}", s.id), "--filter", "status=running"]).lines().count();
    while running() < 2 {
        assert!(started.elapsed().as_secs() < 60, "the two RUNs never ran at once");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    run_ok(Command::new("kill").arg("-KILL").arg(child.id().to_string()));
    child.wait().unwrap();
    s.rewrite(&format!("FROM {BUSYBOX}\n{{label}}\nMOUNT /cache\nRUN echo quick > /q\n"));
    let other = tempfile::tempdir().unwrap();
    let out = s.command(&["--no-cache"]).env("TMPDIR", other.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("that held the lock is gone"));
    let settle = std::time::Instant::now();
    while (!s.made().processes.is_empty() || running() > 0) && settle.elapsed().as_secs() < 15 {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let made = s.made();
    assert_eq!(running(), 0, "a container of the killed build still runs: {made:?}");
    assert!(made.containers.is_empty() && made.temp.is_empty() && made.processes.is_empty(), "{made:?}");
    s.remove_all();
}

/// The script killed with SIGKILL mid-step (its cleanup never runs): its progress monitor, which
/// holds the script's stdout, ends within seconds instead of drawing for ever, so whatever reads
/// the output (`$(sh build.sh)`, `rockerc build`, a CI log) reaches its end. In both progress modes
/// that start a monitor.
#[test]
fn a_killed_script_leaves_no_progress_monitor_behind() {
    if !engine_or_skip("a_killed_script_leaves_no_progress_monitor_behind") {
        return;
    }
    use std::io::Read;
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nMOUNT /cache\nRUN echo $$ started; sleep 300\n"));
    for mode in ["plain", "tty"] {
        let mut child =
            s.command(&["--no-cache", "--progress", mode]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().unwrap();
        let started = std::time::Instant::now();
        while !Phase::RunningContainer.reached(&s) {
            assert!(child.try_wait().unwrap().is_none(), "{mode}: the build ended before its RUN started");
            assert!(started.elapsed().as_secs() < 60, "{mode}: the RUN never started");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // The premise: the monitor runs beside the script (a shell process running build.sh).
        let shells = || processes_naming(s.ctx.path()).into_iter().filter(|p| p.starts_with("sh ")).collect::<Vec<_>>();
        assert!(shells().len() >= 2, "{mode}: no monitor beside the script: {:?}", shells());
        let mut stdout = child.stdout.take().unwrap();
        run_ok(Command::new("kill").arg("-KILL").arg(child.id().to_string()));
        child.wait().unwrap();
        let killed = std::time::Instant::now();
        // Read to the end in a thread: without the fix the monitor keeps the pipe open for ever.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            let _ = tx.send(out);
        });
        let out = rx.recv_timeout(std::time::Duration::from_secs(10));
        assert!(out.is_ok(), "{mode}: the script's stdout was still open 10 s after it was killed: {:?}", shells());
        let eof = killed.elapsed();
        assert!(shells().is_empty(), "{mode}: processes of the script left: {:?}", shells());
        eprintln!("{mode}: stdout reached its end {eof:.1?} after SIGKILL");
        // The killed build's RUN container and lock (the next build would reap them).
        for c in docker_str(&["ps", "-a", "-q", "--filter", &format!("label=rockerc.test={}", s.id)])
            .lines()
            .chain(lock_containers(&s.id).iter().map(String::as_str))
        {
            docker(&["rm", "-f", "-v", c]);
        }
        for d in temp_dirs_in(s.tmp.path()) {
            let _ = std::fs::remove_dir_all(s.tmp.path().join(d));
        }
    }
    s.remove_all();
}

/// Ctrl-C and TERM with live lines (`--progress tty`): the monitor is stopped with the rest, and
/// the build cleans up as it does with plain lines.
#[test]
fn interrupts_with_live_progress_stop_the_build_and_clean_up() {
    if !engine_or_skip("interrupts_with_live_progress_stop_the_build_and_clean_up") {
        return;
    }
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nMOUNT /cache\nRUN echo $$ started; sleep 300\n"));
    interrupt_in_with(&s, &["--progress", "tty"], Phase::RunningContainer, "RUN echo", |before| with_persisting(before, 1, &[], &s));
    s.remove_all();
}

/// A `docker run` client that takes its time (a loaded daemon) creates its container after the
/// cleanup's `docker rm -f` went by, and then waits for the container's `sleep 300`, ignoring the
/// TERM it was sent. The cleanup waits for it 3 s at most: it kills the client and removes the
/// container it made, and the build ends with 130 (it once waited the 300 s). A `docker` on PATH
/// stands in for the slow client: for this RUN it ignores INT and TERM and waits a second first.
#[test]
fn an_interrupt_never_waits_for_a_container_that_outlived_its_removal() {
    if !engine_or_skip("an_interrupt_never_waits_for_a_container_that_outlived_its_removal") {
        return;
    }
    use std::os::unix::process::CommandExt;
    let _g = engine_lock(module_path!());
    let s = Scenario::new(&format!("FROM {BUSYBOX}\n{{label}}\nMOUNT /cache\nRUN echo $$ started; sleep 300\n"));
    let real = String::from_utf8(run_ok(Command::new("sh").args(["-c", "command -v docker"])).stdout).unwrap().trim().to_string();
    let shim = tempfile::tempdir().unwrap();
    let mark = shim.path().join("delaying");
    std::fs::write(
        shim.path().join("docker"),
        format!("#!/bin/sh\nif [ \"$1\" = run ]; then case \"$*\" in *'sleep 300'*) trap '' INT TERM; : > \"$SHIM_MARK\"; sleep 1 ;; esac; fi\nexec {real} \"$@\"\n"),
    )
    .unwrap();
    run_ok(Command::new("chmod").arg("+x").arg(shim.path().join("docker")));
    let path = format!("{}:{}", shim.path().display(), std::env::var("PATH").unwrap());
    let mut child = s
        .command(&["--no-cache"])
        .env("PATH", path)
        .env("SHIM_MARK", &mark)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !mark.exists() {
        assert!(child.try_wait().unwrap().is_none(), "the build ended before its RUN");
        assert!(started.elapsed().as_secs() < 60, "the RUN never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    run_ok(Command::new("kill").arg("-INT").arg("--").arg(format!("-{}", child.id())));
    let interrupted = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let stopped = interrupted.elapsed();
    assert!(stopped.as_secs() < 15, "SIGINT took {stopped:?} to stop the build");
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let mut made = s.made();
    let settle = std::time::Instant::now();
    while !made.containers.is_empty() && settle.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        made = s.made();
    }
    let clients = processes_naming(shim.path());
    eprintln!("stopped in {stopped:.1?}; left: {made:?}, clients {clients:?}");
    assert_eq!((made.containers, made.temp, made.processes, clients), (vec![], vec![], vec![], vec![]), "containers, temp dirs or processes left");
    assert!(lock_containers(&s.id).is_empty(), "the lock is left");
    s.remove_all();
}
