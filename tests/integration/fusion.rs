//! Fusion (issue 16): under BuildKit, the sh backend's script builds a Rockerfile whose steps can
//! be one multi-stage build (no MOUNT, ATTACH, ONBUILD, PUSH or secret; one image to make) with
//! ONE `docker build` of the BuildKit lowering's Dockerfile, each IMPORT a `COPY --from` the image
//! at its EXPORT. These tests build the same Rockerfile fused, step by step under BuildKit
//! (`--no-fuse`) and under the legacy builder, and compare the images file by file and config by
//! config; and check that a failing fused step still names its Rockerfile line, that the no-op
//! fast path, `--no-cache` and the size report work, and that what cannot be fused is not.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

/// Every kind of step a fused build covers: global and stage ARGs, ENV and WORKDIR an EXPORT's
/// relative path needs, COPY from a context subset (a file and a directory), EXPORTs of a file and
/// a directory (made by mkdir: mode 0755, which COPY --from gives too), IMPORTs into an existing directory, under a new name and into
/// a folder that does not exist, COPY --from another stage, the config instructions.
fn rockerfile(tag: &str) -> String {
    format!(
        "ARG GREETING=hello\n\
         FROM {BUSYBOX} AS build\n\
         ARG GREETING\n\
         ENV APP=/app\n\
         WORKDIR /src\n\
         COPY input.txt ./\n\
         COPY sub/ ./sub/\n\
         RUN mkdir -p /out/tree/deep && echo \"$GREETING $APP\" > /out/msg && cp input.txt /out/tree/ && echo deep > /out/tree/deep/x \\\n\
         \x20 && chmod 640 /out/msg && cat sub/* > rel.txt\n\
         EXPORT /out/msg\n\
         EXPORT /out/tree\n\
         EXPORT rel.txt\n\
         \n\
         FROM {BUSYBOX}\n\
         LABEL fused=yes\n\
         RUN mkdir -p /opt && echo existing > /opt/keep\n\
         IMPORT msg /opt/\n\
         IMPORT tree /opt/\n\
         IMPORT rel.txt /new/dir/\n\
         COPY --from=build /src/input.txt /copied\n\
         USER 1000\n\
         ENTRYPOINT [\"/bin/cat\"]\n\
         CMD [\"/opt/msg\"]\n\
         EXPOSE 8080\n\
         TAG {tag}\n"
    )
}

struct Project {
    dir: tempfile::TempDir,
    tags: Vec<String>,
}

impl Project {
    fn new(name: &str, text: &str, tags: Vec<String>) -> Project {
        let dir = tempfile::Builder::new().prefix(&format!("rockerc-fusion-{name}-")).tempdir().unwrap();
        need_images_for(text);
        std::fs::write(dir.path().join("Rockerfile"), text).unwrap();
        std::fs::write(dir.path().join("input.txt"), "input\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a"), "a\n").unwrap();
        std::fs::write(dir.path().join("unused.bin"), vec![7u8; 100_000]).unwrap();
        let out = run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile"));
        std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
        Project { dir, tags }
    }

    /// `sh build.sh ARGS` with the BuildKit client's directory first on PATH and a cache
    /// directory of its own (no stamp from another run).
    fn run(&self, bk: &str, args: &[&str]) -> Output {
        let cache = tempfile::tempdir().unwrap();
        self.run_with_cache(bk, cache.path(), args)
    }

    fn run_with_cache(&self, bk: &str, cache: &Path, args: &[&str]) -> Output {
        Command::new("sh")
            .arg(self.dir.path().join("build.sh"))
            .args(args)
            .env("PATH", path_with(bk))
            .env_remove("DOCKER_BUILDKIT")
            .env("XDG_CACHE_HOME", cache)
            .current_dir("/")
            .output()
            .unwrap()
    }

    fn script(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("build.sh")).unwrap()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        for t in &self.tags {
            let _ = Command::new("docker").args(["rmi", t]).output();
        }
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn path_with(docker: &str) -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    match Path::new(docker).parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => format!("{}:{path}", dir.display()),
        None => path,
    }
}

const CONFIG_KEYS: &[&str] = &["Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Labels", "ExposedPorts", "Volumes", "Shell", "OnBuild", "StopSignal"];

/// The differences between two images: every file (kind, mode, owner, size, contents, link
/// target; not times) and the config keys above.
fn differences(a: &str, b: &str) -> Vec<String> {
    let (fa, fb) = (image_files(a), image_files(b));
    let mut out = Vec::new();
    let paths: std::collections::BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    for p in paths {
        match (fa.get(p), fb.get(p)) {
            (Some(x), Some(y)) if x != y => out.push(format!("{p}: {x:?} vs {y:?}")),
            (Some(_), None) => out.push(format!("{p}: only in the first")),
            (None, Some(_)) => out.push(format!("{p}: only in the second")),
            _ => {}
        }
    }
    let (ca, cb) = (image_config(a), image_config(b));
    for key in CONFIG_KEYS {
        if ca[key] != cb[key] {
            out.push(format!("config {key}: {} vs {}", ca[key], cb[key]));
        }
    }
    out
}

#[test]
fn a_rockerfile_without_mounts_compiles_to_one_fused_build_and_one_with_mounts_does_not() {
    let tag = "rockerc-e2e/fusion-compile:1";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), rockerfile(tag)).unwrap();
    let script = String::from_utf8(run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile")).stdout).unwrap();
    assert!(script.contains("\nrc_fused() {\n"), "{script}");
    // The fused Dockerfile says where each block came from, and each IMPORT is a COPY --from.
    let df: String = script.lines().skip_while(|l| *l != "rc_dockerfile_fused() {").take_while(|l| *l != "ROCKERC_DOCKERFILE").collect::<Vec<_>>().join("\n");
    assert!(df.contains("# Rockerfile:2\nFROM rockerc-test/busybox:latest AS build"), "{df}");
    // A file into a directory: from a scratch stage that holds it under its name (see
    // a_file_imported_onto_a_link_replaces_it_in_one_build).
    assert!(df.contains("# Rockerfile:17\nCOPY --from=stage-2-import-17 --chown=0:0 / /opt/"), "{df}");
    assert!(df.contains("FROM scratch AS stage-2-import-17\nCOPY --from=stage-2-fusecheck-17 /out/msg /msg\n"), "{df}");
    // Each IMPORT is checked in a stage of the image at its EXPORT, against the image before it.
    assert!(df.contains("FROM build AS stage-2-fusecheck-17\nUSER 0:0\nRUN --mount=type=bind,from=stage-2-at-17,target=/.rockerc-dest [\"/bin/sh\""), "{df}");
    // Compiling again gives the same bytes.
    let again = String::from_utf8(run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile")).stdout).unwrap();
    assert_eq!(script, again);
    // Not fused: a MOUNT (the script runs the RUN itself), two images to make, an ONBUILD.
    for (why, text) in [
        ("MOUNT", format!("FROM {BUSYBOX}\nMOUNT /cache\nRUN touch /cache/x\nTAG {tag}\n")),
        ("two images", format!("FROM {BUSYBOX}\nRUN echo a > /a\nTAG {tag}\nRUN echo b > /b\nTAG {tag}-2\n")),
        ("ONBUILD", format!("FROM {BUSYBOX}\nONBUILD RUN echo x\nRUN echo a > /a\nTAG {tag}\n")),
        ("PUSH", format!("FROM {BUSYBOX}\nRUN echo a > /a\nPUSH 127.0.0.1:5000/{tag}\n")),
        // One IMPORT of two sources would be two COPYs, two layers where the steps make one.
        (
            "an IMPORT of two sources",
            format!("FROM {BUSYBOX} AS a\nRUN echo x > /x && echo y > /y\nEXPORT /x /y /d/\nFROM {BUSYBOX}\nIMPORT d/x d/y /srv/\nTAG {tag}\n"),
        ),
        // COPY would read what the check stage's RUN adds to the image (its mount point).
        ("an IMPORT of /", format!("FROM {BUSYBOX} AS a\nEXPORT / /all/\nFROM {BUSYBOX}\nIMPORT all/ /srv/\nTAG {tag}\n")),
    ] {
        std::fs::write(dir.path().join("Rockerfile"), text).unwrap();
        let script = String::from_utf8(run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile")).stdout).unwrap();
        assert!(!script.contains("\nrc_fused() {\n"), "{why}: fused:\n{script}");
    }
    // Whether /out/x is a file or a directory decides what COPY does here: rockerc assumes a
    // file, and the fused build's check falls back to the steps if it is not.
    std::fs::write(
        dir.path().join("Rockerfile"),
        format!("FROM {BUSYBOX} AS a\nRUN mkdir /out && echo x > /out/x\nEXPORT /out/x\nFROM {BUSYBOX}\nIMPORT x /etc/x\nTAG {tag}\n"),
    )
    .unwrap();
    let script = String::from_utf8(run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile")).stdout).unwrap();
    assert!(script.contains("\nrc_fused() {\n") && script.contains("one /out/x /etc/x f y x /out/x -\\n"), "{script}");
}

#[test]
fn fused_builds_give_the_same_images_as_step_by_step_builds() {
    let test = "fused_builds_give_the_same_images_as_step_by_step_builds";
    let Some(bk) = buildkit_docker_or_skip(test) else { return };
    if !engine_or_skip(test) {
        return;
    }
    let base = format!("rockerc-e2e/{}", unique("fusion-same-"));
    let tags: Vec<String> = ["fused", "steps", "legacy"].iter().map(|k| format!("{base}-{k}:1")).collect();
    let mut images = BTreeMap::new();
    for (k, args) in [("fused", vec!["--no-cache"]), ("steps", vec!["--no-cache", "--no-fuse"]), ("legacy", vec!["--no-cache", "--builder", "legacy"])] {
        let tag = format!("{base}-{k}:1");
        let p = Project::new(k, &rockerfile(&tag), vec![]);
        let out = p.run(&bk, &args);
        let log = text(&out);
        assert!(out.status.success(), "{k}:\n{log}");
        assert_eq!(log.contains("in one BuildKit build"), k == "fused", "{k}:\n{log}");
        images.insert(k, (image_id(&tag), tag, p));
    }
    let _cleanup = Project { dir: tempfile::tempdir().unwrap(), tags };
    let fused = &images["fused"].1;
    // What the Rockerfile says, so that the comparison compares something.
    let files = image_files(fused);
    assert_eq!(file_text(&files, "/opt/msg"), "hello /app\n");
    assert_eq!(files["/opt/msg"].mode, 0o640);
    assert_eq!(file_text(&files, "/opt/keep"), "existing\n");
    assert_eq!(file_text(&files, "/opt/tree/deep/x"), "deep\n");
    assert_eq!(file_text(&files, "/new/dir/rel.txt"), "a\n");
    assert_eq!(file_text(&files, "/copied"), "input\n");
    for other in ["steps", "legacy"] {
        let diff = differences(fused, &images[other].1);
        assert!(diff.is_empty(), "fused and {other} differ:\n  {}", diff.join("\n  "));
    }
}

#[test]
fn a_fused_build_reports_tags_and_keeps_the_no_op_and_no_cache() {
    let test = "a_fused_build_reports_tags_and_keeps_the_no_op_and_no_cache";
    let Some(bk) = buildkit_docker_or_skip(test) else { return };
    if !engine_or_skip(test) {
        return;
    }
    let tag = format!("rockerc-e2e/{}:1", unique("fusion-noop-"));
    let p = Project::new("noop", &rockerfile(&tag), vec![tag.clone()]);
    let cache = tempfile::tempdir().unwrap();
    let out = p.run_with_cache(&bk, cache.path(), &[]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.starts_with("builder: BuildKit"), "{log}");
    assert!(log.contains("[1/1] Rockerfile:2-25 stages 1-2 in one BuildKit build ("), "one progress line for the one build:\n{log}");
    // And a line for each Rockerfile instruction that does work, as BuildKit finishes it, named as
    // in the Rockerfile: the EXPORT (its check) and IMPORT, not the COPY --from they became.
    for line in [
        "[1/1] Rockerfile:5 WORKDIR /src (",
        "[1/1] Rockerfile:8-9 RUN mkdir -p /out/tree/deep && echo \"$GREETING $APP\" > /out/ ... (",
        "[1/1] Rockerfile:10 EXPORT /out/msg (",
        "[1/1] Rockerfile:18 IMPORT tree /opt/ (",
        "[1/1] Rockerfile:20 COPY --from=build /src/input.txt /copied (",
    ] {
        assert!(log.contains(line), "{line}:\n{log}");
    }
    assert!(!log.contains("fusecheck") && !log.contains("COPY --from=stage"), "BuildKit's names stay inside:\n{log}");
    assert!(log.contains("ADDED") && log.contains(&tag), "the size report:\n{log}");
    assert!(!log.contains("rockerc-run:"), "no per-run tag:\n{log}");
    let id = image_id(&tag);
    // Nothing changed: the fast path.
    let again = p.run_with_cache(&bk, cache.path(), &[]);
    assert!(text(&again).starts_with("up to date"), "{}", text(&again));
    // An input changed: built again (the changed file is in the image).
    std::fs::write(p.dir.path().join("input.txt"), "changed\n").unwrap();
    let changed = p.run_with_cache(&bk, cache.path(), &[]);
    assert!(changed.status.success() && text(&changed).contains("in one BuildKit build"), "{}", text(&changed));
    assert!(text(&changed).contains("[1/1] Rockerfile:5 WORKDIR /src (cached)"), "a step BuildKit took from its cache:\n{}", text(&changed));
    assert_eq!(file_text(&image_files(&tag), "/copied"), "changed\n");
    assert_ne!(image_id(&tag), id);
    // --no-cache runs every RUN again: a new image.
    let id = image_id(&tag);
    let fresh = p.run_with_cache(&bk, cache.path(), &["--no-cache"]);
    assert!(fresh.status.success(), "{}", text(&fresh));
    assert_ne!(image_id(&tag), id, "--no-cache ran the RUNs again");
    assert!(p.script().contains("--no-fuse"));
}

#[test]
fn a_failing_fused_step_names_its_rockerfile_line() {
    let test = "a_failing_fused_step_names_its_rockerfile_line";
    let Some(bk) = buildkit_docker_or_skip(test) else { return };
    if !engine_or_skip(test) {
        return;
    }
    let tag = format!("rockerc-e2e/{}:1", unique("fusion-fails-"));
    // In the second stage, after metadata instructions BuildKit does not count as steps; then in
    // the first stage, whose numbering is its own.
    let second = format!(
        "FROM {BUSYBOX} AS a\nRUN echo a > /a\nEXPORT /a\n\nFROM {BUSYBOX}\nENV A=1\nIMPORT a /\nLABEL x=y\nRUN echo one && \\\n  false\nRUN echo never\nTAG {tag}\n"
    );
    let first = format!("FROM {BUSYBOX} AS a\nWORKDIR /w\nENV B=2\nRUN exit 3\nEXPORT /a\n\nFROM {BUSYBOX}\nIMPORT a /\nTAG {tag}\n");
    for (text_, line) in [(second, "Rockerfile:9"), (first, "Rockerfile:4")] {
        let p = Project::new("fails", &text_, vec![]);
        assert!(p.script().contains("\nrc_fused() {\n"), "{}", p.script());
        for args in [vec!["--no-cache"], vec!["--no-cache", "--no-fuse"]] {
            let out = p.run(&bk, &args);
            assert!(!out.status.success(), "{args:?}: {}", text(&out));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(&format!("rockerc: docker build exited with an error at {line}")), "{args:?}:\n{err}");
            // What failed is shown as the Rockerfile says it, not as BuildKit ran it (the RUN
            // at Rockerfile:4 also runs the IMPORT's check), and not as "(executor)".
            assert!(!text(&out).contains("(executor)") && !err.contains("unset SHLVL"), "{args:?}:\n{}", text(&out));
            if line == "Rockerfile:4" {
                assert!(err.contains("executor failed running [/bin/sh -c exit 3]: exit code: 3"), "{args:?}:\n{err}");
            }
            let tagged = Command::new("docker").args(["image", "inspect", &tag]).output().unwrap();
            assert!(!tagged.status.success(), "a failed build tags nothing");
        }
    }
}

/// Where BuildKit's `COPY --from` does not give what the steps' IMPORT (rsync's rules, a tar
/// ADDed) gives, each with what the fused build's check says. The check runs inside the one
/// build; when it fails, the script says so on one line and builds step by step, so the image is
/// the same. Seen on Docker 20.10: COPY --from follows a symbolic link it is given; gives the
/// directory it copies into mode 755 (new) or leaves it as it was (existing), where the steps'
/// tar gives it the EXPORTed directory's mode and owner; keeps hard links (the steps' tar makes
/// separate files, as rsync -a without -H); leaves a FIFO out; puts a file inside a directory
/// that is in its way, where rsync replaces an empty one.
const COPY_FROM_DIFFERS: &[(&str, &str, &str, &str)] = &[
    ("directory mode", "mkdir -p /out/dir && chmod 700 /out/dir && echo x > /out/dir/x", "IMPORT dir /opt/", "has mode 700"),
    ("symbolic link", "mkdir /out && echo m > /out/msg && ln -s msg /out/dir", "IMPORT dir /opt/", "is a symbolic link"),
    ("hard link", "mkdir -p /out/dir && echo h > /out/dir/a && ln /out/dir/a /out/dir/b", "IMPORT dir /opt/", "hard link"),
    ("FIFO", "mkdir -p /out/dir && mkfifo /out/dir/p", "IMPORT dir /opt/", "special file"),
    // busybox has neither GNU tar nor getcap: a capability on an executable could not be seen.
    ("executable, capabilities unseen", "mkdir -p /out/dir && cp /bin/busybox /out/dir/tool", "IMPORT dir /opt/", "holds an executable file"),
    (
        "existing directory of another mode",
        "mkdir -p /out/dir/sub && echo x > /out/dir/sub/x",
        "RUN mkdir -p /opt/dir/sub && chmod 711 /opt/dir/sub\nIMPORT dir /opt/",
        "not what the IMPORT makes of it",
    ),
    ("empty directory where a file goes", "mkdir /out && echo f > /out/dir", "RUN mkdir -p /opt/dir\nIMPORT dir /opt/", "is not a file"),
    // busybox's /bin/crc32 (an applet: a link to /bin/busybox) under an IMPORTed crc32 (workload (b)).
    (
        "a file onto a link, named otherwise",
        "mkdir /out && echo f > /out/dir",
        "RUN mkdir -p /opt && echo t > /opt/t && ln -s t /opt/file\nIMPORT dir /opt/file",
        "COPY --from writes through it",
    ),
    ("a directory taken for a file", "mkdir -p /out/dir/d && echo x > /out/dir/d/x", "IMPORT dir /srv/dir", "is a directory"),
    // A link on the way is followed by both; a link where the directory goes is not.
    (
        "a link where the directory goes",
        "mkdir -p /out/dir && echo x > /out/dir/x",
        "RUN mkdir -p /real /srv/opt && ln -s /real /srv/opt/dir && ln -s /srv/opt /opt\nIMPORT dir /opt/",
        "is not a directory of mode 755",
    ),
];

#[test]
fn where_copy_from_differs_the_fused_build_falls_back_and_the_images_are_the_same() {
    let test = "where_copy_from_differs_the_fused_build_falls_back_and_the_images_are_the_same";
    let Some(bk) = buildkit_docker_or_skip(test) else { return };
    if !engine_or_skip(test) {
        return;
    }
    let base = format!("rockerc-e2e/{}", unique("fusion-differs-"));
    std::thread::scope(|scope| {
        let runs: Vec<_> = COPY_FROM_DIFFERS
            .iter()
            .enumerate()
            .map(|(n, &(case, export, import, why))| {
                let bk = bk.clone();
                let base = base.clone();
                scope.spawn(move || {
                    let text = |tag: &str| format!("FROM {BUSYBOX} AS a\nRUN {export}\nEXPORT /out/dir\n\nFROM {BUSYBOX}\n{import}\nTAG {tag}\n");
                    let tags: Vec<String> = ["fused", "steps"].iter().map(|k| format!("{base}-{n}-{k}:1")).collect();
                    let _cleanup = Project { dir: tempfile::tempdir().unwrap(), tags: tags.clone() };
                    for (tag, args) in tags.iter().zip([vec!["--no-cache"], vec!["--no-cache", "--no-fuse"]]) {
                        let p = Project::new("differs", &text(tag), vec![]);
                        assert!(p.script().contains("\nrc_fused() {\n"), "{case}: not fused at all");
                        let out = p.run(&bk, &args);
                        let log = self::text(&out);
                        assert!(out.status.success(), "{case}:\n{log}");
                        if args.len() == 1 {
                            assert!(log.contains("one BuildKit build would not give the same image ("), "{case}: no fallback:\n{log}");
                            assert!(log.contains(why), "{case}: the reason is not {why:?}:\n{log}");
                            assert!(log.contains("building step by step\n[1/"), "{case}:\n{log}");
                        }
                    }
                    let diff = differences(&tags[0], &tags[1]);
                    assert!(diff.is_empty(), "{case}: fused and step by step differ:\n  {}", diff.join("\n  "));
                })
            })
            .collect();
        for r in runs {
            if let Err(e) = r.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}

#[test]
fn a_failing_step_of_an_included_fragment_in_a_file_not_named_rockerfile_names_its_line() {
    let test = "a_failing_step_of_an_included_fragment_in_a_file_not_named_rockerfile_names_its_line";
    let Some(bk) = buildkit_docker_or_skip(test) else { return };
    if !engine_or_skip(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = format!("FROM {BUSYBOX}\nLABEL a=b\nINCLUDE part.inc\nRUN echo never\n");
    need_images_for(&text);
    std::fs::write(dir.path().join("part.inc"), "RUN echo inc && false\n").unwrap();
    std::fs::write(dir.path().join("app.rocker"), text).unwrap();
    let out = run_ok(rockerc().current_dir(dir.path()).arg("app.rocker"));
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let p = Project { dir, tags: Vec::new() };
    assert!(p.script().contains("\nrc_fused() {\n"));
    for args in [vec!["--no-cache"], vec!["--no-cache", "--no-fuse"], vec!["--no-cache", "--builder", "legacy"]] {
        let out = p.run(&bk, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("rockerc: docker build exited with an error at app.rocker:3\n"), "{args:?}:\n{err}");
    }
}

/// Item 2 of issue 16: under BuildKit, every step's result is tagged (per run) as it is made, so
/// that a `docker image prune` between two steps cannot take an image a later step starts from
/// or EXPORTs from. A `docker` wrapper prunes this test's dangling images (by a label of its own,
/// nothing of other tests) before every `docker build` and `docker create` the script runs.
#[test]
fn a_prune_between_steps_takes_no_image_a_later_step_needs() {
    let test = "a_prune_between_steps_takes_no_image_a_later_step_needs";
    let Some(bk) = buildkit_docker_or_skip(test) else { return };
    if !engine_or_skip(test) {
        return;
    }
    let label = unique("prune-");
    let tag = format!("rockerc-e2e/{label}:1");
    let rf = format!(
        "FROM {BUSYBOX}\nLABEL rockerc.test={label}\nRUN echo one > /1\nEXPORT /1\n\nFROM {BUSYBOX}\nLABEL rockerc.test={label}\nIMPORT 1 /\nRUN echo two > /2\nRUN cat /1 /2 > /3\nTAG {tag}\n"
    );
    let p = Project::new("prune", &rf, vec![tag.clone()]);
    let wrap = tempfile::tempdir().unwrap();
    let real = if bk.contains('/') { bk.clone() } else { "docker".to_string() };
    std::fs::write(
        wrap.path().join("docker"),
        format!("#!/bin/sh\ncase $1 in build|create) {real} image prune -f --filter label=rockerc.test={label} >/dev/null 2>&1 ;; esac\nexec {real} \"$@\"\n"),
    )
    .unwrap();
    run_ok(Command::new("chmod").arg("+x").arg(wrap.path().join("docker")));
    let out = p.run(&wrap.path().join("docker").display().to_string(), &["--no-cache", "--no-fuse"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(file_text(&image_files(&tag), "/3"), "one\ntwo\n");
    // The per-run tags are gone after the build.
    let left = docker_str(&["images", "--filter", &format!("label=rockerc.test={label}"), "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(!left.contains("rockerc-run"), "{left}");
}

/// Sets a file capability (cap_net_raw, effective) on argv[1], as `setcap cap_net_raw+ep` would,
/// or with `user` after it a `user.rockerc` attribute only: the builder image has a compiler but
/// neither setcap nor setfattr.
const SETCAP_C: &str = r#"#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
int main(int argc, char **argv) {
  uint32_t cap[5] = {0x02000001, 1u << 13, 0, 0, 0};
  int user = argc == 3 && !strcmp(argv[2], "user");
  if (argc < 2 || (user ? setxattr(argv[1], "user.rockerc", "v", 1, 0) : setxattr(argv[1], "security.capability", cap, sizeof cap, 0))) { perror("setxattr"); return 1; }
  return 0;
}
"#;

/// COPY --from keeps every extended attribute; the steps' IMPORT, as Rocker's rsync -a, keeps
/// none. A capability (seen in the images) and a `user.*` attribute on a data file (which
/// `docker export` does not show: the fallback is what shows the steps built it) both fall back.
#[test]
fn a_file_with_capabilities_is_imported_without_them_as_rocker_did() {
    let test = "a_file_with_capabilities_is_imported_without_them_as_rocker_did";
    let Some(bk) = buildkit_docker_or_skip(test) else { return };
    if !engine_or_skip(test) {
        return;
    }
    for (kind, make, file) in
        [("caps", "cp /bin/true /out/ping && /src/setcap /out/ping", "ping"), ("user", "echo data > /out/data && /src/setcap /out/data user", "data")]
    {
        let base = format!("rockerc-e2e/{}", unique(&format!("fusion-{kind}-")));
        let tags: Vec<String> = ["fused", "steps"].iter().map(|k| format!("{base}-{k}:1")).collect();
        let _cleanup = Project { dir: tempfile::tempdir().unwrap(), tags: tags.clone() };
        for (tag, args) in tags.iter().zip([vec![], vec!["--no-fuse"]]) {
            let text = format!(
                "FROM {BUILDER} AS build\nCOPY setcap.c /src/\n\
                 RUN gcc -static -o /src/setcap /src/setcap.c && mkdir /out && {make}\n\
                 EXPORT /out/{file}\n\nFROM {BUSYBOX}\nIMPORT {file} /bin/\nTAG {tag}\n"
            );
            let p = Project::new("caps", &text, vec![]);
            std::fs::write(p.dir.path().join("setcap.c"), SETCAP_C).unwrap();
            assert!(p.script().contains("\nrc_fused() {\n"), "fused");
            let out = p.run(&bk, &args);
            let log = self::text(&out);
            assert!(out.status.success(), "{kind}: {log}");
            if args.is_empty() {
                // COPY --from would keep the attribute; Rocker's rsync -a dropped it, and so do the steps.
                assert!(log.contains(&format!("/out/{file} holds a file with extended attributes")), "{kind}: no fallback:\n{log}");
                assert!(log.contains("building step by step\n[1/"), "{log}");
            }
            let c = docker_str(&["create", tag]);
            let tar = docker(&["export", &c]).stdout;
            docker(&["rm", &c]);
            let needle = b"SCHILY.xattr.security.capability";
            assert!(!tar.windows(needle.len()).any(|w| w == needle), "{tag}: /bin/{file} kept its capability");
            assert!(image_files(tag).contains_key(&format!("/bin/{file}")));
        }
        let diff = differences(&tags[0], &tags[1]);
        assert!(diff.is_empty(), "{kind}: fused and step by step differ:\n  {}", diff.join("\n  "));
    }
}

/// The check of an IMPORT runs in the container of the RUN that made the EXPORTed files, after
/// its command (no container of its own: under Docker 20.10 one costs ~200 ms of network setup
/// on the build's critical path), where that changes nothing else; elsewhere in a stage of its own.
#[test]
fn a_check_runs_in_the_run_that_made_the_exported_files_where_nothing_else_changes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.txt"), "input\n").unwrap();
    // The script, with its fused Dockerfile's text last.
    let compile = |text: &str| {
        std::fs::write(dir.path().join("Rockerfile"), text).unwrap();
        let script = String::from_utf8(run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile")).stdout).unwrap();
        let df: String =
            script.lines().skip_while(|l| *l != "rc_dockerfile_fused() {").take_while(|l| *l != "ROCKERC_DOCKERFILE").collect::<Vec<_>>().join("\n");
        format!("{script}\n---- the fused Dockerfile ----\n{df}")
    };
    let dockerfile = |script: &str| script.split("\n---- the fused Dockerfile ----\n").nth(1).unwrap_or("").to_string();
    let run = "RUN mkdir /out && echo x > /out/x";
    let hosted = compile(&format!(
        "FROM {BUSYBOX} AS a\n{run}\nENV DONE=1\nEXPORT /out/x\n\nFROM {BUSYBOX}\nLABEL l=1\nWORKDIR /srv\nIMPORT x /srv/\nTAG rockerc-e2e/hosted:1\n"
    ));
    assert!(hosted.contains("\nrc_fused() {\n") && hosted.contains("\nrc_hosted=1\n"), "{hosted}");
    assert!(!dockerfile(&hosted).contains("-fusecheck-"), "no check stage:\n{hosted}");
    assert!(
        hosted.contains(
            "# Rockerfile:2\nRUN --mount=type=bind,from=rockerc-test/busybox:latest,target=/dev/.rockerc-dest-1 [\"/bin/sh\", \"-c\", \"unset SHLVL\\n/bin/sh -c \\\"$1\\\" || exit\\nPATH="
        ),
        "the RUN's command first, then the check:\n{hosted}"
    );
    assert!(
        hosted
            .contains("R=/dev/.rockerc-dest-1\\none /out/x /srv/x - n x /out/x w\\napart 0/srv\\n\", \"rockerc-check\", \"mkdir /out && echo x > /out/x\"]\n"),
        "{hosted}"
    );
    assert!(
        hosted.contains("\nFROM scratch AS stage-2-import-9\nCOPY --from=a /out/x /x\n")
            && hosted.contains("\nCOPY --from=stage-2-import-9 --chown=0:0 / /srv/\n"),
        "the COPY reads the RUN's image:\n{hosted}"
    );
    // What the importing stage copies from the context before the IMPORT is not mounted (the RUN
    // would run again when it changes): the check sees the stage's FROM image, and where those
    // instructions wrote, which it finds apart from where the IMPORT writes.
    let copied = compile(&format!(
        "FROM {BUSYBOX} AS a\n{run}\nEXPORT /out/x\nFROM {BUSYBOX}\nCOPY input.txt /etc/\nWORKDIR /srv/w\nADD input.txt x.txt\nIMPORT x /srv/\nTAG t:1\n"
    ));
    assert!(!dockerfile(&copied).contains("-fusecheck-"), "{copied}");
    assert!(copied.contains("RUN --mount=type=bind,from=rockerc-test/busybox:latest,target=/dev/.rockerc-dest-1 [\"/bin/sh\""), "{copied}");
    assert!(copied.contains("\\none /out/x /srv/x - n x /out/x w\\napart 1/etc 0/srv/w 1/srv/w/x.txt\\n\""), "{copied}");
    // The EXPORT shows as done when its RUN is.
    assert!(hosted.contains("  rc_vertex a 2 Rockerfile:2 'RUN mkdir /out && echo x > /out/x'\n  rc_vertex a 2 Rockerfile:4 'EXPORT /out/x'\n"), "{hosted}");
    for (why, text) in [
        // The RUN would wait for the importing stage's work, and run again when it changes.
        ("a RUN before the IMPORT", format!("FROM {BUSYBOX} AS a\n{run}\nEXPORT /out/x\nFROM {BUSYBOX}\nRUN true\nIMPORT x /srv/\nTAG t:1\n")),
        (
            "a COPY --from before the IMPORT",
            format!("FROM {BUSYBOX} AS a\n{run}\nEXPORT /out/x\nFROM {BUSYBOX}\nCOPY --from=a /out/x /etc/\nIMPORT x /srv/\nTAG t:1\n"),
        ),
        // Below where a COPY wrote, a link it left could lead anywhere; a variable only the
        // build knows.
        (
            "a COPY below another",
            format!("FROM {BUSYBOX} AS a\n{run}\nEXPORT /out/x\nFROM {BUSYBOX}\nCOPY input.txt /etc/\nCOPY input.txt /etc/sub/\nIMPORT x /srv/\nTAG t:1\n"),
        ),
        ("a variable", format!("FROM {BUSYBOX} AS a\n{run}\nEXPORT /out/x\nFROM {BUSYBOX}\nENV D=/etc\nCOPY input.txt $D/\nIMPORT x /srv/\nTAG t:1\n")),
        // The check must see every file: root only.
        ("a USER", format!("FROM {BUSYBOX} AS a\nUSER 1000\n{run}\nEXPORT /out/x\nFROM {BUSYBOX}\nIMPORT x /srv/\nTAG t:1\n")),
        // Only a shell-form command under /bin/sh -c runs as it would alone.
        (
            "exec form",
            format!(
                "FROM {BUSYBOX} AS a\nRUN [\"/bin/sh\", \"-c\", \"mkdir /out && echo x > /out/x\"]\nEXPORT /out/x\nFROM {BUSYBOX}\nIMPORT x /srv/\nTAG t:1\n"
            ),
        ),
        ("a SHELL", format!("FROM {BUSYBOX} AS a\nSHELL [\"/bin/sh\", \"-c\"]\n{run}\nEXPORT /out/x\nFROM {BUSYBOX}\nIMPORT x /srv/\nTAG t:1\n")),
        // The RUN did not make the files as they are at the EXPORT.
        ("a COPY after the RUN", format!("FROM {BUSYBOX} AS a\n{run}\nCOPY input.txt /out/\nEXPORT /out/x\nFROM {BUSYBOX}\nIMPORT x /srv/\nTAG t:1\n")),
        ("a WORKDIR after the RUN", format!("FROM {BUSYBOX} AS a\n{run}\nWORKDIR /out/w\nEXPORT /out/x\nFROM {BUSYBOX}\nIMPORT x /srv/\nTAG t:1\n")),
        // The final image's history would show the check.
        (
            "the final image built FROM the stage",
            format!("FROM {BUSYBOX} AS a\n{run}\nEXPORT /out/x\nFROM {BUSYBOX} AS b\nIMPORT x /srv/\nFROM a\nCOPY --from=b /srv/x /y\nTAG t:1\n"),
        ),
    ] {
        let script = compile(&text);
        assert!(script.contains("\nrc_fused() {\n"), "{why}: not fused at all:\n{script}");
        assert!(dockerfile(&script).contains("-fusecheck-") && !script.contains("rockerc-dest-1"), "{why}: hosted:\n{script}");
        assert!(script.contains("\nrc_hosted=0\n"), "{why}:\n{script}");
    }
}

/// Builds `tag`: busybox and the Dockerfile `lines` (the legacy builder: any client has it).
fn base_image(tag: &str, lines: &str) {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), format!("FROM {BUSYBOX}\n{lines}\n")).unwrap();
    let out = Command::new("docker").args(["build", "-q", "-t", tag]).arg(ctx.path()).env("DOCKER_BUILDKIT", "0").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// A RUN that runs a check after its command gives the image the steps give: its command sees
/// the environment and shell it would see alone (BusyBox's sh counts itself in SHLVL); a FROM
/// image that sets a SHELL (which the RUN's command would run under) is built step by step; one
/// whose USER is not root falls back (the check could not see every file).
#[test]
fn a_run_that_runs_a_check_gives_the_steps_image() {
    let test = "a_run_that_runs_a_check_gives_the_steps_image";
    let Some(bk) = buildkit_docker_or_skip(test) else { return };
    if !engine_or_skip(test) {
        return;
    }
    let base = format!("rockerc-e2e/{}", unique("fusion-hosted-"));
    let shell_base = format!("{base}-shellbase:1");
    let user_base = format!("{base}-userbase:1");
    base_image(&shell_base, "SHELL [\"/bin/sh\", \"-c\"]");
    base_image(&user_base, "USER 1000");
    let plain = "mkdir -p /out/d && echo x > /out/d/x";
    let cases = [
        (
            "hosted",
            BUSYBOX.to_string(),
            "mkdir -p /out/d && env | sort > /out/d/env && echo \"$0 $- $#\" > /out/d/shell && echo x > /out/d/x",
            "/out/d",
            "",
            None,
        ),
        ("shell", shell_base.clone(), plain, "/out/d", "", None),
        ("user", user_base.clone(), "mkdir -p /tmp/out/d && echo x > /tmp/out/d/x", "/tmp/out/d", "", Some("runs as a user other than root")),
        // Written before the IMPORT: the check sees busybox, and where they wrote.
        ("apart", BUSYBOX.to_string(), plain, "/out/d", "COPY input.txt /etc/\nWORKDIR /srv/w\nCOPY sub/ ./\n", None),
        ("inside", BUSYBOX.to_string(), plain, "/out/d", "COPY input.txt /srv/d/x\n", Some("is where the IMPORT writes")),
        ("around", BUSYBOX.to_string(), plain, "/out/d", "COPY sub/ /srv/\n", Some("holds where the IMPORT writes")),
        ("workdir inside", BUSYBOX.to_string(), plain, "/out/d", "WORKDIR /srv/d/y\nWORKDIR /\n", Some("is where the IMPORT writes")),
    ];
    let mut tags = vec![shell_base.clone(), user_base.clone()];
    for (case, from, run, export, before, why) in cases {
        let text_ = |tag: &str| format!("FROM {from} AS a\nRUN {run}\nEXPORT {export}\n\nFROM {BUSYBOX}\n{before}IMPORT d /srv/\nTAG {tag}\n");
        let pair: Vec<String> = ["fused", "steps"].iter().map(|k| format!("{base}-{}-{k}:1", case.replace(' ', "-"))).collect();
        tags.extend(pair.iter().cloned());
        for (tag, args) in pair.iter().zip([vec!["--no-cache"], vec!["--no-cache", "--no-fuse"]]) {
            let p = Project::new(&case.replace(' ', "-"), &text_(tag), vec![]);
            assert!(p.script().contains("rockerc-dest-1"), "{case}: the RUN does not run the check:\n{}", p.script());
            let out = p.run(&bk, &args);
            let log = text(&out);
            assert!(out.status.success(), "{case}:\n{log}");
            if args.len() == 1 {
                match (case, why) {
                    ("shell", _) => assert!(!log.contains("in one BuildKit build"), "{case}: fused:\n{log}"),
                    (_, Some(why)) => {
                        assert!(log.contains("one BuildKit build would not give the same image (") && log.contains(why), "{case}: no fallback:\n{log}")
                    }
                    (_, None) => assert!(log.contains("in one BuildKit build (") && !log.contains("would not give"), "{case}:\n{log}"),
                }
            }
        }
        let diff = differences(&pair[0], &pair[1]);
        assert!(diff.is_empty(), "{case}: fused and step by step differ:\n  {}", diff.join("\n  "));
        if case == "hosted" {
            let files = image_files(&pair[0]);
            assert!(file_text(&files, "/srv/d/env").contains("PATH="), "{:?}", file_text(&files, "/srv/d/env"));
            assert_eq!(file_text(&files, "/srv/d/shell"), "/bin/sh c 0\n");
        }
    }
    let _cleanup = Project { dir: tempfile::tempdir().unwrap(), tags };
}

/// A file IMPORTed into a directory where a symbolic link has its name: the steps replace the
/// link (rsync -a's rule, and Docker's tar); so does the fused build, whose COPY puts the file
/// into the directory from a scratch stage that holds it under that name (a COPY to the path
/// itself writes through the link: workload (b)'s crc32 overwrote /bin/busybox through
/// busybox's /bin/crc32 applet link). A link to a file, to a directory, one that leads nowhere,
/// an applet's; the four checks run in the one RUN, each IMPORT's with the importing stage's
/// FROM image and where the IMPORTs before it wrote.
#[test]
fn a_file_imported_onto_a_link_replaces_it_in_one_build() {
    let test = "a_file_imported_onto_a_link_replaces_it_in_one_build";
    let Some(bk) = buildkit_docker_or_skip(test) else { return };
    if !engine_or_skip(test) {
        return;
    }
    let base = format!("rockerc-e2e/{}", unique("fusion-links-"));
    let link_base = format!("{base}-base:1");
    base_image(&link_base, "RUN mkdir -p /srv/real && echo t > /srv/t && ln -s t /srv/tofile && ln -s real /srv/todir && ln -s nowhere /srv/dangling");
    let text_ = |tag: &str| {
        format!(
            "FROM {BUSYBOX} AS a\nRUN mkdir /out && for f in tofile todir dangling crc32; do echo $f > /out/$f; done\n\
             EXPORT /out/tofile\nEXPORT /out/todir\nEXPORT /out/dangling\nEXPORT /out/crc32\n\n\
             FROM {link_base}\nIMPORT tofile /srv/\nIMPORT todir /srv/\nIMPORT dangling /srv/\nIMPORT crc32 /bin/\nTAG {tag}\n"
        )
    };
    let pair: Vec<String> = ["fused", "steps"].iter().map(|k| format!("{base}-{k}:1")).collect();
    let _cleanup = Project { dir: tempfile::tempdir().unwrap(), tags: vec![link_base.clone(), pair[0].clone(), pair[1].clone()] };
    for (tag, args) in pair.iter().zip([vec!["--no-cache"], vec!["--no-cache", "--no-fuse"]]) {
        let p = Project::new("links", &text_(tag), vec![]);
        assert!(
            p.script().contains("target=/dev/.rockerc-dest-4 ") && p.script().contains("apart 2/srv/tofile 2/srv/todir 2/srv/dangling\\n"),
            "{}",
            p.script()
        );
        let out = p.run(&bk, &args);
        let log = text(&out);
        assert!(out.status.success(), "{log}");
        if args.len() == 1 {
            assert!(log.contains("in one BuildKit build (") && !log.contains("would not give"), "{log}");
        }
    }
    let diff = differences(&pair[0], &pair[1]);
    assert!(diff.is_empty(), "fused and step by step differ:\n  {}", diff.join("\n  "));
    let files = image_files(&pair[0]);
    for name in ["tofile", "todir", "dangling"] {
        assert_eq!(files[&format!("/srv/{name}")].kind, 'f', "{name}");
        assert_eq!(file_text(&files, &format!("/srv/{name}")), format!("{name}\n"));
    }
    assert_eq!(file_text(&files, "/srv/t"), "t\n");
    assert_eq!(file_text(&files, "/bin/crc32"), "crc32\n");
    assert_eq!(files["/bin/busybox"].size, image_files(BUSYBOX)["/bin/busybox"].size, "busybox is intact");
}

/// Around its one `docker build`, a fused build asks the engine one round of questions before it
/// (the FROM images and the engine's version, at the same time: no `docker --version`, which
/// the version's answer makes needless) and one call after it (the no-op stamp's and the size
/// report's inspect); its lone TAG is the build's own `--tag`, so no `docker tag` either. Each
/// docker call costs tens of milliseconds (issue 16). The tag is still all or nothing and still
/// reported, and a name docker refuses still names its TAG line and moves nothing.
#[test]
fn a_fused_build_asks_the_engine_once_before_and_once_after_its_build() {
    let test = "a_fused_build_asks_the_engine_once_before_and_once_after_its_build";
    let Some(bk) = buildkit_docker_or_skip(test) else { return };
    if !engine_or_skip(test) {
        return;
    }
    let real = if bk.contains('/') {
        bk.clone()
    } else {
        String::from_utf8(run_ok(Command::new("sh").args(["-c", "command -v docker"])).stdout).unwrap().trim().to_string()
    };
    let spy = tempfile::tempdir().unwrap();
    let calls = spy.path().join("calls");
    let docker = spy.path().join("docker");
    std::fs::write(&docker, format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{real}' \"$@\"\n", calls.display())).unwrap();
    std::fs::set_permissions(&docker, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let docker = docker.to_str().unwrap().to_string();

    let tag = format!("rockerc-e2e/{}:1", unique("fusion-calls-"));
    let text_ = format!("FROM {BUSYBOX} AS build\nRUN echo hi > /hi\nEXPORT /hi\n\nFROM {BUSYBOX}\nIMPORT hi /\nTAG {tag}\n");
    let p = Project::new("calls", &text_, vec![tag.clone()]);
    assert!(p.script().contains("\nrc_fused() {\n"), "fused");
    for args in [vec!["--no-cache"], vec!["--no-cache", "--json"]] {
        let _ = std::fs::remove_file(&calls);
        let out = p.run(&docker, &args);
        let log = text(&out);
        assert!(out.status.success(), "{args:?}: {log}");
        let asked = std::fs::read_to_string(&calls).unwrap();
        let lines: Vec<&str> = asked.lines().collect();
        let build = lines.iter().position(|l| l.starts_with("build ")).unwrap_or_else(|| panic!("{args:?}: no build:\n{asked}"));
        let mut before = lines[..build].to_vec();
        before.sort();
        assert_eq!(before.len(), 2, "{args:?}: one round before the build:\n{asked}");
        assert!(before[0].starts_with("image inspect --format") && before[1].starts_with("version --format"), "{args:?}:\n{asked}");
        // (--json's step event asks for the sizes of the image and its parent at once.)
        let after: Vec<&&str> =
            lines[build + 1..].iter().filter(|l| !(args.contains(&"--json") && l.starts_with("image inspect --format {{.Size}} -- "))).collect();
        assert_eq!(after.len(), 1, "{args:?}: one call after the build:\n{asked}");
        assert!(after[0].starts_with("image inspect --format {{.Id}} {{.Size}} -- "), "{args:?}:\n{asked}");
        assert!(lines[build].contains(&format!("--tag={tag}")), "{args:?}: the build gives the name:\n{asked}");
        let id = image_id(&tag);
        if args.contains(&"--json") {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains(&format!("{{\"event\":\"tag\",\"name\":\"{tag}\",\"image\":\"{id}\",\"line\":7}}")), "the tag event:\n{stdout}");
            assert!(stdout.contains(&format!("{{\"event\":\"result\",\"image\":\"{id}\"")), "{stdout}");
        } else {
            assert!(log.contains(&format!("Successfully built {id}")) && log.contains("ADDED"), "{log}");
        }
    }
    // A name docker refuses (an edited script: the compiler refuses such names) stops the build
    // before it builds, naming the TAG line, and the name stays where it was.
    let before = image_id(&tag);
    std::fs::write(p.dir.path().join("build.sh"), p.script().replace(&format!(" 7 {tag} --"), " 7 x-.io/app:1 --")).unwrap();
    let out = p.run(&bk, &["--no-cache"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("TAG at Rockerfile:7: docker refuses the name x-.io/app:1 (invalid reference format); no tag was applied"), "{err}");
    assert_eq!(image_id(&tag), before);
}
