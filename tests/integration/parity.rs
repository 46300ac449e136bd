//! What Rocker did, to the bit, where a user's image or host would notice: EXPORT/IMPORT copy
//! as `rsync -a` does (every mode bit, links as links, a link at the destination replaced), and
//! `-j` never changes what a stage sees (stages that share a MOUNT volume or the host run in file
//! order when one of them may write).
//!
//! The rsync tests build the same tree in a builder image and on the host, run the real
//! `rsync -a` on the host copy (what Rocker's IMPORT ran in the container), and compare it with
//! what lands in the image, entry by entry: kind, mode bits (setuid, setgid, sticky, directory
//! modes), link targets, contents.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// A Rockerfile of its own in a fresh context directory, compiled to build.sh there.
fn inline(rockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), rockerfile).unwrap();
    let out = Test::at(dir.path()).arg("Rockerfile").status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    dir
}

/// Runs the build.sh in `dir` with `args`; panics with its output if it fails.
fn build(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = try_build(dir, args, None);
    assert!(ok, "build failed:\n{text}");
    text
}

/// Runs the build.sh in `dir` with `args` (and `path` as the whole PATH, for BusyBox's tools):
/// whether it succeeded, and what it printed.
fn try_build(dir: &Path, args: &[&str], path: Option<&Path>) -> (bool, String) {
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg(dir.join("build.sh")).args(args).env("XDG_CACHE_HOME", cache.path());
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let out = cmd.output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
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
    let script = String::from_utf8(Test::at(dir.path()).arg("Rockerfile").status(0).run().stdout).unwrap();
    assert!(script.contains("  rc_level 1 2\n"), "the two readers share a level:\n{script}");
    let stage3 = script.lines().find(|l| l.starts_with("#   stage 3 ")).unwrap();
    assert!(stage3.ends_with("<- stage 1, stage 2"), "the writer waits for both readers: {stage3}");
}

/// The tree the builder EXPORTs, made by the same commands in the image and on the host
/// (`$R` is its root): modes Rocker's rsync kept and a COPY loses, links, a link chain, a hard
/// link, a FIFO, links to directories inside the store (a release layout), one name in several
/// directories.
const TREE: &str = "mkdir -p $R/ssh $R/empty $R/d $R/lib && chmod 700 $R/ssh $R/empty && echo key > $R/ssh/key && chmod 600 $R/ssh/key \
    && echo tool > $R/file && chmod 4755 $R/file && echo sg > $R/sg && chmod 2710 $R/sg && chmod 1777 $R/d \
    && ln -s file $R/link && ln -s /abs/target $R/alink && ln $R/file $R/hard && mkfifo $R/fifo \
    && echo so > $R/lib/libfoo.so.1.2 && ln -s libfoo.so.1.2 $R/lib/libfoo.so.1 && ln -s libfoo.so.1 $R/lib/libfoo.so \
    && mkdir -p $R/rel/v1.2/bin && chmod 750 $R/rel/v1.2 && echo so > $R/rel/v1.2/libx.so && echo run > $R/rel/v1.2/bin/tool && ln -s v1.2 $R/rel/current \
    && ln -s ../rel $R/lib/up && mkdir -p $R/a/x $R/b $R/c/x && echo ax > $R/a/x/in && chmod 700 $R/a/x && echo bx > $R/b/x \
    && echo cx > $R/c/x/in && echo c2 > $R/c/x/in2 && chmod 750 $R/c/x";

/// What is in the way in the runtime image before the IMPORTs (`$P` is the root): existing
/// directories with other modes, links where files and directories land (relative, absolute,
/// dangling), an empty directory where a file lands.
const BEFORE: &str = "mkdir -p $P/w/c5 $P/w/c6 $P/w/x11 $P/w/c12/ssh $P/w/c13 $P/w/dir17 && chmod 751 $P/w/c5 $P/w/c6 \
    && echo other > $P/w/c6/other && echo target > $P/w/tgt8 && ln -s tgt8 $P/w/c8 && ln -s x11 $P/w/c11 \
    && echo other > $P/w/c12/ssh/other && ln -s ../tgt8 $P/w/c13/ssh && ln -s dir17 $P/w/c17 \
    && mkdir -p $P/w/rel20/v1 $P/w/c26/file $P/w/dir27 && echo old > $P/w/rel20/v1/old && ln -s rel20/v1 $P/w/c20 \
    && ln -s /nonexistent-h13 $P/w/c25 && ln -s /w/dir27 $P/w/c27 && echo old > $P/w/dir27/old";

/// Each IMPORT: its sources (store paths, as written) and destination.
const IMPORTS: &[(&str, &str)] = &[
    ("src/ssh/", "/w/c1"),                  // a 0700 directory's contents onto a new path
    ("src/ssh", "/w/c2"),                   // a directory into a new path
    ("src/empty", "/w/c3"),                 // an empty directory becomes the new path
    ("src/file", "/w/c4"),                  // a setuid file becomes the new path
    ("src/file", "/w/c5"),                  // ... or goes into an existing directory
    ("src/ssh/", "/w/c6"),                  // contents into an existing 0751 directory: it becomes 0700
    ("src/link src/alink", "/w/c7/"),       // links as links, relative and absolute
    ("src/file", "/w/c8"),                  // onto a link to a file: the link is replaced
    ("src/file src/hard", "/w/c9/"),        // hard links arrive as separate files
    ("src/file src/ssh", "/w/c10"),         // several sources: a new directory
    ("src/ssh", "/w/c11"),                  // into a link to a directory: followed
    ("src/ssh", "/w/c12/"),                 // onto an existing directory of that name: merged, mode replaced
    ("src/ssh", "/w/c13/"),                 // onto a link of that name: replaced by the directory
    ("src/fifo src/sg src/d", "/w/c14/"),   // a FIFO, setgid, a sticky directory
    ("src/lib/libfoo.so", "/w/c15/"),       // a link named as a source: the link, not its target
    ("src/lib/", "/w/c16/"),                // the whole chain
    ("src/file", "/w/c17"),                 // onto a link to a directory: into the directory
    ("src/lib/libfoo.so", "/w/c18"),        // a link onto a new path becomes that link
    ("src/file", "c19"),                    // relative to WORKDIR
    ("src/ssh/", "/w/c20"),                 // contents onto a link to a directory: it is filled and given the mode, the link stays
    ("src/rel/current/", "/w/c21"),         // a link to a directory named with a `/`: its contents
    ("src/lib/up/current/bin", "/w/c22/"),  // a path through links that stay in the store
    ("src/a/x src/b/x src/c/x", "/w/c23/"), // one name three times: the directories merged (the first one's mode and files), the file dropped
    ("src/b/x src/a/x", "/w/c24/"),         // a directory wins over a file that came first
    ("src/file", "/w/c25"),                 // onto a dangling link: the link is replaced
    ("src/file", "/w/c26/"),                // onto an empty directory of that name: replaced
    ("src/a/x/ src/c/x/", "/w/c28"),        // two `src/`: the first gives the mode, the first file of a name wins
    ("src/rel/current", "/w/c29/"),         // a link to a directory named without `/`: the link
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
    imports_as_rsync("h13-rsync", None);
}

/// The same with BusyBox's tools as the whole PATH (Alpine, the docker:cli image): its `tar`,
/// `cp`, `find`, `stat` and `sort`.
#[test]
fn imports_leave_what_rsync_a_leaves_with_busybox_tools() {
    if !engine_or_skip("imports_leave_what_rsync_a_leaves_with_busybox_tools") {
        return;
    }
    let busybox = busybox_path();
    imports_as_rsync("h13-rsync-busybox", Some(busybox.path()));
}

fn imports_as_rsync(name: &str, path: Option<&Path>) {
    let image = format!("rockerc-e2e/{name}:latest");
    let imports: String = IMPORTS.iter().map(|(src, dest)| format!("IMPORT {src} {dest}\n")).collect();
    // RUNs of their own (the no-op `:` word): the rebuild below cannot take another run's images
    // of the same RUNs from the layer cache (other files' times, so other tars).
    let id = unique(name);
    let dir = inline(&format!(
        "FROM {BUSYBOX}\nRUN R=/src; : {id}; {TREE}\nEXPORT /src\n\n\
         FROM {BUSYBOX}\nRUN P=; : {id}; {BEFORE}\nWORKDIR /w\n{imports}TAG {image}\n"
    ));
    let (ok, text) = try_build(dir.path(), &["--no-cache"], path);
    assert!(ok, "build failed:\n{text}");
    let files = image_files(&image);

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
    // Nothing was written through the dangling link, outside the destination.
    assert!(!files.keys().any(|p| p.starts_with("/nonexistent-h13")), "an IMPORT wrote through a dangling link");
    // Owners are root's, as documented.
    assert!(files.iter().filter(|(p, _)| p.starts_with("/w/")).all(|(_, e)| e.uid == 0 && e.gid == 0));
    // The tars are the same bytes every time: a rebuild is Docker's layer cache, the same image.
    let id = image_id(&image);
    let (ok, text) = try_build(dir.path(), &[], path);
    assert!(ok, "rebuild failed:\n{text}");
    assert_eq!(image_id(&image), id, "a rebuild with nothing changed made a new image");
}

/// Where `rsync -a` fails, so does the build, with an error that names the IMPORT's line; it
/// never deletes what rsync kept nor writes through a link. (What is in the way, the IMPORT.)
const FAILING: &[(&str, &str, &str)] = &[
    ("ln -s /nonexistent-h13 $P/w/dang", "src/file", "/w/dang/"), // a dangling link named as a directory: rsync cannot mkdir it
    ("ln -s /nonexistent-h13 $P/w/dang", "src/ssh/", "/w/dang"),  // ... or a directory's contents onto it
    ("mkdir -p $P/w/d2/file/inner && echo precious > $P/w/d2/file/inner/data", "src/file", "/w/d2/"), // a file onto a directory with entries
    ("mkdir -p $P/w/x/ssh/key/deep", "src/ssh", "/w/x"),          // ... deeper in a merged directory
    ("echo old > $P/w/f", "src/ssh/", "/w/f"),                    // a directory's contents onto a file
    ("echo old > $P/w/f", "src/file src/sg", "/w/f"),             // several sources onto a file
    ("echo old > $P/w/f", "src/ssh", "/w/f"),                     // a directory onto a file
    ("echo old > $P/w/f", "src/file", "/w/f/"),                   // a file onto a file named as a directory
    ("ln -s f $P/w/lf && echo old > $P/w/f", "src/ssh", "/w/lf"), // a directory onto a link to a file
];

/// Each case of FAILING on its own: rsync -a fails on the host copy, and the build fails at the
/// IMPORT's line, with GNU's tools and with BusyBox's.
#[test]
fn imports_fail_where_rsync_a_fails() {
    if !engine_or_skip("imports_fail_where_rsync_a_fails") {
        return;
    }
    let busybox = busybox_path();
    for (k, (before, src, dest)) in FAILING.iter().enumerate() {
        let host = tempfile::tempdir().unwrap();
        let (store, root) = (host.path().join("store"), host.path().join("root"));
        run_ok(Command::new("sh").arg("-c").arg(format!(
            "umask 022; mkdir -p {s} {r}/w; R={s}/src; {TREE}; P={r}; {before}",
            s = store.display(),
            r = root.display()
        )));
        let srcs: Vec<String> = src.split(' ').map(|s| format!("{}/{s}", store.display())).collect();
        let rsync = Command::new("rsync").arg("-a").args(&srcs).arg(format!("{}{dest}", root.display())).output().unwrap();
        assert!(!rsync.status.success(), "case {k}: rsync -a {src} {dest} succeeds; it belongs in IMPORTS");
        let dir = inline(&format!(
            "FROM {BUSYBOX}\nRUN R=/src; {TREE}\nEXPORT /src\n\nFROM {BUSYBOX}\nRUN P=; mkdir -p /w && {before}\nIMPORT {src} {dest}\nRUN echo built\n"
        ));
        for path in [None, Some(busybox.path())] {
            // --no-cache: every test of the one integration binary runs at once, and another
            // test's `docker rmi` can remove the untagged image a legacy-builder cache hit has
            // just chosen ("unable to find image", seen in the whole suite).
            let (ok, text) = try_build(dir.path(), &["--no-cache"], path);
            let tools = if path.is_some() { "BusyBox" } else { "GNU" };
            assert!(!ok, "case {k} ({tools}): IMPORT {src} {dest} succeeded where rsync -a fails:\n{text}");
            assert!(text.contains("IMPORT at Rockerfile:7:"), "case {k} ({tools}): the error does not name the IMPORT's line:\n{text}");
        }
    }
}

/// A link in the export store that leads out of it is never followed on the host: the build
/// stops and says which link. (Only an absolute link can: `docker cp` refuses to extract a
/// relative one that climbs out of what an EXPORT copies.)
#[test]
fn import_through_a_link_out_of_the_store_is_refused() {
    if !engine_or_skip("import_through_a_link_out_of_the_store_is_refused") {
        return;
    }
    for (link, src) in [("/etc", "src/out/passwd"), ("/etc", "src/out/"), ("/src/in", "src/out/x")] {
        let dir = inline(&format!("FROM {BUSYBOX}\nRUN mkdir /src && ln -s {link} /src/out\nEXPORT /src\n\nFROM {BUSYBOX}\nIMPORT {src} /w/\n"));
        let (ok, text) = try_build(dir.path(), &[], None);
        assert!(!ok, "IMPORT {src} through out -> {link} succeeded:\n{text}");
        assert!(text.contains("IMPORT at Rockerfile:6:") && text.contains("leads out of"), "IMPORT {src}: {text}");
    }
}

/// IMPORT into a MOUNTed host directory leaves there what `rsync -a` leaves: the directory's own
/// mode from a `src/`, a link or an empty directory where a directory or a file arrives replaced
/// (never written through), links as links.
#[test]
fn imports_into_a_mount_leave_what_rsync_a_leaves() {
    if !engine_or_skip("imports_into_a_mount_leave_what_rsync_a_leaves") {
        return;
    }
    const MTREE: &str = "mkdir -p $R/t/d $R/t/e $R/ssh && chmod 700 $R/t $R/ssh && echo f > $R/t/d/f && echo e2 > $R/t/e2 && echo key > $R/ssh/key \
        && echo tool > $R/file && chmod 4755 $R/file && ln -s file $R/link";
    const MBEFORE: &str = "ln -s /nonexistent-h13 $O/d && mkdir -p $O/e2 $O/s && echo old > $O/l1 && ln -s l1 $O/lk && ln -s s $O/sl";
    const MIMPORTS: &[(&str, &str)] = &[("src/t/", "/out/"), ("src/ssh/", "/out/sl"), ("src/link", "/out/lk"), ("src/file", "/out/bin/")];
    let imports: String = MIMPORTS.iter().map(|(src, dest)| format!("IMPORT {src} {dest}\n")).collect();
    let dir = inline(&format!("FROM {BUSYBOX}\nRUN R=/src; {MTREE}\nEXPORT /src\n\nFROM {BUSYBOX}\nMOUNT ./out:/out\n{imports}"));
    let busybox = busybox_path();
    for path in [None, Some(busybox.path())] {
        let out = dir.path().join("out");
        let _ = std::fs::remove_dir_all(&out);
        run_ok(Command::new("sh").arg("-c").arg(format!("umask 022; mkdir -p {o}; O={o}; {MBEFORE}", o = out.display())));
        let (ok, text) = try_build(dir.path(), &["--no-cache"], path);
        assert!(ok, "build failed:\n{text}");
        let host = tempfile::tempdir().unwrap();
        let (store, o) = (host.path().join("store"), host.path().join("out"));
        run_ok(Command::new("sh").arg("-c").arg(format!(
            "umask 022; mkdir -p {s} {o}; R={s}/src; {MTREE}; O={o}; {MBEFORE}",
            s = store.display(),
            o = o.display()
        )));
        for (src, dest) in MIMPORTS {
            let dest = format!("{}{}", host.path().display(), dest);
            run_ok(Command::new("rsync").arg("-a").arg(format!("{}/{src}", store.display())).arg(&dest));
        }
        let mode = |p: &Path| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
        };
        let tools = if path.is_some() { "BusyBox" } else { "GNU" };
        assert_eq!(format!("{:o}", mode(&out)), format!("{:o}", mode(&o)), "{tools}: the MOUNTed directory's own mode");
        assert_eq!(host_entries(&out, "/out"), host_entries(&o, "/out"), "{tools}: the MOUNTed directory differs from rsync -a");
    }
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

/// A link at the destination is followed in the image, as rsync followed it in Rocker's
/// container: an absolute one leads to the image's path (not the host's), which is filled and
/// given the `src/`'s mode; the link stays.
#[test]
fn an_absolute_link_at_the_destination_is_followed_in_the_image() {
    if !engine_or_skip("an_absolute_link_at_the_destination_is_followed_in_the_image") {
        return;
    }
    let image = "rockerc-e2e/h13-abslink:latest";
    let dir = inline(&format!(
        "FROM {BUSYBOX}\nRUN mkdir -p /src/ssh && chmod 700 /src/ssh && echo key > /src/ssh/key\nEXPORT /src\n\n\
         FROM {BUSYBOX}\nRUN mkdir -p /w/real && echo old > /w/real/old && ln -s /w/real /w/link\nIMPORT src/ssh/ /w/link\nTAG {image}\n"
    ));
    build(dir.path(), &["--no-cache"]);
    let files = image_files(image);
    let got = image_entries(&files, "/w");
    let want: BTreeMap<String, String> =
        [("/w/link", "l -> /w/real"), ("/w/real", "d 700"), ("/w/real/key", "f 644 \"key\\n\""), ("/w/real/old", "f 644 \"old\\n\"")]
            .into_iter()
            .map(|(p, l)| (p.to_string(), l.to_string()))
            .collect();
    assert_eq!(got, want);
}
