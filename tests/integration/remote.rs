//! Remote engines: every golden example built against a stand-in remote Docker daemon (a second
//! dockerd that cannot see the client's folders, `tests/remote-engine.sh`) gives the same exit
//! status, the same images and the same files written back to the client as the local daemon.
//! The remote daemon is ROCKERC_REMOTE_HOST when set, else the one `tests/remote-engine.sh start`
//! starts (as root); without either, the tests skip loudly (fail with ROCKERC_E2E=require).

use crate::common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The stand-in remote engine's DOCKER_HOST, or None (the test then skips).
fn remote_or_skip(test: &str) -> Option<String> {
    if !engine_or_skip(test) {
        return None;
    }
    static HOST: OnceLock<Result<String, String>> = OnceLock::new();
    let host = HOST.get_or_init(|| {
        if let Ok(h) = std::env::var("ROCKERC_REMOTE_HOST") {
            return Ok(h);
        }
        // The golden examples' base images, on the local engine first: the script copies them.
        need_images_for(&format!("{BUSYBOX} {BUILDER} {NODE}"));
        let out = Command::new("sh").arg(repo_root().join("tests/remote-engine.sh")).arg("start").output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(format!("tests/remote-engine.sh start failed: {}", String::from_utf8_lossy(&out.stderr)))
        }
    });
    match host {
        Ok(h) => Some(h.clone()),
        Err(why) => {
            if std::env::var("ROCKERC_E2E").as_deref() == Ok("require") {
                panic!("remote-engine test {test} cannot run: {why}");
            }
            eprintln!("\n*** REMOTE-ENGINE TEST SKIPPED: {test}: {why} ***\n");
            None
        }
    }
}

/// What a user sees of one build: its exit status, the images it tagged (files and config), and
/// the files of the build context afterwards.
#[derive(Debug, PartialEq)]
struct Outcome {
    status: Option<i32>,
    images: BTreeMap<String, (BTreeMap<String, Entry>, String)>,
    context: BTreeMap<String, String>,
}

/// The images the size report lists (every name the build tagged).
fn tagged(stdout: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut on = false;
    for line in stdout.lines() {
        if line.starts_with("IMAGE ") {
            on = true;
            continue;
        }
        if on {
            match line.split_whitespace().next() {
                Some(name) if !line.starts_with("built in") => names.push(name.to_string()),
                _ => on = false,
            }
        }
    }
    names
}

fn config_of(host: Option<&str>, image: &str) -> String {
    let out = run_ok(docker_on(host).args(["image", "inspect", "--format", "{{json .Config}}", image]));
    let cfg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    ["Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Labels", "Shell", "Volumes", "ExposedPorts", "OnBuild", "StopSignal"]
        .iter()
        .map(|k| format!("{k}={}\n", cfg[*k]))
        .collect()
}

/// Every entry under DIR: kind, mode, and content (or link target).
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        use std::os::unix::fs::PermissionsExt;
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let mode = md.permissions().mode() & 0o7777;
            if md.file_type().is_symlink() {
                out.insert(rel, format!("l -> {}", std::fs::read_link(&p).unwrap().display()));
            } else if md.is_dir() {
                out.insert(rel, format!("d {mode:o}"));
                walk(root, &p, out);
            } else {
                out.insert(rel, format!("f {mode:o} {}", String::from_utf8_lossy(&std::fs::read(&p).unwrap())));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A golden example built on the engine at HOST (None: the local one) in a fresh copy, as a user
/// runs it: compiled in its folder, the script run from elsewhere with an ssh key outside the
/// context allowed.
fn outcome(name: &str, host: Option<&str>, key: &Path, id: &str) -> (Outcome, Output) {
    let ex = Example::new(name);
    let mut args: Vec<&str> = vec!["--id", id];
    if ex.path().join("vars.yml").is_file() {
        args.extend(["--vars", "vars.yml"]);
    }
    let mut compile = rockerc();
    compile.current_dir(ex.path()).args(&args).arg("Rockerfile");
    if let Ok(env) = std::fs::read_to_string(ex.path().join("env")) {
        for (k, v) in env.lines().filter_map(|l| l.split_once('=')) {
            compile.env(k, v);
        }
    }
    let script = run_ok(&mut compile).stdout;
    std::fs::write(ex.path().join("build.sh"), script).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut sh = Command::new("sh");
    sh.arg(ex.path().join("build.sh")).arg("--allow-mount").arg(key.parent().unwrap());
    sh.env("SSH_KEY_FILE", key).env("XDG_CACHE_HOME", cache.path()).current_dir("/");
    if let Some(h) = host {
        sh.env("DOCKER_HOST", h).env_remove("DOCKER_CONTEXT");
    }
    let out = sh.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let images = tagged(&stdout)
        .into_iter()
        .map(|i| {
            let mut files = image_files_on(host, &i);
            if name == "parallel-builders" {
                // Its files hold the times its RUNs ran (`date +%s`): what they are, not what they say.
                for (p, e) in files.iter_mut() {
                    if p.starts_with("/srv/") {
                        e.content = None;
                    }
                }
            }
            (i.clone(), (files, config_of(host, &i)))
        })
        .collect();
    let mut context = tree(ex.path());
    context.remove("build.sh");
    (Outcome { status: out.status.code(), images, context }, out)
}

const GOLDEN: [&str; 13] = [
    "attach",
    "context-writeback",
    "export-import",
    "from-tagged",
    "import-to-host",
    "include",
    "npm-cache-ssh",
    "parallel-builders",
    "tag-push",
    "template-agent",
    "template-jinja",
    "template-service",
    "trailing-slash",
];

fn key() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    run_ok(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key));
    (dir, key)
}

/// Every golden example gives the same result on the stand-in remote daemon as on the local one.
#[test]
fn every_golden_example_builds_the_same_on_a_remote_engine() {
    let Some(remote) = remote_or_skip("every_golden_example_builds_the_same_on_a_remote_engine") else { return };
    let (_kd, key) = key();
    let only = std::env::var("ROCKERC_REMOTE_ONLY").ok();
    let mut same = 0;
    let mut report = String::new();
    let mut total = 0;
    for name in GOLDEN {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|x| x == name)) {
            continue;
        }
        total += 1;
        let id = unique(&format!("remote-{name}"));
        let (local, lout) = outcome(name, None, &key, &id);
        let (far, rout) = outcome(name, Some(&remote), &key, &id);
        if local == far && local.status == Some(0) {
            same += 1;
        } else {
            report.push_str(&format!(
                "\n=== {name}: local status {:?}, remote status {:?}\n--- remote stderr ---\n{}\n--- local stderr ---\n{}\n",
                local.status,
                far.status,
                String::from_utf8_lossy(&rout.stderr),
                String::from_utf8_lossy(&lout.stderr)
            ));
            if local.images != far.images {
                report.push_str(&format!("images differ: local {:?} remote {:?}\n", local.images.keys(), far.images.keys()));
                for (k, v) in &local.images {
                    if let Some(w) = far.images.get(k) {
                        for (p, e) in &v.0 {
                            if w.0.get(p) != Some(e) {
                                report.push_str(&format!("  {k}: {p}: local {e:?} remote {:?}\n", w.0.get(p)));
                            }
                        }
                        for p in w.0.keys().filter(|p| !v.0.contains_key(*p)) {
                            report.push_str(&format!("  {k}: {p}: only remote\n"));
                        }
                        if v.1 != w.1 {
                            report.push_str(&format!("  {k}: config local {} remote {}\n", v.1, w.1));
                        }
                    }
                }
            }
            if local.context != far.context {
                report.push_str(&format!("context differs:\n local {:?}\n remote {:?}\n", local.context, far.context));
            }
        }
    }
    eprintln!("remote parity: {same} of {total} golden examples give the same result");
    assert_eq!(same, total, "{report}");
}

fn ctime(p: &Path) -> i64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(p).unwrap().ctime_nsec() + std::fs::symlink_metadata(p).unwrap().ctime() * 1_000_000_000
}

/// kB the script says it sent to the engine (its `sent N kB` lines).
fn sent_kb(out: &Output) -> u64 {
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().strip_prefix("sent ")?.split(' ').next()?.parse::<u64>().ok()).sum()
}

/// A MOUNTed folder on a remote engine, reached three ways (`rockerc build -H`, DOCKER_HOST,
/// DOCKER_CONTEXT): what the RUN deleted, changed and added is on the client afterwards, and
/// what it left alone is untouched (same ctime); a second build sends only what changed; a
/// MOUNTed key leaves nothing on the engine: no volume, no byte in the image.
#[test]
fn a_mounted_folder_round_trips_through_a_remote_engine() {
    let Some(remote) = remote_or_skip("a_mounted_folder_round_trips_through_a_remote_engine") else { return };
    let (_kd, key) = key();
    let secret = std::fs::read(&key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("gone"), "delete me\n").unwrap();
    std::fs::write(data.join("changed"), "old\n").unwrap();
    std::fs::write(data.join("kept"), vec![b'k'; 300_000]).unwrap();
    let tag = unique("rockerc-remote/roundtrip");
    std::fs::write(
        dir.path().join("Rockerfile"),
        format!(
            "FROM {BUSYBOX}\nMOUNT ./data:/data\nMOUNT $SSH_KEY_FILE:/root/.ssh/id\n\
             RUN rm /data/gone && echo new > /data/changed && mkdir -p /data/sub && cat /root/.ssh/id | wc -c > /data/sub/keylen\n\
             RUN ls /data > /listing\nTAG {tag}\n"
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kept_ctime = ctime(&data.join("kept"));
    // 1: rockerc build -H.
    let out = rockerc()
        .current_dir(dir.path())
        .args(["build", "-H", &remote, "--no-cache", "--allow-mount"])
        .arg(key.parent().unwrap())
        .arg(".")
        .env("SSH_KEY_FILE", &key)
        .env("XDG_CACHE_HOME", cache.path())
        .env_remove("DOCKER_CONTEXT")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cannot see this machine's files"), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!data.join("gone").exists(), "the RUN deleted it");
    assert_eq!(std::fs::read_to_string(data.join("changed")).unwrap(), "new\n");
    assert_eq!(std::fs::read_to_string(data.join("sub/keylen")).unwrap().trim(), secret.len().to_string());
    assert_eq!(ctime(&data.join("kept")), kept_ctime, "an unchanged file is not rewritten");
    assert!(sent_kb(&out) >= 290, "the first build sends the folder: {} kB", sent_kb(&out));

    // The key: not in the image, no volume of the run left on the engine.
    let save = docker_on(Some(&remote)).args(["save", &tag]).output().unwrap().stdout;
    assert!(!save.windows(secret.len()).any(|w| w == secret.as_slice()), "the key's bytes are in the image");
    let vols = String::from_utf8(run_ok(docker_on(Some(&remote)).args(["volume", "ls", "-q"])).stdout).unwrap();
    assert!(!vols.lines().any(|v| v.starts_with("rockerc-run-")), "{vols}");

    // 2: the script with DOCKER_HOST (the same build id as `rockerc build`): the folder as the
    // last build left it, plus the file put back since, which alone is sent.
    let script = run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile")).stdout;
    std::fs::write(dir.path().join("build.sh"), script).unwrap();
    std::fs::write(data.join("gone"), "delete me\n").unwrap();
    let run = |env: &[(&str, &str)]| {
        let mut sh = Command::new("sh");
        sh.arg(dir.path().join("build.sh")).args(["--no-cache", "--allow-mount"]).arg(key.parent().unwrap());
        sh.env("SSH_KEY_FILE", &key).env("XDG_CACHE_HOME", cache.path()).env_remove("DOCKER_CONTEXT").env_remove("DOCKER_HOST");
        for (k, v) in env {
            sh.env(k, v);
        }
        let out = sh.output().unwrap();
        assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        out
    };
    let out = run(&[("DOCKER_HOST", &remote)]);
    assert!(!data.join("gone").exists());
    assert!(sent_kb(&out) < 100, "{} kB", sent_kb(&out));
    // 3: through a docker context; only the file written since is sent.
    std::fs::write(data.join("changed"), "edited on the client\n").unwrap();
    std::fs::write(data.join("gone"), "delete me\n").unwrap();
    let ctx = unique("rockerc-remote-ctx");
    run_ok(Command::new("docker").args(["context", "create", &ctx, "--docker", &format!("host={remote}")]));
    let out = run(&[("DOCKER_CONTEXT", &ctx)]);
    run_ok(Command::new("docker").args(["context", "rm", "-f", &ctx]));
    assert!(sent_kb(&out) < 100, "an unchanged 300 kB folder is not sent again: {} kB\n{}", sent_kb(&out), String::from_utf8_lossy(&out.stdout));
    assert_eq!(std::fs::read_to_string(data.join("changed")).unwrap(), "new\n");
    assert_eq!(ctime(&data.join("kept")), kept_ctime, "an unchanged file is not rewritten");
    let _ = docker_on(Some(&remote)).args(["rmi", &tag]).output();
}

/// ATTACH on a remote engine: the shell sees the MOUNTed context, and what it writes there is on
/// the client afterwards, as with a bind.
#[test]
fn attach_on_a_remote_engine_sees_and_writes_the_mounted_context() {
    let Some(remote) = remote_or_skip("attach_on_a_remote_engine_sees_and_writes_the_mounted_context") else { return };
    let ex = Example::new("attach");
    ex.compile(&["--id", &unique("remote-attach")]);
    let cache = tempfile::tempdir().unwrap();
    let cmd = format!("sh {} --attach", ex.path().join("build.sh").display());
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("DOCKER_HOST", &remote)
        .env_remove("DOCKER_CONTEXT")
        .env("XDG_CACHE_HOME", cache.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"echo inside-attach; echo from-attach > /workspace/written; exit\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("inside-attach"), "{text}");
    assert!(text.contains("context-file.txt"), "the second ATTACH sees the MOUNTed context:\n{text}");
    assert_eq!(std::fs::read_to_string(ex.path().join("written")).unwrap(), "from-attach\n", "{text}");
}
