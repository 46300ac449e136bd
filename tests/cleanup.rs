//! What a build leaves behind: after success, after a failing step, and after Ctrl-C or a TERM at
//! any point, no container and no temporary directory of the script remains, and a failed build
//! leaves the previous images under their tags. These tests count containers on the engine, so
//! they live in a test binary of their own (cargo runs test binaries one after another) and run
//! one at a time.

mod common;

use common::*;
use std::process::Command;

/// A Rockerfile of its own in a fresh context directory, compiled to build.sh there.
fn inline_example(rockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), rockerfile).unwrap();
    let out = run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile"));
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    dir
}

fn rockerc_containers() -> usize {
    docker_str(&["ps", "-a", "--filter", "name=rockerc-", "--format", "{{.Names}}"]).lines().count()
}

fn temp_dirs_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

#[test]
fn a_failing_step_leaves_nothing_and_keeps_the_previous_image() {
    if !engine_or_skip("a_failing_step_leaves_nothing_and_keeps_the_previous_image") {
        return;
    }
    let _g = engine_lock();
    let good = inline_example(&format!("FROM {BUSYBOX}\nRUN echo good > /state\nTAG rockerc-e2e/failing:latest\n"));
    run_ok(Command::new("sh").arg(good.path().join("build.sh")));
    let before = image_id("rockerc-e2e/failing:latest");

    let bad = inline_example(&format!(
        "FROM {BUSYBOX}\nRUN echo new > /state\nTAG rockerc-e2e/failing:latest\nMOUNT /cache\nRUN echo about to fail; exit 3\n"
    ));
    let tmp = tempfile::tempdir().unwrap();
    let containers = rockerc_containers();
    let out = Command::new("sh").arg(bad.path().join("build.sh")).env("TMPDIR", tmp.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("step 2 failed: Rockerfile:5 RUN echo about to fail; exit 3"), "{err}");
    assert!(err.contains("the command exited with status 3"), "{err}");
    assert!(err.contains("about to fail"), "the end of the step's output is shown:\n{err}");
    assert_eq!(rockerc_containers(), containers, "a container was left behind");
    assert!(temp_dirs_in(tmp.path()).is_empty(), "temp dirs left: {:?}", temp_dirs_in(tmp.path()));
    assert_eq!(image_id("rockerc-e2e/failing:latest"), before, "the failed build moved the tag");
}

#[test]
fn interrupts_stop_the_build_and_clean_up() {
    if !engine_or_skip("interrupts_stop_the_build_and_clean_up") {
        return;
    }
    use std::os::unix::process::CommandExt;
    let _g = engine_lock();
    let ex = inline_example(&format!("FROM {BUSYBOX}\nMOUNT /cache\nRUN echo $$ started; sleep 300\n"));
    for (signal, whole_group) in [("INT", true), ("TERM", false)] {
        let tmp = tempfile::tempdir().unwrap();
        let containers = rockerc_containers();
        let mut child = Command::new("sh")
            .arg(ex.path().join("build.sh"))
            .arg("--no-cache")
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        // Wait until the RUN's container is up, then interrupt: Ctrl-C signals the whole process
        // group; a CI timeout typically signals the script alone.
        let started = std::time::Instant::now();
        while rockerc_containers() == containers {
            assert!(started.elapsed().as_secs() < 60, "the RUN container never started");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        let target = if whole_group { format!("-{}", child.id()) } else { child.id().to_string() };
        run_ok(Command::new("kill").arg(format!("-{signal}")).arg("--").arg(&target));
        let interrupted = std::time::Instant::now();
        let status = child.wait().unwrap();
        assert!(interrupted.elapsed().as_secs() < 20, "SIG{signal} took {:?} to stop the build", interrupted.elapsed());
        assert!(!status.success(), "SIG{signal}: the script must exit non-zero");
        assert_eq!(rockerc_containers(), containers, "SIG{signal}: a container was left behind");
        assert!(temp_dirs_in(tmp.path()).is_empty(), "SIG{signal}: temp dirs left: {:?}", temp_dirs_in(tmp.path()));
    }
}


#[test]
fn a_failing_stage_stops_the_stages_running_beside_it() {
    if !engine_or_skip("a_failing_stage_stops_the_stages_running_beside_it") {
        return;
    }
    let _g = engine_lock();
    let ex = inline_example(&format!(
        "FROM {BUSYBOX} AS slow\nMOUNT /cache\nRUN sleep 300\nEXPORT /etc/passwd\n\n\
         FROM {BUSYBOX} AS broken\nRUN sleep 2; echo broken on purpose; exit 7\nEXPORT /etc/group\n\n\
         FROM {BUSYBOX}\nIMPORT passwd group /srv/\n"
    ));
    let tmp = tempfile::tempdir().unwrap();
    let containers = rockerc_containers();
    let started = std::time::Instant::now();
    let out = Command::new("sh").arg(ex.path().join("build.sh")).args(["--no-cache", "--jobs", "2"]).env("TMPDIR", tmp.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(started.elapsed().as_secs() < 60, "the slow stage was not stopped ({:?})", started.elapsed());
    assert!(err.contains("step 3 failed: Rockerfile:6-7 RUN sleep 2; echo broken on purpose; exit 7"), "{err}");
    assert!(err.contains("broken on purpose\nThe command '/bin/sh -c sleep 2; echo broken on purpose; exit 7' returned a non-zero code: 7"), "{err}");
    assert_eq!(rockerc_containers(), containers, "a container was left behind");
    assert!(temp_dirs_in(tmp.path()).is_empty(), "temp dirs left: {:?}", temp_dirs_in(tmp.path()));
}

#[test]
fn two_builds_of_one_rockerfile_take_turns_and_both_succeed() {
    if !engine_or_skip("two_builds_of_one_rockerfile_take_turns_and_both_succeed") {
        return;
    }
    let _g = engine_lock();
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
    let _g = engine_lock();
    // The same MOUNT path in two Rockerfiles (two contexts): two volumes.
    let rockerfile = format!("FROM {BUSYBOX}\nMOUNT /cache\nRUN ls /cache > /before && echo $PPID > /cache/mine\n");
    let (a, b) = (inline_example(&rockerfile), inline_example(&rockerfile));
    let before: std::collections::BTreeSet<String> = docker_str(&["volume", "ls", "-q"]).lines().map(str::to_string).collect();
    for ex in [&a, &b] {
        let cache = tempfile::tempdir().unwrap();
        run_ok(Command::new("sh").arg(ex.path().join("build.sh")).arg("--no-cache").env("XDG_CACHE_HOME", cache.path()));
    }
    let after: std::collections::BTreeSet<String> = docker_str(&["volume", "ls", "-q"]).lines().map(str::to_string).collect();
    let new: Vec<&String> = after.difference(&before).filter(|v| v.starts_with("rockerc_")).collect();
    assert_eq!(new.len(), 2, "one volume each: {new:?}");
    for v in new {
        docker(&["volume", "rm", v]);
    }
}

/// The script checks for docker and its daemon before anything else, and says what to do.
#[test]
fn a_missing_docker_or_daemon_is_reported_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), "FROM rockerc-test/busybox\nRUN true\n").unwrap();
    let out = run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile"));
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // No docker on PATH (only the POSIX tools the script uses).
    let bin = tempfile::tempdir().unwrap();
    for tool in ["sh", "mkdir", "rm", "cat", "mktemp", "date", "awk", "cksum", "cut", "sed", "grep", "find", "tr", "sort", "mv", "cp", "tail", "ps", "getconf", "sleep", "dirname"] {
        if let Some(path) = ["/usr/bin", "/bin"].iter().map(|d| std::path::Path::new(d).join(tool)).find(|p| p.exists()) {
            std::os::unix::fs::symlink(path, bin.path().join(tool)).unwrap();
        }
    }
    let out = Command::new("sh").arg(dir.path().join("build.sh")).env("PATH", bin.path()).env("XDG_CACHE_HOME", cache.path()).env("TMPDIR", tmp.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "rockerc: error: docker is not on PATH; install the Docker CLI (Debian: apt-get install docker.io)\n"
    );

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
    assert!(
        err.ends_with("rockerc: error: the Docker daemon does not answer; start it (systemctl start docker, or dockerd &) or set DOCKER_HOST\n"),
        "{err}"
    );
    assert!(err.contains("/nonexistent/docker.sock"), "docker's own reason is shown: {err}");
    assert!(temp_dirs_in(tmp.path()).is_empty(), "nothing left behind");
}
