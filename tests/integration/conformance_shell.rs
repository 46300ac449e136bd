//! BuildKit's own word-expansion data (`shell/envVarTest`, `shell/wordsTest`) run against
//! `analyze::expand`, with the rules of BuildKit's `lex_test.go` as the conformance README
//! describes them.
//!
//! The data is not vendored here: point `ROCKERC_CONFORMANCE_DIR` at a folder laid out like
//! `shared/conformance/buildkit`:
//!
//! ```text
//! ROCKERC_CONFORMANCE_DIR=../shared/conformance/buildkit cargo test --test integration conformance_shell:: -- --ignored --nocapture
//! ```
//!
//! Both tests are `#[ignore]`d: a clone without `../shared` shows them as ignored, never as passed;
//! `--ignored` runs them (and without the variable they fail).

use rockerc::analyze::expand::Lexer;
use std::path::PathBuf;

fn conformance_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("ROCKERC_CONFORMANCE_DIR").expect("needs ../shared: set ROCKERC_CONFORMANCE_DIR to shared/conformance/buildkit"))
}

/// Written straight to stderr, which the test harness doesn't capture: counts and skips always show.
fn report(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn read(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join("shell").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `PLATFORM|INPUT|EXPECTED`, each field trimmed; `#` in column 1 and blank lines are skipped;
/// `W` (Windows-only) lines don't apply; `error` means the expansion must fail.
#[test]
#[ignore = "needs ../shared: set ROCKERC_CONFORMANCE_DIR to shared/conformance/buildkit and run with --ignored (.ci/run does)"]
fn env_var_test() {
    let dir = conformance_dir();
    let env: &[(&str, &str)] = &[("PWD", "/home"), ("SHELL", "bash"), ("KOREAN", "한국어"), ("NULL", "")];
    let lexer = Lexer::default();
    let (mut run, mut passed, mut windows) = (0, 0, 0);
    let mut failures = Vec::new();
    for (number, line) in read(&dir, "envVarTest").lines().enumerate() {
        let number = number + 1;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.trim().split('|').map(str::trim).collect();
        let [platform, input, expected] = fields[..] else {
            panic!("envVarTest:{number}: expected exactly 3 fields: {line:?}");
        };
        match platform {
            "W" => {
                windows += 1;
                continue;
            }
            "A" | "U" => {}
            other => panic!("envVarTest:{number}: unknown platform {other:?}"),
        }
        run += 1;
        let got = lexer.expand_word(input, env).map(|e| e.value);
        let ok = match (&got, expected) {
            (Err(_), "error") => true,
            (Ok(value), expected) => expected != "error" && value == expected,
            (Err(_), _) => false,
        };
        if ok {
            passed += 1;
        } else {
            failures.push(format!("envVarTest:{number}: {input:?} expected {expected:?}, got {got:?}"));
        }
    }
    report(&format!("envVarTest {passed}/{run} ({windows} W lines skipped)"));
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(run > 0, "envVarTest has no cases");
}

/// `INPUT|EXPECTED` with exactly one `|`; `ENV name=value` lines (verbatim after `ENV `) set a
/// variable for every later line; INPUT is trimmed, EXPECTED trimmed on the left only and split
/// on `,`; `error` means the expansion must fail. Default mode only (see the README's pitfall).
#[test]
#[ignore = "needs ../shared: set ROCKERC_CONFORMANCE_DIR to shared/conformance/buildkit and run with --ignored (.ci/run does)"]
fn words_test() {
    let dir = conformance_dir();
    let lexer = Lexer::default();
    let mut env: Vec<(String, String)> = Vec::new();
    let (mut run, mut passed) = (0, 0);
    let mut failures = Vec::new();
    for (number, line) in read(&dir, "wordsTest").lines().enumerate() {
        let number = number + 1;
        if line.starts_with('#') {
            continue;
        }
        if let Some(setting) = line.strip_prefix("ENV ") {
            let setting = setting.trim_start_matches(' ');
            let (name, value) = setting.split_once('=').unwrap_or((setting, ""));
            env.push((name.to_owned(), value.to_owned()));
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        let [input, expected] = fields[..] else {
            panic!("wordsTest:{number}: expected exactly one '|': {line:?}");
        };
        let input = input.trim();
        let expected: Vec<&str> = expected.trim_start_matches(' ').split(',').collect();
        run += 1;
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let got = lexer.expand_words(input, &pairs[..]);
        let ok = match &got {
            Ok(words) => *words == expected,
            Err(_) => expected == ["error"],
        };
        if ok {
            passed += 1;
        } else {
            failures.push(format!("wordsTest:{number}: {input:?} expected {expected:?}, got {got:?}"));
        }
    }
    report(&format!("wordsTest {passed}/{run}"));
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(run > 0, "wordsTest has no cases");
}
