//! No input makes the renderer panic or overflow the stack: random templates built from the
//! dialect's own pieces, every prefix of a rich template, and pathological nesting all end in
//! text or a diagnostic.

use rockerc::source::SourceFile;
use rockerc::template::{render, TemplateOptions};

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "{{/*",
    "*/}}",
    " ",
    "\n",
    ".",
    ".X",
    ".list",
    ".Env.HOME",
    "$",
    "$x",
    ":=",
    "=",
    "|",
    "(",
    ")",
    ",",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "\"s\"",
    "`r`",
    "'c'",
    "1",
    "-1",
    "1.5",
    "0x1F",
    "nil",
    "true",
    "and",
    "or",
    "not",
    "eq",
    "lt",
    "len",
    "index",
    "slice",
    "printf",
    "\"%d %q %v\"",
    "seq",
    "json",
    "yaml",
    "shell",
    "image",
    "split",
    "repeat",
    "assert",
    "é",
    "\u{E000}",
    "{%",
    "%}",
    "{#",
    "#}",
    "text",
    "\"\\",
    "\"\\x4",
    "1e",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn render_any(src: &str, name: &str) {
    let options = TemplateOptions { vars: vec!["X=1".into(), "list=a".into()], ..Default::default() };
    let _ = render(&SourceFile::new(name, src), &options);
    let strict = TemplateOptions { strict: true, ..options };
    let _ = render(&SourceFile::new(name, src), &strict);
}

#[test]
fn random_templates_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..4000 {
        let len = 1 + rng.next() % 24;
        let src: String = (0..len).map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize]).collect();
        let name = if i % 4 == 0 { "Rockerfile.j2" } else { "Rockerfile" };
        render_any(&src, name);
    }
}

#[test]
fn every_prefix_of_a_rich_template_is_handled() {
    let src = "{{ define \"t\" }}[{{ . }}]{{ end }}FROM {{ or .Base \"alpine\" }}\n\
{{- range $i, $v := split \"a,b\" \",\" }}\nRUN echo {{ $i }} {{ $v | shell }} {{ printf \"%q\" (index (seq 3) 1) }}\n{{ end -}}\n\
{{/* note */}}{{ with .Env.HOME }}ENV H={{ . }}{{ else }}{{ template \"t\" 1 }}{{ end }}\nTAG é:{{ .X }}\n";
    for (i, _) in src.char_indices() {
        render_any(&src[..i], "Rockerfile");
        render_any(&src[i..], "Rockerfile");
    }
}

#[test]
fn pathological_nesting_is_an_error_not_a_crash() {
    let n = 5000;
    let cases = [
        "{{ if true }}".repeat(n),
        format!("{{{{ {} }}}}", "(".repeat(n)),
        format!("{{{{ {}1{} }}}}", "(".repeat(n), ")".repeat(n)),
        format!("{{{{ define \"a\" }}}}{}{{{{ template \"a\" }}}}{}{{{{ end }}}}{{{{ template \"a\" }}}}", "{{ if true }}".repeat(90), "{{ end }}".repeat(90)),
        "{{ define \"a\" }}{{ template \"a\" }}{{ template \"a\" }}{{ end }}{{ template \"a\" }}".to_string(),
        format!(
            "{{{{ define \"a\" }}}}{}{{{{ {}1{} }}}}{{{{ template \"a\" }}}}{}{{{{ end }}}}{{{{ template \"a\" }}}}",
            "{{ range seq 1 }}".repeat(95),
            "(".repeat(95),
            ")".repeat(95),
            "{{ end }}".repeat(95)
        ),
        "{% if true %}".repeat(n),
        format!("{{{{ {} }}}}", "[".repeat(n)),
        format!("{{{{ {}1{} }}}}", "(".repeat(n), ")".repeat(n)),
    ];
    for (i, src) in cases.iter().enumerate() {
        let name = if i >= 6 { "Rockerfile.j2" } else { "Rockerfile" };
        let result = render(&SourceFile::new(name, src.as_str()), &TemplateOptions::default());
        assert!(result.is_err(), "case {i} rendered");
    }
}

/// Runs the real binary on `rockerfile` (named `name`, with `files` beside it) under a 1 GB limit
/// on its address space, writing to `-o out`: it must fail with a diagnostic naming `code`,
/// exit 1, and leave nothing behind, whatever the template asks for.
fn refuses_under_a_memory_limit(case: &str, name: &str, rockerfile: &str, files: &[(&str, &str)], args: &[&str], code: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), rockerfile).unwrap();
    for (file, text) in files {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let started = std::time::Instant::now();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1000000 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_rockerc"))
        .args(args)
        .args(["-o", "out", name])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
    assert!(stderr.starts_with(&format!("error[{code}]: ")), "{case}: {stderr}");
    assert!(!stderr.contains("memory allocation") && !stderr.contains("panicked"), "{case}: {stderr}");
    assert!(out.stdout.is_empty(), "{case}");
    assert!(!dir.path().join("out").exists(), "{case}: -o out was written");
    assert!(started.elapsed().as_secs() < 30, "{case}: took {:?}", started.elapsed());
}

const LAUGHS: &str = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n\
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n\
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n\
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n\
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\ni: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";

#[test]
fn go_template_bombs_are_diagnostics() {
    let fan = format!("{{{{ $a := \"xxxxxxxxxx\" }}}}{}", "{{ $a = printf \"%s%s%s%s%s%s%s%s%s%s\" $a $a $a $a $a $a $a $a $a $a }}".repeat(9));
    let keep = format!("{{{{ $a := repeat \"x\" 30000000 }}}}{}", (0..12).map(|i| format!("{{{{ $k{i} := printf \"%s\" $a }}}}")).collect::<String>());
    let cases: Vec<(&str, String)> = vec![
        ("replace", "{{ $big := repeat \"x\" 1000000 }}{{ $b := replace $big \"x\" $big -1 }}".into()),
        ("replace with an empty needle", "{{ $big := repeat \"x\" 20000000 }}{{ $b := replace $big \"\" \"yy\" -1 }}".into()),
        ("printf fan-out", fan),
        ("printf widths", format!("{{{{ printf \"{}\"{} }}}}", "%1048576d".repeat(100), " 1".repeat(100))),
        ("repeat", "{{ repeat \"xyz\" 100000000000 }}".into()),
        ("split into characters", "{{ $l := split (repeat \"x\" 30000000) \"\" }}".into()),
        ("many large values kept", keep),
        ("yaml indented", "{{ $l := split (repeat \"a\\n\" 1000000) \"\\n\" }}{{ $y := yaml 1000 $l }}".into()),
        ("html escapes", "{{ $h := html (repeat \"<\" 30000000) }}".into()),
        ("print of a large list", "{{ $l := split (repeat \"ab,\" 5000000) \",\" }}{{ $p := print $l $l $l $l $l $l $l $l $l $l }}".into()),
        ("output", "{{ $a := repeat \"x\" 30000000 }}{{ $a }}{{ $a }}".into()),
    ];
    for (case, template) in cases {
        refuses_under_a_memory_limit(case, "Rockerfile", &format!("{template}\nFROM alpine\n"), &[], &[], "template-too-large");
    }
    refuses_under_a_memory_limit(
        "json of aliases",
        "Rockerfile",
        "FROM alpine\nRUN echo {{ json .i }}\n",
        &[("v.yml", LAUGHS)],
        &["--vars", "v.yml"],
        "vars-file-too-large",
    );
}

#[test]
fn jinja_template_bombs_are_diagnostics() {
    let list = "{% set a = \"x\" * 10000000 %}{% set l = [a, a, a, a, a, a, a, a, a, a] %}{% set l = l + l + l + l + l + l + l + l + l + l %}";
    let cases: Vec<(&str, String)> = vec![
        ("concatenation", "{% set a = \"x\" * 100000000 %}{% set b = a ~ a %}{% set c = b ~ b %}{% set d = c ~ c %}".into()),
        ("replace filter", "{% set a = \"x\" * 1000000 %}{% set b = a|replace(\"x\", a) %}".into()),
        ("Rocker's replace", "{% set a = \"x\" * 1000000 %}{% set b = replace(a, \"x\", a, -1) %}".into()),
        ("join", format!("{list}{{% set s = l|join(\"\") %}}")),
        ("a list as a string", format!("{list}{{% set s = \"\" ~ l %}}")),
        ("string filter", format!("{list}{{% set s = l|string %}}")),
        ("sum", format!("{list}{{% set s = l|sum(start=\"\") %}}")),
        ("filter block", format!("{list}{{% filter upper %}}{{{{ l }}}}{{% endfilter %}}")),
        ("json of a list", format!("{list}{{% set s = json(l) %}}")),
        ("yaml of a list", format!("{list}{{% set s = yaml(l) %}}")),
        ("repeat", "{{ repeat(\"x\", 100000000000) }}".into()),
        ("macro fan-out", "{% macro m(x) %}{{ x }}{{ x }}{{ x }}{{ x }}{% endmacro %}{% set s = m(m(m(m(\"x\" * 10000000)))) %}".into()),
    ];
    for (case, template) in cases {
        refuses_under_a_memory_limit(case, "Rockerfile.j2", &format!("{template}\nFROM alpine\n"), &[], &[], "template-too-large");
    }
    refuses_under_a_memory_limit(
        "json of aliases",
        "Rockerfile.j2",
        "FROM alpine\nRUN echo {{ json(i) }}\n",
        &[("v.yml", LAUGHS)],
        &["--vars", "v.yml"],
        "vars-file-too-large",
    );
}
