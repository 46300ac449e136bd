//! End to end: every golden example compiled with the real binary, built by its script on a real
//! Docker engine, and checked by looking inside the images (files, contents, config, size), at
//! the host, and at what a local registry received. Without a daemon these tests skip loudly.

use crate::common::*;
use std::process::Command;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn export_import_ships_only_the_binary() {
    if !engine_or_skip("export_import_ships_only_the_binary") {
        return;
    }
    let ex = Example::new("export-import");
    ex.compile(&[]);
    let out = ex.build(&[]);
    let log = stdout(&out);
    assert!(log.contains("EXPORT /out/hello"), "progress names the EXPORT step:\n{log}");

    let image = "rockerc-golden/hello:latest";
    let files = image_files(image);
    let hello = &files["/bin/hello"];
    assert_eq!(hello.kind, 'f');
    assert_eq!(hello.mode & 0o111, 0o111, "the binary stays executable");
    // Only the binary (and nothing of the builder or of the export machinery) was added.
    assert_eq!(added_paths(image, BUSYBOX), vec!["/bin/hello".to_string()]);
    assert!(!files.keys().any(|p| p.contains("rocker") || p.starts_with("/src") || p.starts_with("/out")));
    let cfg = image_config(image);
    assert_eq!(cfg["Cmd"], serde_json::json!(["/bin/hello"]));
    assert!(cfg["Entrypoint"].is_null());
    let run = docker_str(&["run", "--rm", image]);
    assert_eq!(run, "hello, world");

    // Size: the busybox base plus the binary, nothing more.
    let size: u64 = docker_str(&["image", "inspect", "--format", "{{.Size}}", image]).parse().unwrap();
    let base: u64 = docker_str(&["image", "inspect", "--format", "{{.Size}}", BUSYBOX]).parse().unwrap();
    assert_eq!(size, base + hello.size, "runtime image = base + imported bytes");

    // A second build changes nothing: the same image, every step from cache.
    let before = image_id(image);
    ex.build(&[]);
    assert_eq!(image_id(image), before);
}

#[test]
fn trailing_slashes_follow_rsync() {
    if !engine_or_skip("trailing_slashes_follow_rsync") {
        return;
    }
    let ex = Example::new("trailing-slash");
    ex.compile(&[]);
    ex.build(&[]);
    let files = image_files("rockerc-golden/trailing-slash:latest");
    let text = |p: &str| file_text(&files, p);
    // IMPORT src /as-is: a directory arrives inside the destination. The second EXPORT /src
    // replaced the store's copy exactly (rsync --delete-during): sub/ is gone, c is there.
    assert_eq!(text("/as-is/src/a"), "one\n");
    assert_eq!(text("/as-is/src/c"), "three\n");
    assert!(!files.keys().any(|p| p.starts_with("/as-is/src/sub")), "deleted by the second EXPORT");
    // IMPORT app/src/ /contents: EXPORT /src /app put it at app/src; the slash takes the contents.
    assert_eq!(text("/contents/a"), "one\n");
    assert_eq!(text("/contents/sub/b"), "two\n");
    assert!(!files.contains_key("/contents/src"));
    // EXPORT /src/ /flat stored the contents as flat; IMPORT flat /nested/ nests flat itself.
    assert_eq!(text("/nested/flat/a"), "one\n");
    assert_eq!(text("/nested/flat/sub/b"), "two\n");
    // A file into an existing directory lands inside it; into a new path it takes that name.
    assert_eq!(text("/existing/tool"), "tool\n");
    assert_eq!(text("/bin/renamed-tool"), "tool\n");
    assert_eq!(files["/bin/renamed-tool"].kind, 'f');
}

#[test]
fn context_writeback_reaches_the_host_and_the_next_stage() {
    if !engine_or_skip("context_writeback_reaches_the_host_and_the_next_stage") {
        return;
    }
    let ex = Example::new("context-writeback");
    let script = ex.compile(&[]);
    assert!(script.contains("<- stage 1"), "the graph orders stage 2 after stage 1:\n{script}");
    ex.build(&[]);
    // The file written through MOUNT .:/context is on the host, in the context directory.
    let on_host = std::fs::read_to_string(ex.path().join("artifact.txt")).unwrap();
    assert_eq!(on_host, "built by stage 1\n");
    let files = image_files("rockerc-golden/context-writeback:latest");
    assert_eq!(file_text(&files, "/artifact.txt"), "built by stage 1\n");

    // Built again in the same place, the MOUNTed RUN is a cache hit and the file is still there.
    let again = ex.build(&[]);
    assert!(stdout(&again).contains("(cached,"), "{}", stdout(&again));
    // A fresh copy elsewhere mounts another host path: the RUN runs, and writes there too.
    let other = Example::new("context-writeback");
    other.compile(&[]);
    let out = other.build(&[]);
    assert!(!stdout(&out).lines().next().unwrap_or("").contains("cached"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(other.path().join("artifact.txt")).unwrap(), "built by stage 1\n");
}

#[test]
fn from_a_tagged_stage_uses_the_image_just_built() {
    if !engine_or_skip("from_a_tagged_stage_uses_the_image_just_built") {
        return;
    }
    let _g = engine_lock(module_path!());
    // A stale image under the same name must not be used.
    let stale = tempfile::tempdir().unwrap();
    std::fs::write(stale.path().join("Dockerfile"), format!("FROM {BUSYBOX}\nRUN echo stale > /origin\n")).unwrap();
    run_ok(Command::new("docker").args(["build", "-q", "-t", "rockerc-golden/from-tagged-base:latest"]).arg(stale.path()).env("DOCKER_BUILDKIT", "0"));

    let ex = Example::new("from-tagged");
    ex.compile(&[]);
    ex.build(&[]);
    let files = image_files("rockerc-golden/from-tagged:latest");
    assert_eq!(file_text(&files, "/copied"), "fresh from this build\n");
    let base = image_files("rockerc-golden/from-tagged-base:latest");
    assert_eq!(file_text(&base, "/origin"), "fresh from this build\n", "the TAG was applied");
}

#[test]
fn attach_is_skipped_without_the_flag_and_interactive_with_it() {
    if !engine_or_skip("attach_is_skipped_without_the_flag_and_interactive_with_it") {
        return;
    }
    let ex = Example::new("attach");
    ex.compile(&[]);
    let out = ex.build(&[]);
    assert!(stdout(&out).contains("skipping ATTACH"), "{}", stdout(&out));
    let before = image_id("rockerc-golden/attach:latest");

    // With --attach and a terminal (script(1) provides one), the shell runs with the MOUNTs.
    // The first ATTACH runs the image's CMD (sh): answer it, then let the second run.
    let out = attach_session(&ex.path().join("build.sh"), b"echo inside-attach; cat /prepared; exit\n", |_| {});
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("inside-attach"), "{text}");
    assert!(text.contains("context-file.txt"), "the second ATTACH sees the MOUNTed context:\n{text}");
    assert_eq!(image_id("rockerc-golden/attach:latest"), before, "ATTACH changes nothing in the image");
}

#[test]
fn tag_and_push_reach_a_local_registry() {
    if !engine_or_skip("tag_and_push_reach_a_local_registry") {
        return;
    }
    let Some(registry) = local_registry() else {
        return;
    };
    let ex = Example::new("tag-push");
    ex.compile(&[]);
    let out = ex.build(&[]);
    assert!(stdout(&out).contains("not pushing 127.0.0.1:5000/rockerc-golden/tag-push:latest"), "{}", stdout(&out));
    let base = image_files("rockerc-golden/tag-push:base");
    assert!(base.contains_key("/layer1") && !base.contains_key("/layer2"), "TAG names the image at that point");

    let out = ex.build(&["--push"]);
    assert!(stdout(&out).contains("pushing 127.0.0.1:5000/rockerc-golden/tag-push:latest"));
    let tags = http_get(&format!("{registry}/v2/rockerc-golden/tag-push/tags/list"));
    assert!(tags.contains("\"latest\""), "the registry received the tag: {tags}");
    // What was pushed is the image built: its manifest digest matches the local RepoDigest.
    let digests = docker_str(&["image", "inspect", "--format", "{{json .RepoDigests}}", "127.0.0.1:5000/rockerc-golden/tag-push:latest"]);
    assert!(digests.contains("127.0.0.1:5000/rockerc-golden/tag-push@sha256:"), "{digests}");
}

/// A push that fails fails the build, and a failed build leaves every name where it was: the
/// tags it had moved go back (the push that did reach the registry before stays there, and the
/// error says so).
#[test]
fn a_failed_push_puts_every_tag_back() {
    if !engine_or_skip("a_failed_push_puts_every_tag_back") {
        return;
    }
    if local_registry().is_none() {
        return;
    }
    let n = unique("rt12-pushfail-");
    let local = format!("rockerc-e2e/{n}:1");
    let pushed = format!("127.0.0.1:5000/rockerc-e2e/{n}:1");
    let refused = format!("127.0.0.1:1/rockerc-e2e/{n}:1");
    let ex = inline_example(&format!("FROM {BUSYBOX}\nRUN echo v1 > /v\nTAG {local}\nPUSH {pushed}\nPUSH {refused}\n"));
    let run = |args: &[&str]| {
        let cache = tempfile::tempdir().unwrap();
        Command::new("sh").arg(ex.path().join("build.sh")).args(args).env("XDG_CACHE_HOME", cache.path()).output().unwrap()
    };
    assert!(run(&[]).status.success());
    let before: Vec<String> = [&local, &pushed, &refused].iter().map(|t| image_id(t)).collect();
    std::fs::write(ex.path().join("Rockerfile"), format!("FROM {BUSYBOX}\nRUN echo v2 > /v\nTAG {local}\nPUSH {pushed}\nPUSH {refused}\n")).unwrap();
    let script = run_ok(rockerc().current_dir(ex.path()).arg("Rockerfile")).stdout;
    std::fs::write(ex.path().join("build.sh"), script).unwrap();
    let out = run(&["--push"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("cannot push {refused}; every local tag is back where it was")), "{err}");
    assert!(err.contains(&format!("already pushed before that (the registry keeps them): {pushed}")), "{err}");
    let after: Vec<String> = [&local, &pushed, &refused].iter().map(|t| image_id(t)).collect();
    assert_eq!(after, before, "a failed push left the new image under the names");
    for t in [&local, &pushed, &refused] {
        docker(&["rmi", t]);
    }
}

/// A registry on 127.0.0.1:5000: one that answers, or Debian's docker-registry started here.
fn local_registry() -> Option<String> {
    let url = "http://127.0.0.1:5000".to_string();
    if http_get(&format!("{url}/v2/")).starts_with("{") {
        return Some(url);
    }
    if std::env::var("ROCKERC_E2E").as_deref() == Ok("require") {
        panic!("no registry answers on 127.0.0.1:5000 without authentication (run `sh tests/setup.sh`)");
    }
    eprintln!("\n*** PUSH TEST SKIPPED: no registry answers on 127.0.0.1:5000 without authentication (run `sh tests/setup.sh`) ***\n");
    None
}

fn http_get(url: &str) -> String {
    Command::new("curl").args(["-fsS", "--max-time", "5", url]).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

#[test]
fn npm_cache_persists_and_the_ssh_key_leaves_nothing() {
    if !engine_or_skip("npm_cache_persists_and_the_ssh_key_leaves_nothing") {
        return;
    }
    let ex = Example::new("npm-cache-ssh");
    // A build id of its own: a fresh cache volume, and MOUNTed RUN cache keys no earlier run made.
    let id = format!("rockerc-e2e-npm-{}-{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    ex.compile(&["--id", &id]);
    // A key of random bytes: if any of them reached the image, the search below finds them.
    let key_dir = tempfile::tempdir().unwrap();
    let key = key_dir.path().join("id_rsa");
    run_ok(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key));
    let secret = std::fs::read(&key).unwrap();

    // Volumes are named from the build id.
    let crc = String::from_utf8(run_ok(Command::new("sh").arg("-c").arg(format!("printf %s {id} | sha256sum | cut -c 1-32"))).stdout).unwrap();
    let prefix = format!("rockerc_{}_", crc.split_whitespace().next().unwrap());
    let run = |args: &[&str]| {
        let cache = tempfile::tempdir().unwrap();
        // The key lies outside the build context: whoever runs the build allows it.
        let out = Command::new("sh")
            .arg(ex.path().join("build.sh"))
            .args(args)
            .arg("--allow-mount")
            .arg(key_dir.path())
            .env("SSH_KEY_FILE", &key)
            .env("XDG_CACHE_HOME", cache.path())
            .current_dir("/")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        out
    };
    let first = run(&["--verbose"]);
    assert!(String::from_utf8_lossy(&first.stdout).contains("npm cache holds 0 entries"), "starts cold");
    let image = "rockerc-golden/npm-app:latest";
    assert_eq!(docker_str(&["run", "--rm", image]), "hello, rockerc");
    let cfg = image_config(image);
    assert_eq!(cfg["Cmd"], serde_json::json!(["node", "/app/app.js"]));
    assert_eq!(cfg["WorkingDir"], "/app");

    // The key: not a byte of it in any layer, no placeholder file (nor the folder made for it),
    // nothing in history or config.
    let files = image_files(image);
    assert!(!files.contains_key("/root/.ssh/id_rsa"), "no placeholder for the MOUNTed key");
    assert!(!files.contains_key("/root/.ssh"), "no folder left where the key was linked in");
    assert_eq!(files.get("/root"), image_files(NODE).get("/root"), "/root as the base image has it");
    let save = Command::new("docker").args(["save", image]).output().unwrap().stdout;
    assert!(!contains(&save, &secret), "the key's bytes are in `docker save`");
    let layers = added_layers(&save, NODE);
    assert!(!layers.is_empty());
    for (names, bytes) in &layers {
        assert!(!names.iter().any(|n| n.ends_with("id_rsa")), "a layer has an entry for the key: {names:?}");
        assert!(!contains(bytes, &secret));
    }
    // History shows the RUN as written (it names /root/.ssh/id_rsa, as a Dockerfile RUN would),
    // but neither the key's host path nor any of its contents.
    let history = docker_str(&["history", "--no-trunc", image]) + &docker_str(&["image", "inspect", image]);
    assert!(!history.contains(&key.display().to_string()), "{history}");
    // ... and reads as the Rockerfile's RUN, as a Dockerfile RUN records it; nothing of rockerc.
    let created_by = docker_str(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", image]);
    assert!(
        created_by.lines().any(|l| l == "/bin/sh -c ssh-keygen -l -f /root/.ssh/id_rsa  && echo \"npm cache holds $(ls -A /root/.npm | wc -l) entries\"  && npm install --no-audit --no-fund"),
        "{created_by}"
    );
    assert!(!history.contains("rockerc-run") && !history.contains("/dev/.rockerc"), "{history}");
    let key_text = String::from_utf8(secret.clone()).unwrap();
    for line in key_text.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!history.contains(line), "a line of the key is in the history or config");
    }

    // The npm cache is a volume that outlives the build: the next build finds it filled.
    let vols = docker_str(&["volume", "ls", "-q"]);
    let cache: Vec<&str> = vols.lines().filter(|v| v.starts_with(&prefix)).collect();
    assert_eq!(cache.len(), 1, "one volume for MOUNT /root/.npm: {vols}");
    let listing = docker_str(&["run", "--rm", "-v", &format!("{}:/cache", cache[0]), BUSYBOX, "ls", "/cache"]);
    assert!(listing.contains("_cacache"), "npm wrote its cache into the volume: {listing}");
    // Same parent, command and mounts: the MOUNTed RUN is a cache hit (mount contents are not part
    // of the key, as in Rocker), and the image does not change.
    let id = image_id(image);
    let cached = run(&[]);
    let log = String::from_utf8_lossy(&cached.stdout);
    assert!(log.lines().any(|l| l.contains("RUN ssh-keygen") && l.contains("(cached,")), "{log}");
    assert_eq!(image_id(image), id);
    // --no-cache runs it again, and it finds what the first build left in the volume.
    let out = run(&["--no-cache", "--verbose"]);
    let log = String::from_utf8_lossy(&out.stdout);
    let entries: usize = log
        .split("npm cache holds ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the RUN reports its cache:\n{log}"));
    assert!(entries > 0, "the second build sees what the first left in the volume:\n{log}");
    assert!(log.contains("added 1 package"), "{log}");
    docker(&["volume", "rm", cache[0]]);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A Rockerfile of its own in a fresh context directory, compiled to build.sh there.
fn inline_example(rockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), rockerfile).unwrap();
    let out = Test::at(dir.path()).arg("Rockerfile").status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    dir
}

#[test]
fn a_mounted_run_leaves_the_config_a_dockerfile_run_leaves() {
    if !engine_or_skip("a_mounted_run_leaves_the_config_a_dockerfile_run_leaves") {
        return;
    }
    // A base with neither CMD nor ENTRYPOINT (`docker commit` alone cannot reproduce that).
    let _g = engine_lock(module_path!());
    let bare = "rockerc-e2e/no-cmd:latest";
    let ctr = docker_str(&["create", BUSYBOX, "true"]);
    let mut export = Command::new("docker").args(["export", &ctr]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    run_ok(Command::new("docker").args(["import", "-", bare]).stdin(export.stdout.take().unwrap()));
    export.wait().unwrap();
    docker(&["rm", &ctr]);

    let body = "ENV GREETING=hello\n\
                LABEL org.example.kind=e2e\n\
                WORKDIR /home/app\n\
                USER app\n\
                SHELL [\"/bin/sh\", \"-e\", \"-c\"]\n";
    let run = "RUN echo \"$GREETING from $(id -un) in $(pwd)\" > out.txt && echo \"$-\" > opts.txt\n";
    for (base, tail) in [(BUSYBOX, "ENTRYPOINT [\"/bin/echo\"]\nCMD [\"default\"]\n"), (BUSYBOX, ""), (bare, ""), (bare, "ENTRYPOINT [\"/bin/echo\"]\n")] {
        let plain = inline_example(&format!("FROM {base}\n{body}{tail}{run}TAG rockerc-e2e/plain-run:latest\n"));
        run_ok(Command::new("sh").arg(plain.path().join("build.sh")));
        let mounted = inline_example(&format!("FROM {base}\n{body}{tail}MOUNT /cache\n{run}TAG rockerc-e2e/mounted-run:latest\n"));
        run_ok(Command::new("sh").arg(mounted.path().join("build.sh")).arg("--no-cache"));

        let (a, b) = (image_config("rockerc-e2e/plain-run:latest"), image_config("rockerc-e2e/mounted-run:latest"));
        for key in ["Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Labels", "Shell", "Volumes", "ExposedPorts", "OnBuild", "StopSignal"] {
            assert_eq!(a[key], b[key], "{key} differs for base {base} with {tail:?}: Dockerfile RUN {} vs MOUNTed RUN {}", a[key], b[key]);
        }
        let files = image_files("rockerc-e2e/mounted-run:latest");
        assert_eq!(file_text(&files, "/home/app/out.txt"), "hello from app in /home/app\n", "WORKDIR, USER and ENV");
        assert!(file_text(&files, "/home/app/opts.txt").contains('e'), "the stage's SHELL (-e)");
        assert_eq!(files["/home/app/out.txt"].uid, 1000, "written as USER app");
        assert!(!files.contains_key("/dev/.rockerc-run") && !files.keys().any(|p| p.contains(".rockerc")));
    }
}

/// A MOUNTed RUN with a file MOUNT (which needs the wrapper that links the file in) leaves the
/// image a Dockerfile RUN leaves: the same history, read as the Rockerfile's instructions, the
/// same config, and no trace of the file: not its placeholder, not the folders made for it.
#[test]
fn a_mounted_file_leaves_no_trace_and_the_history_reads_as_the_rockerfile() {
    if !engine_or_skip("a_mounted_file_leaves_no_trace_and_the_history_reads_as_the_rockerfile") {
        return;
    }
    let _g = engine_lock(module_path!());
    let key = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key.path(), "not a real key\n").unwrap();
    for tail in ["", "ENTRYPOINT [\"/bin/echo\"]\n"] {
        let body = format!("FROM {BUSYBOX}\nWORKDIR /work\n{tail}");
        // The same RUN in both: the MOUNTed one sees the file (15 bytes), the other does not.
        let run = "RUN wc -c < /root/.ssh/id_rsa > out.txt 2>/dev/null || echo none > out.txt\n";
        let plain = inline_example(&format!("{body}{run}TAG rockerc-e2e/plain-file:latest\n"));
        run_ok(Command::new("sh").arg(plain.path().join("build.sh")));
        let mounted =
            inline_example(&format!("{body}MOUNT {}:/root/.ssh/id_rsa\nMOUNT /cache\n{run}TAG rockerc-e2e/mounted-file:latest\n", key.path().display()));
        // The key is outside the build context: whoever runs the build allows it.
        run_ok(Command::new("sh").arg(mounted.path().join("build.sh")).arg("--no-cache").arg("--allow-mount").arg(key.path()));

        // Under BuildKit a Dockerfile RUN reads `RUN /bin/sh -c CMD # buildkit`; a MOUNTed RUN is a
        // `docker commit` under either builder, `/bin/sh -c CMD` (the README says so).
        let history = |image: &str| -> Vec<String> {
            docker_str(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", image])
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.strip_prefix("RUN ").and_then(|l| l.strip_suffix(" # buildkit")).unwrap_or(l).to_string())
                .collect()
        };
        let (a, b) = (history("rockerc-e2e/plain-file:latest"), history("rockerc-e2e/mounted-file:latest"));
        assert_eq!(a, b, "with {tail:?}: the MOUNTed RUN's history differs from the Dockerfile RUN's");
        assert!(b.iter().any(|l| l == &format!("/bin/sh -c {}", run.trim_start_matches("RUN ").trim_end())), "{b:?}");
        let (a, b) = (image_config("rockerc-e2e/plain-file:latest"), image_config("rockerc-e2e/mounted-file:latest"));
        for field in ["Cmd", "Entrypoint", "Env", "WorkingDir"] {
            assert_eq!(a[field], b[field], "{field} with {tail:?}");
        }
        let files = image_files("rockerc-e2e/mounted-file:latest");
        assert_eq!(file_text(&files, "/work/out.txt").trim(), "15", "the RUN saw the MOUNTed file");
        assert_eq!(file_text(&image_files("rockerc-e2e/plain-file:latest"), "/work/out.txt"), "none\n");
        assert!(
            !files.keys().any(|p| p.starts_with("/root/.ssh")),
            "a trace of the MOUNTed file: {:?}",
            files.keys().filter(|p| p.starts_with("/root")).collect::<Vec<_>>()
        );
        assert_eq!(files.get("/root"), image_files(BUSYBOX).get("/root"));
    }
}

#[test]
fn onbuild_triggers_fire_in_child_stages_only() {
    if !engine_or_skip("onbuild_triggers_fire_in_child_stages_only") {
        return;
    }
    let ex = inline_example(&format!(
        "FROM {BUSYBOX} AS base\n\
         ONBUILD RUN echo fired > /fired\n\
         RUN echo one > /one\n\
         TAG rockerc-e2e/onbuild-base:latest\n\
         MOUNT /cache\n\
         RUN test ! -e /fired && echo two > /two\n\
         \n\
         FROM base\n\
         MOUNT /cache\n\
         RUN test -e /fired && echo child > /child\n\
         TAG rockerc-e2e/onbuild-child:latest\n\
         \n\
         FROM rockerc-e2e/onbuild-base\n\
         RUN test -e /fired\n\
         TAG rockerc-e2e/onbuild-tagged-child:latest\n"
    ));
    run_ok(Command::new("sh").arg(ex.path().join("build.sh")).arg("--no-cache"));
    // The stage that declares the trigger never ran it, though it was built in several steps.
    let base = image_files("rockerc-e2e/onbuild-base:latest");
    assert!(base.contains_key("/one") && !base.contains_key("/fired"));
    assert_eq!(image_config("rockerc-e2e/onbuild-base:latest")["OnBuild"], serde_json::json!(["RUN echo fired > /fired"]));
    // Children fire it, also when their first step is a MOUNTed RUN.
    let child = image_files("rockerc-e2e/onbuild-child:latest");
    assert!(child.contains_key("/fired") && child.contains_key("/two") && child.contains_key("/child"));
    assert!(image_config("rockerc-e2e/onbuild-child:latest")["OnBuild"].is_null());
    assert!(image_files("rockerc-e2e/onbuild-tagged-child:latest").contains_key("/fired"));
}

#[test]
fn import_into_a_mounted_directory_lands_on_the_host() {
    if !engine_or_skip("import_into_a_mounted_directory_lands_on_the_host") {
        return;
    }
    let ex = Example::new("import-to-host");
    ex.compile(&[]);
    ex.build(&[]);
    let dist = ex.path().join("dist");
    assert_eq!(std::fs::read_to_string(dist.join("report.txt")).unwrap(), "all tests passed\n");
    assert_eq!(std::fs::read_to_string(dist.join("logs/unit.log")).unwrap(), "ok\n");
    // The image is the base, untouched: the files went to the mount, not into a layer.
    assert_eq!(image_id("rockerc-golden/import-to-host:latest"), image_id(BUSYBOX));
}

#[test]
fn independent_stages_build_at_the_same_time() {
    if !engine_or_skip("independent_stages_build_at_the_same_time") {
        return;
    }
    let ex = Example::new("parallel-builders");
    let script = ex.compile(&[]);
    assert!(script.contains("  rc_level 1 2\n"), "stages 1 and 2 share a level:\n{script}");
    let span = |files: &std::collections::BTreeMap<String, Entry>, who: &str| -> (u64, u64) {
        let n = |p: &str| file_text(files, &format!("/srv/from-{who}/{who}.{p}")).trim().parse::<u64>().unwrap();
        (n("start"), n("end"))
    };
    for (jobs, overlap) in [("2", true), ("1", false)] {
        ex.build(&["--no-cache", "--jobs", jobs]);
        let files = image_files("rockerc-golden/parallel:latest");
        let (l, r) = (span(&files, "left"), span(&files, "right"));
        let overlapped = l.0 < r.1 && r.0 < l.1;
        assert_eq!(overlapped, overlap, "--jobs {jobs}: left ran {l:?}, right ran {r:?}");
    }
}

#[test]
fn a_no_op_rebuild_is_detected_and_any_change_rebuilds() {
    if !engine_or_skip("a_no_op_rebuild_is_detected_and_any_change_rebuilds") {
        return;
    }
    let _g = engine_lock(module_path!());
    // A base image of our own, so the test can change it.
    let base = "rockerc-e2e/fast-base:latest";
    let ctr = docker_str(&["create", BUSYBOX, "true"]);
    docker(&["commit", &ctr, base]);
    docker(&["rm", &ctr]);
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.txt"), "one\n").unwrap();
    std::fs::create_dir(dir.path().join("mnt")).unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/a.conf"), "a\n").unwrap();
    std::fs::write(
        dir.path().join("Rockerfile"),
        format!("FROM {base}\nCOPY input.txt /input.txt\nCOPY conf /conf\nMOUNT $MNT_DIR:/mnt\nRUN ls /mnt > /listing\nTAG rockerc-e2e/fast:latest\n"),
    )
    .unwrap();
    let out = Test::at(dir.path()).arg("Rockerfile").status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let build = |args: &[&str], mnt: &str| -> String {
        let out = Command::new("sh")
            .arg(dir.path().join("build.sh"))
            .args(args)
            .env("XDG_CACHE_HOME", cache.path())
            .env("MNT_DIR", dir.path().join(mnt))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let up_to_date = |log: &str| log.starts_with("up to date");
    assert!(!up_to_date(&build(&[], "mnt")), "the first build builds");
    assert!(up_to_date(&build(&[], "mnt")), "nothing changed");
    // A changed input file.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(dir.path().join("input.txt"), "two\n").unwrap();
    assert!(!up_to_date(&build(&[], "mnt")));
    assert_eq!(file_text(&image_files("rockerc-e2e/fast:latest"), "/input.txt"), "two\n");
    assert!(up_to_date(&build(&[], "mnt")));
    // A file the build does not read changes nothing; one added to a directory it COPYs does.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(dir.path().join("unrelated.txt"), "x").unwrap();
    assert!(up_to_date(&build(&[], "mnt")));
    std::fs::write(dir.path().join("conf/new.conf"), "x").unwrap();
    assert!(!up_to_date(&build(&[], "mnt")));
    assert!(image_files("rockerc-e2e/fast:latest").contains_key("/conf/new.conf"));
    assert!(up_to_date(&build(&[], "mnt")));
    // Another MOUNT source, through the environment.
    std::fs::create_dir(dir.path().join("mnt2")).unwrap();
    assert!(!up_to_date(&build(&[], "mnt2")));
    assert!(up_to_date(&build(&[], "mnt2")));
    // A changed base image.
    let ctr = docker_str(&["create", base, "true"]);
    docker(&["commit", "--change", "ENV CHANGED=1", &ctr, base]);
    docker(&["rm", &ctr]);
    assert!(!up_to_date(&build(&[], "mnt2")));
    assert!(up_to_date(&build(&[], "mnt2")));
    // A missing output.
    docker(&["rmi", "rockerc-e2e/fast:latest"]);
    assert!(!up_to_date(&build(&[], "mnt2")));
    assert!(image_files("rockerc-e2e/fast:latest").contains_key("/listing"));
    // Options that must build.
    assert!(!up_to_date(&build(&["--no-cache"], "mnt2")));
}

#[test]
fn a_mounted_run_sees_args_as_docker_expands_them() {
    if !engine_or_skip("a_mounted_run_sees_args_as_docker_expands_them") {
        return;
    }
    // Defaults are expanded; an ENV of the same name wins over the ARG (the legacy builder's
    // rule), whether the stage or the base image set it; --build-arg overrides a default.
    let ex = inline_example(&format!(
        "FROM {BUSYBOX}\nENV FROM_ENV=env HOME_BASE=/root\nARG A=1\nARG B=\"${{A}}y\"\nARG FROM_ENV=arg\nARG OVER=default\nARG HOME=/nowhere\n\
         MOUNT /cache\nRUN echo \"$A $B $FROM_ENV $OVER $HOME\" > /seen\nTAG rockerc-e2e/argenv:latest\n"
    ));
    let out = Test::at(ex.path()).args(["--build-arg", "OVER=given", "Rockerfile"]).status(0).run();
    std::fs::write(ex.path().join("build.sh"), out.stdout).unwrap();
    let cache = tempfile::tempdir().unwrap();
    run_ok(Command::new("sh").arg(ex.path().join("build.sh")).arg("--no-cache").env("XDG_CACHE_HOME", cache.path()));
    // HOME is not in the image's config (Docker adds it when a container starts): the ARG wins,
    // as a Dockerfile RUN on the legacy builder shows.
    assert_eq!(file_text(&image_files("rockerc-e2e/argenv:latest"), "/seen"), "1 1y env given /nowhere\n");
}

// ---------------------------------------------------------------------------------------------
// `rockerc build`, and what the script shows a person

fn path_of_tools() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // What `rockerc build` checks for, and nothing else.
    for (tool, _) in rockerc::cli::TOOLS {
        let found = run_ok(Command::new("sh").arg("-c").arg(format!("command -v {tool}")));
        std::os::unix::fs::symlink(stdout(&found).trim(), dir.path().join(tool)).unwrap();
    }
    dir
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

/// `rocker build` with one word changed: Rocker's spellings, a flag rockerc has no use for, the
/// context as the argument; and only the programs rockerc checks for on PATH.
#[test]
fn rockerc_build_builds_a_golden_example_with_rockers_spellings() {
    if !engine_or_skip("rockerc_build_builds_a_golden_example_with_rockers_spellings") {
        return;
    }
    // It removes the image it built, and with it the cached steps other builds of the example share.
    let ex = Example::exclusive("template-service");
    let version = format!("cli{}", std::process::id());
    let image = format!("rockerc-golden/template-service:{version}-cli");
    let (tmp, cache, path) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), path_of_tools());
    let out = rockerc()
        .current_dir(ex.path())
        .args(["build", "-f", "Rockerfile", "-vars", "vars.yml", "-var", &format!("Version={version}"), "-var", "Branch=cli", "--no-garbage", "."])
        .env("PATH", path.path())
        .env("TMPDIR", tmp.path())
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .unwrap();
    let (log, err) = (stdout(&out), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{log}\n{err}");
    assert!(err.starts_with("rockerc: note: --no-garbage: rockerc leaves no containers behind;"), "{err}");
    // The first line says which builder the script picked; the steps follow.
    assert!(log.starts_with("builder: "), "{log}");
    assert!(log.lines().nth(1).is_some_and(|l| l.starts_with("[1/")), "{log}");
    assert!(log.contains(&format!("{image} ")), "the size table names the image:\n{log}");
    let files = image_files(&image);
    assert_eq!(files["/usr/local/bin/greeter"].kind, 'f');
    assert_eq!(file_text(&files, "/etc/greeter/RELEASE"), format!("no release notes for {version}\n"));
    assert!(entries(tmp.path()).is_empty(), "left in TMPDIR: {:?}", entries(tmp.path()));
    docker(&["rmi", &image]);
}

/// The script's exit status is rockerc's; the failing step and its Rockerfile line are named
/// (here in a stage continued after a TAG, whose Dockerfile starts with ARG lines).
#[test]
fn rockerc_build_fails_with_the_script_and_names_the_line() {
    if !engine_or_skip("rockerc_build_fails_with_the_script_and_names_the_line") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("rockerc-e2e/cli-fails-{}", std::process::id());
    std::fs::write(dir.path().join("Rockerfile"), format!("FROM {BUSYBOX}\nRUN echo one\nTAG {tag}\nENV A=1\nRUN echo two; \\\n  exit 4\nRUN echo three\n"))
        .unwrap();
    let (tmp, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = rockerc().current_dir(dir.path()).args(["build", "--no-cache"]).env("TMPDIR", tmp.path()).env("XDG_CACHE_HOME", cache.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    // rockerc build streams the RUNs' output as it runs (issue 20, as rocker build did), so
    // Docker's own last lines are on stdout already, not repeated; the failing step and its
    // Rockerfile line are named as without streaming.
    assert_eq!(
        lines[..2],
        ["rockerc: error: step 2 failed: Rockerfile:4-7 ENV, RUN (3 instructions)", "rockerc: docker build exited with an error at Rockerfile:5-6",],
        "{err}"
    );
    // The legacy builder's last line, or BuildKit's.
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("The command '/bin/sh -c echo two;   exit 4' returned a non-zero code: 4")
            || log.contains("executor failed running [/bin/sh -c echo two;   exit 4]: exit code: 4"),
        "{log}"
    );
    assert!(entries(tmp.path()).is_empty(), "left in TMPDIR: {:?}", entries(tmp.path()));
    assert!(Command::new("docker").args(["image", "inspect", &tag]).output().unwrap().status.code() != Some(0), "a failed build tags nothing");
}

/// Times vary: `(1.3s)`, `(cached, 0.2s)` and `built in 2.4s` become `T.Ts`.
fn mask(log: &str) -> String {
    let time = |w: &str| {
        w.strip_suffix('s')
            .and_then(|n| n.split_once('.'))
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && (a.to_owned() + b).bytes().all(|c| c.is_ascii_digit()))
    };
    let mut out = String::new();
    for line in log.lines() {
        let words: Vec<String> = line
            .split(' ')
            .map(|w| {
                let core = w.trim_start_matches('(').trim_end_matches(')');
                if time(core) {
                    w.replace(core, "T.Ts")
                } else {
                    w.to_string()
                }
            })
            .collect();
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}

#[test]
fn the_script_shows_steps_with_times_a_size_table_and_the_total() {
    if !engine_or_skip("the_script_shows_steps_with_times_a_size_table_and_the_total") {
        return;
    }
    let tag = format!("rockerc-e2e/cli-output-{}:latest", std::process::id());
    let ex = inline_example(&format!(
        "FROM {BUSYBOX} AS build\nRUN printf 0123456789 > /ten\nEXPORT /ten\n\nFROM {BUSYBOX}\nIMPORT ten /\nMOUNT /cache\nRUN cp /ten /twenty && cat /ten >> /twenty\nTAG {tag}\n"
    ));
    let cache = tempfile::tempdir().unwrap();
    let build = |args: &[&str]| run_ok(Command::new("sh").arg(ex.path().join("build.sh")).args(args).env("XDG_CACHE_HOME", cache.path()));
    let out = build(&["--no-cache", "-j", "1"]);
    let size = docker_str(&["image", "inspect", "--format", "{{.Size}}", &tag]).parse::<f64>().unwrap();
    let shown = format!("{:.1} MB", size / 1e6);
    let id = docker_str(&["image", "inspect", "--format", "{{.Id}}", &tag]);
    // Not on a terminal: a line when each step starts (issue 21), the finished line when it ends,
    // and the final image's id last, the line scripts around Rocker read (issue 20).
    // First the builder the script picked (either, auto or DOCKER_BUILDKIT's: the builder module
    // picks), then the steps.
    let shown_out = mask(&stdout(&out));
    let (first, rest) = shown_out.split_once('\n').unwrap_or_default();
    assert!(first.starts_with("builder: BuildKit (") || first.starts_with("builder: legacy ("), "{shown_out}");
    assert_eq!(
        rest,
        format!(
            "[1/4] Rockerfile:1-2 RUN printf 0123456789 > /ten ...\n\
             [1/4] Rockerfile:1-2 RUN printf 0123456789 > /ten (T.Ts)\n\
             [2/4] Rockerfile:3 EXPORT /ten ...\n\
             [2/4] Rockerfile:3 EXPORT /ten (T.Ts)\n\
             [3/4] Rockerfile:5-6 IMPORT ten / ...\n\
             [3/4] Rockerfile:5-6 IMPORT ten / (T.Ts)\n\
             [4/4] Rockerfile:8 RUN cp /ten /twenty && cat /ten >> /twenty ...\n\
             [4/4] Rockerfile:8 RUN cp /ten /twenty && cat /ten >> /twenty (T.Ts)\n\
             \n\
             STEP          ADDED  WHERE\n\
             1             +10 B  Rockerfile:1-2 RUN printf 0123456789 > /ten\n\
             3             +10 B  Rockerfile:5-6 IMPORT ten /\n\
             4             +20 B  Rockerfile:8 RUN cp /ten /twenty && cat /ten >> /twenty\n\
             \n\
             IMAGE                                                          SIZE\n\
             {tag:<56} {shown:>10}\n\
             \n\
             built in T.Ts\n\
             Successfully built {id}\n"
        )
    );
    // Again: the MOUNTed RUN comes from its cache, and says so.
    docker(&["rmi", &tag]);
    let again = mask(&stdout(&build(&[])));
    assert!(again.contains("[4/4] Rockerfile:8 RUN cp /ten /twenty && cat /ten >> /twenty (cached, T.Ts)\n"), "{again}");
    // --quiet: nothing but errors and, as `docker build -q`, the final image's id; --verbose:
    // Docker's own output too.
    let quiet = stdout(&build(&["--quiet", "--no-cache"]));
    assert_eq!(quiet, format!("{}\n", docker_str(&["image", "inspect", "--format", "{{.Id}}", &tag])));
    // (the step's log, BuildKit's progress from stderr too, streams to stdout)
    let verbose = stdout(&build(&["--verbose", "--no-cache"]));
    assert!(verbose.contains("Step 2/2 : RUN printf 0123456789 > /ten") || verbose.contains("[2/2] RUN printf 0123456789 > /ten"), "{verbose}");
    assert!(verbose.contains("[1/4] Rockerfile:1-2"), "{verbose}");
    docker(&["rmi", &tag]);
}

/// The no-op fast path says "up to date" only when a full build would make the same image: a
/// .dockerignore that came or went, an input replaced by content with an old mtime (`cp -p`,
/// `tar -x`), another checkout compiled with the same --id, another --context. With GNU tools
/// (find -cnewer) and with BusyBox's (a checksum of each input's stat).
#[test]
fn the_no_op_sees_whatever_a_full_build_would_see() {
    if !engine_or_skip("the_no_op_sees_whatever_a_full_build_would_see") {
        return;
    }
    let busybox = busybox_path();
    for tools in ["gnu", "busybox"] {
        let root = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let image = format!("rockerc-e2e/noop-{tools}-{}:latest", std::process::id());
        let checkout = |name: &str, main: &str| -> std::path::PathBuf {
            let ctx = root.path().join(name);
            std::fs::create_dir_all(ctx.join("app")).unwrap();
            std::fs::write(ctx.join("app/main.txt"), main).unwrap();
            std::fs::write(ctx.join("app/secret.env"), "TOKEN=1\n").unwrap();
            std::fs::write(ctx.join("Rockerfile"), format!("FROM {BUSYBOX}\nCOPY app /app\nTAG {image}\n")).unwrap();
            let out = Test::at(&ctx).args(["--id", &format!("noop-{tools}-{}", std::process::id()), "Rockerfile"]).status(0).run();
            std::fs::write(ctx.join("build.sh"), out.stdout).unwrap();
            ctx
        };
        let build = |ctx: &std::path::Path, args: &[&str]| -> bool {
            let mut cmd = if tools == "busybox" { Command::new(busybox.path().join("sh")) } else { Command::new("sh") };
            if tools == "busybox" {
                cmd.env("PATH", busybox.path());
            }
            let out = cmd.arg(ctx.join("build.sh")).args(args).env("XDG_CACHE_HOME", cache.path()).output().unwrap();
            assert!(out.status.success(), "{tools}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).starts_with("up to date")
        };
        let a = checkout("a", "one\n");
        assert!(!build(&a, &[]), "{tools}: the first build builds");
        assert!(build(&a, &[]), "{tools}: nothing changed");

        // A .dockerignore that excludes an input, and one that goes away.
        std::fs::write(a.join(".dockerignore"), "app/secret.env\n").unwrap();
        assert!(!build(&a, &[]), "{tools}: a new .dockerignore");
        assert!(!image_files(&image).contains_key("/app/secret.env"), "{tools}: the image keeps the excluded file");
        assert!(build(&a, &[]));
        std::fs::remove_file(a.join(".dockerignore")).unwrap();
        assert!(!build(&a, &[]), "{tools}: a removed .dockerignore");
        assert!(image_files(&image).contains_key("/app/secret.env"));
        assert!(build(&a, &[]));

        // The same size, an old mtime: what `cp -p`, `tar -x` or `rsync -a` leave.
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        let was = std::fs::metadata(a.join("app/main.txt")).unwrap().modified().unwrap();
        std::fs::write(a.join("app/main.txt"), "two\n").unwrap();
        std::fs::File::options().write(true).open(a.join("app/main.txt")).unwrap().set_modified(was).unwrap();
        assert!(!build(&a, &[]), "{tools}: content replaced with the old mtime kept");
        assert_eq!(file_text(&image_files(&image), "/app/main.txt"), "two\n");
        assert!(build(&a, &[]));
        let elsewhere = root.path().join("old.txt");
        std::fs::write(&elsewhere, "six\n").unwrap();
        std::fs::File::options().write(true).open(&elsewhere).unwrap().set_modified(old).unwrap();
        run_ok(Command::new("cp").arg("-p").arg(&elsewhere).arg(a.join("app/main.txt")));
        assert!(!build(&a, &[]), "{tools}: cp -p of an older file");
        assert_eq!(file_text(&image_files(&image), "/app/main.txt"), "six\n");
        assert!(build(&a, &[]));

        // Another checkout compiled with the same --id, and --context pointed at it.
        let b = checkout("b", "bee\n");
        assert!(!build(&b, &[]), "{tools}: another checkout with the same --id took A's stamp");
        assert_eq!(file_text(&image_files(&image), "/app/main.txt"), "bee\n");
        let c = checkout("c", "sea\n");
        assert!(!build(&a, &["--context", c.to_str().unwrap()]), "{tools}: --context pointed elsewhere took A's stamp");
        assert_eq!(file_text(&image_files(&image), "/app/main.txt"), "sea\n");
        assert!(!build(&a, &[]), "{tools}: back to A's own context");
        assert_eq!(file_text(&image_files(&image), "/app/main.txt"), "six\n");

        // An input changed while the build ran, after its step had read it (here by the build
        // itself, through a MOUNT of the context): the stamp says what the build read, so the
        // next run builds, and its image has what a full build copies.
        let d = root.path().join("d");
        std::fs::create_dir_all(d.join("app")).unwrap();
        std::fs::write(d.join("app/main.txt"), "read\n").unwrap();
        std::fs::write(
            d.join("Rockerfile"),
            format!("FROM {BUSYBOX}\nCOPY app/main.txt /f\nMOUNT ./app:/app\nRUN echo written-after > /app/main.txt\nTAG {image}\n"),
        )
        .unwrap();
        let out = run_ok(rockerc().current_dir(&d).args(["--id", &format!("noop-d-{tools}-{}", std::process::id()), "Rockerfile"]));
        std::fs::write(d.join("build.sh"), out.stdout).unwrap();
        assert!(!build(&d, &[]));
        assert_eq!(file_text(&image_files(&image), "/f"), "read\n");
        assert!(!build(&d, &[]), "{tools}: the input changed after the build read it, and the next run said up to date");
        assert_eq!(file_text(&image_files(&image), "/f"), "written-after\n");
        docker(&["rmi", &image]);
    }
}

/// `COPY --from=IMAGE` of an image outside the Rockerfile reads that image: when the name moves
/// to another image (a tool image retagged), the no-op fast path builds again.
#[test]
fn the_no_op_sees_a_copy_from_image_that_moved() {
    if !engine_or_skip("the_no_op_sees_a_copy_from_image_that_moved") {
        return;
    }
    let n = unique("rt12-copyfrom-");
    let tool = format!("rockerc-e2e/{n}-tool:1");
    let image = format!("rockerc-e2e/{n}:1");
    let make_tool = |v: &str| {
        let mut child = Command::new("docker")
            .args(["build", "-q", "-t", &tool, "-"])
            .env("DOCKER_BUILDKIT", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(format!("FROM {BUSYBOX}\nRUN echo {v} > /tool\n").as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
    };
    make_tool(&format!("one-{n}"));
    let ex = inline_example(&format!("FROM {BUSYBOX}\nCOPY --from={tool} /tool /tool\nTAG {image}\n"));
    let cache = tempfile::tempdir().unwrap();
    let build = || {
        let out = Command::new("sh").arg(ex.path().join("build.sh")).env("XDG_CACHE_HOME", cache.path()).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).starts_with("up to date")
    };
    assert!(!build());
    assert!(build(), "nothing changed");
    make_tool(&format!("two-{n}"));
    assert!(!build(), "the COPY --from image moved, and the next run said up to date");
    assert_eq!(file_text(&image_files(&image), "/tool"), format!("two-{n}\n"));
    docker(&["rmi", &image, &tool]);
}

/// A base image's `ONBUILD COPY . /app` (the `*:onbuild` images) reads the build context as
/// `docker build` sends it: all of it, and nothing of rockerc's own. Also when the stage starts
/// with a MOUNTed RUN. A change anywhere in the context is then a change to the build.
#[test]
fn an_onbuild_copy_of_the_base_image_sees_the_context_docker_build_sends() {
    if !engine_or_skip("an_onbuild_copy_of_the_base_image_sees_the_context_docker_build_sends") {
        return;
    }
    let n = unique("rt12-onbuild-");
    let base = format!("rockerc-e2e/{n}-base:1");
    let root = tempfile::tempdir().unwrap();
    let (b, ctx) = (root.path().join("base"), root.path().join("ctx"));
    std::fs::create_dir_all(&b).unwrap();
    std::fs::create_dir_all(ctx.join("src")).unwrap();
    std::fs::write(b.join("Dockerfile"), format!("FROM {BUSYBOX}\nONBUILD COPY . /app\n")).unwrap();
    run_ok(Command::new("docker").args(["build", "-q", "-t", &base]).arg(&b).env("DOCKER_BUILDKIT", "0"));
    std::fs::write(ctx.join("src/main.c"), "int main(){}\n").unwrap();
    std::fs::write(ctx.join("VERSION"), "1\n").unwrap();
    let tags = [format!("rockerc-e2e/{n}-copy:1"), format!("rockerc-e2e/{n}-mounted:1"), format!("rockerc-e2e/{n}-docker:1")];
    std::fs::write(ctx.join("Rockerfile"), format!("FROM {base}\nCOPY VERSION /VERSION\nTAG {}\n", tags[0])).unwrap();
    std::fs::write(ctx.join("Rockerfile.m"), format!("FROM {base}\nMOUNT /cache\nRUN true\nTAG {}\n", tags[1])).unwrap();
    std::fs::write(root.path().join("Dockerfile"), format!("FROM {base}\nCOPY VERSION /VERSION\n")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let build = |rockerfile: &str| -> bool {
        let script = run_ok(rockerc().current_dir(root.path()).args(["--id", &format!("{n}-{rockerfile}")]).arg(format!("ctx/{rockerfile}"))).stdout;
        std::fs::write(root.path().join("build.sh"), script).unwrap();
        let out = Command::new("sh").arg(root.path().join("build.sh")).env("XDG_CACHE_HOME", cache.path()).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).starts_with("up to date")
    };
    assert!(!build("Rockerfile"));
    assert!(!build("Rockerfile.m"));
    run_ok(Command::new("docker").args(["build", "-q", "-t", &tags[2], "-f"]).arg(root.path().join("Dockerfile")).arg(&ctx).env("DOCKER_BUILDKIT", "0"));
    let app = |image: &str| -> Vec<String> { image_files(image).keys().filter(|k| k.starts_with("/app/")).cloned().collect() };
    let want = app(&tags[2]);
    assert!(want.contains(&"/app/src/main.c".to_string()) && want.contains(&"/app/Rockerfile.m".to_string()), "{want:?}");
    assert_eq!(app(&tags[0]), want, "ONBUILD COPY . /app in a stage that starts with a COPY");
    assert_eq!(app(&tags[1]), want, "ONBUILD COPY . /app in a stage that starts with a MOUNTed RUN");
    // Every file of the context is an input now, not only those the Rockerfile names.
    assert!(build("Rockerfile"), "nothing changed");
    std::fs::write(ctx.join("src/main.c"), "int main(){return 1;}\n").unwrap();
    assert!(!build("Rockerfile"), "a file only the ONBUILD COPY reads changed, and the next run said up to date");
    assert_eq!(file_text(&image_files(&tags[0]), "/app/src/main.c"), "int main(){return 1;}\n");
    for t in tags.iter().chain([&base]) {
        docker(&["rmi", t]);
    }
}

/// golden/include: REQUIRE and INCLUDE build for real. The shared fragment's lines (and the
/// nested one's) are in both images; a second run is a no-op; an edit of a fragment (not of the
/// Rockerfile) stops the script, which names the fragment and says how to compile again.
#[test]
fn include_builds_the_fragments_and_watches_them() {
    if !engine_or_skip("include_builds_the_fragments_and_watches_them") {
        return;
    }
    let ex = Example::new("include");
    run_ok(rockerc().current_dir(ex.path()).args(["--vars", "vars.yml", "-o", "out", "Rockerfile"]));
    let cache = tempfile::tempdir().unwrap();
    let sh = || Command::new("sh").arg(ex.path().join("out/build.sh")).env("XDG_CACHE_HOME", cache.path()).current_dir("/").output().unwrap();
    let text = |o: &std::process::Output| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let first = sh();
    assert!(first.status.success(), "{}", text(&first));
    let image = "rockerc-golden/include:1.4";
    let cfg = image_config(image);
    assert_eq!(cfg["Labels"]["org.example.version"], "1.4", "the fragment was rendered with the Rockerfile's variables");
    assert_eq!(cfg["WorkingDir"], "/opt/app", "the nested fragment's WORKDIR");
    assert!(cfg["Env"].as_array().unwrap().iter().any(|e| e == "APP_HOME=/opt/app"));
    assert_eq!(docker_str(&["run", "--rm", image]), "built 1.4");
    let again = sh();
    assert!(text(&again).contains("up to date"), "{}", text(&again));

    let fragment = ex.path().join("common/user.inc");
    std::fs::write(&fragment, "WORKDIR /srv\n").unwrap();
    let stale = sh();
    let said = text(&stale);
    assert_eq!(stale.status.code(), Some(1), "{said}");
    assert!(said.contains("common/user.inc has changed since this script was compiled from it"), "{said}");
}
