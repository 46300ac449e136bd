//! podman as the docker CLI (issue 17): the generated script run with a `docker` that is podman
//! (rootful, with its own storage), compared with the same script run on Docker.
//!
//! Every golden example is compiled twice (its TAG names moved under
//! `rockerc-podman/<pid>-<n>-docker/` and `.../-podman/`) and built once on the Docker engine and
//! once with a private directory first on PATH whose `docker` execs podman, as Fedora's
//! podman-docker does (the system's `docker` is left alone). Each image podman TAGs is then
//! `podman save`d and `docker load`ed into the Docker engine, and compared there with Docker's
//! by the differential test's helpers: every file (path, type, mode, owner, size, content, link)
//! of a container of it, and the config keys `differential::CONFIG_KEYS`, as Docker reads them
//! (podman's own inspect has no Shell or OnBuild). What the builds wrote on the host is
//! compared too. `PODMAN_KNOWN` lists the differences podman itself makes, each with its reason.
//!
//! podman comes from `sh tests/setup.sh podman` (Debian's package; the ulimits and registry
//! settings these machines need; the base images copied in from Docker). Without podman the
//! tests say loudly that they skip; with `ROCKERC_E2E=require` (.ci/run) they fail.

use crate::common::*;
use crate::differential::{copy_golden, example_env, host_tree, image_tree, tree_differences_of, FileInfo, CONFIG_KEYS, FEATURES, KNOWN_DIFFERENCES};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Every golden example: each is built by both engines.
const GOLDEN: &[&str] = &[
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

/// What podman itself makes differently, whatever the script does: (example or `*`, the start
/// of the difference's text, why). Narrow on purpose.
const PODMAN_KNOWN: &[(&str, &str, &str)] = &[(
    "attach",
    "attach:latest: config ",
    "its MOUNTed RUN runs on rockerc-test/busybox, an image with no ENV at all: Docker's commit keeps Env null and WorkingDir \"\", \
     podman's commit writes WorkingDir \"/\" and Entrypoint [], and the build that clears those (any instruction in a podman \
     build) adds the default PATH, as Docker's own builds do (see docs/engines.md)",
)];

/// Two values of a config key are the same, where an empty list or map and none are one: Docker's
/// BuildKit writes none (null) where the legacy builder, `docker commit` and podman write `[]` or
/// `{}` (Entrypoint, Volumes, OnBuild, Labels); both mean none to every engine. Any other
/// difference counts.
fn same_config_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let empty = |v: &serde_json::Value| v.is_null() || v.as_object().is_some_and(|o| o.is_empty()) || v.as_array().is_some_and(|a| a.is_empty());
    a == b || (empty(a) && empty(b))
}

/// Whether a file difference is podman's own: an empty `/run` in an image whose base has none,
/// which podman's build leaves behind every RUN (the mount point of /run/.containerenv; buildah
/// issues #3525 and #6233), in Dockerfile RUNs as in the script's MOUNTed ones.
fn podman_leaves(path: &str, docker: &BTreeMap<String, FileInfo>, podman: &BTreeMap<String, FileInfo>) -> bool {
    path == "/run" && !docker.contains_key("/run") && podman.get("/run").is_some_and(|f| f.kind == 'd') && !podman.keys().any(|p| p.starts_with("/run/"))
}

/// A directory whose `docker` is podman, for PATH; `None` when podman is missing (said loudly, or
/// a failure with `ROCKERC_E2E=require`). The base images the Rockerfile names are copied into
/// podman first.
fn podman_or_skip(test: &str, rockerfile: &str) -> Option<tempfile::TempDir> {
    if !engine_or_skip(test) {
        return None;
    }
    let works = Command::new("podman").args(["info", "--format", "{{.Store.GraphRoot}}"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !works.is_ok_and(|s| s.success()) {
        let why = "podman is not installed or does not work (sh tests/setup.sh podman installs and configures it)";
        if std::env::var("ROCKERC_E2E").as_deref() == Ok("require") {
            panic!("podman test {test} cannot run: {why}");
        }
        eprintln!("\n*** PODMAN TEST SKIPPED: {test}: {why} ***\n*** (set ROCKERC_E2E=require to make this a failure) ***\n");
        return None;
    }
    need_images_for(rockerfile);
    let images: Vec<&str> = ["busybox", "builder", "node"].into_iter().filter(|i| rockerfile.contains(&format!("rockerc-test/{i}"))).collect();
    {
        // One copy at a time (the node image is 1.1 GB).
        static COPYING: Mutex<()> = Mutex::new(());
        let _one = COPYING.lock().unwrap_or_else(|e| e.into_inner());
        run_ok(Command::new("sh").arg(repo_root().join("tests/setup.sh")).arg("podman").args(&images));
    }
    let dir = tempfile::Builder::new().prefix("rockerc-podman-path-").tempdir().unwrap();
    let shim = dir.path().join("docker");
    std::fs::write(&shim, "#!/bin/sh\nexec podman \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    Some(dir)
}

/// PATH with `dir` first.
fn path_with(dir: &Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

fn podman_str(args: &[&str]) -> String {
    String::from_utf8(run_ok(Command::new("podman").args(args)).stdout).unwrap().trim().to_string()
}

/// The prefix of the MOUNT volumes of build id `id` (the runtime's rc_volume_name).
fn volume_prefix(id: &str) -> String {
    let hash = String::from_utf8(run_ok(Command::new("sh").arg("-c").arg("printf %s \"$1\" | sha256sum | cut -c 1-32").arg("sh").arg(id)).stdout).unwrap();
    format!("rockerc_{}_", hash.trim())
}

/// Removes what one comparison made, on both engines: tags, loaded copies, MOUNT volumes.
struct Cleanup {
    marker: String,
    volume_prefix: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let quiet = |cmd: &str, args: &[&str]| {
            let _ = Command::new(cmd).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status();
        };
        for engine in ["docker", "podman"] {
            let images = Command::new(engine)
                .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            for image in images.lines().filter(|i| i.contains(&self.marker)) {
                quiet(engine, &["rmi", image]);
            }
            let volumes =
                Command::new(engine).args(["volume", "ls", "-q"]).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
            for v in volumes.lines().filter(|v| v.starts_with(&self.volume_prefix)) {
                quiet(engine, &["volume", "rm", v]);
            }
        }
    }
}

/// Tags under `prefix` on an engine, keyed by what follows it (podman's names may start with
/// `localhost/`).
fn tags_under(engine: &str, prefix: &str) -> BTreeMap<String, String> {
    // podman's `images` fails ("image not known") when another test removes an image while it
    // lists them (its storage has no daemon to order the two): asked again.
    let args = ["images", "--format", "{{.Repository}}:{{.Tag}}"];
    let out = match (0..4).map(|_| Command::new(engine).args(args).output().unwrap()).find(|o| o.status.success()) {
        Some(o) => o.stdout,
        None => run_ok(Command::new(engine).args(args)).stdout,
    };
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter_map(|i| {
            let at = i.find(prefix)?;
            let key = format!("{}{}", &i[..at], &i[at + prefix.len()..]);
            Some((key.trim_start_matches("localhost/").to_string(), i.to_string()))
        })
        .collect()
}

/// The image config's keys as Docker reads them, podman's `io.buildah.version` label aside.
fn config_of(image: &str) -> serde_json::Value {
    let mut config = image_config(image);
    if let Some(labels) = config.get_mut("Labels").and_then(|l| l.as_object_mut()) {
        labels.remove("io.buildah.version");
        if labels.is_empty() {
            config["Labels"] = serde_json::Value::Null;
        }
    }
    config
}

/// A finished build of one engine: its directory (the build context) and its output.
struct Built {
    dir: tempfile::TempDir,
    log: String,
}

/// Compiles what `make` writes into a fresh directory (TAG names moved under `prefix`) and runs
/// the script: on Docker, or with podman as `docker` when `shim` is given.
fn build_with(name: &str, make: &dyn Fn(&Path), prefix: &str, id: &str, args: &[String], env: &[(String, String)], shim: Option<&Path>) -> Built {
    let dir = tempfile::Builder::new().prefix(&format!("rockerc-podman-{name}-")).tempdir().unwrap();
    make(dir.path());
    let rockerfile = std::fs::read_to_string(dir.path().join("Rockerfile")).unwrap();
    std::fs::write(dir.path().join("Rockerfile"), rockerfile.replace("rockerc-golden/", prefix)).unwrap();
    let out = env.iter().fold(Test::at(dir.path()).env_clear(), |t, (k, v)| t.env(k, v)).args(["--id", id]).args(args).arg("Rockerfile").status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let log = run_build(dir.path(), shim, &[], None);
    Built { dir, log }
}

/// Runs `sh build.sh EXTRA...` in `dir` (with podman as `docker` when `shim` is given) and
/// returns its output; panics with it when the script fails. Each run has a cache directory of
/// its own unless `cache` is given.
fn run_build(dir: &Path, shim: Option<&Path>, extra: &[&str], cache: Option<&Path>) -> String {
    let out = script(dir, shim, extra, cache);
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{} ({}) failed:\n{log}", dir.join("build.sh").display(), if shim.is_some() { "podman" } else { "Docker" });
    log
}

fn script(dir: &Path, shim: Option<&Path>, extra: &[&str], cache: Option<&Path>) -> std::process::Output {
    script_env(dir, shim, extra, cache, &[])
}

/// `script` with more environment variables. With podman, the caller's DOCKER_BUILDKIT is left
/// out (podman has no BuildKit: DOCKER_BUILDKIT=1 fails the build, as a test below shows) unless
/// `env` sets it.
fn script_env(dir: &Path, shim: Option<&Path>, extra: &[&str], cache: Option<&Path>, env: &[(&str, &str)]) -> std::process::Output {
    let own_cache = tempfile::tempdir().unwrap();
    let key_dir = tempfile::tempdir().unwrap();
    let key = key_dir.path().join("id_rsa");
    run_ok(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key));
    let mut cmd = Command::new("sh");
    cmd.arg(dir.join("build.sh"))
        .args(extra)
        .env("XDG_CACHE_HOME", cache.unwrap_or(own_cache.path()))
        .env("SSH_KEY_FILE", &key)
        .env("ROCKERC_ALLOW_MOUNT", key_dir.path())
        .current_dir("/");
    if let Some(shim) = shim {
        cmd.env("PATH", path_with(shim)).env_remove("DOCKER_HOST").env_remove("DOCKER_BUILDKIT");
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

/// Builds with both engines and compares every image podman TAGs (loaded into Docker) with
/// Docker's, and what the builds wrote under `dist/` on the host. Returns the differences not
/// known (`None`: skipped).
fn compare_engines(test: &str, name: &str, n: usize, make: &dyn Fn(&Path), args: &[String], env: &[(String, String)]) -> Option<Vec<String>> {
    let probe = tempfile::tempdir().unwrap();
    make(probe.path());
    let shim = podman_or_skip(test, &std::fs::read_to_string(probe.path().join("Rockerfile")).unwrap())?;
    // The cleanup removes what the Docker build tagged: no other test builds this example meanwhile.
    let _alone = golden_lock(name).exclusive();
    let run = format!("{}-{n}", std::process::id());
    let marker = format!("rockerc-podman/{run}-");
    let prefix = |engine: &str| format!("{marker}{engine}/");
    let id = format!("rockerc-podman-{run}");
    let _cleanup = Cleanup { marker: marker.clone(), volume_prefix: volume_prefix(&id) };

    let docker_built = build_with(name, make, &prefix("docker"), &id, args, env, None);
    let podman_built = build_with(name, make, &prefix("podman"), &id, args, env, Some(shim.path()));

    let docker_tags = tags_under("docker", &prefix("docker"));
    let podman_tags = tags_under("podman", &prefix("podman"));
    assert!(!docker_tags.is_empty(), "{name}: Docker tagged nothing under {}", prefix("docker"));
    assert_eq!(docker_tags.keys().collect::<Vec<_>>(), podman_tags.keys().collect::<Vec<_>>(), "{name}: both engines tag the same names");
    let mut differences = Vec::new();
    let known_file = |path: &str| KNOWN_DIFFERENCES.iter().any(|(e, p, ..)| *e == name && *p == path);
    for (tag, docker_image) in &docker_tags {
        let podman_image = &podman_tags[tag];
        // Into Docker, as podman saves it (Docker's archive format, config and all).
        let mut save = Command::new("podman").args(["save", podman_image]).stdout(Stdio::piped()).spawn().unwrap();
        let load = Command::new("docker").args(["load", "-q"]).stdin(save.stdout.take().unwrap()).output().unwrap();
        assert!(
            save.wait().unwrap().success() && load.status.success(),
            "podman save | docker load of {podman_image}: {}",
            String::from_utf8_lossy(&load.stderr)
        );
        let loaded =
            String::from_utf8_lossy(&load.stdout).lines().filter_map(|l| l.strip_prefix("Loaded image: ")).next_back().unwrap_or(podman_image).to_string();
        let (d, p) = (image_tree(docker_image), image_tree(&loaded));
        let known = |path: &str| known_file(path) || podman_leaves(path, &d, &p);
        differences.extend(tree_differences_of(&known, tag, ("Docker build's", "podman build's", "Docker vs podman"), &d, &p));
        let (a, b) = (config_of(docker_image), config_of(&loaded));
        for key in CONFIG_KEYS {
            if !same_config_value(&a[key], &b[key]) {
                differences.push(format!("{tag}: config {key}: {} vs {} (Docker vs podman)", a[key], b[key]));
            }
        }
    }
    let written = |dir: &Path| host_tree(dir).into_iter().filter(|(p, _)| p.starts_with("dist")).collect::<BTreeMap<_, _>>();
    differences.extend(tree_differences_of(
        &|_| false,
        "host",
        ("Docker build's", "podman build's", "Docker vs podman"),
        &written(docker_built.dir.path()),
        &written(podman_built.dir.path()),
    ));
    let (known, unknown): (Vec<String>, Vec<String>) =
        differences.into_iter().partition(|d| PODMAN_KNOWN.iter().any(|(e, start, _)| (*e == name || *e == "*") && d.starts_with(start)));
    eprintln!(
        "{name}: {} image(s) compared ({}), {} known podman difference(s), {} other(s)\n--- podman's log ---\n{}",
        docker_tags.len(),
        docker_tags.keys().cloned().collect::<Vec<_>>().join(", "),
        known.len(),
        unknown.len(),
        podman_built.log
    );
    Some(unknown)
}

fn compare(name: &str) {
    let n = GOLDEN.iter().position(|g| *g == name).unwrap();
    let golden = repo_root().join("golden").join(name);
    let args: Vec<String> = if golden.join("vars.yml").is_file() { vec!["--vars".into(), "vars.yml".into()] } else { vec![] };
    let env = example_env(&golden);
    let test = format!("podman_builds_what_docker_builds_{}", name.replace('-', "_"));
    let Some(differences) = compare_engines(&test, name, n, &|dir: &Path| copy_golden(name, dir), &args, &env) else { return };
    assert!(differences.is_empty(), "{name}: podman's images differ from Docker's:\n  {}", differences.join("\n  "));
}

macro_rules! golden_on_podman {
    ($($test:ident => $name:literal,)*) => {$(
        #[test]
        fn $test() {
            compare($name);
        }
    )*};
}

golden_on_podman! {
    podman_builds_what_docker_builds_attach => "attach",
    podman_builds_what_docker_builds_context_writeback => "context-writeback",
    podman_builds_what_docker_builds_export_import => "export-import",
    podman_builds_what_docker_builds_from_tagged => "from-tagged",
    podman_builds_what_docker_builds_import_to_host => "import-to-host",
    podman_builds_what_docker_builds_include => "include",
    podman_builds_what_docker_builds_npm_cache_ssh => "npm-cache-ssh",
    podman_builds_what_docker_builds_parallel_builders => "parallel-builders",
    podman_builds_what_docker_builds_tag_push => "tag-push",
    podman_builds_what_docker_builds_template_agent => "template-agent",
    podman_builds_what_docker_builds_template_jinja => "template-jinja",
    podman_builds_what_docker_builds_template_service => "template-service",
    podman_builds_what_docker_builds_trailing_slash => "trailing-slash",
}

#[test]
fn every_golden_example_is_built_on_podman() {
    assert_eq!(GOLDEN, golden_names(), "every golden example is in GOLDEN (and has its test)");
}

/// What the golden examples leave out (ONBUILD held back and fired, SHELL-less config, files of
/// another owner, a read-only MOUNT of the context, relative EXPORTs: the differential test's
/// FEATURES), the same on both engines.
#[test]
fn podman_builds_what_docker_builds_of_what_the_examples_leave_out() {
    let make = |dir: &Path| {
        std::fs::write(dir.join("Rockerfile"), FEATURES).unwrap();
        std::fs::write(dir.join("input.txt"), "from the context\n").unwrap();
    };
    let test = "podman_builds_what_docker_builds_of_what_the_examples_leave_out";
    let Some(differences) = compare_engines(test, "features", GOLDEN.len(), &make, &[], &[]) else { return };
    assert!(differences.is_empty(), "podman's images differ from Docker's:\n  {}", differences.join("\n  "));
}

/// A small Rockerfile of this test's own, with a MOUNTed RUN, a COPY from the context and a TAG.
fn small_project(tag: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix("rockerc-podman-small-").tempdir().unwrap();
    std::fs::write(dir.path().join("input.txt"), "input\n").unwrap();
    std::fs::write(
        dir.path().join("Rockerfile"),
        format!("FROM {BUSYBOX}\nMOUNT /cache\nRUN head -c 300000 /dev/zero > /big && echo cached > /cache/x\nCOPY input.txt /input.txt\nTAG {tag}\n"),
    )
    .unwrap();
    let out = Test::at(dir.path()).args(["--id", tag, "Rockerfile"]).status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let script = dir.path().join("build.sh");
    (dir, script)
}

#[test]
fn podman_no_op_run_is_up_to_date_and_sees_a_change() {
    let test = "podman_no_op_run_is_up_to_date_and_sees_a_change";
    let Some(shim) = podman_or_skip(test, BUSYBOX) else { return };
    let tag = format!("{}:latest", unique("rockerc-podman/noop-"));
    let _cleanup = Cleanup { marker: tag.trim_end_matches(":latest").to_string(), volume_prefix: volume_prefix(&tag) };
    let (dir, _) = small_project(&tag);
    let cache = tempfile::tempdir().unwrap();
    let first = run_build(dir.path(), Some(shim.path()), &[], Some(cache.path()));
    let id = podman_str(&["image", "inspect", "--format", "{{.Id}}", &tag]);
    assert!(first.contains("Successfully built"), "{first}");
    // Unchanged: no step runs, and the final image's id is reported.
    let again = run_build(dir.path(), Some(shim.path()), &[], Some(cache.path()));
    assert!(again.contains("up to date: nothing Rockerfile reads has changed"), "{again}");
    assert!(again.contains(&id) && !again.contains("[1/"), "{again}");
    // The tag moved away on the engine: the fast path's proof fails, and it builds.
    run_ok(Command::new("podman").args(["tag", BUSYBOX, &tag]));
    let moved = run_build(dir.path(), Some(shim.path()), &[], Some(cache.path()));
    assert!(!moved.contains("up to date"), "a moved tag must be rebuilt:\n{moved}");
    assert_eq!(podman_str(&["image", "inspect", "--format", "{{.Id}}", &tag]), id, "the rebuild puts the tag back on the same image");
    // An input changed: it builds again.
    std::fs::write(dir.path().join("input.txt"), "changed\n").unwrap();
    let changed = run_build(dir.path(), Some(shim.path()), &[], Some(cache.path()));
    assert!(!changed.contains("up to date") && changed.contains("COPY"), "{changed}");
}

/// `1.2 MB` as the size report writes it.
fn human(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let (mut x, mut i) = (n as f64, 0);
    while x >= 1000.0 && i < 4 {
        x /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{x:.1} {}", units[i])
    }
}

#[test]
fn podman_size_report_shows_what_each_step_added() {
    let test = "podman_size_report_shows_what_each_step_added";
    let Some(shim) = podman_or_skip(test, BUSYBOX) else { return };
    let tag = format!("{}:latest", unique("rockerc-podman/sizes-"));
    let _cleanup = Cleanup { marker: tag.trim_end_matches(":latest").to_string(), volume_prefix: volume_prefix(&tag) };
    let (dir, _) = small_project(&tag);
    let log = run_build(dir.path(), Some(shim.path()), &["--no-cache"], None);
    // The MOUNTed RUN wrote 300 kB: its row says so (podman's inspect ids have no sha256:, its
    // --iidfile's have; a report that mixed them up showed every size as 0 B).
    let row = log.lines().find(|l| l.starts_with("1 ")).unwrap_or_else(|| panic!("no row for step 1:\n{log}"));
    assert!(row.contains("+30") && row.contains(" kB"), "step 1 added about 300 kB:\n{log}");
    let size: u64 = podman_str(&["image", "inspect", "--format", "{{.Size}}", &tag]).parse().unwrap();
    let line = log.lines().find(|l| l.starts_with(&tag)).unwrap_or_else(|| panic!("no size line for {tag}:\n{log}"));
    assert!(line.ends_with(&human(size)), "the tag's size is the engine's ({}):\n{log}", human(size));
    // --json: each step's size and delta, from the same inspect.
    let json = script(dir.path(), Some(shim.path()), &["--json", "--no-cache"], None);
    let text = String::from_utf8_lossy(&json.stdout);
    let step: serde_json::Value =
        text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).find(|v| v["event"] == "step" && v["step"] == 1).expect("a step event");
    assert!(step["delta"].as_i64().is_some_and(|d| d >= 300_000), "{text}");
}

/// ONBUILD triggers are what podman's inspect does not show: the script reads them from the
/// image's archive, so an `ONBUILD COPY` of a base image gets the whole build context, as on
/// Docker. A podman whose `save` fails gets a message that says so, not a template error.
#[test]
fn podman_fires_a_base_images_onbuild_copy_and_says_when_it_cannot_read_it() {
    let test = "podman_fires_a_base_images_onbuild_copy_and_says_when_it_cannot_read_it";
    let Some(shim) = podman_or_skip(test, BUSYBOX) else { return };
    let base = format!("{}:latest", unique("rockerc-podman/onbuild-"));
    let tag = format!("{}:latest", unique("rockerc-podman/onbuild-child-"));
    let _cleanup = Cleanup { marker: "rockerc-podman/onbuild-".into(), volume_prefix: "rockerc_never_".into() };
    let _child_cleanup = Cleanup { marker: tag.trim_end_matches(":latest").to_string(), volume_prefix: "rockerc_never_".into() };
    // A base image made elsewhere, with a trigger that reads the build context.
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("Dockerfile"), format!("FROM {BUSYBOX}\nONBUILD COPY input.txt /from-onbuild.txt\n")).unwrap();
    run_ok(Command::new("podman").args(["build", "-q", "--format", "docker", "-t", &base]).arg(context.path()));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.txt"), "read by the trigger\n").unwrap();
    std::fs::write(dir.path().join("Rockerfile"), format!("FROM {base}\nRUN cat /from-onbuild.txt > /seen.txt\nTAG {tag}\n")).unwrap();
    let out = Test::at(dir.path()).args(["--id", &tag, "Rockerfile"]).status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let log = run_build(dir.path(), Some(shim.path()), &["--no-cache"], None);
    let ctr = podman_str(&["create", &tag, "/x"]);
    let seen = Command::new("podman").args(["cp", &format!("{ctr}:/seen.txt"), "-"]).output().unwrap();
    let _ = Command::new("podman").args(["rm", &ctr]).output();
    assert!(String::from_utf8_lossy(&seen.stdout).contains("read by the trigger"), "the trigger copied the file:\n{log}");

    std::fs::write(
        shim.path().join("docker"),
        "#!/bin/sh\nif [ \"$1\" = save ]; then echo 'Error: save is not allowed here' >&2; exit 125; fi\nexec podman \"$@\"\n",
    )
    .unwrap();
    let out = script(dir.path(), Some(shim.path()), &["--no-cache"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("cannot read the ONBUILD triggers of") && err.contains("podman's `image inspect` does not show them"), "{err}");
    assert!(!err.contains("can't evaluate field"), "{err}");
}

/// PUSH with `--push` through podman to the test registry (127.0.0.1:5000, which
/// `tests/setup.sh podman` lets podman reach over plain HTTP): the registry then serves the
/// image podman built.
#[test]
fn podman_pushes_to_the_registry() {
    let test = "podman_pushes_to_the_registry";
    let Some(shim) = podman_or_skip(test, BUSYBOX) else { return };
    let registry = Command::new("curl").args(["-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:5000/v2/"]).output();
    if !registry.is_ok_and(|o| o.stdout == b"200") {
        if std::env::var("ROCKERC_E2E").as_deref() == Ok("require") {
            panic!("{test}: no registry answers on 127.0.0.1:5000 (sh tests/setup.sh starts one)");
        }
        eprintln!("\n*** PODMAN TEST SKIPPED: {test}: no registry on 127.0.0.1:5000 ***\n");
        return;
    }
    let repo = unique("rockerc-issue-17-podman/push-");
    let name = format!("127.0.0.1:5000/{repo}:latest");
    let _cleanup = Cleanup { marker: repo.clone(), volume_prefix: "rockerc_never_".into() };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), format!("FROM {BUSYBOX}\nRUN echo pushed > /pushed\nPUSH {name}\n")).unwrap();
    let out = Test::at(dir.path()).arg("Rockerfile").status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let log = run_build(dir.path(), Some(shim.path()), &["--push"], None);
    let manifest = Command::new("curl")
        .args(["-sS", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json", &format!("http://127.0.0.1:5000/v2/{repo}/manifests/latest")])
        .output()
        .unwrap();
    let manifest = String::from_utf8_lossy(&manifest.stdout);
    let config = podman_str(&["image", "inspect", "--format", "{{.Id}}", &name]);
    assert!(manifest.contains(&format!("sha256:{config}")), "the registry serves the image podman built ({config}):\n{manifest}\n{log}");
}

/// A directory whose `docker` is a link to podman (`ln -s /usr/bin/podman docker`, as many set it
/// up): podman then calls itself docker (`docker --version` says "docker version 4.3.1"), and
/// the script must still know it is podman.
fn podman_link() -> tempfile::TempDir {
    let podman = String::from_utf8(run_ok(Command::new("sh").args(["-c", "command -v podman"])).stdout).unwrap();
    let dir = tempfile::Builder::new().prefix("rockerc-podman-link-").tempdir().unwrap();
    std::os::unix::fs::symlink(podman.trim(), dir.path().join("docker")).unwrap();
    dir
}

fn text_of(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The builder pick (issue 16) with podman as `docker`: podman has no BuildKit, so `auto` (and
/// DOCKER_BUILDKIT=0, --builder legacy) builds with podman's own builder and says so; asked for
/// BuildKit (--builder buildkit, DOCKER_BUILDKIT=1) the script says why it cannot and builds
/// nothing. Through a link named docker too. The no-op run reports the same final id as the
/// build (`sha256:`, which podman's inspect leaves out).
#[test]
fn podman_builds_with_its_own_builder_and_refuses_buildkit_clearly() {
    let test = "podman_builds_with_its_own_builder_and_refuses_buildkit_clearly";
    let Some(_shim) = podman_or_skip(test, BUSYBOX) else { return };
    let link = podman_link();
    let tag = format!("{}:latest", unique("rockerc-podman/builder-"));
    let _cleanup = Cleanup { marker: tag.trim_end_matches(":latest").to_string(), volume_prefix: volume_prefix(&tag) };
    let (dir, _) = small_project(&tag);
    let cache = tempfile::tempdir().unwrap();
    let first = |out: &std::process::Output| String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().to_string();
    for (extra, env) in [(&["--builder", "buildkit"][..], &[][..]), (&[][..], &[("DOCKER_BUILDKIT", "1")][..])] {
        let out = script_env(dir.path(), Some(link.path()), extra, Some(cache.path()), env);
        let all = text_of(&out);
        assert!(!out.status.success(), "{all}");
        let why = if extra.is_empty() { "DOCKER_BUILDKIT=1" } else { "--builder buildkit" };
        assert!(
            all.contains(&format!("rockerc: error: {why}: BuildKit is not available here: the docker on PATH is podman 4."))
                && all.contains("has no BuildKit; pass --builder legacy"),
            "{all}"
        );
        assert!(!all.contains("[1/") && !all.contains("template:") && !all.contains("can't evaluate"), "nothing is built, and no template error:\n{all}");
    }
    let out = script_env(dir.path(), Some(link.path()), &[], Some(cache.path()), &[]);
    assert!(out.status.success(), "{}", text_of(&out));
    assert!(first(&out).starts_with("builder: podman's own (auto: the docker on PATH is podman 4."), "{}", text_of(&out));
    let id = podman_str(&["image", "inspect", "--format", "{{.Id}}", &tag]);
    assert!(text_of(&out).contains(&format!("Successfully built sha256:{id}\n")), "{}", text_of(&out));
    let out = script_env(dir.path(), Some(link.path()), &["--no-cache"], Some(cache.path()), &[("DOCKER_BUILDKIT", "0")]);
    assert!(out.status.success(), "{}", text_of(&out));
    assert_eq!(first(&out), "builder: podman's own (DOCKER_BUILDKIT=0)", "{}", text_of(&out));
    let id = podman_str(&["image", "inspect", "--format", "{{.Id}}", &tag]);
    // Nothing changed: the no-op run names the same image, the way a build does.
    let out = script_env(dir.path(), Some(link.path()), &[], Some(cache.path()), &[]);
    let all = text_of(&out);
    assert!(all.contains("up to date:") && all.contains(&format!("Successfully built sha256:{id}\n")), "{all}");
}

/// The remote-engine probe (issue 17) with podman: a local podman sees this machine's files, so
/// a MOUNTed context folder is bound and what the RUN wrote is there at once; told it cannot
/// (ROCKERC_ENGINE_SEES_HOST=0, as for a remote podman service), the script carries the folder
/// through a volume (podman's `-v ...:nocopy`: its --mount has no volume-nocopy) and brings
/// back what the RUN changed: the same files either way.
#[test]
fn podman_mount_of_the_context_writes_back_bound_or_carried() {
    let test = "podman_mount_of_the_context_writes_back_bound_or_carried";
    let Some(shim) = podman_or_skip(test, BUSYBOX) else { return };
    let tag = format!("{}:latest", unique("rockerc-podman/probe-"));
    let _cleanup = Cleanup { marker: tag.trim_end_matches(":latest").to_string(), volume_prefix: volume_prefix(&tag) };
    let dir = tempfile::Builder::new().prefix("rockerc-podman-probe-").tempdir().unwrap();
    std::fs::write(dir.path().join("gone.txt"), "deleted by the RUN\n").unwrap();
    std::fs::write(dir.path().join("kept.txt"), "kept\n").unwrap();
    std::fs::write(
        dir.path().join("Rockerfile"),
        format!("FROM {BUSYBOX}\nMOUNT .:/ctx\nRUN cat /ctx/kept.txt > /ctx/made.txt && rm /ctx/gone.txt && cp /ctx/kept.txt /in-image.txt\nTAG {tag}\n"),
    )
    .unwrap();
    let out = Test::at(dir.path()).args(["--id", &tag, "Rockerfile"]).status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let cache = tempfile::tempdir().unwrap();
    for sees in ["auto", "0"] {
        std::fs::write(dir.path().join("gone.txt"), "deleted by the RUN\n").unwrap();
        let _ = std::fs::remove_file(dir.path().join("made.txt"));
        let env: &[(&str, &str)] = if sees == "auto" { &[] } else { &[("ROCKERC_ENGINE_SEES_HOST", "0")] };
        let out = script_env(dir.path(), Some(shim.path()), &["--no-cache"], Some(cache.path()), env);
        let all = text_of(&out);
        assert!(out.status.success(), "{sees}: {all}");
        assert_eq!(all.contains("cannot see this machine's files"), sees == "0", "{sees}: the probe finds a local podman local:\n{all}");
        assert_eq!(std::fs::read_to_string(dir.path().join("made.txt")).unwrap_or_default(), "kept\n", "{sees}: the RUN's new file is on the host:\n{all}");
        assert!(!dir.path().join("gone.txt").exists(), "{sees}: the RUN's delete is on the host:\n{all}");
        assert!(!all.contains("invalid mount option"), "{all}");
    }
    // The carried folder's volume (a mirror, kept for the next build) goes with the cleanup.
    let mirror = volume_prefix(&tag).replacen("rockerc_", "rockerc-mirror-", 1).replace('_', "-");
    let volumes = podman_str(&["volume", "ls", "-q"]);
    for v in volumes.lines().filter(|v| v.starts_with(&mirror)) {
        let _ = Command::new("podman").args(["volume", "rm", v]).output();
    }
}

/// --cache-to / --cache-from (tests/integration/cache.rs's CI cache) with podman: the MOUNT
/// volume and the MOUNTed RUN's cache entry survive an engine that lost both. podman's save
/// needs -m for more than one image, its history names no image below the top (the entry's
/// parent is saved by name), and its load cannot do without the FROM image's layers (kept).
#[test]
fn podman_cache_to_then_cache_from_restores_the_volume_and_the_mounted_run() {
    let test = "podman_cache_to_then_cache_from_restores_the_volume_and_the_mounted_run";
    let Some(shim) = podman_or_skip(test, BUSYBOX) else { return };
    let tag = format!("{}:latest", unique("rockerc-podman/ci-cache-"));
    let _cleanup = Cleanup { marker: tag.trim_end_matches(":latest").to_string(), volume_prefix: volume_prefix(&tag) };
    let dir = tempfile::Builder::new().prefix("rockerc-podman-ci-cache-").tempdir().unwrap();
    let marker = unique("run-");
    std::fs::write(dir.path().join("Rockerfile"), format!("FROM {BUSYBOX}\nMOUNT /cache\nRUN echo {marker} >> /cache/log && cp /cache/log /seen\nTAG {tag}\n"))
        .unwrap();
    let out = Test::at(dir.path()).args(["--id", &tag, "Rockerfile"]).status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let ci = tempfile::tempdir().unwrap();
    let ci_dir = ci.path().join("rockerc");
    let key = [("ROCKERC_CACHE_KEY", "a CI secret of the podman test")];
    let out = script_env(dir.path(), Some(shim.path()), &["--cache-to", ci_dir.to_str().unwrap()], Some(cache.path()), &key);
    let log = text_of(&out);
    assert!(out.status.success() && log.contains("cache: saved to"), "{log}");
    let manifest = std::fs::read_to_string(ci_dir.join("manifest")).unwrap();
    let entry = manifest.lines().find_map(|l| l.strip_prefix("image\t")).unwrap_or_else(|| panic!("no cache entry saved:\n{manifest}\n{log}")).to_string();
    let result = podman_str(&["image", "inspect", "--format", "{{.Id}}", &tag]);
    // A fresh engine: the entry, the image it names, the result and the volume gone.
    let parent = podman_str(&["image", "inspect", "--format", "{{.Parent}}", &entry]);
    for image in [entry.as_str(), tag.as_str(), parent.as_str(), result.as_str()] {
        let _ = Command::new("podman").args(["rmi", "-f", image]).output();
    }
    let volumes = podman_str(&["volume", "ls", "-q"]);
    for v in volumes.lines().filter(|v| v.starts_with(&volume_prefix(&tag))) {
        run_ok(Command::new("podman").args(["volume", "rm", v]));
    }
    let out = script_env(dir.path(), Some(shim.path()), &["--cache-from", ci_dir.to_str().unwrap()], Some(cache.path()), &key);
    let log = text_of(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("cache: restored MOUNT /cache from") && log.contains("cache: loaded 1 MOUNTed-RUN cache image(s)"), "{log}");
    assert!(log.contains("(cached, "), "the MOUNTed RUN is a cache hit after --cache-from:\n{log}");
    // The volume came back as the first build left it: one line, which the next RUN extends.
    let out = script_env(dir.path(), Some(shim.path()), &["--no-cache"], Some(cache.path()), &key);
    assert!(out.status.success(), "{}", text_of(&out));
    let ctr = podman_str(&["create", &tag, "/x"]);
    let seen = Command::new("podman").args(["cp", &format!("{ctr}:/seen"), "-"]).output().unwrap();
    let _ = Command::new("podman").args(["rm", &ctr]).output();
    let seen = String::from_utf8_lossy(&seen.stdout);
    assert_eq!(seen.matches(&marker).count(), 2, "the restored volume held the first run's line:\n{seen}");
}

/// A failed step names its Rockerfile line with podman too: podman's build says `STEP 5/6:` and
/// counts from the FROM (not the ARG before it), where Docker's legacy builder says `Step 6/7 :`
/// and BuildKit ` > [4/5]`.
#[test]
fn podman_names_the_rockerfile_line_of_a_failed_step() {
    let test = "podman_names_the_rockerfile_line_of_a_failed_step";
    let Some(shim) = podman_or_skip(test, BUSYBOX) else { return };
    let tag = format!("{}:latest", unique("rockerc-podman/fails-"));
    let _cleanup = Cleanup { marker: tag.trim_end_matches(":latest").to_string(), volume_prefix: volume_prefix(&tag) };
    let dir = tempfile::Builder::new().prefix("rockerc-podman-fails-").tempdir().unwrap();
    let rockerfile = format!("ARG X=1\nFROM {BUSYBOX}\nRUN echo a > /a\nENV A=1\nWORKDIR /w\nRUN echo one && \\\n  false\nRUN echo never\nTAG {tag}\n");
    std::fs::write(dir.path().join("Rockerfile"), rockerfile).unwrap();
    let out = Test::at(dir.path()).args(["--id", &tag, "Rockerfile"]).status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let out = script(dir.path(), Some(shim.path()), &["--no-cache"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("rockerc: docker build exited with an error at Rockerfile:6-7\n"), "{err}");
}
