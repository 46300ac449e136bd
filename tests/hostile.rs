//! Hostile names: paths, file names, values and labels with spaces, quotes, `$(...)`, backquotes,
//! `;`, `&&` and newlines must reach Docker as the literal text they are, and never run on the
//! host. rockerc and the build both run with an empty sentinel directory as their working
//! directory; every payload is a command that would create a file there (`touch qN`). After
//! compiling and building, the directory must still be empty, and the names must have arrived
//! in the image exactly as written.

mod common;

use common::*;
use std::process::Command;

/// Payloads for names: no `/` (they are also file names) and no `$NAME` (a MOUNT source expands
/// environment variables when the script runs, on purpose).
const PAYLOADS: [&str; 6] = ["$(touch q1)", "`touch q2`", "'; touch q3; '", "\"; touch q4; \"", "a && touch q5 #", "|touch q6|"];

#[test]
fn hostile_names_never_run_on_the_host() {
    if !engine_or_skip("hostile_names_never_run_on_the_host") {
        return;
    }
    let sentinel = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let p = PAYLOADS;
    // The context directory's own name is hostile, and so is the Rockerfile's (with a newline).
    let context = root.path().join(format!("ctx {} {}", p[0], p[1]));
    std::fs::create_dir_all(&context).unwrap();
    let rockerfile_name = format!("Rockerfile\n{}", p[2]);
    let host_dir = format!("host {} {} {}", p[3], p[0], p[1]);
    std::fs::create_dir_all(context.join(&host_dir)).unwrap();
    std::fs::write(context.join(&host_dir).join("input.txt"), "from the host\n").unwrap();

    let weird = format!("we ird {} {}", p[4], p[5]);
    let json = |s: &str| serde_json::to_string(s).unwrap();
    let quoted = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let rockerfile = format!(
        "FROM {BUSYBOX}\n\
         RUN mkdir -p {dir} && echo data > {file}\n\
         EXPORT [{export}]\n\
         MOUNT [{mount}]\n\
         RUN cat /mnt/input.txt > /seen.txt\n\
         TAG rockerc-e2e/hostile-builder:latest\n\
         \n\
         FROM {BUSYBOX}\n\
         IMPORT [{import_src}, {import_dest}]\n\
         LABEL payload={label}\n\
         TAG rockerc-e2e/hostile:latest\n",
        dir = quoted(&format!("/out/{weird}")),
        file = quoted(&format!("/out/{weird}/f'q\"$x.txt")),
        export = json(&format!("/out/{weird}")),
        mount = json(&format!("./{host_dir}:/mnt")),
        import_src = json(&weird),
        import_dest = json(&format!("/in {}/", p[1])),
        label = json(p[0]),
    );
    std::fs::write(context.join(&rockerfile_name), &rockerfile).unwrap();

    let out_dir = root.path().join(format!("out {}", p[3]));
    let rockerfile_path = context.join(&rockerfile_name);
    run_ok(rockerc().current_dir(sentinel.path()).arg("-o").arg(&out_dir).arg(&rockerfile_path));
    let script = out_dir.join("build.sh");
    if Command::new("shellcheck").arg("--version").output().is_ok() {
        let sc = Command::new("shellcheck").args(["-s", "sh"]).arg(&script).output().unwrap();
        assert!(sc.status.success(), "{}", String::from_utf8_lossy(&sc.stdout));
    }
    let build = Command::new("sh").arg(&script).current_dir(sentinel.path()).output().unwrap();
    assert!(build.status.success(), "{}{}", String::from_utf8_lossy(&build.stdout), String::from_utf8_lossy(&build.stderr));

    let created: Vec<_> = std::fs::read_dir(sentinel.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(created.is_empty(), "payloads ran on the host: {created:?}");

    // The names arrived literally: the exported directory, imported under a hostile destination,
    // the MOUNTed host directory, the label.
    let files = image_files("rockerc-e2e/hostile:latest");
    let imported = format!("/in {}/{weird}/f'q\"$x.txt", p[1]);
    assert_eq!(file_text(&files, &imported), "data\n", "{:?}", files.keys().filter(|k| k.starts_with("/in")).collect::<Vec<_>>());
    assert_eq!(file_text(&image_files("rockerc-e2e/hostile-builder:latest"), "/seen.txt"), "from the host\n");
    assert_eq!(image_config("rockerc-e2e/hostile:latest")["Labels"]["payload"], p[0]);
}

/// A tag or a path with a newline cannot become a new instruction or a new command.
#[test]
fn newlines_cannot_start_an_instruction() {
    for (rockerfile, code) in [
        ("FROM a\nEXPORT [\"/x\\nRUN touch q1\"]\n", "bad-path"),
        ("FROM a\nMOUNT [\"/x\\nRUN touch q1:/y\"]\n", "bad-mount"),
        ("FROM a\nTAG \"x\\nRUN touch q1\"\n", "bad-image-name"),
        ("FROM a\nRUN [\"sh\", \"-c\", \"a\\u0000b\"]\nMOUNT /m\nRUN [\"sh\", \"-c\", \"a\\u0000b\"]\n", "nul-byte"),
    ] {
        let file = rockerc::source::SourceFile::new("Rockerfile", rockerfile);
        let err = rockerc::compile(&file, &rockerc::Options::default()).expect_err(rockerfile);
        assert!(err.diagnostics.iter().any(|d| d.code == code), "{rockerfile:?}: {:?}", err.diagnostics);
    }
}
