//! What the fuzz targets check, shared with `tests/integration/fuzz_regressions.rs` (which includes this file
//! as a module), so a crash input replays through exactly the checks that found it.
//!
//! Every target takes arbitrary bytes and must end in a result or in diagnostics, never a panic,
//! an overflowed stack, a hang or runaway memory (libFuzzer's `-timeout` and `-rss_limit_mb`,
//! set in `fuzz/run.sh`, turn those into crashes too). On top of that each checks cheap
//! invariants of its stage:
//!
//! - `template`: rendering with the Go dialect (lenient and `--strict`) and the Jinja dialect;
//!   the source map stays inside both texts and verbatim segments really are verbatim.
//! - `parse`: every span of the AST lies inside the text on character boundaries, and the
//!   BuildKit dump of the tree can be printed.
//! - `compile`: the whole pipeline in both layouts (script on stdout, `-o DIR`); they agree on
//!   success; a script starts with `#!/bin/sh`; every emitted Dockerfile parses again and holds
//!   only instructions Docker knows.
//!
//! Every failure must be a list of diagnostics with at least one error, each with a kebab-case
//! code, and every diagnostic (errors and warnings) must render as text and as JSON.
//!
//! Bytes that are not UTF-8 never reach the library: the CLI rejects them with `not-utf8`
//! (tests/integration/cli.rs, tests/integration/fuzz_regressions.rs) and the library takes `&str`. The targets decode
//! with `String::from_utf8_lossy` rather than skipping such inputs, so a mutation that breaks a
//! character still exercises the stages (as U+FFFD) instead of wasting a run.

use rockerc::diagnostic::{Diagnostic, Severity};
use rockerc::emit::Layout;
use rockerc::source::{SourceFile, SourceMap, Span, Spanned};
use rockerc::syntax::{self, Args, Instruction, Keyword};
use rockerc::template::{Dialect, TemplateOptions};
use rockerc::{Failure, Options};
use std::collections::BTreeMap;

/// The renderers' own cap on output.
pub const MAX_RENDERED_BYTES: usize = rockerc::template::MAX_RENDERED_BYTES;

/// The input as the stages see it (see the module comment for why lossy).
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A few fixed variables, named as the golden examples and the corpus name theirs, and a fixed
/// environment, so a run never depends on the machine.
pub fn template_options(dialect: Option<Dialect>, strict: bool) -> TemplateOptions {
    let vars = ["Version=1.2", "Service=api", "Port=8080", "Name=app", "Tag=latest", "X=1"];
    let env: BTreeMap<String, String> =
        [("HOME", "/home/fuzz"), ("USER", "fuzz"), ("PATH", "/usr/bin:/bin")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    TemplateOptions { vars: vars.iter().map(|v| v.to_string()).collect(), env, strict, dialect, ..Default::default() }
}

/// `template` target: `rockerc::render` in the modes a user can ask for.
pub fn template(data: &[u8]) {
    let text = text(data);
    let file = SourceFile::new("Rockerfile", text.as_str());
    let mut modes = vec![template_options(None, false)];
    if text.contains("{{") {
        modes.push(template_options(None, true));
    }
    if text.contains('{') {
        modes.push(template_options(Some(Dialect::Jinja), false));
    }
    for options in &modes {
        match rockerc::render(&file, options) {
            Ok(rendered) => {
                check_map(&file.text, &rendered.text, &rendered.map);
                for w in &rendered.warnings {
                    check_diagnostic(&file, &SourceMap::identity(), w);
                }
            }
            Err(failure) => check_failure(&file, &failure),
        }
    }
}

/// `parse` target: `rockerc::syntax::parse` on the text as it is (no templates).
pub fn parse(data: &[u8]) {
    let text = text(data);
    let file = SourceFile::new("Rockerfile", text.as_str());
    match syntax::parse(&text) {
        Ok(parsed) => {
            for d in &parsed.ast.directives {
                check_spanned(&text, &d.name, "directive name");
                check_spanned(&text, &d.value, "directive value");
            }
            for instruction in &parsed.ast.instructions {
                check_instruction(&text, instruction);
            }
            let _ = syntax::dump::dump(&parsed.ast);
            for w in &parsed.warnings {
                check_diagnostic(&file, &SourceMap::identity(), w);
            }
        }
        Err(d) => {
            assert_eq!(d.severity, Severity::Error, "a parse failure that is not an error: {d:?}");
            check_diagnostic(&file, &SourceMap::identity(), &d);
        }
    }
}

/// `compile` target: the whole pipeline, both layouts.
pub fn compile(data: &[u8]) {
    let text = text(data);
    let file = SourceFile::new("Rockerfile", text.as_str());
    let options = |layout| Options { template: template_options(None, false), layout, ..Options::default() };
    let single = rockerc::compile(&file, &options(Layout::Single));
    let directory = rockerc::compile(&file, &options(Layout::Directory));
    match (&single, &directory) {
        (Ok(single), Ok(directory)) => {
            for out in [&single.output, &directory.output] {
                assert!(out.script_text().starts_with("#!/bin/sh\n"), "the script does not start with #!/bin/sh");
                assert!(!out.script_text().contains('\0'), "the script holds a NUL byte");
            }
            assert!(single.output.files.is_empty(), "the single-file layout wrote files beside the script");
            for (name, text) in &directory.output.files {
                assert!(!text.contains('\0'), "emitted {name} holds a NUL byte");
            }
            // The step files that are Dockerfiles (the others are shell, in the script's checks).
            for (name, dockerfile) in directory.output.files.iter().filter(|(name, _)| name.ends_with(".Dockerfile")) {
                let parsed =
                    syntax::parse(dockerfile).unwrap_or_else(|d| panic!("emitted {name} does not parse again: {}: {}\n{dockerfile}", d.code, d.message));
                for i in &parsed.ast.instructions {
                    assert!(!i.kind.is_rocker() && i.kind != Keyword::Unknown, "emitted {name} holds `{}`, which Docker does not know", i.keyword.value);
                }
            }
            for w in &single.warnings {
                check_diagnostic(&file, &single.map, w);
            }
        }
        (Err(a), Err(b)) => {
            check_failure(&file, a);
            let codes = |f: &Failure| f.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>();
            assert_eq!(codes(a), codes(b), "the two layouts fail differently");
        }
        _ => panic!(
            "one layout compiled and the other did not: single {:?}, directory {:?}",
            single.as_ref().err().map(|f| &f.diagnostics),
            directory.as_ref().err().map(|f| &f.diagnostics)
        ),
    }
}

/// A failure holds at least one error, and every diagnostic in it is well-formed.
pub fn check_failure(file: &SourceFile, failure: &Failure) {
    assert!(failure.diagnostics.iter().any(Diagnostic::is_error), "a failure without an error: {:?}", failure.diagnostics);
    for d in &failure.diagnostics {
        check_diagnostic(file, &failure.map, d);
    }
    let _ = failure.render(file, false);
}

/// A kebab-case code, a message, and it renders as text and as JSON without panicking.
pub fn check_diagnostic(file: &SourceFile, map: &SourceMap, d: &Diagnostic) {
    let kebab = !d.code.as_str().is_empty()
        && d.code.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !d.code.as_str().starts_with('-')
        && !d.code.as_str().ends_with('-');
    assert!(kebab, "diagnostic code {:?} is not kebab-case", d.code);
    assert!(!d.message.is_empty(), "diagnostic {} has no message", d.code);
    let human = d.render(file, map, false);
    let prefix = format!("{}[{}]", d.severity.as_str(), d.code);
    assert!(human.starts_with(&prefix), "rendered diagnostic does not start with {prefix}: {human}");
    let json = d.to_json(file, map);
    assert!(json.is_object(), "JSON diagnostic is not an object: {json}");
}

/// Segments lie inside both texts, and a verbatim segment is the same bytes in both.
pub fn check_map(original: &str, rendered: &str, map: &SourceMap) {
    assert!(rendered.len() <= MAX_RENDERED_BYTES, "rendered {} bytes, over the renderer's cap", rendered.len());
    for s in map.segments() {
        let end = s.rendered_start.checked_add(s.len).expect("segment end overflows");
        assert!(end <= rendered.len(), "segment {s:?} ends past the rendered text ({} bytes)", rendered.len());
        assert!(s.original_start <= original.len(), "segment {s:?} starts past the original text ({} bytes)", original.len());
        if s.verbatim {
            let oend = s.original_start.checked_add(s.len).expect("segment end overflows");
            assert!(oend <= original.len(), "verbatim segment {s:?} ends past the original text ({} bytes)", original.len());
            assert_eq!(
                &rendered.as_bytes()[s.rendered_start..end],
                &original.as_bytes()[s.original_start..oend],
                "verbatim segment {s:?} differs from the original"
            );
        }
    }
    for offset in [0, rendered.len() / 2, rendered.len()] {
        assert!(map.to_original(offset) <= original.len(), "offset {offset} maps past the original text");
    }
}

fn check_instruction(text: &str, i: &Instruction) {
    check_span(text, i.span, "instruction");
    check_spanned(text, &i.keyword, "keyword");
    assert!(i.span.start <= i.keyword.span.start, "keyword {:?} starts before its instruction {:?}", i.keyword.span, i.span);
    for flag in &i.flags {
        check_spanned(text, &flag.word, "flag");
    }
    check_spanned(text, &i.rest, "rest");
    for h in &i.heredocs {
        check_spanned(text, &h.body, "heredoc body");
    }
    match &i.args {
        Args::Onbuild(inner) => check_instruction(text, inner),
        _ => {
            for a in i.arg_strings() {
                check_spanned(text, a, "argument");
            }
        }
    }
}

fn check_spanned(text: &str, s: &Spanned<String>, what: &str) {
    check_span(text, s.span, what);
}

/// In bounds, ordered, on character boundaries: a later stage may slice the text with it.
fn check_span(text: &str, span: Span, what: &str) {
    assert!(span.start <= span.end && span.end <= text.len(), "{what} span {span} is outside the text ({} bytes)", text.len());
    assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end), "{what} span {span} splits a character");
}
