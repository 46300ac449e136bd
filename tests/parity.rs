//! What Rocker did, to the bit, where a user's image or host would notice: EXPORT/IMPORT copy
//! as `rsync -a` does (every mode bit, links as links, a link at the destination replaced), and
//! `-j` never changes what a stage sees (stages that share a MOUNT volume or the host run in file
//! order when one of them may write).
//!
//! The rsync tests build the same tree in a builder image and on the host, run the real
//! `rsync -a` on the host copy (what Rocker's IMPORT ran in the container), and compare it with
//! what lands in the image, entry by entry: kind, mode bits (setuid, setgid, sticky, directory
//! modes), link targets, contents.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// A Rockerfile of its own in a fresh context directory, compiled to build.sh there.
fn inline(rockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), rockerfile).unwrap();
    let out = run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile"));
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    dir
}

/// Runs the build.sh in `dir` with `args`; panics with its output if it fails.
fn build(dir: &Path, args: &[&str]) -> String {
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new("sh").arg(dir.join("build.sh")).args(args).env("XDG_CACHE_HOME", cache.path()).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "build failed:\n{text}");
    text
}

/// A build id no other run shares: each run starts with fresh MOUNT volumes.
fn fresh_id(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("h13-{name}-{}-{nanos}", std::process::id())
}

fn remove_volumes_of(id: &str) {
    // The script names volumes rockerc_<cksum of the id>_...: find them by the id's checksum.
    let sum = String::from_utf8(Command::new("sh").arg("-c").arg(format!("printf '%s' '{id}' | cksum | cut -d ' ' -f 1")).output().unwrap().stdout).unwrap();
    let list = docker_str(&["volume", "ls", "-q", "--filter", &format!("name=rockerc_{}_", sum.trim())]);
    for v in list.lines().filter(|l| !l.is_empty()) {
        let _ = Command::new("docker").args(["volume", "rm", "-f", v]).output();
    }
}

/// Stage 1 writes into a MOUNT volume after a pause; stage 2 (nothing else links them) reads
/// it. In file order, stage 2 sees stage 1's file, at any `-j`.
#[test]
fn a_volume_read_waits_for_the_earlier_write_at_any_jobs() {
    if !engine_or_skip("a_volume_read_waits_for_the_earlier_write_at_any_jobs") {
        return;
    }
    let dir = inline(&format!(
        "FROM {BUSYBOX}\nMOUNT /var/cache/x\nRUN sleep 3 && echo from-stage-1 > /var/cache/x/file\n\n\
         FROM {BUSYBOX}\nMOUNT /var/cache/x\nRUN cat /var/cache/x/file > /seen || echo missing > /seen\nTAG rockerc-e2e/h13-volume-raw:latest\n"
    ));
    for jobs in ["1", "8"] {
        let id = fresh_id("raw");
        build(dir.path(), &["--id", &id, "-j", jobs]);
        let files = image_files("rockerc-e2e/h13-volume-raw:latest");
        remove_volumes_of(&id);
        assert_eq!(file_text(&files, "/seen"), "from-stage-1\n", "-j {jobs}: the reading stage ran before the writing one");
    }
}

/// Stage 1 reads a MOUNT volume after a pause; stage 2 writes it. In file order, stage 1 sees
/// the volume as it was, at any `-j`.
#[test]
fn a_volume_write_waits_for_the_earlier_read_at_any_jobs() {
    if !engine_or_skip("a_volume_write_waits_for_the_earlier_read_at_any_jobs") {
        return;
    }
    let dir = inline(&format!(
        "FROM {BUSYBOX}\nMOUNT /var/cache/x\nRUN sleep 3 && (cat /var/cache/x/file 2>/dev/null || echo missing) > /seen\nTAG rockerc-e2e/h13-volume-war:latest\n\n\
         FROM {BUSYBOX}\nMOUNT /var/cache/x\nRUN echo from-stage-2 > /var/cache/x/file\n"
    ));
    for jobs in ["1", "8"] {
        let id = fresh_id("war");
        build(dir.path(), &["--id", &id, "-j", jobs]);
        let files = image_files("rockerc-e2e/h13-volume-war:latest");
        remove_volumes_of(&id);
        assert_eq!(file_text(&files, "/seen"), "missing\n", "-j {jobs}: the writing stage ran before the reading one");
    }
}

/// Stage 1 reads a host file through a MOUNT after a pause; a later stage rewrites it. Stage 1
/// sees the old content, at any `-j`; the host ends with the new one.
#[test]
fn a_host_write_waits_for_the_earlier_read_at_any_jobs() {
    if !engine_or_skip("a_host_write_waits_for_the_earlier_read_at_any_jobs") {
        return;
    }
    let dir = inline(&format!(
        "FROM {BUSYBOX}\nMOUNT ./data:/data\nRUN sleep 3 && cat /data/f > /seen\nTAG rockerc-e2e/h13-host-war:latest\n\n\
         FROM {BUSYBOX}\nMOUNT ./data:/data\nRUN echo new > /data/f\n"
    ));
    for jobs in ["1", "8"] {
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/f"), "old\n").unwrap();
        build(dir.path(), &["--id", &fresh_id("hostwar"), "-j", jobs]);
        let files = image_files("rockerc-e2e/h13-host-war:latest");
        assert_eq!(file_text(&files, "/seen"), "old\n", "-j {jobs}: the writing stage ran before the reading one");
        assert_eq!(std::fs::read_to_string(dir.path().join("data/f")).unwrap(), "new\n");
    }
}

/// Stage 1 writes a host file through a MOUNT after a pause; a later stage COPYs it from the
/// context. It sees the new content, at any `-j`.
#[test]
fn a_context_read_waits_for_the_earlier_host_write_at_any_jobs() {
    if !engine_or_skip("a_context_read_waits_for_the_earlier_host_write_at_any_jobs") {
        return;
    }
    let dir = inline(&format!(
        "FROM {BUSYBOX}\nMOUNT ./data:/data\nRUN sleep 3 && echo new > /data/f\n\n\
         FROM {BUSYBOX}\nCOPY data/f /seen\nTAG rockerc-e2e/h13-host-raw:latest\n"
    ));
    for jobs in ["1", "8"] {
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/f"), "old\n").unwrap();
        build(dir.path(), &["--id", &fresh_id("hostraw"), "-j", jobs, "--no-cache"]);
        let files = image_files("rockerc-e2e/h13-host-raw:latest");
        assert_eq!(file_text(&files, "/seen"), "new\n", "-j {jobs}: the reading stage ran before the writing one");
    }
}

/// Stages that only read what they share still build at the same time.
#[test]
fn readers_of_a_shared_volume_are_not_ordered() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Rockerfile"),
        format!("FROM {BUSYBOX}\nMOUNT /c\nEXPORT /c/a\n\nFROM {BUSYBOX}\nMOUNT /c\nEXPORT /c/b\n\nFROM {BUSYBOX}\nMOUNT /c\nRUN touch /c/x\n"),
    )
    .unwrap();
    let script = String::from_utf8(run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile")).stdout).unwrap();
    assert!(script.contains("  rc_level 1 2\n"), "the two readers share a level:\n{script}");
    let stage3 = script.lines().find(|l| l.starts_with("#   stage 3 ")).unwrap();
    assert!(stage3.ends_with("<- stage 1, stage 2"), "the writer waits for both readers: {stage3}");
}
