//! Shared by the end-to-end tests: a real Docker engine, base images built locally (no registry
//! is reachable), golden examples compiled with the real `rockerc` binary and run with `sh`, and
//! helpers that look inside the images they produce.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

pub const BUSYBOX: &str = "rockerc-test/busybox:latest";
pub const BUILDER: &str = "rockerc-test/builder:latest";
pub const NODE: &str = "rockerc-test/node:latest";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn rockerc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rockerc"))
}

/// Runs a command and returns its output; panics with everything it printed if it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

pub fn docker(args: &[&str]) -> Output {
    run_ok(Command::new("docker").args(args))
}

pub fn docker_str(args: &[&str]) -> String {
    String::from_utf8(docker(args).stdout).unwrap().trim().to_string()
}

/// Whether end-to-end tests can run. Without a daemon they are skipped, loudly; with
/// `ROCKERC_E2E=require` (set by `.ci/run`) a missing daemon is a failure instead.
pub fn engine_or_skip(test: &str) -> bool {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        let ok = Command::new("docker").args(["version", "--format", "{{.Server.Version}}"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        match ok {
            Ok(s) if s.success() => ensure_images(&[BUSYBOX]),
            _ => Err("no Docker daemon answers (docker version failed)".into()),
        }
    });
    match ready {
        Ok(()) => true,
        Err(why) => {
            if std::env::var("ROCKERC_E2E").as_deref() == Ok("require") {
                panic!("end-to-end test {test} cannot run: {why}");
            }
            eprintln!("\n*** END-TO-END TEST SKIPPED: {test}: {why} ***\n*** (set ROCKERC_E2E=require to make this a failure) ***\n");
            false
        }
    }
}

fn image_exists(name: &str) -> bool {
    Command::new("docker").args(["image", "inspect", name]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Base images the tests build FROM, each built when a test first needs it (the node image is
/// 1.1 GB): `tests/setup.sh` builds them (no registry is assumed reachable), and is the one place
/// their recipes live. Tests of one binary run in threads: one build at a time.
fn ensure_images(images: &[&str]) -> Result<(), String> {
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let missing: Vec<&str> = images.iter().copied().filter(|i| !image_exists(i)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let status = Command::new("sh")
        .arg(repo_root().join("tests/setup.sh"))
        .arg("images")
        .args(&missing)
        .status()
        .map_err(|e| format!("cannot run tests/setup.sh: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`sh tests/setup.sh images {}` could not build them", missing.join(" ")))
    }
}

/// The base images (`rockerc-test/...`) a Rockerfile names, built if missing; a test that cannot
/// have them fails, naming them.
pub fn need_images_for(rockerfile: &str) {
    let images: Vec<&str> = [BUSYBOX, BUILDER, NODE].into_iter().filter(|i| rockerfile.contains(i.trim_end_matches(":latest"))).collect();
    if let Err(why) = ensure_images(&images) {
        panic!("the base images {images:?} are missing: {why}");
    }
}

/// A golden example copied into a fresh directory (its build context).
pub struct Example {
    pub dir: tempfile::TempDir,
    pub name: String,
}

impl Example {
    pub fn new(name: &str) -> Example {
        let dir = tempfile::Builder::new().prefix(&format!("rockerc-{name}-")).tempdir().unwrap();
        copy_dir(&repo_root().join("golden").join(name), dir.path());
        need_images_for(&std::fs::read_to_string(dir.path().join("Rockerfile")).unwrap());
        Example { dir, name: name.to_string() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Compiles the example's Rockerfile to `build.sh` beside it.
    pub fn compile(&self, extra: &[&str]) -> String {
        let out = run_ok(rockerc().current_dir(self.path()).args(extra).arg("Rockerfile"));
        let script = String::from_utf8(out.stdout).unwrap();
        std::fs::write(self.path().join("build.sh"), &script).unwrap();
        script
    }

    /// Runs `sh build.sh ARGS` (from another directory, as a user may); returns its output. Each
    /// run has a cache directory of its own, so it never takes the no-op fast path (its own test
    /// covers that) and the steps themselves run.
    pub fn build(&self, args: &[&str]) -> Output {
        let out = self.sh(args);
        if !out.status.success() {
            panic!(
                "build of {} failed with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out
    }

    pub fn build_fails(&self, args: &[&str]) -> Output {
        let out = self.sh(args);
        assert!(!out.status.success(), "build of {} should have failed:\n{}", self.name, String::from_utf8_lossy(&out.stdout));
        out
    }
}

impl Example {
    fn sh(&self, args: &[&str]) -> Output {
        let cache = tempfile::tempdir().unwrap();
        Command::new("sh").arg(self.path().join("build.sh")).args(args).env("XDG_CACHE_HOME", cache.path()).current_dir("/").output().unwrap()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let ty = entry.file_type().unwrap();
        if ty.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else if !entry.file_name().to_string_lossy().ends_with(".snap") {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// One entry of an image's filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: char,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub link: Option<String>,
    pub content: Option<Vec<u8>>,
}

/// Every file of an image (`docker create` + `docker export`), keyed by absolute path. Contents
/// are kept for regular files up to 64 kB.
pub fn image_files(image: &str) -> BTreeMap<String, Entry> {
    let ctr = docker_str(&["create", image, "/nonexistent"]);
    let mut child = Command::new("docker").args(["export", &ctr]).stdout(Stdio::piped()).spawn().unwrap();
    let mut archive = tar::Archive::new(child.stdout.take().unwrap());
    let mut files = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        let path = format!("/{}", entry.path().unwrap().to_string_lossy().trim_end_matches('/'));
        let kind = match header.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            tar::EntryType::Link => 'h',
            tar::EntryType::Fifo => 'p',
            _ => 'f',
        };
        let size = header.size().unwrap_or(0);
        let content = if kind == 'f' && size <= 65536 {
            let mut buf = Vec::new();
            entry.read_to_end(&mut buf).unwrap();
            Some(buf)
        } else {
            None
        };
        files.insert(
            if path == "/." || path == "/" { "/".into() } else { path.trim_start_matches("/.").to_string().replace("//", "/") },
            Entry {
                kind,
                mode: header.mode().unwrap_or(0) & 0o7777,
                uid: header.uid().unwrap_or(0),
                gid: header.gid().unwrap_or(0),
                size,
                link: header.link_name().ok().flatten().map(|l| l.to_string_lossy().into_owned()),
                content,
            },
        );
    }
    child.wait().unwrap();
    docker(&["rm", "-v", &ctr]);
    files
}

pub fn file_text(files: &BTreeMap<String, Entry>, path: &str) -> String {
    let e = files.get(path).unwrap_or_else(|| panic!("{path} is not in the image"));
    String::from_utf8(e.content.clone().unwrap_or_else(|| panic!("{path} is not a small regular file"))).unwrap()
}

/// The image's config (`docker image inspect` .Config) as JSON.
pub fn image_config(image: &str) -> serde_json::Value {
    let out = docker_str(&["image", "inspect", "--format", "{{json .Config}}", image]);
    serde_json::from_str(&out).unwrap()
}

pub fn image_id(image: &str) -> String {
    docker_str(&["image", "inspect", "--format", "{{.Id}}", image])
}

/// Paths present in `image` but not in `base`, or changed.
pub fn added_paths(image: &str, base: &str) -> Vec<String> {
    let a = image_files(image);
    let b = image_files(base);
    a.iter().filter(|(p, e)| b.get(*p) != Some(e) && e.kind != 'd').map(|(p, _)| p.clone()).collect()
}

/// Serialises tests that touch shared daemon state (global tags, registries).
pub fn engine_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The layers of an image (its `docker save` archive) that `base` does not have: for each, the
/// names of its tar entries and its raw bytes (to search for secrets).
pub fn added_layers(save: &[u8], base: &str) -> Vec<(Vec<String>, Vec<u8>)> {
    let base_layers: usize = docker_str(&["image", "inspect", "--format", "{{len .RootFS.Layers}}", base]).parse().unwrap();
    let mut manifest = None;
    let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut archive = tar::Archive::new(save);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut buf = Vec::new();
        entry.read_to_end(&mut buf).unwrap();
        if path == "manifest.json" {
            manifest = Some(buf);
        } else {
            blobs.insert(path, buf);
        }
    }
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.expect("docker save has a manifest")).unwrap();
    let layers = manifest[0]["Layers"].as_array().unwrap();
    layers[base_layers..]
        .iter()
        .map(|l| {
            let bytes = blobs[l.as_str().unwrap()].clone();
            let names = tar::Archive::new(&bytes[..]).entries().unwrap().map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned()).collect();
            (names, bytes)
        })
        .collect()
}

/// A directory of BusyBox applet links for every program the generated script runs (and
/// BusyBox's `ps`, which has no `-p`), with the real `docker`: as the whole PATH, the script runs
/// with BusyBox's tools only, as on Alpine or in the docker:cli image.
pub fn busybox_path() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let docker = String::from_utf8(run_ok(Command::new("sh").args(["-c", "command -v docker"])).stdout).unwrap();
    // Debian's busybox-static has no `cksum` applet (Alpine's has): that one comes from coreutils.
    let applets = String::from_utf8(run_ok(Command::new("/bin/busybox").arg("--list")).stdout).unwrap();
    for (tool, _) in rockerc::cli::TOOLS {
        let target = if tool == "docker" {
            docker.trim().to_string()
        } else if applets.lines().any(|a| a == tool) {
            "/bin/busybox".to_string()
        } else {
            String::from_utf8(run_ok(Command::new("sh").arg("-c").arg(format!("command -v {tool}"))).stdout).unwrap().trim().to_string()
        };
        std::os::unix::fs::symlink(target, dir.path().join(tool)).unwrap();
    }
    for extra in ["ps", "kill", "head", "ls", "env", "id", "true", "false", "test", "["] {
        let _ = std::os::unix::fs::symlink("/bin/busybox", dir.path().join(extra));
    }
    dir
}

/// A unique suffix for names on the shared engine.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A docker client that builds with BuildKit (`ROCKERC_BUILDKIT_DOCKER`, Debian's docker.io
/// client at /usr/bin/docker, or the one on PATH when it can), or `None`, said loudly (a failure
/// with `ROCKERC_E2E=require`).
pub fn buildkit_docker_or_skip(test: &str) -> Option<String> {
    let mut candidates: Vec<String> = std::env::var("ROCKERC_BUILDKIT_DOCKER").into_iter().collect();
    candidates.extend(["/usr/bin/docker".to_string(), "docker".to_string()]);
    let found = candidates.into_iter().find(|c| {
        Command::new(c).args(["build", "--help"]).env("DOCKER_BUILDKIT", "1").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    });
    if found.is_none() {
        let why = "no docker client with BuildKit (install docker.io, or set ROCKERC_BUILDKIT_DOCKER)";
        if std::env::var("ROCKERC_E2E").as_deref() == Ok("require") {
            panic!("{test} cannot run: {why}");
        }
        eprintln!("\n*** END-TO-END TEST SKIPPED: {test}: {why} ***\n");
    }
    found
}
