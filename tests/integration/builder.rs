//! The sh backend's script picks Docker's builder when it runs (issue 16): BuildKit where the
//! docker client and the engine have it, the legacy builder otherwise, `--builder` and the user's
//! `DOCKER_BUILDKIT` first; it says which on its first line. Under BuildKit, images it built are
//! found through private per-run tags, none of which is left after the build (or an interrupt),
//! and the failing Rockerfile line, `--no-cache` and the no-op fast path work as under the
//! legacy builder. The BuildKit client is found as a user's machine presents it: its directory
//! first on PATH.

use crate::common::*;
use std::path::Path;
use std::process::{Command, Output};

/// A Rockerfile whose stage has several parts (a MOUNT-less RUN, an EXPORT, then more steps
/// FROM the image so far) and a second stage that IMPORTs: every kind of FROM a step takes.
fn rockerfile(tag: &str) -> String {
    format!(
        "FROM {BUSYBOX}\nWORKDIR /w\nRUN echo one > one && date +%s%N > /stamp\nEXPORT one\nENV X=1\nRUN echo two > two\nCMD [\"cat\", \"two\"]\n\n\
         FROM {BUSYBOX}\nIMPORT one /got/\nRUN cat /got/one > /copied && date +%s%N > /t\nLABEL built=yes\nTAG {tag}\n"
    )
}

struct Project {
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
    tag: String,
}

impl Project {
    fn new(name: &str, text: &dyn Fn(&str) -> String) -> Project {
        let dir = tempfile::Builder::new().prefix(&format!("rockerc-builder-{name}-")).tempdir().unwrap();
        let tag = format!("rockerc-e2e/{}:1", unique(&format!("builder-{name}-")));
        let text = text(&tag);
        need_images_for(&text);
        std::fs::write(dir.path().join("Rockerfile"), text).unwrap();
        let out = run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile"));
        std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
        Project { dir, cache: tempfile::tempdir().unwrap(), tag }
    }

    /// `sh build.sh ARGS` with PATH and DOCKER_BUILDKIT as given (None: unset).
    fn run(&self, path: &str, buildkit: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = Command::new("sh");
        cmd.arg(self.dir.path().join("build.sh")).args(args).env("PATH", path).env("XDG_CACHE_HOME", self.cache.path()).current_dir("/");
        match buildkit {
            Some(v) => cmd.env("DOCKER_BUILDKIT", v),
            None => cmd.env_remove("DOCKER_BUILDKIT"),
        };
        cmd.output().unwrap()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", &self.tag]).output();
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// PATH with the directory of `docker` first.
fn path_with(docker: &str) -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    match Path::new(docker).parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => format!("{}:{path}", dir.display()),
        None => path,
    }
}

/// Per-run tags left on the engine.
fn run_tags() -> Vec<String> {
    docker_str(&["images", "--format", "{{.Repository}}:{{.Tag}}", "rockerc-run"]).lines().map(str::to_string).collect()
}

/// A fake `docker` first on PATH that answers `docker version` and `docker buildx version` as
/// `version` and `buildx` say and passes everything else to the real client.
fn fake_docker(real: &str, version: &str, buildx: bool) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "#!/bin/sh\ncase $1 in\n  version) printf '%s\\n' '{version}' ;;\n  buildx) {} ;;\n  *) exec {real} \"$@\" ;;\nesac\n",
        if buildx { "echo 'github.com/docker/buildx v0.11.2'" } else { "echo 'docker: unknown command: docker buildx' >&2; exit 1" }
    );
    let path = dir.path().join("docker");
    std::fs::write(&path, script).unwrap();
    run_ok(Command::new("chmod").arg("+x").arg(&path));
    let p = path_with(path.to_str().unwrap());
    (dir, p)
}

#[test]
fn auto_picks_buildkit_where_the_client_has_it_and_builds_the_same_image() {
    let Some(bk) = buildkit_docker_or_skip("auto_picks_buildkit_where_the_client_has_it_and_builds_the_same_image") else { return };
    if !engine_or_skip("auto_picks_buildkit_where_the_client_has_it_and_builds_the_same_image") {
        return;
    }
    let p = Project::new("auto", &rockerfile);
    let out = p.run(&path_with(&bk), None, &["-v"]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.starts_with("builder: BuildKit (auto: docker client "), "{log}");
    assert!(log.contains("[4/4]"), "every step runs and says so:\n{log}");
    // BuildKit starts later steps FROM per-run tags (`FROM docker.io/library/rockerc-run:...`):
    // each of them is gone after the build.
    let named: Vec<&str> = log.split_whitespace().filter_map(|w| w.strip_prefix("docker.io/library/")).filter(|w| w.starts_with("rockerc-run:")).collect();
    assert!(!named.is_empty(), "the steps are built from per-run tags:\n{log}");
    let left = run_tags();
    assert!(named.iter().all(|t| !left.iter().any(|l| l == t)), "per-run tags left: {named:?} in {left:?}");
    // The final image's id, printed last, names an image that is still there.
    let last = log.lines().last().unwrap_or_default();
    let final_id = last.strip_prefix("Successfully built ").unwrap_or_else(|| panic!("{log}"));
    assert_eq!(final_id, image_id(&p.tag), "{log}");
    assert!(log.contains(&p.tag) && log.contains("ADDED"), "the size report:\n{log}");
    let files = image_files(&p.tag);
    assert_eq!(file_text(&files, "/copied"), "one\n");
    assert_eq!(file_text(&files, "/got/one"), "one\n");
    assert_eq!(image_config(&p.tag)["Labels"]["built"], "yes");
    let id = image_id(&p.tag);

    // The no-op fast path, under BuildKit too: nothing changed, nothing built.
    let again = p.run(&path_with(&bk), None, &[]);
    assert!(again.status.success() && text(&again).starts_with("up to date"), "{}", text(&again));

    // A rebuild (another cache directory: no stamp) is BuildKit's cache hit, the same image;
    // --no-cache runs every RUN again (the last one writes the time).
    let q = Project { dir: tempfile::tempdir().unwrap(), cache: tempfile::tempdir().unwrap(), tag: String::new() };
    let again = Command::new("sh")
        .arg(p.dir.path().join("build.sh"))
        .env("PATH", path_with(&bk))
        .env_remove("DOCKER_BUILDKIT")
        .env("XDG_CACHE_HOME", q.cache.path())
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(image_id(&p.tag), id, "a cached rebuild under BuildKit gives the same image");
    let fresh = p.run(&path_with(&bk), None, &["--no-cache"]);
    assert!(fresh.status.success(), "{}", text(&fresh));
    assert_ne!(image_id(&p.tag), id, "--no-cache ran the RUNs again:\n{}", text(&fresh));
}

#[test]
fn the_user_picks_the_builder_with_the_option_or_docker_buildkit() {
    let Some(bk) = buildkit_docker_or_skip("the_user_picks_the_builder_with_the_option_or_docker_buildkit") else { return };
    if !engine_or_skip("the_user_picks_the_builder_with_the_option_or_docker_buildkit") {
        return;
    }
    let p = Project::new("pick", &rockerfile);
    let path = path_with(&bk);
    let first = |out: &Output| text(out).lines().next().unwrap_or_default().to_string();
    let out = p.run(&path, None, &["--builder", "legacy", "--no-cache"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(first(&out), "builder: legacy (--builder legacy)");
    let out = p.run(&path, Some("0"), &["--no-cache"]);
    assert_eq!(first(&out), "builder: legacy (DOCKER_BUILDKIT=0)", "{}", text(&out));
    // The option wins over the environment.
    let out = p.run(&path, Some("0"), &["--builder=buildkit", "--no-cache", "-q"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out), format!("{}\n", image_id(&p.tag)), "-q prints the final image's id alone, the builder line not");
    let out = p.run(&path, Some("1"), &["--no-cache"]);
    assert!(first(&out).starts_with("builder: BuildKit (DOCKER_BUILDKIT=1: docker client "), "{}", text(&out));
    let out = p.run(&path, Some("maybe"), &["--no-cache"]);
    assert!(!out.status.success() && text(&out).contains("DOCKER_BUILDKIT=maybe is neither 1 nor 0"), "{}", text(&out));
    let out = p.run(&path, None, &["--builder", "fast"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--builder needs auto, buildkit or legacy, not fast"), "{}", text(&out));
}

#[test]
fn auto_falls_back_to_the_legacy_builder_where_buildkit_is_missing() {
    if !engine_or_skip("auto_falls_back_to_the_legacy_builder_where_buildkit_is_missing") {
        return;
    }
    let real = String::from_utf8(run_ok(Command::new("sh").args(["-c", "command -v docker"])).stdout).unwrap().trim().to_string();
    let p = Project::new("fallback", &rockerfile);
    // A client from Docker 23 on without buildx: `DOCKER_BUILDKIT=1 docker build` fails there.
    let (_d, path) = fake_docker(&real, "28.2.2 20.10.24+dfsg1 linux Engine,containerd,", false);
    let out = p.run(&path, None, &["--no-cache"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).starts_with("builder: legacy (auto: docker client 28.2.2, engine 20.10.24+dfsg1; the client has no buildx"), "{}", text(&out));
    // Asked for BuildKit there, the script says why it cannot, and builds nothing.
    let out = p.run(&path, None, &["--builder", "buildkit", "--no-cache"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("--builder buildkit: BuildKit is not available here: docker client 28.2.2"), "{}", text(&out));
    // Podman's API has no BuildKit, whatever the client.
    let (_d, path) = fake_docker(&real, "20.10.24 4.3.1 linux Podman Engine,Conmon,", false);
    let out = p.run(&path, None, &["--no-cache"]);
    assert!(text(&out).starts_with("builder: legacy (auto: the engine is Podman (4.3.1)"), "{}", text(&out));
}

#[test]
fn a_failing_step_under_buildkit_names_its_rockerfile_line() {
    let Some(bk) = buildkit_docker_or_skip("a_failing_step_under_buildkit_names_its_rockerfile_line") else { return };
    if !engine_or_skip("a_failing_step_under_buildkit_names_its_rockerfile_line") {
        return;
    }
    // The failing RUN comes after metadata instructions BuildKit does not count as steps.
    let p = Project::new("fails", &|_: &str| {
        format!("FROM {BUSYBOX}\nRUN echo a > /a\nEXPORT /a\nENV A=1\nLABEL x=y\nWORKDIR /w\nCMD [\"sh\"]\nRUN echo one && \\\n  false\nRUN echo never\n")
    });
    for builder in ["buildkit", "legacy"] {
        let out = p.run(&path_with(&bk), None, &["--builder", builder]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("rockerc: docker build exited with an error at Rockerfile:8"), "{builder}:\n{err}");
    }
}

#[test]
fn an_interrupted_buildkit_build_leaves_no_per_run_tag() {
    let Some(bk) = buildkit_docker_or_skip("an_interrupted_buildkit_build_leaves_no_per_run_tag") else { return };
    if !engine_or_skip("an_interrupted_buildkit_build_leaves_no_per_run_tag") {
        return;
    }
    let p = Project::new("interrupt", &|_: &str| format!("FROM {BUSYBOX}\nRUN echo a > /a\nEXPORT /a\nRUN sleep 60\n"));
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new("sh")
        .arg(p.dir.path().join("build.sh"))
        // Step by step: a plan that is one build (fused) makes no per-run tags.
        .args(["--builder", "buildkit", "--no-cache", "--no-fuse"])
        .env("PATH", path_with(&bk))
        .env("TMPDIR", tmp.path())
        .env("XDG_CACHE_HOME", p.cache.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the last step (the RUN that sleeps) to start: by then the earlier steps' images
    // have per-run tags.
    let start = std::time::Instant::now();
    let run_id = loop {
        let dirs: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().filter_map(|e| e.ok()).collect();
        if let Some(d) = dirs.first() {
            if d.path().join("log.3").exists() {
                break d.file_name().to_string_lossy().rsplit('.').next().unwrap().to_string();
            }
        }
        assert!(start.elapsed().as_secs() < 120, "the build did not reach its last step");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(run_tags().iter().any(|t| t.contains(&run_id)), "the build uses per-run tags: {:?}", run_tags());
    run_ok(Command::new("kill").args(["-TERM", &child.id().to_string()]));
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(!run_tags().iter().any(|t| t.contains(&run_id)), "left: {:?}", run_tags());
}
