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

/// The tree the builder EXPORTs, made by the same commands in the image and on the host
/// (`$R` is its root): modes Rocker's rsync kept and a COPY loses, links, a link chain, a hard
/// link, a FIFO.
const TREE: &str = "mkdir -p $R/ssh $R/empty $R/d $R/lib && chmod 700 $R/ssh $R/empty && echo key > $R/ssh/key && chmod 600 $R/ssh/key \
    && echo tool > $R/file && chmod 4755 $R/file && echo sg > $R/sg && chmod 2710 $R/sg && chmod 1777 $R/d \
    && ln -s file $R/link && ln -s /abs/target $R/alink && ln $R/file $R/hard && mkfifo $R/fifo \
    && echo so > $R/lib/libfoo.so.1.2 && ln -s libfoo.so.1.2 $R/lib/libfoo.so.1 && ln -s libfoo.so.1 $R/lib/libfoo.so";

/// What is in the way in the runtime image before the IMPORTs (`$P` is the root): existing
/// directories with other modes, links where files and directories land.
const BEFORE: &str = "mkdir -p $P/w/c5 $P/w/c6 $P/w/x11 $P/w/c12/ssh $P/w/c13 $P/w/dir17 && chmod 751 $P/w/c5 $P/w/c6 \
    && echo other > $P/w/c6/other && echo target > $P/w/tgt8 && ln -s tgt8 $P/w/c8 && ln -s x11 $P/w/c11 \
    && echo other > $P/w/c12/ssh/other && ln -s ../tgt8 $P/w/c13/ssh && ln -s dir17 $P/w/c17";

/// Each IMPORT: its sources (store paths, as written) and destination.
const IMPORTS: &[(&str, &str)] = &[
    ("src/ssh/", "/w/c1"),                // a 0700 directory's contents onto a new path
    ("src/ssh", "/w/c2"),                 // a directory into a new path
    ("src/empty", "/w/c3"),               // an empty directory becomes the new path
    ("src/file", "/w/c4"),                // a setuid file becomes the new path
    ("src/file", "/w/c5"),                // ... or goes into an existing directory
    ("src/ssh/", "/w/c6"),                // contents into an existing 0751 directory: it becomes 0700
    ("src/link src/alink", "/w/c7/"),     // links as links, relative and absolute
    ("src/file", "/w/c8"),                // onto a link to a file: the link is replaced
    ("src/file src/hard", "/w/c9/"),      // hard links arrive as separate files
    ("src/file src/ssh", "/w/c10"),       // several sources: a new directory
    ("src/ssh", "/w/c11"),                // into a link to a directory: followed
    ("src/ssh", "/w/c12/"),               // onto an existing directory of that name: merged, mode replaced
    ("src/ssh", "/w/c13/"),               // onto a link of that name: replaced by the directory
    ("src/fifo src/sg src/d", "/w/c14/"), // a FIFO, setgid, a sticky directory
    ("src/lib/libfoo.so", "/w/c15/"),     // a link named as a source: the link, not its target
    ("src/lib/", "/w/c16/"),              // the whole chain
    ("src/file", "/w/c17"),               // onto a link to a directory: into the directory
    ("src/lib/libfoo.so", "/w/c18"),      // a link onto a new path becomes that link
    ("src/file", "c19"),                  // relative to WORKDIR
];

/// Every entry under `root`, as `path kind mode [-> link] [content]`, for comparison.
fn host_entries(root: &Path, prefix: &str) -> BTreeMap<String, String> {
    fn walk(dir: &Path, rel: &str, out: &mut BTreeMap<String, String>) {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let name = format!("{rel}/{}", entry.file_name().to_string_lossy());
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let ty = meta.file_type();
            let line = if ty.is_symlink() {
                format!("l -> {}", std::fs::read_link(&path).unwrap().display())
            } else if ty.is_dir() {
                walk(&path, &name, out);
                format!("d {mode:o}")
            } else if ty.is_fifo() {
                format!("p {mode:o}")
            } else {
                format!("f {mode:o} {:?}", String::from_utf8_lossy(&std::fs::read(&path).unwrap()))
            };
            out.insert(name, line);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, prefix, &mut out);
    out
}

fn image_entries(files: &BTreeMap<String, Entry>, under: &str) -> BTreeMap<String, String> {
    files
        .iter()
        .filter(|(p, _)| p.starts_with(&format!("{under}/")))
        .map(|(p, e)| {
            let line = match e.kind {
                'l' => format!("l -> {}", e.link.clone().unwrap_or_default()),
                'd' => format!("d {:o}", e.mode),
                'p' => format!("p {:o}", e.mode),
                _ => format!("f {:o} {:?}", e.mode, String::from_utf8_lossy(e.content.as_deref().unwrap_or_default())),
            };
            (p.clone(), line)
        })
        .collect()
}

/// The IMPORTs above, built by rockerc and done by the real `rsync -a` on a host copy of the same
/// trees: the same entries, kinds, mode bits, link targets and contents.
#[test]
fn imports_leave_what_rsync_a_leaves() {
    if !engine_or_skip("imports_leave_what_rsync_a_leaves") {
        return;
    }
    let imports: String = IMPORTS.iter().map(|(src, dest)| format!("IMPORT {src} {dest}\n")).collect();
    let dir = inline(&format!(
        "FROM {BUSYBOX}\nRUN R=/src; {TREE}\nEXPORT /src\n\n\
         FROM {BUSYBOX}\nRUN P=; {BEFORE}\nWORKDIR /w\n{imports}TAG rockerc-e2e/h13-rsync:latest\n"
    ));
    build(dir.path(), &["--no-cache"]);
    let files = image_files("rockerc-e2e/h13-rsync:latest");

    // The same on the host, with the real rsync -a (what Rocker's IMPORT ran).
    let host = tempfile::tempdir().unwrap();
    let (store, root) = (host.path().join("store"), host.path().join("root"));
    let sh = |script: String| run_ok(Command::new("sh").arg("-c").arg(script));
    sh(format!("umask 022; mkdir -p {s} {r}; R={s}/src; {TREE}; P={r}; {BEFORE}", s = store.display(), r = root.display()));
    for (src, dest) in IMPORTS {
        let dest = if dest.starts_with('/') { format!("{}{dest}", root.display()) } else { format!("{}/w/{dest}", root.display()) };
        let srcs: Vec<String> = src.split(' ').map(|s| format!("{}/{s}", store.display())).collect();
        run_ok(Command::new("rsync").arg("-a").args(&srcs).arg(&dest));
    }
    let want = host_entries(&root.join("w"), "/w");
    let got = image_entries(&files, "/w");
    let diff: Vec<String> = want
        .keys()
        .chain(got.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|p| want.get(*p) != got.get(*p))
        .map(|p| format!("{p}: rsync {:?}, image {:?}", want.get(p), got.get(p)))
        .collect();
    assert!(diff.is_empty(), "the image differs from rsync -a:\n{}", diff.join("\n"));
    // Owners are root's, as documented.
    assert!(files.iter().filter(|(p, _)| p.starts_with("/w/")).all(|(_, e)| e.uid == 0 && e.gid == 0));
    // The tars are the same bytes every time: a rebuild is Docker's layer cache, the same image.
    let id = image_id("rockerc-e2e/h13-rsync:latest");
    build(dir.path(), &[]);
    assert_eq!(image_id("rockerc-e2e/h13-rsync:latest"), id, "a rebuild with nothing changed made a new image");
}

/// After `FROM scratch` there is no image to look in: a file becomes its destination, and a
/// `src/` gives a new directory its mode, as rsync into an empty root does.
#[test]
fn imports_into_scratch_leave_what_rsync_a_leaves() {
    if !engine_or_skip("imports_into_scratch_leave_what_rsync_a_leaves") {
        return;
    }
    let imports: &[(&str, &str)] = &[("src/file", "/w/tool"), ("src/ssh/", "/w/ssh"), ("src/lib/libfoo.so", "/w/lib/"), ("src/empty", "/w/e")];
    let lines: String = imports.iter().map(|(src, dest)| format!("IMPORT {src} {dest}\n")).collect();
    let dir = inline(&format!("FROM {BUSYBOX}\nRUN R=/src; {TREE}\nEXPORT /src\n\nFROM scratch\n{lines}TAG rockerc-e2e/h13-scratch:latest\n"));
    build(dir.path(), &["--no-cache"]);
    let files = image_files("rockerc-e2e/h13-scratch:latest");
    let host = tempfile::tempdir().unwrap();
    let (store, root) = (host.path().join("store"), host.path().join("root"));
    run_ok(Command::new("sh").arg("-c").arg(format!("umask 022; mkdir -p {s} {r}/w/lib; R={s}/src; {TREE}", s = store.display(), r = root.display())));
    for (src, dest) in imports {
        run_ok(Command::new("rsync").arg("-a").arg(format!("{}/{src}", store.display())).arg(format!("{}{dest}", root.display())));
    }
    let (want, got) = (host_entries(&root.join("w"), "/w"), image_entries(&files, "/w"));
    assert_eq!(got, want, "the image differs from rsync -a");
}
