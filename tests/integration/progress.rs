//! Progress people can watch (issue 21) and what scripts read (issue 20, items 2, 4 and 5): start
//! lines and heartbeats in a log, live lines on a terminal (under `script`, a pseudo-terminal),
//! `--json`, the final image id, and RUN output from `rockerc build`. End to end.

use crate::common::*;
use std::process::{Command, Output};
use std::time::Instant;

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A step that prints and sleeps for 5 s, in two stages that build at the same time.
fn slow_rockerfile(tag: &str) -> String {
    format!(
        "FROM {BUSYBOX} AS a\nRUN for i in 1 2 3 4 5; do echo tick-a $i; sleep 1; done\n\
         FROM {BUSYBOX} AS b\nRUN for i in 1 2 3 4 5; do echo tick-b $i; sleep 1; done\n\
         FROM {BUSYBOX}\nCOPY --from=a /bin/sh /a\nCOPY --from=b /bin/sh /b\nTAG {tag}\n"
    )
}

fn compiled(rockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), rockerfile).unwrap();
    let out = run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile"));
    std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
    dir
}

/// Not on a terminal: a line when each step starts, a heartbeat every ROCKERC_HEARTBEAT seconds
/// with the elapsed time and the last output line, the finished line; no escape sequences.
#[test]
fn plain_progress_has_start_lines_and_heartbeats() {
    if !engine_or_skip("plain_progress_has_start_lines_and_heartbeats") {
        return;
    }
    // The timing tests one at a time: each watches seconds of a build go by.
    let _g = engine_lock(module_path!());
    let tag = format!("rockerc-e2e/{}:latest", unique("plain"));
    let dir = compiled(&slow_rockerfile(&tag));
    let cache = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let out = Command::new("sh")
        .arg(dir.path().join("build.sh"))
        .arg("--no-cache")
        // Step by step (under BuildKit the file would be one build: the next test).
        .arg("--no-fuse")
        .env("XDG_CACHE_HOME", cache.path())
        .env("ROCKERC_HEARTBEAT", "2")
        .output()
        .unwrap();
    let took = t0.elapsed().as_secs();
    assert!(out.status.success(), "{}", text(&out));
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!log.contains('\x1b'), "no escape sequences in a log:\n{log}");
    for step in ["[1/3] Rockerfile:1-2 RUN", "[2/3] Rockerfile:3-4 RUN"] {
        let lines: Vec<&str> = log.lines().filter(|l| l.starts_with(step)).collect();
        assert!(lines[0].ends_with(" ..."), "a start line first: {lines:?}");
        let beats: Vec<&str> = lines.iter().copied().filter(|l| l.contains(": running for ")).collect();
        // 5 s of work, a heartbeat every 2 s: at 2 s and 4 s (6 s if docker was slow to start).
        assert!((2..=3).contains(&beats.len()), "{beats:?}\n{log}");
        assert!(beats[0].contains("running for 2s") || beats[0].contains("running for 3s"), "{beats:?}");
        let who = if step.starts_with("[1") { "tick-a" } else { "tick-b" };
        // A beat before the RUN's first line (BuildKit starts the step later than the legacy
        // builder) has no output to show; any line it shows is the RUN's own, never the builder's.
        let shown: Vec<&str> = beats.iter().copied().filter(|b| b.rsplit(": running for ").next().unwrap_or("").contains(": ")).collect();
        assert!(shown.iter().all(|b| b.contains(&format!(": {who} "))), "the last output line: {beats:?}");
        assert!(!shown.is_empty(), "a beat shows the RUN's output: {beats:?}");
        assert!(lines.last().unwrap().ends_with("s)"), "the finished line last: {lines:?}");
    }
    // Nothing else was added: every line is a step's, or the report's.
    let other: Vec<&str> = log.lines().filter(|l| l.starts_with('[') && !l.contains("Rockerfile:")).collect();
    assert!(other.is_empty(), "{other:?}");
    assert!(log.lines().last().unwrap().starts_with("Successfully built sha256:"), "{log}");
    assert!(took < 30, "took {took}s");
    docker(&["rmi", &tag]);
}

/// Under BuildKit the same file is one build (fusion): each RUN and COPY of it has its start
/// line, heartbeats with its last output line and its finished line, as a step has, named by its
/// Rockerfile line (BuildKit's plain output streams one running step at a time: the other RUN
/// shows when it is done). On a terminal, a live line with the output, then the finished lines.
#[test]
fn a_fused_build_shows_each_instruction_as_a_step() {
    let test = "a_fused_build_shows_each_instruction_as_a_step";
    let Some(bk) = buildkit_docker_or_skip(test) else { return };
    if !engine_or_skip(test) {
        return;
    }
    let _g = engine_lock(module_path!());
    let tag = format!("rockerc-e2e/{}:latest", unique("fusedprogress"));
    let dir = compiled(&slow_rockerfile(&tag));
    let path = format!("{}:{}", std::path::Path::new(&bk).parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg(dir.path().join("build.sh"))
        .arg("--no-cache")
        .env("PATH", &path)
        // BuildKit (which fuses), whatever the suite runs under (CI's second run sets 0).
        .env_remove("DOCKER_BUILDKIT")
        .env("XDG_CACHE_HOME", cache.path())
        .env("ROCKERC_HEARTBEAT", "2")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(log.contains("[1/1] Rockerfile:1-8 stages 1-3 in one BuildKit build ("), "fused:\n{log}");
    let mut beating = 0;
    for (line, who) in [("[1/1] Rockerfile:2 RUN", "tick-a"), ("[1/1] Rockerfile:4 RUN", "tick-b")] {
        let lines: Vec<&str> = log.lines().filter(|l| l.starts_with(line)).collect();
        assert!(lines.first().is_some_and(|l| l.ends_with(" ...")), "a start line first: {lines:?}\n{log}");
        assert!(lines.last().is_some_and(|l| l.ends_with("s)")), "the finished line last: {lines:?}\n{log}");
        let beats: Vec<&&str> = lines.iter().filter(|l| l.contains(": running for ")).collect();
        assert!(beats.iter().all(|b| b.contains(&format!(": {who} ")) || b.ends_with('s')), "its own output: {beats:?}");
        beating += usize::from(!beats.is_empty());
    }
    assert!(beating >= 1, "heartbeats with the running RUN's output:\n{log}");
    for line in ["[1/1] Rockerfile:6 COPY --from=a /bin/sh /a (", "[1/1] Rockerfile:7 COPY --from=b /bin/sh /b ("] {
        assert!(log.contains(line), "{line}\n{log}");
    }
    let other: Vec<&str> = log.lines().filter(|l| l.starts_with('[') && !l.starts_with("[1/1] Rockerfile:")).collect();
    assert!(other.is_empty(), "{other:?}");
    // On a terminal.
    let typescript = dir.path().join("typescript");
    let out = Command::new("script")
        .args(["-qfec", &format!("sh {}/build.sh --no-cache", dir.path().display())])
        .arg(&typescript)
        .env("PATH", &path)
        .env_remove("DOCKER_BUILDKIT")
        .env("XDG_CACHE_HOME", cache.path())
        .env("TERM", "xterm")
        .env("COLUMNS", "100")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let raw = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned();
    let live: Vec<&str> = raw.lines().filter(|l| l.contains("\x1b[2m[1/1] Rockerfile:") && l.contains(" | tick-")).collect();
    assert!(!live.is_empty(), "a live line with the RUN's output:\n{raw:?}");
    assert!(raw.contains("\x1b[J[1/1] Rockerfile:2 RUN for i in 1 2 3 4 5; do echo tick-a $i; sleep 1; done ("), "{raw:?}");
    assert!(!raw.contains("done ...\r"), "no plain start lines on a terminal");
    docker(&["rmi", &tag]);
}

/// On a terminal: a live line per running step (both stages at once), with the elapsed time and
/// the last output line, redrawn in place and replaced by the finished line. NO_COLOR takes the
/// colour away, not the live lines.
#[test]
fn tty_progress_draws_live_lines() {
    if !engine_or_skip("tty_progress_draws_live_lines") {
        return;
    }
    // The timing tests one at a time: each watches seconds of a build go by.
    let _g = engine_lock(module_path!());
    if Command::new("script").arg("--version").output().is_err() {
        panic!("`script` (util-linux) is needed for the terminal test");
    }
    let tag = format!("rockerc-e2e/{}:latest", unique("tty"));
    let dir = compiled(&slow_rockerfile(&tag));
    for no_color in [false, true] {
        let cache = tempfile::tempdir().unwrap();
        let typescript = dir.path().join("typescript");
        let mut cmd = Command::new("script");
        cmd.args(["-qfec", &format!("sh {}/build.sh --no-cache --no-fuse", dir.path().display())])
            .arg(&typescript)
            .env("XDG_CACHE_HOME", cache.path())
            .env("TERM", "xterm")
            .env("COLUMNS", "100");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let raw = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned();
        // A frame: clear below, one line per running step, back up to their top.
        let frames: Vec<&str> = raw.split("\r\x1b[J").skip(1).collect();
        let both = frames.iter().find(|f| f.contains("[1/3] Rockerfile:1-2 ") && f.contains("[2/3] Rockerfile:3-4 ") && f.contains("\x1b[2A"));
        assert!(both.is_some(), "both stages live at once:\n{raw:?}");
        let live: Vec<&str> = raw.lines().filter(|l| l.contains("[1/3] Rockerfile:1-2 ") && l.contains(" | tick-a ")).collect();
        assert!(!live.is_empty(), "the last output line is shown:\n{raw:?}");
        assert!(live.iter().any(|l| l.contains(" 3s RUN") || l.contains(" 4s RUN")), "the elapsed time: {live:?}");
        assert!(live.iter().all(|l| l.chars().count() < 100 + 12), "lines fit the width: {live:?}");
        assert_eq!(raw.contains("\x1b[2m"), !no_color, "colour only without NO_COLOR");
        // The finished line replaces them: it starts with "clear below", and no start lines.
        assert!(raw.contains("\x1b[J[1/3] Rockerfile:1-2 RUN for i in 1 2 3 4 5; do echo tick-a $i; sleep 1; done ("), "{raw:?}");
        assert!(!raw.contains("done ...\r"), "no plain start lines on a terminal");
        assert!(raw.contains("Successfully built sha256:"));
    }
    docker(&["rmi", &tag]);
}

/// `--json`: JSON lines only on stdout, one object per step (start and end), tag, and the result;
/// an error as an object; the no-op path's result says so. `-q` prints the final id alone.
#[test]
fn json_lines_and_the_final_image_id() {
    if !engine_or_skip("json_lines_and_the_final_image_id") {
        return;
    }
    let tag = format!("rockerc-e2e/{}:latest", unique("json"));
    let dir = compiled(&format!("FROM {BUSYBOX}\nRUN echo hello > /f\nMOUNT /cache\nRUN echo '\"quoted\\\\'\nTAG {tag}\n"));
    let cache = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| Command::new("sh").arg(dir.path().join("build.sh")).args(args).env("XDG_CACHE_HOME", cache.path()).output().unwrap();
    let out = run(&["--json", "-v"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let events: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}"))).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["start", "step", "start", "step", "tag", "result"], "{stdout}");
    let step = &events[1];
    assert_eq!(step["step"], 1);
    assert_eq!(step["steps"], 2);
    assert_eq!(step["file"], "Rockerfile");
    assert_eq!(step["lines"], "1-2");
    assert_eq!(step["instruction"], "RUN echo hello > /f");
    assert!(step["seconds"].as_f64().unwrap() > 0.0);
    let id = image_id(&tag);
    assert_eq!(events[3]["image"], id.as_str());
    let size: i64 = docker_str(&["image", "inspect", "--format", "{{.Size}}", &id]).parse().unwrap();
    assert_eq!(events[3]["size"], size);
    assert_eq!(events[3]["delta"], 0, "echo adds nothing on disk");
    assert_eq!(events[4]["name"], tag.as_str());
    assert_eq!(events[5]["image"], id.as_str());
    assert_eq!(events[5]["up_to_date"], false);
    // -v streams the RUN output to stderr, never stdout.
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"quoted\\"), "{}", text(&out));
    // Again: the no-op result, cached.
    let out = run(&["--json"]);
    let again: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(again["up_to_date"], true);
    assert_eq!(again["image"], id.as_str());
    // The id where scripts look: the text's last line, and -q's only line.
    let text_out = String::from_utf8_lossy(&run(&[]).stdout).into_owned();
    assert!(text_out.ends_with(&format!("Successfully built {id}\n")), "{text_out}");
    assert_eq!(String::from_utf8_lossy(&run(&["-q", "--no-cache"]).stdout), format!("{}\n", image_id(&tag)));
    // An error is an object too, with the step, its lines and the output's end.
    let bad = compiled(&format!("FROM {BUSYBOX}\nRUN echo about to fail && false\n"));
    let out = Command::new("sh").arg(bad.path().join("build.sh")).arg("--json").env("XDG_CACHE_HOME", cache.path()).output().unwrap();
    assert!(!out.status.success());
    let last: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "error");
    assert_eq!(last["lines"], "1-2");
    assert!(last["output"].as_str().unwrap().contains("about to fail"), "{last}");
    docker(&["rmi", &tag]);
}

/// `rockerc build` shows what RUNs print, as `rocker build` did; -q quiets it; --json is JSON.
#[test]
fn rockerc_build_shows_run_output() {
    if !engine_or_skip("rockerc_build_shows_run_output") {
        return;
    }
    let tag = format!("rockerc-e2e/{}:latest", unique("runout"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), format!("FROM {BUSYBOX}\nRUN echo compiler-warning-$((6*7))\nTAG {tag}\n")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let build = |args: &[&str]| run_ok(rockerc().current_dir(dir.path()).arg("build").args(args).env("XDG_CACHE_HOME", cache.path()));
    let out = build(&["--no-cache"]);
    assert!(text(&out).contains("compiler-warning-42"), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("Successfully built {}", image_id(&tag))));
    let out = build(&["--no-cache", "-q"]);
    assert!(!text(&out).contains("compiler-warning-42"), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{}\n", image_id(&tag)));
    let out = build(&["--no-cache", "--json"]);
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}"));
    }
    docker(&["rmi", &tag]);
}
