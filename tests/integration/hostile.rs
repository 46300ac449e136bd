//! Hostile input never runs. Each payload below is a command that would create a file in the
//! current directory (`touch qN`) if anything evaluated it on the host. For every payload, a
//! Rockerfile puts it in every place a value reaches the generated script or a generated
//! Dockerfile: the context directory's name, the Rockerfile's name, the `-o` directory, `--id`,
//! `--build-arg`, a `-var` spliced into a RUN through the `shell` helper, a COPY source's file
//! name, a MOUNT source and destination, EXPORT and IMPORT paths, LABEL and ENV values. rockerc
//! and the build run with an empty sentinel directory as their working directory. Afterwards the
//! sentinel is still empty, and every value arrived in the image exactly as written.
//!
//! A payload with a newline cannot be a path in MOUNT, EXPORT or IMPORT: rockerc rejects those
//! with a diagnostic (counted below), and the suite checks the rejection instead.

use crate::common::*;
use std::process::Command;

/// No `/` (they are also file names) and no `$NAME` (MOUNT sources expand the environment on
/// purpose, and `$NAME` is what a Dockerfile's own word expansion reads).
const PAYLOADS: &[&str] = &[
    "$(touch q1)",
    "`touch q2`",
    "'; touch q3; '",
    "\"; touch q4; \"",
    "a && touch q5 #",
    "|touch q6|",
    "$((0))x$(touch q7)",
    ";touch q8;",
    "\\`; touch q9 \\",
    "%s %n %x",
    "* ? [a-z] ~",
    "-rf --help",
    "x\ntouch q13",
];

#[test]
fn hostile_input_never_runs_on_the_host() {
    if !engine_or_skip("hostile_input_never_runs_on_the_host") {
        return;
    }
    let sentinel = tempfile::tempdir().unwrap();
    let (mut built, mut rejected) = (0, 0);
    for (n, payload) in PAYLOADS.iter().enumerate() {
        if run_payload(n, payload, sentinel.path()) {
            built += 1;
        } else {
            rejected += 1;
        }
        let created: Vec<_> = std::fs::read_dir(sentinel.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(created.is_empty(), "payload {payload:?} ran on the host: {created:?}");
    }
    eprintln!("hostile inputs: {} payloads in 12 places each: {built} built, {rejected} rejected with a diagnostic, 0 executed", PAYLOADS.len());
    assert_eq!(built + rejected, PAYLOADS.len());
}

/// Builds one payload everywhere; returns false when rockerc rejected it (as it must for a
/// newline in a path).
fn run_payload(n: usize, p: &str, sentinel: &std::path::Path) -> bool {
    let root = tempfile::tempdir().unwrap();
    let context = root.path().join(format!("ctx {p}"));
    std::fs::create_dir_all(context.join(format!("host {p}"))).unwrap();
    std::fs::write(context.join(format!("host {p}")).join("input.txt"), "from the host\n").unwrap();
    std::fs::write(context.join(format!("file {p}")), "copied\n").unwrap();
    let json = |s: &str| serde_json::to_string(s).unwrap();
    // Docker's own quoting for an ENV/LABEL value: double quotes, with `\`, `"` and `$` escaped.
    let docker_quoted = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"").replace('$', "\\$"));
    let sh_quoted = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let image = format!("rockerc-e2e/hostile-{n}:latest");
    let builder = format!("rockerc-e2e/hostile-builder-{n}:latest");
    let has_newline = p.contains('\n');
    let mut rockerfile = format!(
        "FROM {BUSYBOX}\n\
         ARG HOSTILE\n\
         RUN mkdir -p {dir} && echo data > {dir}/data && printf '%s' \"$HOSTILE\" > /arg && printf '%s' {{{{ shell .V }}}} > /var\n\
         COPY [{copy_src}, \"/copied\"]\n\
         LABEL payload={label}\n\
         ENV PAYLOAD={label}\n\
         EXPORT [{export}]\n\
         MOUNT [{mount}]\n\
         RUN cat /mnt/input.txt > /seen\n",
        dir = sh_quoted(&format!("/out/{p}")),
        // Docker expands COPY sources even in JSON form and takes `*?[` as a glob, with no way to
        // write them literally: a user matches such a name with `?` (the file is the only match).
        copy_src = json(&format!("file {p}").chars().map(|c| if "*?[]\\\"'$`".contains(c) { '?' } else { c }).collect::<String>()),
        label = docker_quoted(p),
        export = json(&format!("/out/{p}")),
        mount = json(&format!("./host {p}:/mnt")),
    );
    rockerfile.push_str(&format!("MOUNT [{}]\nRUN ls / > /dev/null\nTAG {builder}\n", json(&format!("./host {p}:/mnt2 {p}"))));
    rockerfile.push_str(&format!("\nFROM {BUSYBOX}\nIMPORT [{}, {}]\nTAG {image}\n", json(p), json(&format!("/in {p}/"))));
    let rockerfile_name = format!("Rockerfile {p}");
    std::fs::write(context.join(&rockerfile_name), &rockerfile).unwrap();

    let out_dir = root.path().join(format!("out {p}"));
    let compiled = Test::at(sentinel)
        .arg("-o")
        .arg(&out_dir)
        .args(["--id", &format!("id {p}"), "--build-arg", &format!("HOSTILE={p}"), "--var", &format!("V={p}")])
        .arg(context.join(&rockerfile_name))
        .run();
    if has_newline {
        assert_eq!(compiled.code, 1, "a newline in a path must be rejected");
        let err = &compiled.stderr;
        assert!(err.contains("error[bad-path]") || err.contains("error[bad-mount]"), "{err}");
        assert!(!out_dir.exists(), "nothing written on error");
        return false;
    }
    assert_eq!(compiled.code, 0, "{p:?}: {}", compiled.stderr);
    let script = out_dir.join("build.sh");
    if Command::new("shellcheck").arg("--version").output().is_ok() {
        let sc = Command::new("shellcheck").args(["-s", "sh"]).arg(&script).output().unwrap();
        assert!(sc.status.success(), "{p:?}: {}", String::from_utf8_lossy(&sc.stdout));
    }
    let cache = tempfile::tempdir().unwrap();
    let build = Command::new("sh").arg(&script).env("XDG_CACHE_HOME", cache.path()).current_dir(sentinel).output().unwrap();
    assert!(build.status.success(), "{p:?}: {}{}", String::from_utf8_lossy(&build.stdout), String::from_utf8_lossy(&build.stderr));

    // Every value arrived literally.
    let files = image_files(&image);
    assert_eq!(file_text(&files, &format!("/in {p}/{p}/data")), "data\n", "{p:?}: EXPORT/IMPORT paths");
    let built = image_files(&builder);
    assert_eq!(file_text(&built, "/arg"), p, "--build-arg");
    assert_eq!(file_text(&built, "/var"), p, "-var through shell");
    assert_eq!(file_text(&built, "/copied"), "copied\n", "COPY of a file with the payload in its name");
    assert_eq!(file_text(&built, "/seen"), "from the host\n", "MOUNT source and destination");
    let cfg = image_config(&builder);
    assert_eq!(cfg["Labels"]["payload"], p, "LABEL");
    assert!(cfg["Env"].as_array().unwrap().iter().any(|e| e.as_str() == Some(&format!("PAYLOAD={p}"))), "ENV: {}", cfg["Env"]);
    docker(&["rmi", &builder]);
    docker(&["rmi", &image]);
    true
}

// -----------------------------------------------------------------------------------------------
// A build sees its context and nothing else of the host: links in the context behave as under
// `docker build` (a link is copied as a link; a path through a link never leads out of the
// context), a relative MOUNT stays in the context, and a host path outside it is bound only when
// whoever runs the build allows it.

fn random_hex() -> String {
    let mut buf = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut buf).unwrap();
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// What an image holds under /x, /y and /z, or why the build failed.
type Outcome = Result<Vec<(String, Entry)>, String>;

/// A context whose links lead out of it in every form, beside a directory outside it that holds
/// a secret.
struct LinkFarm {
    root: tempfile::TempDir,
    secret: String,
}

impl LinkFarm {
    fn new() -> LinkFarm {
        let root = tempfile::tempdir().unwrap();
        let secret = format!("host-secret-{}", random_hex());
        let (r, ctx) = (root.path(), root.path().join("ctx"));
        for d in ["outside/sub", "ctx/inner", "ctx/some/dir", "ctx/deep", "ctx/sub"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::fs::write(r.join("outside/secret.txt"), &secret).unwrap();
        std::fs::write(r.join("outside/sub/s2"), &secret).unwrap();
        std::fs::write(r.join("outside/ignore"), "app.txt\n").unwrap();
        std::fs::write(ctx.join("inner/f"), "inner\n").unwrap();
        std::fs::write(ctx.join("some/dir/secret.txt"), "in the context\n").unwrap();
        std::fs::write(ctx.join("app.txt"), "app\n").unwrap();
        std::fs::write(ctx.join("sub/ign"), "app.txt\n").unwrap();
        let link = |target: &str, name: &str| std::os::unix::fs::symlink(target, ctx.join(name)).unwrap();
        let outside = r.join("outside").display().to_string();
        link(&outside, "absleak");
        link("../outside", "relleak");
        link("/some/dir", "absinscope");
        link("inner", "relin");
        link(&format!("{outside}/secret.txt"), "absfile");
        link("../outside/secret.txt", "relfile");
        link("inner/f", "relinfile");
        link("../../outside", "deep/leak");
        link("absleak", "chain");
        link("loop2", "loop1");
        link("loop1", "loop2");
        LinkFarm { root, secret }
    }

    fn ctx(&self) -> std::path::PathBuf {
        self.root.path().join("ctx")
    }

    /// `COPY {copy}` built by `docker build` (the legacy builder, with its Dockerfile in the
    /// context) and by rockerc's script: what each put under /x, or the error.
    fn both(&self, copy: &str, tag: &str) -> (Outcome, Outcome) {
        self.both_with(copy, tag, None)
    }

    /// [`LinkFarm::both`], rockerc's script run with the tools in `path` only (BusyBox's).
    fn both_with(&self, copy: &str, tag: &str, path: Option<&std::path::Path>) -> (Outcome, Outcome) {
        let ctx = self.ctx();
        let image = |who: &str| format!("rockerc-e2e/links-{who}-{tag}:latest");
        std::fs::write(ctx.join("Dockerfile"), format!("FROM {BUSYBOX}\nCOPY {copy}\n")).unwrap();
        let out = Command::new("docker")
            .args(["build", "--no-cache", "-q", "-t", &image("docker"), "."])
            .env("DOCKER_BUILDKIT", "0")
            .current_dir(&ctx)
            .output()
            .unwrap();
        std::fs::remove_file(ctx.join("Dockerfile")).unwrap();
        let theirs = if out.status.success() { Ok(self.tree(&image("docker"))) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) };
        std::fs::write(ctx.join("Rockerfile"), format!("FROM {BUSYBOX}\nCOPY {copy}\nTAG {}\n", image("rockerc"))).unwrap();
        let script = Test::at(&ctx).arg("Rockerfile").status(0).run().stdout;
        std::fs::write(ctx.join("build.sh"), script).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let mut sh = Command::new(path.map_or("sh".into(), |p| p.join("sh")));
        if let Some(p) = path {
            sh.env("PATH", p);
        }
        // --no-cache on both sides: the tests of this file run at once and remove their images, and
        // the legacy builder fails with `unable to find image` when a cache hit it chose is removed
        // under it by another test.
        let out = sh.arg(ctx.join("build.sh")).arg("--no-cache").env("XDG_CACHE_HOME", cache.path()).output().unwrap();
        std::fs::remove_file(ctx.join("Rockerfile")).unwrap();
        std::fs::remove_file(ctx.join("build.sh")).unwrap();
        let ours = if out.status.success() { Ok(self.tree(&image("rockerc"))) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) };
        for who in ["docker", "rockerc"] {
            let _ = Command::new("docker").args(["rmi", &image(who)]).output();
        }
        (theirs, ours)
    }

    /// What an image holds under /x, /y and /z, without the files only one side has (its
    /// Dockerfile or Rockerfile); no entry may hold the secret.
    fn tree(&self, image: &str) -> Vec<(String, Entry)> {
        let files = image_files(image);
        let tree: Vec<(String, Entry)> = files
            .into_iter()
            .filter(|(p, _)| ["/x", "/y", "/z"].iter().any(|top| p == top || p.starts_with(&format!("{top}/"))))
            .filter(|(p, _)| !["Dockerfile", "Rockerfile", "build.sh"].iter().any(|n| p.ends_with(&format!("/{n}"))))
            .collect();
        for (p, e) in &tree {
            let content = String::from_utf8_lossy(e.content.as_deref().unwrap_or_default()).into_owned();
            assert!(!content.contains(&self.secret), "{image}: {p} holds the host's secret");
        }
        tree
    }
}

#[test]
fn a_copy_through_links_in_the_context_does_what_docker_build_does() {
    if !engine_or_skip("a_copy_through_links_in_the_context_does_what_docker_build_does") {
        return;
    }
    let farm = LinkFarm::new();
    let cases = [
        // Out of the context: absolute, relative, in a directory on the way, a link to a link.
        ("absleak/secret.txt /x", false),
        ("relleak/secret.txt /x", false),
        ("deep/leak/secret.txt /x", false),
        ("chain/sub/s2 /x", false),
        ("absfile /x", false),
        ("relfile /x", false),
        ("absleak /x/", false),
        ("relleak/sub /x/", false),
        // `..` after a link is the context's, as Docker cleans the path first.
        ("./absleak/.. /x/", true),
        ("absleak//.. /x/", true),
        ("absleak/../inner/f /x", true),
        // Inside the context: an absolute link starts again at the context's root.
        ("absinscope/secret.txt /x", true),
        ("relin/f /x", true),
        ("relinfile /x", true),
        ("relin relinfile /x/", true),
        // A link is copied as a link inside a directory.
        ("deep /x/", true),
        ("loop1/x /x", false),
    ];
    let busybox = busybox_path();
    for (n, (copy, builds)) in cases.iter().enumerate() {
        // Every form with GNU tools; every other one again with BusyBox's (Alpine, docker:cli).
        let path = (n % 2 == 1).then(|| busybox.path());
        let (theirs, ours) = farm.both_with(copy, &format!("{}-{n}", std::process::id()), path);
        match (&theirs, &ours) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "COPY {copy}: rockerc's image differs from docker build's"),
            (Err(_), Err(e)) => assert!(e.contains("at Rockerfile:2"), "COPY {copy}: the error names the line:\n{e}"),
            _ => panic!("COPY {copy}: docker build {theirs:?}, rockerc {ours:?}"),
        }
        assert_eq!(ours.is_ok(), *builds, "COPY {copy}: {ours:?}");
    }
}

#[test]
fn a_dockerignore_that_is_a_link_is_never_read_through() {
    if !engine_or_skip("a_dockerignore_that_is_a_link_is_never_read_through") {
        return;
    }
    let farm = LinkFarm::new();
    let di = farm.ctx().join(".dockerignore");
    let outside = farm.root.path().join("outside/ignore").display().to_string();
    let tag = |n: &str| format!("{}-di{n}", std::process::id());
    // A link out of the context: its patterns (`app.txt`) are not read, and `COPY .dockerignore`
    // finds nothing there, as docker build does.
    for (n, target) in [outside.as_str(), "../outside/ignore"].iter().enumerate() {
        std::os::unix::fs::symlink(target, &di).unwrap();
        let (_, ours) = farm.both("app.txt /y/", &tag(&format!("a{n}")));
        let y = ours.unwrap_or_else(|e| panic!(".dockerignore -> {target}: {e}"));
        assert!(y.iter().any(|(p, _)| p == "/y/app.txt"), ".dockerignore -> {target}: patterns were read through the link: {y:?}");
        let (theirs, ours) = farm.both(".dockerignore /x/", &tag(&format!("b{n}")));
        assert!(theirs.is_err() && ours.is_err(), ".dockerignore -> {target}: {theirs:?} / {ours:?}");
        // The whole context with such a link: docker would read the patterns through it.
        let (_, ours) = farm.both(". /z/", &tag(&format!("c{n}")));
        let err = ours.unwrap_err();
        // Step 1: the COPY's build, or under BuildKit the one build of the whole file (its TAG too).
        let step = err.contains("step 1 failed: Rockerfile:1-2 ") || err.contains("step 1 failed: Rockerfile:1-3 stage 1 in one BuildKit build");
        assert!(step && err.contains("the build context's .dockerignore is a symbolic link"), "{err}");
        std::fs::remove_file(&di).unwrap();
    }
    // A link inside the context is what it points to, on both sides.
    std::os::unix::fs::symlink("sub/ign", &di).unwrap();
    for (n, copy) in [".dockerignore /x/", "app.txt /y/"].iter().enumerate() {
        let (theirs, ours) = farm.both(copy, &tag(&format!("d{n}")));
        assert_eq!(theirs.is_ok(), ours.is_ok(), "COPY {copy}: {theirs:?} / {ours:?}");
        if let (Ok(a), Ok(b)) = (&theirs, &ours) {
            assert_eq!(a, b, "COPY {copy}");
        }
    }
    std::fs::remove_file(&di).unwrap();
    // A plain .dockerignore is shipped exactly as docker build ships it (a Dockerfile from
    // elsewhere makes the CLI add a line to it).
    std::fs::write(&di, "*.log\n").unwrap();
    let (theirs, ours) = farm.both(".dockerignore /x/", &tag("e"));
    assert_eq!(theirs.unwrap(), ours.unwrap());
}

/// A Rockerfile in a context of its own, compiled (with `args`) to build.sh beside it.
fn mount_example(rockerfile: &str, args: &[&str]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("ctx")).unwrap();
    std::fs::write(root.path().join("ctx/Rockerfile"), rockerfile).unwrap();
    let out = Test::at(&root.path().join("ctx")).args(args).arg("Rockerfile").status(0).run();
    std::fs::write(root.path().join("ctx/build.sh"), out.stdout).unwrap();
    root
}

fn run_script(root: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let cache = tempfile::tempdir().unwrap();
    Command::new("sh")
        .arg(root.join("ctx/build.sh"))
        .args(args)
        .envs(env.iter().copied())
        .env("XDG_CACHE_HOME", cache.path())
        .current_dir(root)
        .output()
        .unwrap()
}

fn tree_of(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            out.push(format!("{} {}", e.path().display(), if meta.is_dir() { "dir".into() } else { std::fs::read_to_string(e.path()).unwrap_or_default() }));
            if meta.is_dir() {
                todo.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_relative_mount_never_follows_a_link_out_of_the_context() {
    if !engine_or_skip("a_relative_mount_never_follows_a_link_out_of_the_context") {
        return;
    }
    let victim = tempfile::tempdir().unwrap();
    std::fs::create_dir(victim.path().join("sub")).unwrap();
    std::fs::write(victim.path().join("precious"), "precious\n").unwrap();
    let before = tree_of(victim.path());
    let nowhere = victim.path().join("nowhere");
    for (n, src) in ["./out", "rel", "./dir/l", "./dir/l/sub", "out/new", "./dangling/new", "dir/../out"].iter().enumerate() {
        let tag = format!("rockerc-e2e/mountlink-{}-{n}:latest", std::process::id());
        let root = mount_example(&format!("FROM {BUSYBOX}\nMOUNT {src}:/m\nRUN echo pwned > /m/pwned; ls /m > /seen\nTAG {tag}\n"), &[]);
        let ctx = root.path().join("ctx");
        std::fs::create_dir(ctx.join("dir")).unwrap();
        std::os::unix::fs::symlink(victim.path(), ctx.join("out")).unwrap();
        std::os::unix::fs::symlink(victim.path(), ctx.join("dir/l")).unwrap();
        std::os::unix::fs::symlink(&nowhere, ctx.join("dangling")).unwrap();
        let rel = pathdiff(victim.path(), &ctx);
        std::os::unix::fs::symlink(rel, ctx.join("rel")).unwrap();
        let out = run_script(root.path(), &[], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "MOUNT {src} bound a path out of the context");
        assert!(err.contains("rockerc: error: MOUNT at Rockerfile:2"), "MOUNT {src}: {err}");
        assert_eq!(tree_of(victim.path()), before, "MOUNT {src} touched the host outside the context");
        assert!(!nowhere.exists(), "MOUNT {src} created a directory through a link");
        assert!(Command::new("docker").args(["image", "inspect", &tag]).output().unwrap().status.code() != Some(0));
    }
    // A link inside the context is fine: it is followed, and stays in.
    let tag = format!("rockerc-e2e/mountlink-{}-ok:latest", std::process::id());
    let root = mount_example(&format!("FROM {BUSYBOX}\nMOUNT ./cache:/m ./new/dir:/n\nRUN echo written > /m/file; ls /n > /seen\nTAG {tag}\n"), &[]);
    std::fs::create_dir(root.path().join("ctx/data")).unwrap();
    std::os::unix::fs::symlink("data", root.path().join("ctx/cache")).unwrap();
    let out = run_script(root.path(), &[], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(root.path().join("ctx/data/file")).unwrap(), "written\n");
    assert!(root.path().join("ctx/new/dir").is_dir(), "a missing source in the context is created there");
    docker(&["rmi", &tag]);
}

/// `to` relative to `from` (both absolute).
fn pathdiff(to: &std::path::Path, from: &std::path::Path) -> std::path::PathBuf {
    let (t, f): (Vec<_>, Vec<_>) = (to.components().collect(), from.components().collect());
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut out = std::path::PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    out
}

#[test]
fn a_host_mount_outside_the_context_needs_whoever_runs_the_build_to_allow_it() {
    if !engine_or_skip("a_host_mount_outside_the_context_needs_whoever_runs_the_build_to_allow_it") {
        return;
    }
    let host = tempfile::tempdir().unwrap();
    let h = std::fs::canonicalize(host.path()).unwrap().display().to_string();
    std::fs::create_dir_all(format!("{h}/data")).unwrap();
    std::fs::create_dir_all(format!("{h}/data2")).unwrap();
    std::fs::write(format!("{h}/data/file"), "from the host\n").unwrap();
    std::fs::create_dir_all(format!("{h}/home/cfg")).unwrap();
    std::fs::write(format!("{h}/home/cfg/file"), "home\n").unwrap();
    std::os::unix::fs::symlink(format!("{h}/data2"), format!("{h}/data/escape")).unwrap();
    let tag = format!("rockerc-e2e/consent-{}:latest", std::process::id());
    let seen = |image: &str| file_text(&image_files(image), "/seen");
    let refused = |out: &std::process::Output, path: &str| {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{path} was bound without consent");
        assert!(
            err.contains(&format!("rockerc: error: MOUNT at Rockerfile:2 binds {path}")) && err.contains(&format!("pass --allow-mount '{path}' to the script")),
            "the error names the line and the option to add:\n{err}"
        );
    };

    // An absolute path: refused, then allowed by the script's option, by the environment (a
    // parent directory), and when compiled; the header and `rockerc build` say so.
    let rockerfile = format!("FROM {BUSYBOX}\nMOUNT {h}/data:/h:ro\nRUN cat /h/file > /seen\nTAG {tag}\n");
    let root = mount_example(&rockerfile, &[]);
    let script = std::fs::read_to_string(root.path().join("ctx/build.sh")).unwrap();
    assert!(script.contains(&format!("#   Rockerfile:2  {h}/data -> /h  read-only, outside the build context: needs --allow-mount {h}/data\n")), "{script}");
    refused(&run_script(root.path(), &[], &[]), &format!("{h}/data"));
    // A sibling whose name starts the same is not under it.
    refused(&run_script(root.path(), &["--allow-mount", &format!("{h}/dat")], &[]), &format!("{h}/data"));
    assert!(run_script(root.path(), &["--allow-mount", &format!("{h}/data")], &[]).status.success());
    assert_eq!(seen(&tag), "from the host\n");
    assert!(run_script(root.path(), &["--no-cache"], &[("ROCKERC_ALLOW_MOUNT", &format!("/nonexistent:{h}"))]).status.success());
    let root = mount_example(&rockerfile, &["--allow-mount", &format!("{h}/data")]);
    let script = std::fs::read_to_string(root.path().join("ctx/build.sh")).unwrap();
    assert!(script.contains("read-only, outside the build context: allowed when compiled\n"), "{script}");
    assert!(run_script(root.path(), &["--no-cache"], &[]).status.success());
    let out = run_ok(
        rockerc()
            .args(["build", "--no-cache", "--allow-mount", &format!("{h}/data")])
            .current_dir(root.path().join("ctx"))
            .env("XDG_CACHE_HOME", host.path().join("cache")),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("rockerc: MOUNT Rockerfile:2  {h}/data -> /h  read-only, outside the build context: allowed when compiled\n")), "{err}");

    // Allowed is a path, not where a link under it leads.
    let escape = mount_example(&format!("FROM {BUSYBOX}\nMOUNT {h}/data/escape:/h\nRUN true\n"), &[]);
    refused(&run_script(escape.path(), &["--allow-mount", &format!("{h}/data")], &[]), &format!("{h}/data2"));

    // `~` and `$VAR` resolve when the script runs, and are checked then.
    let home = mount_example(&format!("FROM {BUSYBOX}\nMOUNT ~/cfg:/c\nRUN cat /c/file > /seen\nTAG {tag}\n"), &[]);
    refused(&run_script(home.path(), &[], &[("HOME", &format!("{h}/home"))]), &format!("{h}/home/cfg"));
    assert!(run_script(home.path(), &["--allow-mount", &format!("{h}/home")], &[("HOME", &format!("{h}/home"))]).status.success());
    assert_eq!(seen(&tag), "home\n");
    let var = mount_example(&format!("FROM {BUSYBOX}\nMOUNT $CFG_DIR:/c\nRUN cat /c/file > /seen\nTAG {tag}\n"), &[]);
    refused(&run_script(var.path(), &[], &[("CFG_DIR", &format!("{h}/home/cfg"))]), &format!("{h}/home/cfg"));
    assert!(run_script(var.path(), &[], &[("CFG_DIR", &format!("{h}/home/cfg")), ("ROCKERC_ALLOW_MOUNT", &format!("{h}/home/cfg"))]).status.success());

    // The BuildKit backend's script asks the same (it passes a host file as a secret), before
    // anything is built.
    let bk = mount_example(&format!("FROM {BUSYBOX}\nMOUNT {h}/data/file:/f:ro\nRUN cat /f\n"), &["--emit", "buildkit"]);
    refused(&run_script(bk.path(), &[], &[("ROCKERC_DOCKER", "/usr/bin/docker")]), &format!("{h}/data/file"));

    // Nothing is created outside the context, allowed or not.
    let missing = mount_example(&format!("FROM {BUSYBOX}\nMOUNT {h}/missing/dir:/m\nRUN true\n"), &[]);
    let out = run_script(missing.path(), &["--allow-mount", "/"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains(&format!("MOUNT at Rockerfile:2: the source {h}/missing/dir does not exist, and rockerc creates nothing outside the build context")));
    assert!(!std::path::Path::new(&format!("{h}/missing")).exists());
    docker(&["rmi", &tag]);
}

/// rockerc accepts a TAG name exactly when `docker tag` does, so a name Docker refuses never gets
/// past the compile and half-applies a build's tags. Each name is tried both ways on the engine
/// (the tags made are removed again); a name Docker 20.10 refuses and newer clients accept is
/// refused by rockerc whichever client runs the test.
#[test]
fn tag_names_are_accepted_exactly_when_docker_tag_accepts_them() {
    if !engine_or_skip("tag_names_are_accepted_exactly_when_docker_tag_accepts_them") {
        return;
    }
    let hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let mut names: Vec<String> = [
        "x-.io/app:1",
        "-x.io/app",
        "x.-io/app",
        "x..io/app",
        "x.io/app",
        "X.IO/app",
        "x.io:5000/app",
        "x.io:/app",
        "x.io:5a/app",
        "x_y.io/app",
        "x_y.io:5000/app",
        "localhost/app",
        "localhost:5000/a/b/c",
        "127.0.0.1:5000/x",
        "Registry/app",
        "team/App",
        "MyApp",
        "a..b",
        "a._b",
        "a__b",
        "a___b",
        "a--b",
        "a-",
        "_a",
        "app:",
        "app:-x",
        "app:.x",
        "app:_x",
        "app:1.0+build",
        "app:TAG_1.x-y",
        "a:b:c",
        "a/b:c/d",
        "re//po",
        "/app",
        "app/",
        "[::1]:5000/app",
        "docker.io/app",
        "index.docker.io/app",
        "rockerc-e2e/names:ok",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.push(hex.to_string());
    names.push(format!("{hex}:1"));
    names.push(format!("app@sha256:{hex}"));
    names.push(format!("{}:1", "a".repeat(237)));
    names.push(format!("{}:1", "a".repeat(238)));
    names.push(format!("app:{}", "t".repeat(128)));
    names.push(format!("app:{}", "t".repeat(129)));
    let dir = tempfile::tempdir().unwrap();
    let mut differ = Vec::new();
    // Refused by Docker 20.10 (its daemon checks the repository without the tag), accepted by a
    // client from Docker 23 on: rockerc refuses it whichever client this machine has first.
    let older_refuses = [format!("{hex}:1")];
    for name in &names {
        let docker_ok = !older_refuses.contains(name) && Command::new("docker").args(["tag", BUSYBOX, name]).output().unwrap().status.success();
        if docker_ok {
            let _ = Command::new("docker").args(["rmi", name]).output();
        }
        std::fs::write(dir.path().join("Rockerfile"), format!("FROM {BUSYBOX}\nTAG {name}\n")).unwrap();
        let rockerc_ok = Test::at(dir.path()).arg("Rockerfile").run().code == 0;
        if docker_ok != rockerc_ok {
            differ.push(format!("{name}: docker tag {}, rockerc {}", ok(docker_ok), ok(rockerc_ok)));
        }
    }
    assert!(differ.is_empty(), "rockerc and docker tag disagree:\n{}", differ.join("\n"));
}

fn ok(accepted: bool) -> &'static str {
    if accepted {
        "accepts it"
    } else {
        "refuses it"
    }
}

/// A RUN under a writable MOUNT of the context can write the script that runs it (compiled into
/// the checkout, as the README does) and the files beside it (`-o DIR`). The shell must never run
/// what it wrote: the script, the runtime beside it and every step file are read whole before
/// anything runs, and the step files and Dockerfiles a later step reads come from a private copy
/// made before the first step. Under dash and under BusyBox sh.
#[test]
fn a_run_that_rewrites_the_running_script_never_runs_on_the_host() {
    if !engine_or_skip("a_run_that_rewrites_the_running_script_never_runs_on_the_host") {
        return;
    }
    let busybox = busybox_path();
    for shell in ["dash", "busybox"] {
        let root = tempfile::tempdir().unwrap();
        let marks = root.path().join("marks");
        std::fs::create_dir(&marks).unwrap();
        let ctx = root.path().join("ctx");
        std::fs::create_dir(&ctx).unwrap();
        let m = marks.display();
        // Appends to the stdout script, the -o script and its runtime; overwrites every step file
        // beside the -o script (a later one too) and its Dockerfiles.
        let rockerfile = format!(
            "FROM {BUSYBOX}\nMOUNT .:/src\n\
             RUN for f in /src/build.sh /src/out/build.sh /src/out/rockerc-runtime.sh; do [ ! -f $f ] || printf '\\ntouch {m}/appended-to-${{f##*/}}\\n' >> $f; done; \
             for f in /src/out/*.run.sh; do printf 'touch {m}/replaced-${{f##*/}}\\n' > $f; done; \
             for f in /src/out/*.Dockerfile; do printf 'FROM {BUSYBOX}\\nRUN touch /replaced\\n' > $f; done\n\
             RUN echo later > /later\n\
             ENV X=1\n\
             RUN test ! -e /replaced\n"
        );
        std::fs::write(ctx.join("Rockerfile"), &rockerfile).unwrap();
        for path in ["build.sh", "out/build.sh"] {
            // Compiled afresh for each run: what an earlier run wrote is another matter.
            let script = run_ok(rockerc().current_dir(&ctx).arg("Rockerfile")).stdout;
            std::fs::write(ctx.join("build.sh"), script).unwrap();
            let _ = std::fs::remove_dir_all(ctx.join("out"));
            run_ok(rockerc().current_dir(&ctx).args(["-o", "out", "Rockerfile"]));
            let cache = tempfile::tempdir().unwrap();
            let mut cmd = if shell == "dash" {
                Command::new("dash")
            } else {
                let mut c = Command::new("/bin/busybox");
                c.arg("sh").env("PATH", format!("{}:{}", busybox.path().display(), std::env::var("PATH").unwrap()));
                c
            };
            let out = cmd.arg(ctx.join(path)).args(["--no-cache", "--id", &unique("rewrite")]).env("XDG_CACHE_HOME", cache.path()).output().unwrap();
            assert!(out.status.success(), "{shell} {path}: {}", String::from_utf8_lossy(&out.stderr));
            let ran: Vec<_> = std::fs::read_dir(&marks).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert!(ran.is_empty(), "{shell} {path}: the host ran what a RUN wrote: {ran:?}");
        }
        // The RUN did write them: the test would have seen it run.
        assert!(std::fs::read_to_string(ctx.join("build.sh")).unwrap().contains("\ntouch "));
        assert!(std::fs::read_to_string(ctx.join("out/rockerc-runtime.sh")).unwrap().contains("\ntouch "));
    }
}

/// A relative MOUNT source that does not exist is created in the context, and only there: one
/// whose `..` after a missing folder climbs out (`./new/../../x`, or enough `../` to reach any
/// absolute path) is refused before anything is made.
#[test]
fn a_missing_relative_mount_source_creates_nothing_outside_the_context() {
    if !engine_or_skip("a_missing_relative_mount_source_creates_nothing_outside_the_context") {
        return;
    }
    let elsewhere = tempfile::tempdir().unwrap();
    let far = elsewhere.path().join("anywhere-on-the-host");
    let up = "../".repeat(40);
    let far_src = format!("./n/{up}{}", far.display().to_string().trim_start_matches('/'));
    for src in ["./new/../../created-by-pr", "new/../../created-by-pr", far_src.as_str()] {
        let root = mount_example(&format!("FROM {BUSYBOX}\nMOUNT {src}:/o\nRUN true\n"), &[]);
        let out = run_script(root.path(), &["--id", &unique("mkdir")], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "MOUNT {src} was bound");
        assert!(err.contains("rockerc: error: MOUNT at Rockerfile:2") && err.contains("creates nothing"), "MOUNT {src}: {err}");
        assert!(!root.path().join("created-by-pr").exists(), "MOUNT {src} created a folder beside the context");
        assert!(!far.exists(), "MOUNT {src} created {}", far.display());
        let made: Vec<_> = std::fs::read_dir(root.path().join("ctx")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(!made.iter().any(|f| f == "new" || f == "n"), "MOUNT {src} left {made:?} in the context");
    }
}

/// A writable MOUNT of the context hands the checkout to the Rockerfile, but not its .git: the
/// code the next git command on the host runs (hooks, config) stays read-only inside the RUN,
/// whichever folder above it is mounted, and a MOUNT of .git itself is read-only.
#[test]
fn a_writable_context_mount_keeps_git_read_only() {
    if !engine_or_skip("a_writable_context_mount_keeps_git_read_only") {
        return;
    }
    for (mount, hooks) in [(".:/src", "/src/.git/hooks"), ("./.git:/g", "/g/hooks")] {
        let root = mount_example(
            &format!(
                "FROM {BUSYBOX}\nMOUNT {mount} ./out:/out\nRUN echo written > /out/file; (printf '#!/bin/sh\\necho pwned\\n' > {hooks}/post-checkout && echo hook-written) || true\n"
            ),
            &[],
        );
        let ctx = root.path().join("ctx");
        std::fs::create_dir_all(ctx.join(".git/hooks")).unwrap();
        std::fs::write(ctx.join(".git/config"), "[core]\n").unwrap();
        let out = run_script(root.path(), &["--no-cache", "--id", &unique("git"), "-v"], &[]);
        let text = String::from_utf8_lossy(&[out.stdout.clone(), out.stderr.clone()].concat()).into_owned();
        assert!(out.status.success(), "{mount}: {text}");
        assert!(text.contains("Read-only file system") && !text.contains("hook-written"), "{mount}: {text}");
        assert!(!ctx.join(".git/hooks/post-checkout").exists(), "MOUNT {mount} wrote a git hook on the host");
        assert_eq!(std::fs::read_to_string(ctx.join("out/file")).unwrap(), "written\n", "the rest of the checkout stays writable");
    }
}
