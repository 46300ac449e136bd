//! The Jinja dialect: how a file selects it, Rocker's helpers in it, its source map and errors.

use rockerc::source::SourceFile;
use rockerc::template::{detect_dialect, render, Dialect, TemplateOptions};

fn options(vars: &[&str], strict: bool) -> TemplateOptions {
    TemplateOptions { vars: vars.iter().map(|s| s.to_string()).collect(), strict, ..Default::default() }
}

#[test]
fn a_file_selects_its_dialect() {
    let o = TemplateOptions::default();
    assert_eq!(detect_dialect(&SourceFile::new("Rockerfile", "FROM a\n"), &o), Dialect::Go);
    assert_eq!(detect_dialect(&SourceFile::new("Rockerfile", "# rockerc: dialect=jinja\nFROM a\n"), &o), Dialect::Jinja);
    assert_eq!(detect_dialect(&SourceFile::new("Rockerfile", "#rockerc: dialect = go\n"), &o), Dialect::Go);
    assert_eq!(detect_dialect(&SourceFile::new("Rockerfile.j2", "FROM a\n"), &o), Dialect::Jinja);
    assert_eq!(detect_dialect(&SourceFile::new("ci/Rockerfile.jinja", "FROM a\n"), &o), Dialect::Jinja);
    let forced = TemplateOptions { dialect: Some(Dialect::Go), ..Default::default() };
    assert_eq!(detect_dialect(&SourceFile::new("Rockerfile.j2", "FROM a\n"), &forced), Dialect::Go);
}

#[test]
fn jinja_renders_with_rocker_helpers() {
    let src = "# rockerc: dialect=jinja\n\
FROM {{ base | default('alpine') }}\n\
{% for pkg in ['curl', 'git'] -%}\n\
RUN apk add {{ pkg }}\n\
{% endfor -%}\n\
RUN echo {{ msg | shell }} {{ shell('a b') }} {{ seq(3) }} {{ toUpper(name) }}\n\
{# a comment #}TAG app:{{ version }}\n";
    let r = render(&SourceFile::new("Rockerfile", src), &options(&["msg=hello world", "name=x", "version=1.0"], false)).unwrap();
    assert_eq!(
        r.text,
        // The dialect line is rockerc's, not Docker's: it is not in the rendered text.
        "FROM alpine\nRUN apk add curl\nRUN apk add git\nRUN echo 'hello world' 'a b' [1, 2, 3] X\nTAG app:1.0\n"
    );
    // Every rendered line maps back to the template line that produced it.
    let file = SourceFile::new("Rockerfile", src);
    let line_of = |needle: &str| file.line_col(r.map.to_original(r.text.find(needle).unwrap())).0;
    assert_eq!(line_of("FROM"), 2);
    assert_eq!(line_of("RUN apk add git"), 4);
    assert_eq!(line_of("RUN echo"), 6);
    assert_eq!(line_of("TAG"), 7);
}

#[test]
fn jinja_errors_point_into_the_file() {
    let src = "# rockerc: dialect=jinja\nFROM a\nRUN {{ nope( }}\n";
    let err = render(&SourceFile::new("Rockerfile", src), &options(&[], false)).unwrap_err();
    let d = &err.0[0];
    assert_eq!(d.code.as_str(), "template-syntax");
    let file = SourceFile::new("Rockerfile", src);
    assert_eq!(d.location(&file, &Default::default()).unwrap().0, 3);

    let src = "# rockerc: dialect=jinja\nTAG app:{{ Verison }}\n";
    let err = render(&SourceFile::new("Rockerfile", src), &options(&["Version=1"], true)).unwrap_err();
    let d = &err.0[0];
    assert_eq!(d.code.as_str(), "template-unknown-variable");
    assert_eq!(d.help.as_deref(), Some("did you mean `Version`?"));
    assert_eq!(d.location(&SourceFile::new("Rockerfile", src), &Default::default()).unwrap().0, 2);

    let src = "# rockerc: dialect=jinja\n{{ assert(false) }}\n";
    let err = render(&SourceFile::new("Rockerfile", src), &options(&[], false)).unwrap_err();
    assert!(err.0[0].message.contains("Assertion failed"), "{}", err.0[0].message);
    assert_eq!(err.0[0].code.as_str(), "template-assert-failed");
}

#[test]
fn lenient_jinja_renders_missing_as_empty() {
    let src = "# rockerc: dialect=jinja\nTAG app:{{ missing }}\n";
    let r = render(&SourceFile::new("Rockerfile", src), &options(&[], false)).unwrap();
    assert_eq!(r.text, "TAG app:\n");
}

#[test]
fn filter_blocks_fall_back_without_changing_output() {
    let src = "# rockerc: dialect=jinja\n{% filter upper %}run {{ x }}{% endfilter %}\n{% raw %}{{ kept }}{% endraw %}\n";
    let r = render(&SourceFile::new("Rockerfile", src), &options(&["x=y"], false)).unwrap();
    assert_eq!(r.text, "RUN Y\n{{ kept }}\n");
}
