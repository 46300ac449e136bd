//! Differential: every golden example that both backends can build is built by both, and the
//! images they TAG are compared file by file and config by config.
//!
//! - the sh backend: `rockerc Rockerfile > build.sh`, run with `DOCKER_BUILDKIT=0` (the legacy
//!   builder);
//! - the sh backend again, under BuildKit: the same script, run with the BuildKit client's
//!   directory first on PATH (the script picks the builder itself and says so on its first
//!   line); its images must be identical to the legacy builder's, in every golden example;
//! - the BuildKit backend: `rockerc --emit buildkit Rockerfile > build.sh`, run with a docker
//!   client that has BuildKit built in (Debian's `docker.io` 20.10, found with `dpkg -L`, or
//!   `ROCKERC_BUILDKIT_DOCKER`), `DOCKER_BUILDKIT=1`.
//!
//! Both compile the same copy of the example with the same `--id` (so MOUNT volumes and caches
//! are named alike and start empty) and with the TAG names moved under `rockerc-diff/<pid>-<n>-sh/`
//! and `.../<pid>-<n>-buildkit/`, so neither touches the names other tests use. A file is its
//! path, type, mode, owner, size, content (SHA-256) and link target; a config is the keys listed
//! in `CONFIG_KEYS`. Modification times are not compared: every build makes new ones.
//!
//! Examples only the sh backend can build are listed in `SH_ONLY` with the error the BuildKit
//! backend gives, and that error is checked too: an example cannot drop out of the comparison
//! silently. `FEATURES` adds what the examples leave out, with the one difference the backends
//! are known to have (`FEATURES_KNOWN`). Without an engine: the BuildKit output of every example
//! is deterministic, `shellcheck` clean, parses again, and is pinned in tests/snapshots/.

use crate::common::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// Golden examples both backends build.
pub(crate) const BOTH: &[&str] = &[
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

/// Differences between the sh backend's images under the legacy builder and under BuildKit, in
/// the golden examples and FEATURES: (example, difference, why). Files and config never differ;
/// these are Docker's own bookkeeping, and the README ("Which builder builds the steps") lists them.
const BUILDERS_KNOWN: &[(&str, &str, &str)] = &[
    (
        "template-agent",
        "builders: template-agent:3-slots: layers: 6 vs 7 (sh vs BuildKit)",
        "`WORKDIR /work` names a directory that exists: BuildKit makes an (empty) layer of it, the legacy builder none",
    ),
    (
        "features",
        "builders: child:latest: history entries: 22 vs 21 (sh vs BuildKit)",
        "ARG leaves a history entry under the legacy builder, none under BuildKit",
    ),
    (
        "features",
        "builders: onbuild-base:latest: history entries: 5 vs 4 (sh vs BuildKit)",
        "ARG leaves a history entry under the legacy builder, none under BuildKit",
    ),
];

/// The differences between the builders that `BUILDERS_KNOWN` does not list for `example`.
fn unknown_builder_differences(example: &str, found: &[String]) -> Vec<String> {
    found.iter().filter(|d| !BUILDERS_KNOWN.iter().any(|(e, k, _)| *e == example && k == d)).cloned().collect()
}

/// Golden examples only the sh backend builds: the BuildKit backend's error code, and why.
const SH_ONLY: &[(&str, &str, &str)] = &[
    ("attach", "buildkit-host-write", "its RUN runs while `MOUNT .:/workspace` is writable, and BuildKit cannot write to the host"),
    ("context-writeback", "buildkit-host-write", "it writes its artifact to the host through `MOUNT .:/context`, and its second stage COPYs it from there"),
];

/// Two values of a config key are the same, where an empty map and none are one: `docker commit`
/// (a MOUNTed RUN) leaves `Labels: {}` and the legacy builder keeps it, where BuildKit writes
/// none (null) for the same image without labels; both mean no label.
fn same_config_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let empty = |v: &serde_json::Value| v.is_null() || v.as_object().is_some_and(|o| o.is_empty());
    a == b || (empty(a) && empty(b))
}

/// The parts of the image config compared.
pub(crate) const CONFIG_KEYS: &[&str] =
    &["Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Labels", "ExposedPorts", "Volumes", "Shell", "OnBuild", "StopSignal"];

/// Differences expected in the golden examples' images: (example, path, what differs, why),
/// narrow on purpose, one path of one example each. Only clocks differ: every other file of every
/// golden example both backends build is identical.
pub(crate) const KNOWN_DIFFERENCES: &[(&str, &str, &str, &str)] = &[
    ("parallel-builders", "/srv/from-left/left.start", "contents", "the builder writes the time it ran"),
    ("parallel-builders", "/srv/from-left/left.end", "contents", "the builder writes the time it ran"),
    ("parallel-builders", "/srv/from-right/right.start", "contents", "the builder writes the time it ran"),
    ("parallel-builders", "/srv/from-right/right.end", "contents", "the builder writes the time it ran"),
    (
        "npm-cache-ssh",
        "/root/.ssh",
        "kind",
        "BuildKit (Docker 20.10) leaves the folder it made for a secret mount's target; the sh backend leaves nothing of a MOUNTed file",
    ),
];

#[test]
fn every_golden_example_is_compared_or_excluded_with_a_reason() {
    let mut listed: Vec<&str> = BOTH.iter().copied().chain(SH_ONLY.iter().map(|(n, ..)| *n)).collect();
    listed.sort_unstable();
    assert_eq!(listed, golden_names(), "every golden example is in BOTH or in SH_ONLY");
}

#[test]
fn the_examples_only_sh_builds_fail_for_buildkit_with_their_reason() {
    for (name, code, why) in SH_ONLY {
        let dir = repo_root().join("golden").join(name);
        let out = Test::at(&dir).args(["--emit", "buildkit", "--id", "x", "--error-format", "json", "Rockerfile"]).run();
        assert_eq!(out.code, 1, "{name} compiles for BuildKit, but SH_ONLY says it cannot ({why})");
        let errors = &out.stderr;
        assert!(errors.contains(&format!("\"code\":\"{code}\"")), "{name}: expected {code} ({why}), got:\n{errors}");
        // The sh backend builds it.
        assert_eq!(Test::at(&dir).args(["--id", "x", "Rockerfile"]).run().code, 0, "{name} must compile with the sh backend");
    }
}

#[test]
fn the_comparison_reports_each_field_that_differs() {
    let file = |mode, uid, content: &str| FileInfo { kind: 'f', mode, uid, gid: uid, size: 1, link: None, sha256: Some(content.into()) };
    let sh = BTreeMap::from([("/x".to_string(), file(0o644, 0, "a")), ("/only-sh".to_string(), file(0o644, 0, "a"))]);
    let bk = BTreeMap::from([("/x".to_string(), file(0o600, 1000, "b")), ("/only-bk".to_string(), file(0o644, 0, "a"))]);
    let d = tree_differences("none", "image", &sh, &bk);
    assert_eq!(
        d,
        [
            "image: /only-sh only in the sh backend's ('f')",
            "image: /x: mode: 644 vs 600 (sh vs BuildKit)",
            "image: /x: owner: 0:0 vs 1000:1000 (sh vs BuildKit)",
            "image: /x: content: Some(\"a\") vs Some(\"b\") (sh vs BuildKit)",
            "image: /only-bk only in the BuildKit backend's ('f')",
        ]
    );
}

/// A docker client that builds with BuildKit: `ROCKERC_BUILDKIT_DOCKER`, Debian's docker.io
/// client, or the one on PATH when it can.
fn buildkit_docker() -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    if let Ok(d) = std::env::var("ROCKERC_BUILDKIT_DOCKER") {
        candidates.push(d);
    }
    if let Ok(out) = Command::new("dpkg").args(["-L", "docker.io"]).output() {
        candidates.extend(String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.ends_with("/bin/docker")).map(str::to_string));
    }
    candidates.push("docker".into());
    candidates.into_iter().find(|c| {
        Command::new(c).args(["build", "--help"]).env("DOCKER_BUILDKIT", "1").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    })
}

fn buildkit_or_skip(test: &str) -> Option<String> {
    if !engine_or_skip(test) {
        return None;
    }
    let found = buildkit_docker();
    if found.is_none() {
        let why = "no docker client with BuildKit (install docker.io, or set ROCKERC_BUILDKIT_DOCKER)";
        if std::env::var("ROCKERC_E2E").as_deref() == Ok("require") {
            panic!("differential test {test} cannot run: {why}");
        }
        eprintln!("\n*** DIFFERENTIAL TEST SKIPPED: {test}: {why} ***\n");
    }
    found
}

/// One entry of an image's file tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileInfo {
    pub(crate) kind: char,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    link: Option<String>,
    sha256: Option<String>,
}

impl FileInfo {
    /// What differs from `other`, as `field: a vs b`.
    fn diff(&self, other: &FileInfo) -> Vec<String> {
        let mut d = Vec::new();
        let mut field = |name: &str, a: String, b: String| {
            if a != b {
                d.push(format!("{name}: {a} vs {b}"));
            }
        };
        field("type", self.kind.to_string(), other.kind.to_string());
        field("mode", format!("{:o}", self.mode), format!("{:o}", other.mode));
        field("owner", format!("{}:{}", self.uid, self.gid), format!("{}:{}", other.uid, other.gid));
        field("size", self.size.to_string(), other.size.to_string());
        field("link", format!("{:?}", self.link), format!("{:?}", other.link));
        field("content", format!("{:?}", self.sha256), format!("{:?}", other.sha256));
        d
    }
}

fn digest(reader: &mut impl Read) -> String {
    let mut h = Sha256::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file of an image (`docker create` + `docker export`), with contents hashed.
pub(crate) fn image_tree(image: &str) -> BTreeMap<String, FileInfo> {
    let ctr = docker_str(&["create", image, "/nonexistent"]);
    let mut child = Command::new("docker").args(["export", &ctr]).stdout(Stdio::piped()).spawn().unwrap();
    let mut archive = tar::Archive::new(child.stdout.take().unwrap());
    let mut files = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        let path = format!("/{}", entry.path().unwrap().to_string_lossy().trim_start_matches("./").trim_end_matches('/'));
        let kind = match header.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            tar::EntryType::Link => 'h',
            _ => 'f',
        };
        let sha256 = (kind == 'f').then(|| digest(&mut entry));
        files.insert(
            if path == "/." { "/".to_string() } else { path },
            FileInfo {
                kind,
                mode: header.mode().unwrap_or(0) & 0o7777,
                uid: header.uid().unwrap_or(0),
                gid: header.gid().unwrap_or(0),
                size: if kind == 'f' { header.size().unwrap_or(0) } else { 0 },
                link: header.link_name().ok().flatten().map(|l| l.to_string_lossy().into_owned()),
                sha256,
            },
        );
    }
    child.wait().unwrap();
    docker(&["rm", "-v", &ctr]);
    files
}

/// Every file under a host directory (paths relative to it).
pub(crate) fn host_tree(root: &Path) -> BTreeMap<String, FileInfo> {
    use std::os::unix::fs::MetadataExt;
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                stack.push(e.path());
                'd'
            } else if ft.is_symlink() {
                'l'
            } else {
                'f'
            };
            let sha256 = (kind == 'f').then(|| digest(&mut std::fs::File::open(e.path()).unwrap()));
            let link = (kind == 'l').then(|| std::fs::read_link(e.path()).unwrap().to_string_lossy().into_owned());
            files.insert(
                rel,
                FileInfo {
                    kind,
                    mode: meta.mode() & 0o7777,
                    uid: meta.uid().into(),
                    gid: meta.gid().into(),
                    size: if kind == 'f' { meta.len() } else { 0 },
                    link,
                    sha256,
                },
            );
        }
    }
    files
}

/// Differences between two file trees, known ones left out.
fn tree_differences(example: &str, what: &str, sh: &BTreeMap<String, FileInfo>, bk: &BTreeMap<String, FileInfo>) -> Vec<String> {
    let known = |path: &str| KNOWN_DIFFERENCES.iter().any(|(e, p, ..)| *e == example && *p == path);
    tree_differences_of(&known, what, ("sh backend's", "BuildKit backend's", "sh vs BuildKit"), sh, bk)
}

/// Differences between two file trees `a` and `b`, those `known` says are known left out;
/// `names` are how the messages name a's and b's builds, and the pair.
pub(crate) fn tree_differences_of(
    known: &dyn Fn(&str) -> bool,
    what: &str,
    names: (&str, &str, &str),
    a_tree: &BTreeMap<String, FileInfo>,
    b_tree: &BTreeMap<String, FileInfo>,
) -> Vec<String> {
    let (a_name, b_name, pair) = names;
    let mut out = Vec::new();
    for (path, a) in a_tree {
        if known(path) {
            continue;
        }
        match b_tree.get(path) {
            None => out.push(format!("{what}: {path} only in the {a_name} ({:?})", a.kind)),
            Some(b) => {
                for d in a.diff(b) {
                    out.push(format!("{what}: {path}: {d} ({pair})"));
                }
            }
        }
    }
    for (path, b) in b_tree {
        if !a_tree.contains_key(path) && !known(path) {
            out.push(format!("{what}: {path} only in the {b_name} ({:?})", b.kind));
        }
    }
    out
}

/// The example's `env` file (`NAME=VALUE` lines): the whole environment its templates see.
pub(crate) fn example_env(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("env"))
        .map(|t| t.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect())
        .unwrap_or_default()
}

/// Removes what one comparison made: the tags, and the sh backend's MOUNT volumes.
struct Cleanup {
    prefixes: Vec<String>,
    volume_prefix: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let images = Command::new("docker")
            .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for image in images.lines().filter(|i| self.prefixes.iter().any(|p| i.contains(p.as_str()))) {
            let _ = Command::new("docker").args(["rmi", image]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
        let volumes = Command::new("docker").args(["volume", "ls", "-q"]).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        for v in volumes.lines().filter(|v| v.starts_with(&self.volume_prefix)) {
            let _ = Command::new("docker").args(["volume", "rm", v]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
    }
}

/// Tags under `prefix`, keyed by what follows it.
fn tags_under(prefix: &str) -> BTreeMap<String, String> {
    let images = docker_str(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    images
        .lines()
        .filter_map(|i| {
            let at = i.find(prefix)?;
            Some((format!("{}{}", &i[..at], &i[at + prefix.len()..]), i.to_string()))
        })
        .collect()
}

fn run_script(dir: &Path, env: &[(&str, String)]) -> String {
    let out = Command::new("sh").arg(dir.join("build.sh")).envs(env.iter().map(|(k, v)| (*k, v.as_str()))).current_dir("/").output().unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{} failed:\n{log}", dir.join("build.sh").display());
    log
}

fn compare(name: &str) {
    let test = format!("both_backends_build_identical_images_{name}");
    let n = BOTH.iter().position(|b| *b == name).or_else(|| SH_ONLY.iter().position(|(b, ..)| *b == name).map(|k| BOTH.len() + 1 + k)).unwrap();
    let golden = repo_root().join("golden").join(name);
    let mut args: Vec<String> = Vec::new();
    if golden.join("vars.yml").is_file() {
        args = vec!["--vars".into(), "vars.yml".into()];
    }
    let env = example_env(&golden);
    let sh_only = SH_ONLY.iter().any(|(n, ..)| *n == name);
    let Some((backends, builders)) = compare_builds(&test, name, n, &|dir: &Path| copy_golden(name, dir), &args, &env, sh_only) else { return };
    assert!(backends.is_empty(), "{name}: the backends' images differ:\n  {}", backends.join("\n  "));
    let unknown = unknown_builder_differences(name, &builders);
    assert!(unknown.is_empty(), "{name}: the sh backend's images differ between the legacy builder and BuildKit:\n  {}", unknown.join("\n  "));
}

/// A golden example's files (no snapshots) in `dir`.
/// (Not through `Example`: the comparison holds the example's lock alone already.)
pub(crate) fn copy_golden(name: &str, dir: &Path) {
    copy_dir(&repo_root().join("golden").join(name), dir);
    need_images_for(&std::fs::read_to_string(dir.join("Rockerfile")).unwrap());
}

/// How one build is made: the sh backend's script under the legacy builder (`DOCKER_BUILDKIT=0`,
/// the user's own override) or under BuildKit (the BuildKit client's directory first on PATH, as
/// a machine with such a client presents it, and the script picking the builder itself), or the
/// BuildKit backend's script.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Build {
    ShLegacy,
    ShBuildkit,
    BuildkitBackend,
}

impl Build {
    fn name(self) -> &'static str {
        match self {
            Build::ShLegacy => "sh",
            Build::ShBuildkit => "shbk",
            Build::BuildkitBackend => "buildkit",
        }
    }
}

/// `PATH` with the directory of `docker` (a client with BuildKit) first.
fn path_with(docker: &str) -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    match Path::new(docker).parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => format!("{}:{path}", dir.display()),
        None => path,
    }
}

/// Builds what `make` puts in a directory with the sh backend under both builders and, unless
/// `sh_only`, with the BuildKit backend (the Rockerfile's `rockerc-golden/` names moved under a
/// prefix of each), and compares every image they TAG, and what they wrote under `dist/` on the
/// host: the sh backend under the legacy builder against the BuildKit backend, and against
/// itself under BuildKit. Returns those two lists of differences (`None`: skipped); the second
/// is prefixed `builders: `. `n` makes the names unique among the tests of this run.
fn compare_builds(
    test: &str,
    name: &str,
    n: usize,
    make: &dyn Fn(&Path),
    args: &[String],
    env: &[(String, String)],
    sh_only: bool,
) -> Option<(Vec<String>, Vec<String>)> {
    let bk_docker = buildkit_or_skip(test)?;
    // Its Cleanup removes what the sh backend built: no other test builds this example meanwhile.
    let _alone = golden_lock(name).exclusive();
    let run = format!("{}-{n}", std::process::id());
    let prefix = |backend: &str| format!("rockerc-diff/{run}-{backend}/");
    let id = format!("rockerc-diff-{run}");
    let crc = String::from_utf8(run_ok(Command::new("sh").arg("-c").arg(format!("printf %s {id} | sha256sum | cut -c 1-32"))).stdout).unwrap();
    let builds: Vec<Build> = if sh_only { vec![Build::ShLegacy, Build::ShBuildkit] } else { vec![Build::ShLegacy, Build::ShBuildkit, Build::BuildkitBackend] };
    let _cleanup =
        Cleanup { prefixes: builds.iter().map(|b| prefix(b.name())).collect(), volume_prefix: format!("rockerc_{}_", crc.split_whitespace().next().unwrap()) };

    // An SSH key for the examples that MOUNT $SSH_KEY_FILE.
    let key_dir = tempfile::tempdir().unwrap();
    let key = key_dir.path().join("id_rsa");
    run_ok(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key));

    let mut built = Vec::new();
    for &build in &builds {
        // It lies outside the build context: the environment allows it (as a CI configuration would).
        let mut build_env = vec![
            ("SSH_KEY_FILE", key.display().to_string()),
            ("ROCKERC_ALLOW_MOUNT", key_dir.path().display().to_string()),
            ("ROCKERC_DOCKER", bk_docker.clone()),
        ];
        match build {
            Build::ShLegacy => build_env.push(("DOCKER_BUILDKIT", "0".into())),
            // The script picks (auto), whatever DOCKER_BUILDKIT the tests run with (.ci/run runs
            // them again with DOCKER_BUILDKIT=0): empty, it is the user's choice of none.
            Build::ShBuildkit => build_env.extend([("PATH", path_with(&bk_docker)), ("DOCKER_BUILDKIT", String::new())]),
            Build::BuildkitBackend => {}
        }
        let dir = tempfile::Builder::new().prefix(&format!("rockerc-diff-{name}-")).tempdir().unwrap();
        make(dir.path());
        let rockerfile = std::fs::read_to_string(dir.path().join("Rockerfile")).unwrap();
        std::fs::write(dir.path().join("Rockerfile"), rockerfile.replace("rockerc-golden/", &prefix(build.name()))).unwrap();
        let mut all: Vec<String> = vec!["--id".into(), id.clone()];
        if build == Build::BuildkitBackend {
            all.extend(["--emit".to_string(), "buildkit".to_string()]);
        }
        all.extend(args.iter().cloned());
        let out = env.iter().fold(Test::at(dir.path()).env_clear(), |test, (k, v)| test.env(k, v)).args(&all).arg("Rockerfile").status(0).run();
        std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
        let log = run_script(dir.path(), &build_env);
        // The script says first which builder it picked.
        let first = log.lines().next().unwrap_or_default();
        match build {
            Build::ShLegacy => assert!(first.starts_with("builder: legacy (DOCKER_BUILDKIT=0)"), "{name}: first line under DOCKER_BUILDKIT=0: {first}\n{log}"),
            Build::ShBuildkit => {
                assert!(first.starts_with("builder: BuildKit (auto: docker client "), "{name}: first line with {bk_docker} first on PATH: {first}\n{log}")
            }
            Build::BuildkitBackend => {}
        }
        built.push(dir);
    }

    let tags: Vec<BTreeMap<String, String>> = builds.iter().map(|b| tags_under(&prefix(b.name()))).collect();
    assert!(!tags[0].is_empty(), "{name}: the sh backend tagged nothing under {}", prefix("sh"));
    let trees: Vec<BTreeMap<String, FileInfo>> = built.iter().map(|d| host_tree(d.path())).collect();
    let written =
        |t: &BTreeMap<String, FileInfo>| t.iter().filter(|(p, _)| p.starts_with("dist")).map(|(p, f)| (p.clone(), f.clone())).collect::<BTreeMap<_, _>>();
    let differ = |other: usize, label: &str| {
        let (sh, bk) = (&tags[0], &tags[other]);
        assert_eq!(sh.keys().collect::<Vec<_>>(), bk.keys().collect::<Vec<_>>(), "{name}: {label}: both tag the same names");
        let mut differences = Vec::new();
        for (tag, sh_image) in sh {
            let bk_image = &bk[tag];
            differences.extend(tree_differences(name, &format!("{label}{tag}"), &image_tree(sh_image), &image_tree(bk_image)));
            // The number of layers and of history entries, where the builders differ: each makes a
            // layer of every RUN, COPY, ADD (and WORKDIR) and a history entry of every instruction.
            if !label.is_empty() {
                let count = |image: &str, layers: bool| {
                    if layers {
                        docker_str(&["image", "inspect", "--format", "{{len .RootFS.Layers}}", image])
                    } else {
                        docker_str(&["history", "--quiet", "--no-trunc", image]).lines().count().to_string()
                    }
                };
                for (layers, name) in [(true, "layers"), (false, "history entries")] {
                    let (x, y) = (count(sh_image, layers), count(bk_image, layers));
                    if x != y {
                        differences.push(format!("{label}{tag}: {name}: {x} vs {y} (sh vs BuildKit)"));
                    }
                }
            }
            let (a, b) = (image_config(sh_image), image_config(bk_image));
            for key in CONFIG_KEYS {
                if !same_config_value(&a[key], &b[key]) {
                    differences.push(format!("{label}{tag}: config {key}: {} vs {} (sh vs BuildKit)", a[key], b[key]));
                }
            }
        }
        // What the builds wrote on the host (IMPORT into a MOUNTed directory).
        differences.extend(tree_differences(name, &format!("{label}host"), &written(&trees[0]), &written(&trees[other])));
        differences
    };
    let builders = differ(1, "builders: ");
    let backends = if sh_only { Vec::new() } else { differ(2, "") };
    eprintln!(
        "{name}: {} image(s) compared ({}), {} difference(s) between the backends, {} between the sh backend's builders",
        tags[0].len(),
        tags[0].keys().cloned().collect::<Vec<_>>().join(", "),
        backends.len(),
        builders.len()
    );
    Some((backends, builders))
}

macro_rules! differential {
    ($($test:ident => $name:literal,)*) => {$(
        #[test]
        fn $test() {
            compare($name);
        }
    )*};
}

differential! {
    both_backends_build_identical_images_export_import => "export-import",
    both_backends_build_identical_images_from_tagged => "from-tagged",
    both_backends_build_identical_images_import_to_host => "import-to-host",
    both_backends_build_identical_images_include => "include",
    both_backends_build_identical_images_npm_cache_ssh => "npm-cache-ssh",
    both_backends_build_identical_images_parallel_builders => "parallel-builders",
    both_backends_build_identical_images_tag_push => "tag-push",
    both_backends_build_identical_images_template_agent => "template-agent",
    both_backends_build_identical_images_template_jinja => "template-jinja",
    both_backends_build_identical_images_template_service => "template-service",
    both_backends_build_identical_images_trailing_slash => "trailing-slash",
    both_builders_build_identical_images_attach => "attach",
    both_builders_build_identical_images_context_writeback => "context-writeback",
}

/// What the golden examples leave out, built by both backends and compared the same way: ONBUILD
/// held back across the parts of a stage and exposed at a TAG, CMD at a later ENTRYPOINT, ARG in
/// a later part, a read-only MOUNT of the context, a relative EXPORT, files of another owner,
/// a file the export store renamed, a MOUNTed RUN that reads an ARG on a continued line, and
/// COPY --from a stage number in a stage that has already built an image of its own.
pub(crate) const FEATURES: &str = r#"FROM rockerc-test/busybox AS base
ARG GREETING=hello
ONBUILD RUN echo fired > /fired
RUN mkdir -p /data/sub && echo "$GREETING" > /data/greeting && echo deep > /data/sub/deep && chown -R 1000:1000 /data && chmod 750 /data /data/sub
CMD ["base"]
TAG rockerc-golden/onbuild-base:latest
ENTRYPOINT ["/bin/echo"]
RUN echo "$GREETING again" > /data/again
EXPORT /data
EXPORT /data/greeting /renamed
WORKDIR /work
RUN echo relative > rel.txt
EXPORT rel.txt

FROM base
ARG WHO=world
MOUNT .:/src:ro
RUN cat /src/input.txt > /from-context && echo "$WHO" \
 "$HOME" >> /from-context
RUN mkdir /existing-dir
IMPORT data /imported/
IMPORT renamed /existing-dir
IMPORT rel.txt /rel
TAG rockerc-golden/child:latest

FROM rockerc-test/busybox
RUN echo third > /third
COPY --from=0 /data/greeting /copied-from-0
TAG rockerc-golden/copy-from:latest
"#;

/// Differences the FEATURES build is known to have, each with its reason: (difference, why).
const FEATURES_KNOWN: &[(&str, &str)] = &[(
    "child:latest: /imported/data: mode: 750 vs 755 (sh vs BuildKit)",
    "the mode of an IMPORTed directory itself (not of what is in it): rsync, and the sh backend's tar extracted by ADD, keep it; BuildKit's COPY --from creates the destination directory 0755, and Docker 20.10's frontend has no COPY --chmod",
)];

#[test]
fn both_backends_build_identical_images_of_what_the_examples_leave_out() {
    let make = |dir: &Path| {
        std::fs::write(dir.join("Rockerfile"), FEATURES).unwrap();
        std::fs::write(dir.join("input.txt"), "from the context\n").unwrap();
    };
    let test = "both_backends_build_identical_images_of_what_the_examples_leave_out";
    let Some((differences, builders)) = compare_builds(test, "features", BOTH.len(), &make, &[], &[], false) else { return };
    let unknown = unknown_builder_differences("features", &builders);
    assert!(unknown.is_empty(), "the sh backend's images differ between the legacy builder and BuildKit:\n  {}", unknown.join("\n  "));
    let known: Vec<&str> = FEATURES_KNOWN.iter().map(|(d, _)| *d).collect();
    assert_eq!(differences, known, "the differences are exactly the known ones (FEATURES_KNOWN; update it and docs/multi-stage.md when they change)");
}

#[test]
fn a_wrong_assumption_stops_the_buildkit_build() {
    let Some(bk_docker) = buildkit_or_skip("a_wrong_assumption_stops_the_buildkit_build") else { return };
    // Nothing says whether /out/dir is a file or a directory; rockerc takes it for a file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Rockerfile"),
        format!("FROM {BUSYBOX}\nRUN mkdir -p /out/dir && touch /out/dir/x\nEXPORT /out/dir\n\nFROM {BUSYBOX}\nIMPORT dir /target\n"),
    )
    .unwrap();
    let out = Test::at(dir.path()).args(["--emit", "buildkit", "Rockerfile"]).status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let out = Command::new("sh").arg(dir.path().join("build.sh")).env("ROCKERC_DOCKER", &bk_docker).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build must stop");
    assert!(err.contains("rockerc: IMPORT dir /target (Rockerfile:6) was compiled for /out/dir being a file, but it is a directory"), "{err}");
}

/// The BuildKit backend's output for a golden example, through the library.
fn compile_buildkit(dir: &Path, layout: rockerc::emit::Layout) -> rockerc::emit::Emitted {
    use rockerc::{compile_to, emit::Backend, source::SourceFile, Options};
    let file = SourceFile::new("Rockerfile", std::fs::read_to_string(dir.join("Rockerfile")).unwrap());
    // INCLUDE paths are relative to the Rockerfile.
    let mut options = Options { layout, build_id: Some("golden".into()), rockerfile_path: Some(dir.join("Rockerfile")), ..Options::default() };
    options.template.base_dir = Some(dir.to_path_buf());
    if dir.join("vars.yml").is_file() {
        options.template.var_files.push(dir.join("vars.yml"));
    }
    options.template.env = example_env(dir).into_iter().collect();
    match compile_to(&file, &options, Backend::Buildkit, false) {
        Ok(c) => c.output,
        Err(f) => panic!("{} does not compile for BuildKit:\n{}", dir.display(), f.render(&file, false)),
    }
}

#[test]
fn buildkit_output_is_deterministic_parses_and_is_pinned() {
    use rockerc::emit::Layout;
    for name in BOTH {
        let dir = repo_root().join("golden").join(name);
        for layout in [Layout::Single, Layout::Directory] {
            assert_eq!(compile_buildkit(&dir, layout), compile_buildkit(&dir, layout), "{name} compiles differently twice");
        }
        let out = compile_buildkit(&dir, Layout::Directory);
        let (file, dockerfile) = &out.files[0];
        assert_eq!(file, "Dockerfile");
        let parsed = rockerc::syntax::parse(dockerfile).unwrap_or_else(|d| panic!("{name}: the Dockerfile does not parse: {}", d.message));
        assert!(
            parsed.ast.instructions.iter().all(|i| !i.kind.is_rocker() && i.kind != rockerc::syntax::Keyword::Unknown),
            "{name}: the Dockerfile holds an instruction Docker does not know"
        );
        let mut settings = insta::Settings::clone_current();
        settings.set_description(format!("rockerc --emit buildkit --id golden -o DIR golden/{name}/Rockerfile: DIR/Dockerfile"));
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(format!("{name}.Dockerfile"), dockerfile));
    }
}

#[test]
fn buildkit_scripts_are_shellcheck_clean() {
    use rockerc::emit::Layout;
    let available = Command::new("shellcheck").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !available {
        if std::env::var("ROCKERC_E2E").as_deref() == Ok("require") {
            panic!("shellcheck is not installed");
        }
        eprintln!("\n*** SHELLCHECK SKIPPED: shellcheck is not installed (apt-get install shellcheck) ***\n");
        return;
    }
    for name in BOTH {
        for layout in [Layout::Single, Layout::Directory] {
            let out = compile_buildkit(&repo_root().join("golden").join(name), layout);
            let mut child = Command::new("shellcheck").args(["-s", "sh", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
            {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(out.script_text().as_bytes()).unwrap();
            }
            let result = child.wait_with_output().unwrap();
            assert!(
                result.status.success(),
                "shellcheck -s sh finds problems in the {layout:?} BuildKit script of {name}:\n{}",
                String::from_utf8_lossy(&result.stdout)
            );
        }
    }
}

/// A command whose quoted word holds a `$` and spans lines (an exec-form ATTACH with a newline
/// in its command) says to shellcheck that the `$` is meant above its first line, never inside
/// the word. The BuildKit script once marked line by line: a later line of the word that, read
/// on its own, had a `$` between quotes (`echo '$y'`) got the directive above it, inside the word,
/// where it became part of the command ATTACH runs.
#[test]
fn a_literal_dollar_in_a_word_of_several_lines_is_marked_above_the_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), "FROM rockerc-test/busybox\nATTACH [\"sh\", \"-c\", \"echo x\\necho '$y'\"]\n").unwrap();
    let directive = "# shellcheck disable=SC2016 # literal text from the Rockerfile, not expanded here\n";
    for backend in ["buildkit", "sh"] {
        let script = Test::at(dir.path()).args(["--emit", backend, "Rockerfile"]).status(0).run().stdout();
        let word = " sh -c 'echo x\necho '\\''$y'\\'\n";
        let at = script.find(word).unwrap_or_else(|| panic!("{backend}: the word is written whole:\n{script}"));
        let command_start = script[..at].rfind('\n').unwrap() + 1;
        assert!(script[..command_start].ends_with(&format!("  {directive}")), "{backend}: the directive is right above the command:\n{script}");
        for (i, _) in script.match_indices(directive) {
            let next = &script[i + directive.len()..];
            assert!(next.starts_with("  rc_"), "{backend}: a directive above something else than a command:\n{}", &script[i..]);
        }
    }
}

#[test]
fn attach_opens_the_image_at_that_point_with_the_stages_mounts() {
    let Some(bk_docker) = buildkit_or_skip("attach_opens_the_image_at_that_point_with_the_stages_mounts") else { return };
    // golden/attach with its host MOUNT read-only (the BuildKit backend cannot write to the host)
    // and a volume: ATTACH runs on the image at its line, with both mounted.
    let dir = tempfile::tempdir().unwrap();
    copy_golden("attach", dir.path());
    let rockerfile = std::fs::read_to_string(dir.path().join("Rockerfile")).unwrap();
    let rockerfile = rockerfile
        .replace("MOUNT .:/workspace", "MOUNT .:/workspace:ro\nMOUNT /cache")
        .replace("TAG rockerc-golden/attach:latest\n", "RUN echo later > /later\n");
    std::fs::write(dir.path().join("Rockerfile"), rockerfile).unwrap();
    let id = format!("rockerc-diff-attach-{}", std::process::id());
    let out = Test::at(dir.path()).args(["--emit", "buildkit", "--id", &id, "Rockerfile"]).status(0).run();
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    let log = run_script(dir.path(), &[("ROCKERC_DOCKER", bk_docker.clone())]);
    assert!(log.contains("skipping ATTACH at Rockerfile:9"), "{log}");
    let cmd = format!("sh {} --attach", dir.path().join("build.sh").display());
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("ROCKERC_DOCKER", &bk_docker)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            // The first ATTACH runs the image's CMD (sh): answer it, then let the second run.
            child.stdin.take().unwrap().write_all(b"echo inside-attach; ls -d /cache; ls /later; exit\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("inside-attach") && text.contains("/cache"), "{text}");
    assert!(text.contains("ls: /later: No such file or directory"), "ATTACH sees the image at its line, not the stage's end:\n{text}");
    assert!(text.contains("context-file.txt") && text.contains("prepared"), "the second ATTACH sees the MOUNTed context:\n{text}");
    let crc = String::from_utf8(run_ok(Command::new("sh").arg("-c").arg(format!("printf %s {id} | sha256sum | cut -c 1-32"))).stdout).unwrap();
    let volumes = docker_str(&["volume", "ls", "-q"]);
    for v in volumes.lines().filter(|v| v.starts_with(&format!("rockerc_{}_", crc.split_whitespace().next().unwrap()))) {
        docker(&["volume", "rm", v]);
    }
}
