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
            Ok(s) if s.success() => ensure_base_images(),
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

/// Base images the golden examples build FROM: a static busybox, and a Debian builder with gcc
/// (debootstrap, about 40 s the first time; the image stays in the engine).
fn ensure_base_images() -> Result<(), String> {
    if !image_exists(BUSYBOX) {
        let busybox = Path::new("/bin/busybox");
        if !busybox.exists() {
            return Err("/bin/busybox is missing (apt-get install busybox-static)".into());
        }
        let root = tempfile::tempdir().map_err(|e| e.to_string())?;
        let r = root.path();
        for d in ["bin", "tmp", "etc", "root", "home/app"] {
            std::fs::create_dir_all(r.join(d)).map_err(|e| e.to_string())?;
        }
        std::fs::copy(busybox, r.join("bin/busybox")).map_err(|e| e.to_string())?;
        let list = run_ok(Command::new(busybox).arg("--list")).stdout;
        for applet in String::from_utf8_lossy(&list).lines().filter(|a| *a != "busybox") {
            std::os::unix::fs::symlink("busybox", r.join("bin").join(applet)).map_err(|e| e.to_string())?;
        }
        std::fs::write(r.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n").map_err(|e| e.to_string())?;
        std::fs::write(r.join("etc/group"), "root:x:0:\napp:x:1000:\n").map_err(|e| e.to_string())?;
        run_ok(Command::new("chmod").arg("1777").arg(r.join("tmp")));
        run_ok(Command::new("chown").arg("1000:1000").arg(r.join("home/app")));
        import_rootfs(r, BUSYBOX, &["CMD [\"sh\"]"])?;
    }
    if !image_exists(BUILDER) {
        let cache = PathBuf::from(std::env::var("ROCKERC_ROOTFS_CACHE").unwrap_or_else(|_| "/var/tmp/rockerc-images".into()));
        let rootfs = cache.join("builder");
        if !rootfs.join("usr/bin/gcc").exists() {
            std::fs::create_dir_all(&cache).map_err(|e| e.to_string())?;
            let _ = std::fs::remove_dir_all(&rootfs);
            let st = Command::new("debootstrap")
                .args(["--variant=minbase", "--include=gcc,libc6-dev", "bookworm"])
                .arg(&rootfs)
                .arg("http://deb.debian.org/debian")
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("debootstrap: {e} (apt-get install debootstrap)"))?;
            if !st.success() {
                return Err("debootstrap of the builder image failed".into());
            }
        }
        import_rootfs(&rootfs, BUILDER, &["CMD [\"bash\"]", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])?;
    }
    Ok(())
}

/// A Node.js image (Debian's nodejs and npm, git, ssh) on top of the builder, for the npm example.
/// Docker's layer cache keeps it; Debian's mirror must be reachable the first time.
pub fn ensure_node_image() {
    if image_exists(NODE) {
        return;
    }
    let _g = engine_lock();
    if image_exists(NODE) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {BUILDER}\n\
             RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm git openssh-client >/dev/null \\\n\
             \x20&& (apt-get -f install -y -qq && apt-get install -y -qq --install-recommends npm) >/dev/null \\\n\
             \x20&& apt-get clean && rm -rf /var/lib/apt/lists/* && npm --version\n"
        ),
    )
    .unwrap();
    run_ok(Command::new("docker").args(["build", "-q", "-t", NODE]).arg(dir.path()).env("DOCKER_BUILDKIT", "0"));
}

fn import_rootfs(root: &Path, name: &str, changes: &[&str]) -> Result<(), String> {
    let mut tar = Command::new("tar").arg("-C").arg(root).args(["-c", "."]).stdout(Stdio::piped()).spawn().map_err(|e| e.to_string())?;
    let mut import = Command::new("docker");
    import.arg("import");
    for c in changes {
        import.args(["-c", c]);
    }
    let st = import.args(["-", name]).stdin(tar.stdout.take().unwrap()).stdout(Stdio::null()).status().map_err(|e| e.to_string())?;
    let tar_ok = tar.wait().map_err(|e| e.to_string())?.success();
    if st.success() && tar_ok {
        Ok(())
    } else {
        Err(format!("docker import of {name} failed"))
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

    /// Runs `sh build.sh ARGS` (from another directory, as a user may); returns its output.
    pub fn build(&self, args: &[&str]) -> Output {
        let out = Command::new("sh").arg(self.path().join("build.sh")).args(args).current_dir("/").output().unwrap();
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
        let out = Command::new("sh").arg(self.path().join("build.sh")).args(args).current_dir("/").output().unwrap();
        assert!(!out.status.success(), "build of {} should have failed:\n{}", self.name, String::from_utf8_lossy(&out.stdout));
        out
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

/// The layers of `image` that `base` does not have, from `docker save`: for each, the names of its
/// tar entries and its raw bytes (to search for secrets).
pub fn added_layers(image: &str, base: &str) -> Vec<(Vec<String>, Vec<u8>)> {
    let base_layers: usize = docker_str(&["image", "inspect", "--format", "{{len .RootFS.Layers}}", base]).parse().unwrap();
    let save = Command::new("docker").args(["save", image]).output().unwrap().stdout;
    let mut manifest = None;
    let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut archive = tar::Archive::new(&save[..]);
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
            let names = tar::Archive::new(&bytes[..])
                .entries()
                .unwrap()
                .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
                .collect();
            (names, bytes)
        })
        .collect()
}
