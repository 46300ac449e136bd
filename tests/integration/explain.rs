//! `--explain`: the generated script and Dockerfiles annotated for a learner (Markdown), for both
//! backends and every golden example: deterministic, a section for every stage and every step (or
//! Dockerfile stage), the Rockerfile lines each comes from, and the mechanism that carries it.
//! The explanations of golden/export-import are pinned as snapshots (tests/snapshots/).

use crate::common::*;
use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(repo_root().join("golden")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.join("Rockerfile").is_file()).collect();
    dirs.sort();
    dirs
}

/// `rockerc ARGS Rockerfile` in a golden example, with its vars.yml and env; `None` if it fails.
fn rockerc_in(dir: &Path, args: &[&str]) -> Option<String> {
    let mut test = Test::at(dir).env_clear().args(args);
    if dir.join("vars.yml").is_file() {
        test = test.args(["--vars", "vars.yml"]);
    }
    if let Ok(env) = std::fs::read_to_string(dir.join("env")) {
        for (name, value) in env.lines().filter_map(|l| l.split_once('=')) {
            test = test.env(name, value);
        }
    }
    let out = test.arg("Rockerfile").run();
    (out.code == 0).then(|| out.stdout())
}

/// Fenced blocks open and close in pairs.
fn fences_balance(md: &str) -> bool {
    let mut open: Option<usize> = None;
    for line in md.lines() {
        let ticks = line.chars().take_while(|c| *c == '`').count();
        if ticks < 3 {
            continue;
        }
        match open {
            None => open = Some(ticks),
            Some(n) if ticks == n && line.trim_end().len() == ticks => open = None,
            Some(_) => {}
        }
    }
    open.is_none()
}

#[test]
fn the_sh_backend_is_explained_step_by_step() {
    for dir in examples() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let md = rockerc_in(&dir, &["--explain", "--id", "x"]).unwrap_or_else(|| panic!("{name} does not compile"));
        assert_eq!(Some(md.clone()), rockerc_in(&dir, &["--explain", "--id", "x"]), "{name}: --explain is not deterministic");
        assert!(md.starts_with("# Rockerfile through the sh backend, explained\n"), "{name}");
        assert!(fences_balance(&md), "{name}: a code block is not closed:\n{md}");
        // Every step of the script has its section, with the lines it comes from.
        let script = rockerc_in(&dir, &["--id", "x"]).unwrap();
        // (The steps, not rc_fused's one build of them all under BuildKit, which comes after them.)
        for line in script.lines().take_while(|l| *l != "rc_fused() {").filter(|l| l.trim_start().starts_with("rc_step ")) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (number, place) = (words[1], words[2].trim_matches('\''));
            assert!(md.contains(&format!("### Step {number}: {place} (")), "{name}: no section for step {number} at {place}:\n{md}");
        }
        let stages = script
            .lines()
            .filter(|l| l.strip_prefix("rc_stage_").and_then(|r| r.strip_suffix("() {")).is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
            .count();
        assert_eq!(md.matches("\n## Stage ").count(), stages, "{name}: a section per stage");
    }
}

#[test]
fn each_mechanism_is_named_where_it_is_used() {
    let md = |name: &str| rockerc_in(&repo_root().join("golden").join(name), &["--explain", "--id", "x"]).unwrap();
    let ei = md("export-import");
    assert!(ei.contains("**Layer cache.**") && ei.contains("**Tar stream.**") && ei.contains("**Tar stream (IMPORT).**"), "{ei}");
    assert!(ei.contains("replays the EXPORT at Rockerfile:9"), "an IMPORT names the EXPORT it replays:\n{ei}");
    let npm = md("npm-cache-ssh");
    assert!(npm.contains("**run + commit.**"), "{npm}");
    assert!(npm.contains("`MOUNT /root/.npm`: a Docker volume"), "{npm}");
    assert!(md("attach").contains("**docker run -it.**"));
    assert!(md("import-to-host").contains("**Tar stream into a mount.**"));
    assert!(md("tag-push").contains("**Recorded.** PUSH names the image at this point"));
}

#[test]
fn the_buildkit_backend_is_explained_stage_by_stage() {
    for dir in examples() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Some(md) = rockerc_in(&dir, &["--explain", "--emit", "buildkit", "--id", "x"]) else {
            // attach and context-writeback: only the sh backend builds them (tests/integration/differential.rs).
            assert!(rockerc_in(&dir, &["--emit", "buildkit", "--id", "x"]).is_none(), "{name}");
            continue;
        };
        assert_eq!(Some(md.clone()), rockerc_in(&dir, &["--explain", "--emit", "buildkit", "--id", "x"]), "{name}: not deterministic");
        assert!(md.starts_with("# Rockerfile as a multi-stage Dockerfile, explained\n"), "{name}");
        assert!(fences_balance(&md), "{name}: a code block is not closed:\n{md}");
        // A section for every stage of the Dockerfile, in its order.
        let script = rockerc_in(&dir, &["--emit", "buildkit", "--id", "x"]).unwrap();
        let stages: Vec<String> = script.lines().filter(|l| l.starts_with("FROM ")).map(|l| l.rsplit(" AS ").next().unwrap().to_string()).collect();
        let sections: Vec<String> = md.lines().filter_map(|l| l.strip_prefix("## `")).map(|l| l.split('`').next().unwrap().to_string()).collect();
        assert_eq!(sections, stages, "{name}: a section per Dockerfile stage");
        assert!(md.contains("## What build.sh does"), "{name}");
    }
    let ts = rockerc_in(&repo_root().join("golden/trailing-slash"), &["--explain", "--emit", "buildkit", "--id", "x"]).unwrap();
    // Why each IMPORT became the COPY it is.
    assert!(ts.contains("`src/` means") || ts.contains("ends with `/`: rsync copies the directory's contents"), "{ts}");
    assert!(ts.contains("rockerc takes `/tool` for a file because nothing says otherwise (a check stage stops the build if it is not)"), "{ts}");
    assert!(ts.contains("rockerc takes `/src` for a directory because an EXPORT of `/src/` in the same stage copied it as one"), "{ts}");
    assert!(ts.contains("**Check**") || ts.contains("(a check)"), "{ts}");
}

#[test]
fn the_explanations_of_export_import_are_pinned() {
    let dir = repo_root().join("golden/export-import");
    insta::assert_snapshot!("export-import.sh.md", rockerc_in(&dir, &["--explain", "--id", "x"]).unwrap());
    insta::assert_snapshot!("export-import.buildkit.md", rockerc_in(&dir, &["--explain", "--emit", "buildkit", "--id", "x"]).unwrap());
}

#[test]
fn explain_goes_to_standard_output_and_not_with_dot() {
    let dir = repo_root().join("golden/export-import");
    let out = Test::at(&dir).args(["--explain", "-o", "/nonexistent/out", "Rockerfile"]).status(1).run();
    assert!(out.stderr.contains("--explain prints to standard output"));
    let out = Test::at(&dir).args(["--explain", "--emit", "dot", "Rockerfile"]).status(1).run();
    assert!(out.stderr.contains("--explain explains --emit sh or --emit buildkit"));
}
