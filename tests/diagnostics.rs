//! Every diagnostic rockerc can print, pinned verbatim as the user reads it on stderr.
//!
//! Each case is one file `tests/fixtures/diagnostics/<case>.rockerfile`: an optional header of
//! lines starting with `#> `, then the Rockerfile. The test writes the Rockerfile as
//! `./Rockerfile` in a fresh temporary directory, runs the real `rockerc` binary there, and
//! snapshots the exit code, whether stdout is empty, which files the run left behind (an `-o DIR`
//! that failed must leave nothing) and stderr, in
//! `tests/fixtures/diagnostics/snapshots/<case>.snap`. The header is not part of the Rockerfile,
//! so line numbers in the snapshot count from the first line after it.
//!
//! Header lines:
//!
//! - `#> args: ARG...`: rockerc's command-line arguments, split at blanks (no quoting); with none,
//!   rockerc runs without arguments and reads `./Rockerfile`.
//! - `#> file NAME: TEXT`: writes TEXT to NAME beside the Rockerfile (vars files, a file where
//!   `-o` wants a directory, ...).
//! - `#> stdin: TEXT`: standard input (empty by default).
//!
//! In all three, `\n` stands for a newline, `\\` for a backslash and `\xHH` for an ASCII
//! character (`\x00` for a NUL).
//!
//! The temporary directory's path is masked as `[TMP]`; nothing else is.
//!
//! `every_diagnostic_code_is_pinned` then scans `src/` for every code rockerc can emit and fails
//! naming each one that no snapshot here (nor a verbatim pin in tests/cli.rs, tests/expansion.rs
//! or tests/subcommands.rs) shows.
//!
//! Add a case: write the fixture, run `cargo insta test --test diagnostics --accept` (or
//! `INSTA_UPDATE=always cargo test --test diagnostics`), and read the new snapshot.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn fixture_dir() -> PathBuf {
    root().join("tests/fixtures/diagnostics")
}

fn fixtures() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> =
        std::fs::read_dir(fixture_dir()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "rockerfile")).collect();
    all.sort();
    assert!(!all.is_empty(), "no tests/fixtures/diagnostics/*.rockerfile");
    all
}

/// One fixture, split into its header and the Rockerfile.
struct Case {
    /// The `args:` header as written, for the snapshot's description.
    args_line: String,
    args: Vec<String>,
    files: Vec<(String, String)>,
    stdin: String,
    rockerfile: String,
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some('x') => {
                    let hex: String = chars.by_ref().take(2).collect();
                    let byte = u8::from_str_radix(&hex, 16)
                        .ok()
                        .filter(u8::is_ascii)
                        .unwrap_or_else(|| panic!("`\\x{hex}` in a fixture header: two hex digits below 80"));
                    out.push(char::from(byte));
                }
                other => panic!("unknown escape `\\{}` in a fixture header", other.map(String::from).unwrap_or_default()),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

fn parse_case(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let mut case = Case { args_line: String::new(), args: Vec::new(), files: Vec::new(), stdin: String::new(), rockerfile: String::new() };
    let mut rest = text.as_str();
    while let Some(line) = rest.strip_prefix("#> ") {
        let (line, after) = line.split_once('\n').unwrap_or((line, ""));
        rest = after;
        if let Some(args) = line.strip_prefix("args:") {
            case.args_line = args.trim().to_string();
            case.args = args.split_whitespace().map(unescape).collect();
        } else if let Some(stdin) = line.strip_prefix("stdin: ") {
            case.stdin = unescape(stdin);
        } else if let Some((name, contents)) = line.strip_prefix("file ").and_then(|l| l.split_once(": ")) {
            case.files.push((name.to_string(), unescape(contents)));
        } else {
            panic!("{}: unknown header line `#> {line}`", path.display());
        }
    }
    case.rockerfile = rest.to_string();
    case
}

/// Every path under `dir`, relative to it.
fn entries(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.insert(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if path.is_dir() && !path.is_symlink() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// Runs the case and describes what the user saw.
fn run(case: &Case) -> String {
    let sandbox = tempfile::Builder::new().prefix("rockerc-diag-").tempdir().unwrap();
    let dir = sandbox.path();
    std::fs::write(dir.join("Rockerfile"), &case.rockerfile).unwrap();
    for (name, contents) in &case.files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    let before = entries(dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rockerc"))
        .args(&case.args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rockerc runs");
    child.stdin.take().unwrap().write_all(case.stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let written: Vec<String> = entries(dir).difference(&before).cloned().collect();

    let mut stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    for shown in [dir.canonicalize().unwrap(), dir.to_path_buf()] {
        stderr = stderr.replace(&shown.display().to_string(), "[TMP]");
    }
    format!(
        "exit code: {}\nstdout: {}\nfiles written: {}\nstderr:\n{stderr}",
        out.status.code().map_or("none (killed by a signal)".to_string(), |c| c.to_string()),
        if out.stdout.is_empty() { "empty" } else { "not empty" },
        if written.is_empty() { "none".to_string() } else { written.join(", ") },
    )
}

#[test]
fn diagnostics_match_their_snapshots() {
    let mut failed = Vec::new();
    for path in fixtures() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let case = parse_case(&path);
        let shown = run(&case);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(fixture_dir().join("snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_input_file(&path);
        settings.set_description(format!("rockerc {}", case.args_line).trim_end().to_string());
        // Every case is checked (and, with INSTA_UPDATE, written) before the test fails.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| settings.bind(|| insta::assert_snapshot!(name.as_str(), shown))));
        if result.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "diagnostics that differ from their snapshots: {}", failed.join(", "));
}

/// Codes that no input from outside can produce, each with the reason.
const UNREACHABLE: &[(&str, &str)] = &[
    ("invalid-heredoc", "BuildKit's check that a delimiter the line lexer accepted also lexes alone; no input is known to fail it (a search of every delimiter of up to 6 characters from `<E'\"\\${}:- /` found none), so it is kept as BuildKit keeps it"),
    ("stage-cycle", "every edge of the stage graph goes from an earlier stage to a later one (FROM, COPY --from and IMPORT resolve backwards only); the check guards that invariant"),
    ("parser-bug", "an internal invariant: the line splitters it guards cannot fail on a trimmed, non-empty line"),
];

/// Every diagnostic code in `src/`: the string literal that opens a call of
/// `Diagnostic::error(`, `Diagnostic::warning(`, `FuncError::new(` or the template executor's
/// `error(` helper (possibly on the next line), and every `"template-..."` literal (the Jinja
/// dialect picks its codes in a `match`).
fn codes_in_src() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let is_code = |s: &str| {
        !s.is_empty() && s.starts_with(|c: char| c.is_ascii_lowercase()) && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let mut files = Vec::new();
    walk(&root().join("src"), &mut files);
    let mut codes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices('(') {
            let before = &text[..at];
            let opener = ["Diagnostic::error", "Diagnostic::warning", "FuncError::new"].iter().any(|o| before.ends_with(o))
                || (before.ends_with("error") && !before[..at - "error".len()].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':'));
            let Some(literal) = text[at + 1..].trim_start().strip_prefix('"') else { continue };
            let literal = &literal[..literal.find('"').unwrap_or(0)];
            if opener && is_code(literal) {
                codes.insert(literal.to_string());
            }
        }
        for piece in text.split('"').skip(1).step_by(2) {
            if piece.starts_with("template-") && is_code(piece) {
                codes.insert(piece.to_string());
            }
        }
    }
    codes
}

#[test]
fn every_diagnostic_code_is_pinned() {
    let codes = codes_in_src();
    assert!(codes.len() > 50 && codes.contains("unknown-instruction") && codes.contains("template-syntax"), "the scan of src/ found too little: {codes:?}");
    let mut pinned = String::new();
    for entry in std::fs::read_dir(fixture_dir().join("snapshots")).unwrap() {
        pinned += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    // Older tests that compare the whole of stderr with a literal.
    for file in ["tests/cli.rs", "tests/expansion.rs", "tests/subcommands.rs"] {
        pinned += &std::fs::read_to_string(root().join(file)).unwrap();
    }
    for (code, _) in UNREACHABLE {
        assert!(codes.contains(*code), "`{code}` is allowed to be unpinned, but src/ no longer emits it");
    }
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !UNREACHABLE.iter().any(|(u, _)| u == c))
        .filter(|c| !pinned.contains(&format!("error[{c}]: ")) && !pinned.contains(&format!("warning[{c}]: ")))
        .collect();
    assert!(missing.is_empty(), "diagnostic codes with no fixture in tests/fixtures/diagnostics/ whose snapshot shows them: {missing:?}");
}
