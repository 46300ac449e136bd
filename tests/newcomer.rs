//! What a new user meets first, checked as they would meet it: the test suites that need
//! `../shared` say so in cargo's own summary of a fresh clone instead of passing without having
//! run anything.

use std::path::Path;

/// The suites that read `../shared` (through `ROCKERC_CONFORMANCE_DIR` or `ROCKERC_CORPUS_DIR`)
/// are `#[ignore = "needs ../shared: ..."]`: a clone without it lists them as ignored, `.ci/run`
/// runs them with `--ignored`, and run without the variable they fail rather than pass.
#[test]
fn suites_that_need_shared_are_ignored_without_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.push(root.join("tests/common/mod.rs"));
    files.sort();
    let mut shared_tests = Vec::new();
    let mut problems = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let fns = functions(&text);
        // A function reads ../shared if it names one of the variables in code, or calls one that does.
        let mut reads: Vec<&str> = fns
            .iter()
            .filter(|f| {
                code(f.body).contains("\"ROCKERC_CONFORMANCE_DIR\"")
                    || code(f.body).contains("\"ROCKERC_CORPUS_DIR\"")
            })
            .map(|f| f.name)
            .collect();
        loop {
            let more: Vec<&str> = fns
                .iter()
                .filter(|f| {
                    !reads.contains(&f.name)
                        && reads
                            .iter()
                            .any(|r| code(f.body).contains(&format!("{r}(")))
                })
                .map(|f| f.name)
                .collect();
            if more.is_empty() {
                break;
            }
            reads.extend(more);
        }
        let name = path.file_name().unwrap().to_string_lossy();
        for f in fns
            .iter()
            .filter(|f| f.attributes.contains("#[test]") && reads.contains(&f.name))
        {
            shared_tests.push(format!("{name}: {}", f.name));
            if !f.attributes.contains("#[ignore = \"needs ../shared") {
                problems.push(format!(
                    "{name}: {} reads ../shared but is not #[ignore = \"needs ../shared: ...\"]",
                    f.name
                ));
            }
            if code(f.body).contains("return;") || code(f.body).contains("SKIPPED") {
                problems.push(format!(
                    "{name}: {} can return without running (a skip reported as `ok`)",
                    f.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for suite in [
        "conformance_parser.rs",
        "conformance_shell.rs",
        "corpus.rs",
        "template_corpus.rs",
    ] {
        assert!(
            shared_tests.iter().any(|t| t.starts_with(suite)),
            "no test of {suite} was found to read ../shared: {shared_tests:?}"
        );
    }
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(
        ci.lines()
            .any(|l| l.starts_with("cargo test") && l.contains("--ignored")),
        ".ci/run must run the ignored suites:\n{ci}"
    );
}

struct Function<'a> {
    name: &'a str,
    /// The attribute lines right above `fn`.
    attributes: String,
    body: &'a str,
}

/// The top-level functions of a Rust file, with their attributes and bodies (up to the first
/// `}` in column 0: rustfmt's layout).
fn functions(text: &str) -> Vec<Function<'_>> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut offset = 0;
    let starts: Vec<usize> = lines
        .iter()
        .map(|l| {
            let at = offset;
            offset += l.len() + 1;
            at
        })
        .collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line
            .strip_prefix("fn ")
            .or_else(|| line.strip_prefix("pub fn "))
        else {
            continue;
        };
        let name = &rest[..rest.find(['(', '<']).unwrap_or(rest.len())];
        let mut attributes = Vec::new();
        for above in lines[..i].iter().rev() {
            if above.starts_with("#[") {
                attributes.push(*above);
            } else if !above.starts_with("///") {
                break;
            }
        }
        let end = lines[i..]
            .iter()
            .position(|l| *l == "}")
            .map_or(text.len(), |k| starts[i + k]);
        out.push(Function {
            name,
            attributes: attributes.join("\n"),
            body: &text[starts[i]..end],
        });
    }
    out
}

/// The code of a body without its comments.
fn code(body: &str) -> String {
    body.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

