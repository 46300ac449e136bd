//! What the modules of the integration binary share: the [`Test`] builder that runs the real
//! `rockerc` binary and checks what a user sees; a real Docker engine, base images built locally
//! (no registry is reachable), golden examples compiled with `rockerc` and run with `sh`, the locks
//! that keep tests running at the same time out of each other's way, and helpers that look
//! inside the images they produce.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

pub const BUSYBOX: &str = "rockerc-test/busybox:latest";
pub const BUILDER: &str = "rockerc-test/builder:latest";
pub const NODE: &str = "rockerc-test/node:latest";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `rockerc` binary as a bare command, for what [`Test`] does not express: a child to
/// interrupt, stdout into a file, a `rockerc build` whose output is a build log.
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

/// The names of the golden examples (each folder of golden/ that holds a Rockerfile), sorted.
pub fn golden_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Rockerfile").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A golden example copied into a fresh directory (its build context).
pub struct Example {
    pub dir: tempfile::TempDir,
    pub name: String,
    _hold: Hold,
}

impl Example {
    /// The example, built beside other tests of the same example (see [`golden_lock`]).
    pub fn new(name: &str) -> Example {
        Example::with(name, golden_lock(name).shared())
    }

    /// The example, built while no other test builds it: for a test that moves its tags or
    /// removes its images.
    pub fn exclusive(name: &str) -> Example {
        Example::with(name, golden_lock(name).exclusive())
    }

    /// The example for a caller that already holds `golden_lock(name)` (taking it again here
    /// would wait for itself).
    pub fn held(name: &str) -> Example {
        Example::with(name, Hold::ByCaller)
    }

    fn with(name: &str, hold: Hold) -> Example {
        let dir = tempfile::Builder::new().prefix(&format!("rockerc-{name}-")).tempdir().unwrap();
        copy_dir(&repo_root().join("golden").join(name), dir.path());
        need_images_for(&std::fs::read_to_string(dir.path().join("Rockerfile")).unwrap());
        Example { dir, name: name.to_string(), _hold: hold }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Compiles the example's Rockerfile to `build.sh` beside it.
    pub fn compile(&self, extra: &[&str]) -> String {
        let script = Test::at(self.path()).args(extra).arg("Rockerfile").status(0).run().stdout();
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

/// Copies a directory's files but its insta snapshots.
pub fn copy_dir(from: &Path, to: &Path) {
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
    image_files_on(None, image)
}

/// `docker` aimed at HOST (a DOCKER_HOST value), or at the one in the environment.
pub fn docker_on(host: Option<&str>) -> Command {
    let mut cmd = Command::new("docker");
    if let Some(h) = host {
        cmd.env("DOCKER_HOST", h).env_remove("DOCKER_CONTEXT");
    }
    cmd
}

/// [`image_files`] of an image on the engine at HOST.
pub fn image_files_on(host: Option<&str>, image: &str) -> BTreeMap<String, Entry> {
    let ctr = String::from_utf8(run_ok(docker_on(host).args(["create", image, "/nonexistent"])).stdout).unwrap().trim().to_string();
    let mut child = docker_on(host).args(["export", &ctr]).stdout(Stdio::piped()).spawn().unwrap();
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
    run_ok(docker_on(host).args(["rm", "-v", &ctr]));
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

/// The tests run at the same time on one engine, and builds of one golden example share its tags
/// (`TAG rockerc-golden/...`) and the legacy builder's cache: a test that removes what it built
/// can remove a cached step another build of the same example has just chosen (`unable to find
/// image`), and one that moves a tag changes what another reads. So each example has a lock:
/// tests that only build it and look share it, one that removes its images or moves its tags
/// takes it alone.
pub struct GoldenLock {
    /// Holders sharing it, and whether one holds it alone.
    state: Mutex<(usize, bool)>,
    freed: std::sync::Condvar,
}

/// A hold on a [`GoldenLock`], let go when dropped. A thread may hold several shared ones (two
/// copies of one example).
pub enum Hold {
    Shared(&'static GoldenLock),
    Exclusive(&'static GoldenLock),
    ByCaller,
}

pub fn golden_lock(name: &str) -> &'static GoldenLock {
    static LOCKS: Mutex<BTreeMap<String, &'static GoldenLock>> = Mutex::new(BTreeMap::new());
    let mut locks = LOCKS.lock().unwrap_or_else(|e| e.into_inner());
    locks.entry(name.to_string()).or_insert_with(|| Box::leak(Box::new(GoldenLock { state: Mutex::new((0, false)), freed: std::sync::Condvar::new() })))
}

impl GoldenLock {
    pub fn shared(&'static self) -> Hold {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.1 {
            state = self.freed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.0 += 1;
        Hold::Shared(self)
    }

    pub fn exclusive(&'static self) -> Hold {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.1 || state.0 > 0 {
            state = self.freed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.1 = true;
        Hold::Exclusive(self)
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let lock = match self {
            Hold::Shared(l) | Hold::Exclusive(l) => *l,
            Hold::ByCaller => return,
        };
        let mut state = lock.state.lock().unwrap_or_else(|e| e.into_inner());
        match self {
            Hold::Shared(_) => state.0 -= 1,
            Hold::Exclusive(_) => state.1 = false,
            Hold::ByCaller => {}
        }
        lock.freed.notify_all();
    }
}

/// Serialises the tests of one module (`engine_lock(module_path!())`) that touch shared daemon
/// state (global tags, the lock image) or must not share the machine (interrupts at a moment).
/// One lock per module, as when each module was a binary of its own.
pub fn engine_lock(module: &str) -> std::sync::MutexGuard<'static, ()> {
    static LOCKS: Mutex<BTreeMap<String, &'static Mutex<()>>> = Mutex::new(BTreeMap::new());
    let lock: &'static Mutex<()> =
        LOCKS.lock().unwrap_or_else(|e| e.into_inner()).entry(module.to_string()).or_insert_with(|| Box::leak(Box::new(Mutex::new(()))));
    lock.lock().unwrap_or_else(|e| e.into_inner())
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

// ---------------------------------------------------------------------------------------------
// Running rockerc: the `Test` builder, in the style of casey/just's tests.

/// A directory to run rockerc in: a fresh temporary one, shared by the runs of one test (a
/// [`Run`] carries it, so a second run can look at what the first left).
#[derive(Clone)]
pub struct Dir(std::rc::Rc<tempfile::TempDir>);

impl Dir {
    pub fn new() -> Dir {
        Dir(std::rc::Rc::new(tempfile::Builder::new().prefix("rockerc-test-").tempdir().unwrap()))
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        self.0.path()
    }

    /// `rel` inside the directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// Writes `rel` (creating its directories) and returns the directory, for chaining.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Dir {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    /// `rockerc ARGS` in this directory, with an empty stdin; no expectations.
    pub fn run(&self, args: &[&str]) -> Run {
        Test::in_dir(self).args(args).run()
    }

    /// `rockerc ARGS` in this directory, reading `stdin`; no expectations.
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        Test::in_dir(self).args(args).stdin(stdin.unwrap_or("")).run()
    }

    /// Every entry under the directory (relative path -> contents and mode; directories as
    /// `None`).
    pub fn snapshot(&self) -> BTreeMap<String, Option<(Vec<u8>, u32)>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Option<(Vec<u8>, u32)>>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                if path.is_dir() {
                    out.insert(rel, None);
                    walk(root, &path, out);
                } else {
                    out.insert(rel, Some((std::fs::read(&path).unwrap(), mode(&path))));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.root(), self.root(), &mut out);
        out
    }
}

/// A file's permission bits.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// One run of the real `rockerc` binary and what it must show:
///
/// ```ignore
/// Test::new().write("Rockerfile", "FROM alpine\nRUNN x\n").arg("Rockerfile").status(1).stdout("").stderr(EXPECTED).run();
/// ```
///
/// It runs in a fresh temporary directory ([`Test::new`]), in the directory of an earlier run
/// ([`Test::in_dir`]) or in any directory ([`Test::at`]); stdin is empty unless given, stdout and
/// stderr are not a terminal (so diagnostics have no colour). [`Test::run`] checks every
/// expectation, printing all of the output when one fails, and returns the run for more checks.
#[must_use = "a Test does nothing until run()"]
pub struct Test {
    dir: Option<Dir>,
    cwd: PathBuf,
    args: Vec<std::ffi::OsString>,
    env: Vec<(String, Option<String>)>,
    env_clear: bool,
    stdin: Vec<u8>,
    status: Option<i32>,
    stdout: Option<Vec<u8>>,
    stderr: Option<String>,
}

/// What one run of rockerc did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }
}

impl Test {
    /// In a fresh temporary directory.
    pub fn new() -> Test {
        Test::in_dir(&Dir::new())
    }

    /// In `dir` (an earlier run's, or one a test prepared).
    pub fn in_dir(dir: &Dir) -> Test {
        Test { cwd: dir.root().to_path_buf(), ..Test::at(dir.root()) }.keep(dir)
    }

    /// In `cwd`, any existing directory.
    pub fn at(cwd: &Path) -> Test {
        Test {
            dir: None,
            cwd: cwd.to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
            env_clear: false,
            stdin: Vec::new(),
            status: None,
            stdout: None,
            stderr: None,
        }
    }

    fn keep(mut self, dir: &Dir) -> Test {
        self.dir = Some(dir.clone());
        self
    }

    /// The temporary directory the test runs in (for [`Test::in_dir`] of a later run).
    pub fn dir(&self) -> Dir {
        self.dir.clone().expect("Test::at has no temporary directory")
    }

    /// Writes `rel` in the test's directory before it runs.
    pub fn write(self, rel: &str, contents: impl AsRef<[u8]>) -> Test {
        let path = self.cwd.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    /// Runs in `rel` below the test's directory.
    pub fn current_dir(mut self, rel: &str) -> Test {
        self.cwd = self.cwd.join(rel);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Test {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<A: AsRef<std::ffi::OsStr>>(mut self, args: impl IntoIterator<Item = A>) -> Test {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<str>) -> Test {
        self.env.push((name.to_string(), Some(value.as_ref().to_string())));
        self
    }

    /// Runs with no environment but what [`Test::env`] gives.
    pub fn env_clear(mut self) -> Test {
        self.env_clear = true;
        self
    }

    pub fn env_remove(mut self, name: &str) -> Test {
        self.env.push((name.to_string(), None));
        self
    }

    pub fn stdin(mut self, stdin: impl AsRef<[u8]>) -> Test {
        self.stdin = stdin.as_ref().to_vec();
        self
    }

    /// The exit code it must end with.
    pub fn status(mut self, code: i32) -> Test {
        self.status = Some(code);
        self
    }

    /// All of stdout, byte for byte (`""` for nothing).
    pub fn stdout(mut self, stdout: impl AsRef<[u8]>) -> Test {
        self.stdout = Some(stdout.as_ref().to_vec());
        self
    }

    /// All of stderr, verbatim (`""` for nothing).
    pub fn stderr(mut self, stderr: impl AsRef<str>) -> Test {
        self.stderr = Some(stderr.as_ref().to_string());
        self
    }

    /// Runs rockerc and checks what it must show.
    pub fn run(self) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rockerc"));
        cmd.args(&self.args).current_dir(&self.cwd).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        if self.env_clear {
            cmd.env_clear();
        }
        for (name, value) in &self.env {
            match value {
                Some(v) => cmd.env(name, v),
                None => cmd.env_remove(name),
            };
        }
        let mut child = cmd.spawn().expect("rockerc runs");
        let mut input = child.stdin.take().unwrap();
        // rockerc may exit before it reads (a usage error): a closed pipe is not a failure here.
        let _ = input.write_all(&self.stdin);
        drop(input);
        let out = child.wait_with_output().unwrap();
        let run = Run {
            code: out.status.code().expect("rockerc exits, not killed by a signal"),
            stdout: out.stdout,
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        };
        let shown = || {
            format!(
                "rockerc {:?} in {}:\n--- status {} ---\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.args,
                self.cwd.display(),
                run.code,
                String::from_utf8_lossy(&run.stdout),
                run.stderr
            )
        };
        if let Some(code) = self.status {
            assert_eq!(run.code, code, "exit code\n{}", shown());
        }
        if let Some(stdout) = &self.stdout {
            assert_eq!(String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(stdout), "stdout\n{}", shown());
            assert_eq!(&run.stdout, stdout, "stdout bytes\n{}", shown());
        }
        if let Some(stderr) = &self.stderr {
            assert_eq!(&run.stderr, stderr, "stderr\n{}", shown());
        }
        run
    }
}

/// `sh SCRIPT --attach` on a terminal (script(1) provides one), set up by `configure` (its
/// environment), with INPUT typed into it: what it printed, and its status.
pub fn attach_session(script: &Path, input: &[u8], configure: impl FnOnce(&mut Command)) -> Output {
    let cmd = format!("sh {} --attach", script.display());
    let mut term = Command::new("script");
    term.args(["-qec", &cmd, "/dev/null"]).stdin(Stdio::piped()).stdout(Stdio::piped());
    configure(&mut term);
    term.spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(input)?;
            child.wait_with_output()
        })
        .unwrap()
}
