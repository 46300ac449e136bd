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

mod common;

use common::*;
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
    let compiled = rockerc()
        .current_dir(sentinel)
        .arg("-o")
        .arg(&out_dir)
        .args(["--id", &format!("id {p}"), "--build-arg", &format!("HOSTILE={p}"), "--var", &format!("V={p}")])
        .arg(context.join(&rockerfile_name))
        .output()
        .unwrap();
    if has_newline {
        assert_eq!(compiled.status.code(), Some(1), "a newline in a path must be rejected");
        let err = String::from_utf8_lossy(&compiled.stderr);
        assert!(err.contains("error[bad-path]") || err.contains("error[bad-mount]"), "{err}");
        assert!(!out_dir.exists(), "nothing written on error");
        return false;
    }
    assert!(compiled.status.success(), "{p:?}: {}", String::from_utf8_lossy(&compiled.stderr));
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
