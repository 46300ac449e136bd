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

/// Compiles the example in its folder into build.sh, with ARGS, its vars.yml and its `env` file.
fn compile_example(ex: &Example, args: &[&str]) {
    let mut compile = rockerc();
    compile.current_dir(ex.path()).args(args);
    if ex.path().join("vars.yml").is_file() {
        compile.args(["--vars", "vars.yml"]);
    }
    compile.arg("Rockerfile");
    if let Ok(env) = std::fs::read_to_string(ex.path().join("env")) {
        for (k, v) in env.lines().filter_map(|l| l.split_once('=')) {
            compile.env(k, v);
        }
    }
    std::fs::write(ex.path().join("build.sh"), run_ok(&mut compile).stdout).unwrap();
}

/// Every file of IMAGE on HOST; parallel-builders' files hold the times its RUNs ran
/// (`date +%s`): there, what they are, not what they say.
fn files_of(name: &str, host: Option<&str>, image: &str) -> BTreeMap<String, Entry> {
    let mut files = image_files_on(host, image);
    if name == "parallel-builders" {
        for (p, e) in files.iter_mut() {
            if p.starts_with("/srv/") {
                e.content = None;
            }
        }
    }
    files
}

/// A golden example built on the engine at HOST (None: the local one) in a fresh copy, as a user
/// runs it: compiled in its folder, the script run from elsewhere with an ssh key outside the
/// context allowed.
/// With `bk` (a docker client with BuildKit), the script runs with that client's folder first on
/// PATH and `--builder buildkit` (issue 16), else with the `docker` on PATH as it is (auto).
/// The caller holds the example's golden lock.
fn outcome(name: &str, host: Option<&str>, key: &Path, id: &str, bk: Option<&str>) -> (Outcome, Output) {
    let ex = Example::held(name);
    compile_example(&ex, &["--id", id]);
    let cache = tempfile::tempdir().unwrap();
    let mut sh = Command::new("sh");
    sh.arg(ex.path().join("build.sh")).arg("--allow-mount").arg(key.parent().unwrap());
    sh.env("SSH_KEY_FILE", key).env("XDG_CACHE_HOME", cache.path()).current_dir("/");
    if let Some(bk) = bk {
        let dir = Path::new(bk).parent().unwrap().display().to_string();
        sh.arg("--builder").arg("buildkit").env("PATH", format!("{dir}:{}", std::env::var("PATH").unwrap_or_default()));
    }
    if let Some(h) = host {
        sh.env("DOCKER_HOST", h).env_remove("DOCKER_CONTEXT");
    }
    let out = sh.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let images = tagged(&stdout).into_iter().map(|i| (i.clone(), (files_of(name, host, &i), config_of(host, &i)))).collect();
    let mut context = tree(ex.path());
    context.remove("build.sh");
    (Outcome { status: out.status.code(), images, context }, out)
}

fn key() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    run_ok(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key));
    (dir, key)
}

/// Every golden example gives the same result on the stand-in remote daemon as on the local one.
#[test]
fn every_golden_example_builds_the_same_on_a_remote_engine() {
    parity("every_golden_example_builds_the_same_on_a_remote_engine", false);
}

/// The same with the sh backend's steps built by BuildKit (issue 16's `--builder buildkit`) on
/// both engines.
#[test]
fn every_golden_example_builds_the_same_on_a_remote_engine_under_buildkit() {
    parity("every_golden_example_builds_the_same_on_a_remote_engine_under_buildkit", true);
}

fn parity(test: &str, buildkit: bool) {
    let Some(remote) = remote_or_skip(test) else { return };
    let bk = if buildkit {
        let Some(bk) = buildkit_docker_or_skip(test) else { return };
        Some(bk)
    } else {
        None
    };
    let (_kd, key) = key();
    let only = std::env::var("ROCKERC_REMOTE_ONLY").ok();
    let mut same = 0;
    let mut report = String::new();
    let mut total = 0;
    for name in golden_names() {
        let name = name.as_str();
        if only.as_deref().is_some_and(|o| !o.split(',').any(|x| x == name)) {
            continue;
        }
        total += 1;
        // The example's tags are shared with every other test that builds it, on either engine
        // (this test runs twice at once, legacy and BuildKit): a build alone, as differential's.
        let _alone = golden_lock(name).exclusive();
        let id = unique(&format!("remote-{name}"));
        let (local, lout) = outcome(name, None, &key, &id, bk.as_deref());
        let (far, rout) = outcome(name, Some(&remote), &key, &id, bk.as_deref());
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

/// kB the script says it brought back from the engine (its `brought back N kB` lines).
fn got_kb(out: &Output) -> u64 {
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().strip_prefix("brought back ")?.split(' ').next()?.parse::<u64>().ok()).sum()
}

fn show(out: &Output) -> String {
    format!("--- stdout ---\n{}\n--- stderr ---\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// How a build reaches the remote engine.
#[derive(Clone, Copy)]
enum Via {
    /// `rockerc build -H ADDRESS` (compiles and runs the script).
    BuildFlag,
    /// `DOCKER_HOST=ADDRESS sh build.sh`.
    DockerHost,
    /// `DOCKER_CONTEXT=NAME sh build.sh`, NAME a docker context whose host is ADDRESS.
    Context,
}

/// A MOUNTed folder on a remote engine, reached one way (`rockerc build -H`, DOCKER_HOST,
/// DOCKER_CONTEXT): what the RUN deleted, changed and added is on the client afterwards, and
/// what it left alone is untouched (same ctime); a second build sends only what changed on the
/// client and brings back only what the RUN changed (not the 300 kB file it left alone); a
/// MOUNTed key leaves nothing on the engine: no volume, no byte in the image.
fn round_trip(via: Via, what: &str) {
    let Some(remote) = remote_or_skip(what) else { return };
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
    let ctx = unique("rockerc-remote-ctx");
    if let Via::Context = via {
        run_ok(Command::new("docker").args(["context", "create", &ctx, "--docker", &format!("host={remote}")]));
    }
    let id = unique("remote-roundtrip");
    let script = run_ok(rockerc().current_dir(dir.path()).args(["--id", &id, "Rockerfile"])).stdout;
    std::fs::write(dir.path().join("build.sh"), script).unwrap();
    let build = || {
        let mut cmd = match via {
            Via::BuildFlag => {
                let mut c = rockerc();
                c.current_dir(dir.path()).args(["build", "-H", &remote, "--id", &id, "--no-cache", "--allow-mount"]).arg(key.parent().unwrap()).arg(".");
                c
            }
            _ => {
                let mut c = Command::new("sh");
                c.arg(dir.path().join("build.sh")).args(["--no-cache", "--allow-mount"]).arg(key.parent().unwrap());
                c
            }
        };
        cmd.env("SSH_KEY_FILE", &key).env("XDG_CACHE_HOME", cache.path()).env_remove("DOCKER_CONTEXT").env_remove("DOCKER_HOST");
        match via {
            Via::DockerHost => {
                cmd.env("DOCKER_HOST", &remote);
            }
            Via::Context => {
                cmd.env("DOCKER_CONTEXT", &ctx);
            }
            Via::BuildFlag => {}
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", show(&out));
        out
    };
    let kept_ctime = ctime(&data.join("kept"));
    let out = build();
    assert!(String::from_utf8_lossy(&out.stdout).contains("cannot see this machine's files"), "{}", show(&out));
    assert!(!data.join("gone").exists(), "the RUN deleted it");
    assert_eq!(std::fs::read_to_string(data.join("changed")).unwrap(), "new\n");
    assert_eq!(std::fs::read_to_string(data.join("sub/keylen")).unwrap().trim(), secret.len().to_string());
    assert_eq!(ctime(&data.join("kept")), kept_ctime, "an unchanged file is not rewritten");
    assert!(sent_kb(&out) >= 290, "the first build sends the folder: {} kB", sent_kb(&out));

    // The key: not in the image, no volume of the run left on the engine.
    let save = docker_on(Some(&remote)).args(["save", &tag]).output().unwrap().stdout;
    assert!(!save.windows(secret.len()).any(|w| w == secret.as_slice()), "the key's bytes are in the image");
    assert_no_copy_on_the_engine(&secret);

    // Again, after the client put back the file the RUN deletes and edited another: those two
    // alone are sent, and only what the RUN wrote comes back (the 300 kB it never touched stays).
    std::fs::write(data.join("gone"), "delete me\n").unwrap();
    std::fs::write(data.join("changed"), "edited on the client\n").unwrap();
    let out = build();
    assert!(!data.join("gone").exists(), "deleted again by the RUN:\n{}", show(&out));
    assert_eq!(std::fs::read_to_string(data.join("changed")).unwrap(), "new\n");
    assert_eq!(ctime(&data.join("kept")), kept_ctime, "an unchanged file is not rewritten");
    assert!(sent_kb(&out) < 100, "only what changed on the client is sent: {} kB\n{}", sent_kb(&out), show(&out));
    assert!(got_kb(&out) < 100, "only what the RUN changed comes back: {} kB\n{}", got_kb(&out), show(&out));
    if let Via::Context = via {
        run_ok(Command::new("docker").args(["context", "rm", "-f", &ctx]));
    }
    let _ = docker_on(Some(&remote)).args(["rmi", &tag]).output();
}

/// No file of a RUN's volume on the stand-in engine holds SECRET (read from its data-root: other
/// tests' builds run beside this one, each with keys of its own).
fn assert_no_copy_on_the_engine(secret: &[u8]) {
    if std::env::var("ROCKERC_REMOTE_HOST").is_ok() {
        return;
    }
    fn walk(p: &Path, secret: &[u8]) {
        let Ok(md) = std::fs::symlink_metadata(p) else { return };
        if md.is_dir() {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                walk(&e.path(), secret);
            }
        } else if md.is_file() {
            let bytes = std::fs::read(p).unwrap_or_default();
            assert!(!bytes.windows(secret.len()).any(|w| w == secret), "the key is on the engine: {}", p.display());
        }
    }
    let root = std::env::var("ROCKERC_REMOTE_ROOT").unwrap_or_else(|_| "/var/lib/rockerc-remote".into());
    for e in std::fs::read_dir(Path::new(&root).join("volumes")).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with("rockerc-run-") {
            walk(&e.path(), secret);
        }
    }
}

#[test]
fn a_mounted_folder_round_trips_through_rockerc_build_h() {
    round_trip(Via::BuildFlag, "a_mounted_folder_round_trips_through_rockerc_build_h");
}

#[test]
fn a_mounted_folder_round_trips_through_docker_host() {
    round_trip(Via::DockerHost, "a_mounted_folder_round_trips_through_docker_host");
}

#[test]
fn a_mounted_folder_round_trips_through_a_docker_context() {
    round_trip(Via::Context, "a_mounted_folder_round_trips_through_a_docker_context");
}

/// What the RUN writes in a large MOUNTed folder comes back, and only that: 2 MB the RUN leaves
/// alone are not read back after the first build, and a RUN that deletes, replaces a file by a
/// folder, a folder by a link and changes a mode leaves the client folder as a bind would have
/// (compared with the same build on the local engine).
#[test]
fn only_what_a_run_changed_comes_back() {
    let Some(remote) = remote_or_skip("only_what_a_run_changed_comes_back") else { return };
    let rockerfile = format!(
        "FROM {BUSYBOX}\nMOUNT ./data:/data\n\
         RUN cd /data && rm -rf old && rm -rf file2dir && mkdir file2dir && echo in > file2dir/x && rm -rf dir2link && ln -s ../elsewhere dir2link && \
         chmod 700 keep-dir && echo $RANDOM$RANDOM > stamp && mkdir -p n/e/w && echo deep > n/e/w/f && touch -d '2001-01-01 00:00' touched && ls big > biglist\n"
    );
    let make = |dir: &Path| {
        let data = dir.join("data");
        for d in ["old/sub", "dir2link", "keep-dir", "big"] {
            std::fs::create_dir_all(data.join(d)).unwrap();
        }
        std::fs::write(data.join("old/sub/f"), "x").unwrap();
        std::fs::write(data.join("file2dir"), "a file").unwrap();
        std::fs::write(data.join("dir2link/f"), "y").unwrap();
        std::fs::write(data.join("touched"), "t").unwrap();
        for i in 0..8 {
            std::fs::write(data.join(format!("big/{i}")), vec![b'0' + i as u8; 256 * 1024]).unwrap();
        }
        std::fs::write(dir.join("Rockerfile"), &rockerfile).unwrap();
    };
    let cache = tempfile::tempdir().unwrap();
    let id = unique("remote-changes");
    let build = |dir: &Path, host: Option<&str>| {
        let script = run_ok(rockerc().current_dir(dir).args(["--id", &id, "Rockerfile"])).stdout;
        std::fs::write(dir.join("build.sh"), script).unwrap();
        let mut sh = Command::new("sh");
        sh.arg(dir.join("build.sh")).arg("--no-cache").env("XDG_CACHE_HOME", cache.path()).env_remove("DOCKER_CONTEXT");
        if let Some(h) = host {
            sh.env("DOCKER_HOST", h);
        }
        let out = sh.output().unwrap();
        assert!(out.status.success(), "{}", show(&out));
        out
    };
    let local = tempfile::tempdir().unwrap();
    make(local.path());
    // One stamp folder for both engines: on this machine they share Docker's engine id, and the
    // answer for one is never taken for the other.
    let near = build(local.path(), None);
    assert!(!String::from_utf8_lossy(&near.stdout).contains("cannot see"), "{}", show(&near));
    let far = tempfile::tempdir().unwrap();
    make(far.path());
    let first = build(far.path(), Some(&remote));
    assert!(String::from_utf8_lossy(&first.stdout).contains("cannot see this machine's files"), "{}", show(&first));
    let near = build(local.path(), None);
    assert!(!String::from_utf8_lossy(&near.stdout).contains("cannot see"), "{}", show(&near));
    let without_stamp = |t: BTreeMap<String, String>| t.into_iter().filter(|(k, _)| !k.ends_with("stamp") && k != "build.sh").collect::<BTreeMap<_, _>>();
    assert_eq!(without_stamp(tree(far.path())), without_stamp(tree(local.path())), "the client folder as the local engine's bind left it");
    assert!(got_kb(&first) >= 2048, "the first bring has no listing of the volume to compare with: {} kB", got_kb(&first));
    // The second build: the engine's listing from the first is the baseline.
    let big_ctime = ctime(&far.path().join("data/big/0"));
    let stamp = std::fs::read_to_string(far.path().join("data/stamp")).unwrap();
    // A file deleted on the client is deleted in the volume too (not sent again whole).
    std::fs::remove_file(far.path().join("data/big/7")).unwrap();
    let again = build(far.path(), Some(&remote));
    assert!(sent_kb(&again) < 100, "a deletion sends nothing: {} kB\n{}", sent_kb(&again), show(&again));
    assert_eq!(std::fs::read_to_string(far.path().join("data/biglist")).unwrap(), "0\n1\n2\n3\n4\n5\n6\n", "the RUN saw the deletion");
    assert!(!far.path().join("data/big/7").exists());
    assert_ne!(std::fs::read_to_string(far.path().join("data/stamp")).unwrap(), stamp, "the RUN's new stamp came back");
    assert!(got_kb(&again) < 200, "2 MB the RUN never touched are not read back: {} kB\n{}", got_kb(&again), show(&again));
    assert_eq!(ctime(&far.path().join("data/big/0")), big_ctime);
}

/// --cache-to and --cache-from with a remote engine: the MOUNT volume lives on the engine, the
/// cache DIR on the client; a build on a fresh engine (the volume gone) restores it from DIR and
/// its RUN finds what the first build put there.
#[test]
fn cache_to_and_cache_from_carry_a_remote_engines_volume() {
    let Some(remote) = remote_or_skip("cache_to_and_cache_from_carry_a_remote_engines_volume") else { return };
    let dir = tempfile::tempdir().unwrap();
    let token = unique("remote-cache");
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/input"), "from the client\n").unwrap();
    std::fs::write(
        dir.path().join("Rockerfile"),
        format!(
            "FROM {BUSYBOX}\nLABEL token={token}\nMOUNT /cache\nMOUNT ./src:/src\n\
             RUN echo run >> /cache/runs && if [ ! -f /cache/got ]; then cat /src/input > /cache/got; fi && cp /cache/got /got && wc -l < /cache/runs > /src/runs\n"
        ),
    )
    .unwrap();
    let id = format!("remote-cache-{token}");
    std::fs::write(dir.path().join("build.sh"), run_ok(rockerc().current_dir(dir.path()).args(["--id", &id, "Rockerfile"])).stdout).unwrap();
    let stamps = tempfile::tempdir().unwrap();
    let cdir = tempfile::tempdir().unwrap();
    let c = cdir.path().join("c");
    let run = |args: &[&str]| {
        let out = Command::new("sh")
            .arg(dir.path().join("build.sh"))
            .args(args)
            .env("DOCKER_HOST", &remote)
            .env_remove("DOCKER_CONTEXT")
            .env("XDG_CACHE_HOME", stamps.path())
            .env("ROCKERC_CACHE_KEY", "a CI secret")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        out
    };
    run(&["--no-cache", "--cache-to", c.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(dir.path().join("src/runs")).unwrap().trim(), "1");
    assert!(std::fs::read_to_string(c.join("manifest")).unwrap().contains("\t/cache\n"), "DIR names the volume");
    // A fresh engine: the volume gone. The client's input changes, and the restored cache wins.
    run(&["--cache-prune"]);
    std::fs::write(dir.path().join("src/input"), "changed since\n").unwrap();
    let out = run(&["--no-cache", "--cache-from", c.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("cache: restored MOUNT /cache"), "{}", show(&out));
    assert_eq!(std::fs::read_to_string(dir.path().join("src/runs")).unwrap().trim(), "2", "the RUN found the first build's runs");
    run(&["--cache-prune"]);
    let _ = docker_on(Some(&remote)).args(["image", "prune", "-f", "--filter", &format!("label=token={token}")]).output();
}

/// `ADD <url>` on a remote engine: the engine downloads it (the stand-in shares this machine's
/// network), the script asks the URL whether it changed: an unchanged URL is a no-op, a changed
/// one rebuilds with the new content.
#[test]
fn add_url_is_checked_with_a_remote_engine() {
    let Some(remote) = remote_or_skip("add_url_is_checked_with_a_remote_engine") else { return };
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("f.txt"), "one\n").unwrap();
    let mut server = std::process::Command::new("python3")
        .arg(repo_root().join("tests/fixtures/http/server.py"))
        .arg(www.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3");
    let port = {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
        line.trim().to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let image = format!("rockerc-remote/{}:latest", unique("addurl"));
    std::fs::write(dir.path().join("Rockerfile"), format!("FROM {BUSYBOX}\nADD http://127.0.0.1:{port}/f.txt /f.txt\nRUN cat /f.txt\nTAG {image}\n")).unwrap();
    std::fs::write(dir.path().join("build.sh"), run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile")).stdout).unwrap();
    let stamps = tempfile::tempdir().unwrap();
    let run = || {
        let out = Command::new("sh")
            .arg(dir.path().join("build.sh"))
            .env("DOCKER_HOST", &remote)
            .env_remove("DOCKER_CONTEXT")
            .env("XDG_CACHE_HOME", stamps.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let served = || file_text(&image_files_on(Some(&remote), &image), "/f.txt");
    assert!(!run().starts_with("up to date"));
    assert_eq!(served(), "one\n");
    assert!(run().starts_with("up to date"), "nothing changed");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(www.path().join("f.txt"), "two\n").unwrap();
    assert!(!run().starts_with("up to date"), "the URL serves new content");
    assert_eq!(served(), "two\n");
    let _ = server.kill();
    let _ = server.wait();
    let _ = docker_on(Some(&remote)).args(["rmi", &image]).output();
}

/// ATTACH on a remote engine: the shell sees the MOUNTed context, and what it writes there is on
/// the client afterwards, as with a bind.
#[test]
fn attach_on_a_remote_engine_sees_and_writes_the_mounted_context() {
    let Some(remote) = remote_or_skip("attach_on_a_remote_engine_sees_and_writes_the_mounted_context") else { return };
    let ex = Example::new("attach");
    ex.compile(&["--id", &unique("remote-attach")]);
    let cache = tempfile::tempdir().unwrap();
    let out = attach_session(&ex.path().join("build.sh"), b"echo inside-attach; echo from-attach > /workspace/written; exit\n", |c| {
        c.env("DOCKER_HOST", &remote).env_remove("DOCKER_CONTEXT").env("XDG_CACHE_HOME", cache.path());
    });
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("inside-attach"), "{text}");
    assert!(text.contains("context-file.txt"), "the second ATTACH sees the MOUNTed context:\n{text}");
    assert_eq!(std::fs::read_to_string(ex.path().join("written")).unwrap(), "from-attach\n", "{text}");
}

/// A golden example compiled with `--emit buildkit` and built by the BuildKit client `bk` on the
/// engine at HOST (None: the local one), its TAG names moved under a prefix of this test's own:
/// the images under it (files and config) and the build context afterwards.
fn buildkit_outcome(name: &str, host: Option<&str>, bk: &str, key: &Path, id: &str) -> (Outcome, Output) {
    let ex = Example::new(name);
    let prefix = format!("{}/", unique("rockerc-rbk"));
    let rockerfile = std::fs::read_to_string(ex.path().join("Rockerfile")).unwrap();
    std::fs::write(ex.path().join("Rockerfile"), rockerfile.replace("rockerc-golden/", &prefix)).unwrap();
    compile_example(&ex, &["--emit", "buildkit", "--id", id]);
    let mut sh = Command::new("sh");
    sh.arg(ex.path().join("build.sh"))
        .env("SSH_KEY_FILE", key)
        .env("ROCKERC_ALLOW_MOUNT", key.parent().unwrap())
        .env("ROCKERC_DOCKER", bk)
        .env_remove("DOCKER_CONTEXT")
        .current_dir("/");
    if let Some(h) = host {
        sh.env("DOCKER_HOST", h);
    }
    let out = sh.output().unwrap();
    let listed = String::from_utf8(run_ok(docker_on(host).args(["images", "--format", "{{.Repository}}:{{.Tag}}"])).stdout).unwrap();
    let mut images = BTreeMap::new();
    for image in listed.lines().filter(|i| i.contains(&prefix)) {
        images.insert(image.replace(&prefix, "rockerc-golden/"), (files_of(name, host, image), config_of(host, image)));
        let _ = docker_on(host).args(["rmi", image]).output();
    }
    let mut context = tree(ex.path());
    context.remove("build.sh");
    context.remove("Rockerfile");
    (Outcome { status: out.status.code(), images, context }, out)
}

/// The BuildKit backend on the stand-in remote engine: every golden example it builds gives the
/// same exit status, images and files on the client (an IMPORT into a host MOUNT comes back
/// through `--output type=local`) as on the local engine. BuildKit carries the context, the
/// MOUNTed key (a secret) and the local output through its own session, so the engine needs to
/// see none of the client's folders.
#[test]
fn the_buildkit_backend_builds_the_same_on_a_remote_engine() {
    let Some(remote) = remote_or_skip("the_buildkit_backend_builds_the_same_on_a_remote_engine") else { return };
    let Some(bk) = buildkit_docker_or_skip("the_buildkit_backend_builds_the_same_on_a_remote_engine") else { return };
    let (_kd, key) = key();
    let only = std::env::var("ROCKERC_REMOTE_ONLY").ok();
    let (mut same, mut total, mut report) = (0, 0, String::new());
    // The golden examples the BuildKit backend builds (`attach` and `context-writeback` write to
    // the host from a RUN, which BuildKit cannot).
    for &name in crate::differential::BOTH {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|x| x == name)) {
            continue;
        }
        total += 1;
        let id = unique(&format!("remote-bk-{name}"));
        let (local, lout) = buildkit_outcome(name, None, &bk, &key, &id);
        let (far, rout) = buildkit_outcome(name, Some(&remote), &bk, &key, &id);
        if local == far && local.status == Some(0) && !local.images.is_empty() {
            same += 1;
        } else {
            report.push_str(&format!(
                "\n=== {name}: local status {:?} ({} images), remote status {:?} ({} images)\n--- remote ---\n{}\n--- local ---\n{}\n",
                local.status,
                local.images.len(),
                far.status,
                far.images.len(),
                show(&rout),
                show(&lout)
            ));
            if local.context != far.context {
                report.push_str(&format!("context differs:\n local {:?}\n remote {:?}\n", local.context, far.context));
            }
        }
    }
    eprintln!("remote BuildKit parity: {same} of {total} golden examples give the same result");
    assert_eq!(same, total, "{report}");
}
