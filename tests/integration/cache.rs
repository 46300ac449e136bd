//! MOUNT caches a CI job keeps: `sh build.sh --cache-to DIR` / `--cache-from DIR`, built for real
//! on the engine. A "fresh engine" is this engine without the build id's volume and without the
//! MOUNTed-RUN cache images (each test's Rockerfile has content of its own, so nothing another
//! test builds is removed). What is checked is what a CI user would see: the files in the
//! restored volume, whether the MOUNTed RUN ran again, what DIR holds, and what is said.

use crate::common::*;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Build {
    dir: tempfile::TempDir,
    id: String,
    stamps: tempfile::TempDir,
    config: tempfile::TempDir,
    tag: String,
    token: String,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Build {
    /// A Rockerfile whose MOUNTed RUN "downloads" into the cache only what is not there yet, and
    /// counts its runs in it.
    fn new(name: &str) -> Build {
        let token = unique(name);
        let tag = format!("rockerc-e2e/cache-{token}:latest");
        let dir = tempfile::Builder::new().prefix("rockerc-cache-").tempdir().unwrap();
        std::fs::write(
            dir.path().join("Rockerfile"),
            format!(
                "FROM {BUSYBOX}\nLABEL token={token}\nMOUNT /cache\n\
                 RUN echo run >> /cache/runs && mkdir -p /cache/pkgs && if [ ! -f /cache/pkgs/a ]; then echo fetched-{token} > /cache/pkgs/a; fi && cp /cache/pkgs/a /got\n\
                 TAG {tag}\n"
            ),
        )
        .unwrap();
        let out = Test::at(dir.path()).arg("Rockerfile").status(0).run();
        std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
        Build { dir, id: format!("cache-test-{token}"), stamps: tempfile::tempdir().unwrap(), config: tempfile::tempdir().unwrap(), tag, token }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("sh");
        c.arg(self.dir.path().join("build.sh"))
            .args(["--id", &self.id])
            .args(args)
            .env("XDG_CACHE_HOME", self.stamps.path())
            .env("XDG_CONFIG_HOME", self.config.path())
            .env_remove("ROCKERC_CACHE_KEY");
        c
    }

    fn run(&self, args: &[&str], key: Option<&str>) -> Output {
        let mut c = self.cmd(args);
        if let Some(k) = key {
            c.env("ROCKERC_CACHE_KEY", k);
        }
        c.output().unwrap()
    }

    fn ok(&self, args: &[&str], key: Option<&str>) -> (String, String) {
        let out = self.run(args, key);
        assert!(out.status.success(), "build failed\n--- stdout ---\n{}\n--- stderr ---\n{}", text(&out.stdout), text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    }

    /// The build id's volume, as `--cache-ls` names it.
    fn volume(&self) -> Option<String> {
        let (out, _) = self.ok(&["--cache-ls"], None);
        out.lines().nth(1).map(|l| l.split_whitespace().next().unwrap().to_string())
    }

    fn volume_file(&self, path: &str) -> String {
        let vol = self.volume().expect("the volume exists");
        docker_str(&["run", "--rm", "--mount", &format!("type=volume,src={vol},dst=/cache"), BUSYBOX, "cat", &format!("/cache/{path}")])
    }

    /// This engine as a fresh one would be for this build: no volume, no cache images, no stamp.
    fn forget(&self) {
        if let Some(vol) = self.volume() {
            docker(&["volume", "rm", &vol]);
        }
        // The MOUNTed-RUN cache images (children of the stage, so they carry its token) and the tag.
        let tags = docker_str(&["images", "--filter", &format!("label=token={}", self.token), "--format", "{{.Repository}}:{{.Tag}}"]);
        let mut tags: Vec<&str> = tags.lines().filter(|t| !t.ends_with(":<none>")).collect();
        tags.sort_by_key(|t| !t.starts_with("rockerc-cache:"));
        for tag in tags {
            let _ = Command::new("docker").args(["rmi", tag]).output();
        }
        let _ = std::fs::remove_dir_all(self.stamps.path().join("rockerc"));
    }
}

impl Drop for Build {
    fn drop(&mut self) {
        let _ = self.cmd(&["--cache-prune"]).output();
        let _ = Command::new("docker").args(["rmi", &self.tag]).output();
    }
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("manifest")).unwrap_or_default()
}

fn sha256(path: &Path) -> String {
    let out = run_ok(Command::new("sha256sum").arg(path));
    text(&out.stdout).split_whitespace().next().unwrap().to_string()
}

/// DIR's files with their contents' hashes and modification times: what a CI cache step compares.
fn snapshot(dir: &Path) -> Vec<(String, String, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p: PathBuf = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), sha256(&p), std::fs::metadata(&p).unwrap().modified().unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn cache_to_then_cache_from_on_a_fresh_engine_restores_the_volume_and_the_mounted_run() {
    if !engine_or_skip("cache_to_then_cache_from_on_a_fresh_engine_restores_the_volume_and_the_mounted_run") {
        return;
    }
    let b = Build::new("roundtrip");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("ci-cache");
    let key = Some("a CI secret");
    let (_, err) = b.ok(&["--cache-to", cache.to_str().unwrap()], key);
    assert!(!err.contains("warning"), "{err}");
    let fetched = b.volume_file("pkgs/a");
    assert!(fetched.starts_with("fetched-"), "{fetched}");

    // The layout a CI cache action saves: a manifest, one archive per volume, one of the images.
    let m = manifest(&cache);
    let lines: Vec<&str> = m.lines().collect();
    assert_eq!(lines[0], "rockerc-cache\t1");
    assert_eq!(lines[1], format!("rockerc\t{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(lines[2], format!("id\t{}", b.id));
    let vol: Vec<&str> = lines.iter().find(|l| l.starts_with("volume\t")).expect("a volume entry").split('\t').collect();
    assert_eq!(vol[5], "/cache");
    let archive = cache.join(vol[3]);
    assert_eq!(sha256(&archive), vol[2], "the manifest's hash is the archive's");
    assert_eq!(std::fs::metadata(&archive).unwrap().len().to_string(), vol[1]);
    assert!(lines.iter().any(|l| l.starts_with("images\t")), "{m}");
    assert!(lines.iter().any(|l| l.starts_with("image\trockerc-cache:")), "{m}");
    assert!(lines.last().unwrap().starts_with("sig\t"));

    // Nothing changed: a second --cache-to rewrites nothing (the same bytes, the same times).
    // (With BusyBox's tools: the content hash is the same whoever takes it.)
    let before = snapshot(&cache);
    let bb = busybox_path();
    let out = b.cmd(&["--cache-to", cache.to_str().unwrap()]).env("PATH", bb.path()).env("ROCKERC_CACHE_KEY", "a CI secret").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(0 archive(s) written, 2 unchanged"), "{}", text(&out.stdout));
    assert_eq!(snapshot(&cache), before, "an unchanged cache is not written again");

    // A fresh engine: the volume comes back from DIR (here with BusyBox's tools), the MOUNTed
    // RUN's cache image too, so the RUN does not run again.
    b.forget();
    let cached_tag = m.lines().find_map(|l| l.strip_prefix("image\t")).unwrap().to_string();
    assert!(!Command::new("docker").args(["image", "inspect", &cached_tag]).output().unwrap().status.success());
    let out = b.cmd(&["--cache-from", cache.to_str().unwrap()]).env("PATH", bb.path()).env("ROCKERC_CACHE_KEY", "a CI secret").output().unwrap();
    let (log, err) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{log}\n{err}");
    assert!(log.contains("cache: restored MOUNT /cache from"), "{log}");
    assert!(log.contains("MOUNTed-RUN cache image(s)"), "{log}");
    assert!(log.contains("(cached, "), "the MOUNTed RUN comes from the restored cache image:\n{log}");
    assert_eq!(b.volume_file("pkgs/a"), fetched, "the restored volume holds what the first build fetched");
    assert_eq!(b.volume_file("runs"), "run", "the RUN did not run again");
    assert_eq!(file_text(&image_files(&b.tag), "/got"), format!("{fetched}\n"));

    // A volume that exists is never rolled back to DIR's.
    let vol_name = b.volume().unwrap();
    docker(&["run", "--rm", "--mount", &format!("type=volume,src={vol_name},dst=/cache"), BUSYBOX, "sh", "-c", "echo newer > /cache/pkgs/a"]);
    let (log, _) = b.ok(&["--cache-from", cache.to_str().unwrap()], key);
    assert!(log.contains("cache: kept MOUNT /cache as it is on the engine"), "{log}");
    assert_eq!(b.volume_file("pkgs/a"), "newer");

    // Without the key it was signed with, the volume is restored as data but no image is loaded.
    b.forget();
    let (log, err) = b.ok(&["--cache-from", cache.to_str().unwrap()], None);
    assert!(log.contains("cache: restored MOUNT /cache"), "{log}");
    assert!(err.contains("cached images are not loaded: the cache is not signed with this machine's key"), "{err}");
    assert!(!log.contains("(cached, "), "{log}");
    assert_eq!(b.volume_file("runs"), "run\nrun", "the RUN ran, on the restored volume");
}

#[test]
fn a_missing_corrupt_foreign_or_forged_cache_is_reported_and_skipped() {
    if !engine_or_skip("a_missing_corrupt_foreign_or_forged_cache_is_reported_and_skipped") {
        return;
    }
    let b = Build::new("corrupt");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c");
    let c = cache.to_str().unwrap();

    // Missing: a note, and the build goes on.
    let (_, err) = b.ok(&["--cache-from", c], None);
    assert!(err.contains("rockerc: note: --cache-from") && err.contains("no cache there yet"), "{err}");
    assert!(!err.contains("warning"), "{err}");

    b.ok(&["--cache-to", c], None);
    let good = manifest(&cache);
    let vol: Vec<String> = good.lines().find(|l| l.starts_with("volume\t")).unwrap().split('\t').map(String::from).collect();
    let archive = cache.join(&vol[3]);
    let original = std::fs::read(&archive).unwrap();

    // An archive that does not match its hash: a warning naming the MOUNT; the build runs.
    let mut bad = original.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0xff;
    std::fs::write(&archive, &bad).unwrap();
    b.forget();
    let (_, err) = b.ok(&["--cache-from", c], None);
    assert!(err.contains("rockerc: warning: --cache-from") && err.contains("MOUNT /cache not restored") && err.contains("does not match its hash"), "{err}");
    assert_eq!(b.volume_file("runs"), "run", "a fresh volume, not a half-good one");
    std::fs::write(&archive, &original).unwrap();

    // A manifest cut short, and one of another build id.
    b.forget();
    std::fs::write(cache.join("manifest"), good.lines().take(3).collect::<Vec<_>>().join("\n")).unwrap();
    let (_, err) = b.ok(&["--cache-from", c], None);
    assert!(err.contains("rockerc: warning: --cache-from") && err.contains("not restored, its manifest is cut short"), "{err}");
    b.forget();
    std::fs::write(cache.join("manifest"), good.replace(&format!("id\t{}\n", b.id), "id\tsomeone-else\n")).unwrap();
    let (_, err) = b.ok(&["--cache-from", c], None);
    assert!(err.contains("it holds the cache of build id 'someone-else'"), "{err}");

    // Forged: with ROCKERC_CACHE_KEY set, a DIR not signed with it is refused whole.
    b.forget();
    std::fs::write(cache.join("manifest"), &good).unwrap();
    let (_, err) = b.ok(&["--cache-from", c], Some("the real key"));
    assert!(err.contains("not restored, it is not signed with ROCKERC_CACHE_KEY"), "{err}");
    assert_eq!(b.volume_file("runs"), "run");
}

/// The script is stopped while --cache-to writes a changed volume: DIR keeps its old manifest and
/// every archive it names, and a restore from it gives the old volume.
#[test]
fn an_interrupted_cache_to_leaves_the_previous_dir_whole() {
    if !engine_or_skip("an_interrupted_cache_to_leaves_the_previous_dir_whole") {
        return;
    }
    let b = Build::new("interrupt");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c");
    let c = cache.to_str().unwrap();
    b.ok(&["--cache-to", c], None);
    let before = snapshot(&cache);
    let fetched = b.volume_file("pkgs/a");

    // The volume changes; the next --cache-to is stopped halfway through reading it: a `docker`
    // that passes 4 kB of `docker cp`'s archive on and then stops the script (TERM, as a CI
    // runner's timeout does).
    let vol = b.volume().unwrap();
    docker(&["run", "--rm", "--mount", &format!("type=volume,src={vol},dst=/cache"), BUSYBOX, "sh", "-c", "head -c 300000 /dev/urandom > /cache/pkgs/big"]);
    let real = text(&run_ok(Command::new("sh").args(["-c", "command -v docker"])).stdout).trim().to_string();
    let wrap = tempfile::tempdir().unwrap();
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = cp ] && [ \"$3\" = - ]; then\n  {real} \"$@\" | head -c 4096\n  kill -TERM \"$PPID\"\n  sleep 5\n  exit 1\nfi\nexec {real} \"$@\"\n"
    );
    std::fs::write(wrap.path().join("docker"), script).unwrap();
    run_ok(Command::new("chmod").args(["755", wrap.path().join("docker").to_str().unwrap()]));
    let path = format!("{}:{}", wrap.path().display(), std::env::var("PATH").unwrap());
    let out = b.cmd(&["--cache-to", c]).env("PATH", &path).output().unwrap();
    assert_eq!(out.status.code(), Some(143), "stopped by TERM\n{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(snapshot(&cache), before, "DIR is exactly as the last complete --cache-to left it");

    // And it still restores the old volume.
    b.forget();
    let (log, _) = b.ok(&["--cache-from", c], None);
    assert!(log.contains("cache: restored MOUNT /cache"), "{log}");
    assert_eq!(b.volume_file("pkgs/a"), fetched);

    // The next complete --cache-to writes the new volume and drops the archive it replaced.
    docker(&["run", "--rm", "--mount", &format!("type=volume,src={},dst=/cache", b.volume().unwrap()), BUSYBOX, "sh", "-c", "echo more > /cache/pkgs/b"]);
    let (log, _) = b.ok(&["--cache-to", c], None);
    assert!(log.contains("1 archive(s) written"), "{log}");
    let after = snapshot(&cache);
    assert_eq!(after.len(), 2, "the manifest and the one archive it names: {after:?}");
    assert_ne!(after, before);
}

#[test]
fn cache_ls_and_prune_show_and_remove_a_build_ids_volumes() {
    if !engine_or_skip("cache_ls_and_prune_show_and_remove_a_build_ids_volumes") {
        return;
    }
    let b = Build::new("prune");
    b.ok(&[], None);
    let (ls, _) = b.ok(&["--cache-ls"], None);
    let row: Vec<&str> = ls.lines().nth(1).expect("a row").split_whitespace().collect();
    // The name the script gives the volume is the one the BuildKit backend gives its cache: 128
    // bits of the SHA-256 of the build id, then of the MOUNT path (not a CRC another id can match).
    let h = |t: &str| -> String { sha2::Sha256::digest(t.as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect() };
    assert_eq!(row[0], format!("rockerc_{}_{}", h(&b.id), h("/cache")), "{ls}");
    assert_eq!(docker_str(&["volume", "inspect", "--format", "{{.Name}}", row[0]]), row[0], "the engine has it by that name");
    assert_eq!(&row[2..], ["today", "/cache"], "{ls}");
    // rockerc's own command sees the same, by build id.
    let out = Test::new().args(["cache", "ls", "--id", &b.id]).status(0).run();
    assert_eq!(text(&out.stdout), ls);
    // Used today: not older than a day.
    let (log, _) = b.ok(&["--cache-prune", "--older-than", "1"], None);
    assert!(log.contains("removed 0 volume(s)"), "{log}");
    assert!(b.volume().is_some());
    let out = Test::new().args(["cache", "prune", "--id", &b.id]).status(0).run();
    assert!(text(&out.stdout).contains(&format!("removed {} ", row[0])), "{}", text(&out.stdout));
    assert!(b.volume().is_none());
    let (ls, _) = b.ok(&["--cache-ls"], None);
    assert_eq!(ls, format!("no MOUNT volumes of build id {} on this engine\n", b.id));
    let out = b.run(&["--older-than", "3"], None);
    assert_eq!(out.status.code(), Some(2), "--older-than goes with --cache-prune");
}
