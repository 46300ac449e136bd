//! No input makes the renderer panic or overflow the stack: random templates built from the
//! dialect's own pieces, every prefix of a rich template, and pathological nesting all end in
//! text or a diagnostic.

use rockerc::source::SourceFile;
use rockerc::template::{render, TemplateOptions};

const PIECES: &[&str] = &[
    "{{", "}}", "{{- ", " -}}", "{{/*", "*/}}", " ", "\n", ".", ".X", ".list", ".Env.HOME", "$", "$x", ":=", "=", "|", "(", ")", ",",
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "\"s\"", "`r`", "'c'", "1", "-1", "1.5",
    "0x1F", "nil", "true", "and", "or", "not", "eq", "lt", "len", "index", "slice", "printf", "\"%d %q %v\"", "seq", "json", "yaml",
    "shell", "image", "split", "repeat", "assert", "é", "\u{E000}", "{%", "%}", "{#", "#}", "text", "\"\\", "\"\\x4", "1e",
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
