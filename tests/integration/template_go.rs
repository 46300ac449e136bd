//! The Go template dialect against Go's documented `text/template` semantics, one row per case:
//! the template, and what it renders to (or the diagnostic code it fails with).

use rockerc::diagnostic::Diagnostics;
use rockerc::source::SourceFile;
use rockerc::template::{render, Rendered, TemplateOptions};
use std::io::Write as _;

const DATA: &str = r#"
str: hello
empty: ""
zero: 0
one: 1
flt: 1.5
big: 1000000.0
t: true
f: false
nil: ~
list: [a, b, c]
emptylist: []
map: {b: 2, a: 1, c: 3}
emptymap: {}
nested: {inner: {deep: x}}
Version: "1.2"
"#;

fn options(strict: bool, vars: &[&str]) -> (TemplateOptions, tempfile::NamedTempFile) {
    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    file.write_all(DATA.as_bytes()).unwrap();
    let mut env = std::collections::BTreeMap::new();
    env.insert("HOME".to_string(), "/home/user".to_string());
    env.insert("GIT_BRANCH".to_string(), "master".to_string());
    let options =
        TemplateOptions { var_files: vec![file.path().to_path_buf()], vars: vars.iter().map(|s| s.to_string()).collect(), env, strict, ..Default::default() };
    (options, file)
}

fn run(src: &str, strict: bool, vars: &[&str]) -> Result<Rendered, Diagnostics> {
    let (options, _file) = options(strict, vars);
    render(&SourceFile::new("Rockerfile", src), &options)
}

fn ok(src: &str) -> String {
    match run(src, false, &["n=5", "s=x y"]) {
        Ok(r) => r.text,
        Err(d) => panic!("{src:?} failed: {:?}", d.0.iter().map(|d| (&d.code, &d.message)).collect::<Vec<_>>()),
    }
}

fn err_code(src: &str, strict: bool) -> &'static str {
    match run(src, strict, &[]) {
        Ok(r) => panic!("{src:?} rendered {:?}, expected an error", r.text),
        Err(d) => d.0.last().unwrap().code.as_str(),
    }
}

#[test]
fn go_template_semantics() {
    let cases: &[(&str, &str)] = &[
        // Data, fields, and what is missing.
        ("{{ .str }}", "hello"),
        ("{{.str}}", "hello"),
        ("{{ .missing }}", "<no value>"),
        ("{{ .missing.deeper }}", "<no value>"),
        ("{{ .nested.inner.deep }}", "x"),
        ("{{ .nil }}", "<no value>"),
        ("{{ print .nil }}", "<nil>"),
        ("{{ print .missing }}", "<nil>"),
        ("{{ .Env.GIT_BRANCH }}", "master"),
        ("{{ .Env.NOPE }}", "<no value>"),
        ("{{ . | len }}", "18"),
        // Literals.
        ("{{ 1.0 }} {{ 1e6 }} {{ 0x10 }} {{ 'a' }} {{ -3 }} {{ 0755 }}", "1 1e+06 16 97 -3 493"),
        ("{{ true }} {{ false }} {{ \"s\\tq\" }} {{ `raw\\n` }}", "true false s\tq raw\\n"),
        ("{{ .flt }} {{ .big }} {{ .one }}", "1.5 1e+06 1"),
        ("{{ .list }} {{ .map }} {{ .emptymap }}", "[a b c] map[a:1 b:2 c:3] map[]"),
        // and/or return an operand and short-circuit.
        ("{{ and 1 0 2 }}", "0"),
        ("{{ and 1 2 }}", "2"),
        ("{{ or 0 \"\" \"x\" }}", "x"),
        ("[{{ or 0 \"\" }}]", "[]"),
        ("{{ or .missing \"default\" }}", "default"),
        ("{{ or .missing .alsomissing }}", "<no value>"),
        ("{{ and .missing (index .list 99) }}", "<no value>"),
        ("{{ or .str (index .list 99) }}", "hello"),
        ("{{ and .list .map }}", "map[a:1 b:2 c:3]"),
        // not and truthiness of empty values.
        ("{{ not .empty }} {{ not .zero }} {{ not .nil }} {{ not .emptylist }} {{ not .emptymap }} {{ not .missing }}", "true true true true true true"),
        ("{{ not .str }} {{ not .one }} {{ not .list }} {{ not .map }} {{ not .flt }} {{ not .t }}", "false false false false false false"),
        ("{{ if .empty }}y{{ else if .zero }}z{{ else if .emptymap }}m{{ else if .emptylist }}l{{ else }}none{{ end }}", "none"),
        ("{{ if .flt }}y{{ end }}{{ if .f }}n{{ end }}", "y"),
        // Comparisons: eq with several arguments, mixed kinds only against nil.
        ("{{ eq .str \"x\" \"hello\" }}", "true"),
        ("{{ eq 1 2 3 }}", "false"),
        ("{{ eq .missing \"x\" }}", "false"),
        ("{{ eq .nil .missing }}", "true"),
        ("{{ ne .one 2 }} {{ ne .str \"hello\" }}", "true false"),
        ("{{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}", "true true true false"),
        ("{{ eq .n \"5\" }}", "true"),
        // len, index, slice.
        ("{{ len .list }} {{ len .map }} {{ len \"héllo\" }} {{ len .emptylist }}", "3 3 6 0"),
        ("{{ index .list 1 }} {{ index .map \"b\" }} {{ index .nested \"inner\" \"deep\" }}", "b 2 x"),
        ("{{ index .map \"zz\" }}", "<no value>"),
        ("{{ index \"abc\" 1 }}", "98"),
        ("{{ index .list }}", "[a b c]"),
        ("{{ slice \"abcdef\" 1 3 }} {{ slice .list 1 }} {{ slice .list }}", "bc [b c] [a b c]"),
        // range: lists, maps in sorted key order, ints, else, break, continue.
        ("{{ range .map }}{{ . }}{{ end }}", "123"),
        ("{{ range $k, $v := .map }}{{ $k }}={{ $v }};{{ end }}", "a=1;b=2;c=3;"),
        ("{{ range $i, $e := .list }}{{ $i }}:{{ $e }} {{ end }}", "0:a 1:b 2:c "),
        ("{{ range $e := .list }}{{ $e }}{{ end }}", "abc"),
        ("{{ range .emptylist }}x{{ else }}empty{{ end }}", "empty"),
        ("{{ range .missing }}x{{ else }}none{{ end }}", "none"),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        ("{{ range .list }}{{ if eq . \"b\" }}{{ break }}{{ end }}{{ . }}{{ end }}", "a"),
        ("{{ range .list }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ . }}{{ end }}", "ac"),
        ("{{ range .list }}{{ $.str }}{{ end }}", "hellohellohello"),
        ("{{ range $i, $e := .list }}{{ end }}{{ $i := 9 }}{{ $i }}", "9"),
        // with.
        ("{{ with .str }}{{ . }}!{{ end }}", "hello!"),
        ("{{ with .missing }}x{{ else }}no{{ end }}", "no"),
        ("{{ with .empty }}x{{ else with .str }}{{ . }}{{ end }}", "hello"),
        ("{{ with $x := .nested.inner }}{{ $x.deep }}{{ .deep }}{{ end }}", "xx"),
        // Variables: $ is the root, := declares in the block, = assigns the outer variable.
        ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
        ("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21"),
        ("{{ $x := 0 }}{{ range .list }}{{ $x = . }}{{ end }}{{ $x }}", "c"),
        ("{{ $v := (or .Version \"local\") }}{{ $v }}", "1.2"),
        ("{{ $v := (or .Nope \"local\") }}{{ $v }}", "local"),
        ("{{ with .nested }}{{ $.str }}{{ .inner.deep }}{{ end }}", "hellox"),
        // Pipelines and parentheses: the piped value is the last argument.
        ("{{ \"a\" | printf \"%s-%s\" \"b\" }}", "b-a"),
        ("{{ .list | len }}", "3"),
        ("{{ .str | printf \"%q\" | len }}", "7"),
        ("{{ (index .nested \"inner\").deep }}", "x"),
        ("{{ printf \"%d items\" (len .list) }}", "3 items"),
        // printf, print, println.
        ("{{ printf \"%q\" \"a\\\"b\" }}", "\"a\\\"b\""),
        ("{{ printf \"%v|%s|%d\" .map .list .one }}", "map[a:1 b:2 c:3]|[a b c]|1"),
        ("{{ printf \"%5.1f|%-4d|%x|%05d|%+d\" 1.23456 7 255 42 3 }}", "  1.2|7   |ff|00042|+3"),
        ("{{ printf \"%d\" .str }}", "%!d(string=hello)"),
        ("{{ printf \"%s %s\" \"x\" }}", "x %!s(MISSING)"),
        ("{{ printf \"%T %T %T %T\" .n .one .flt .list }}", "string int float64 []interface {}"),
        ("{{ print 1 2 \"a\" 3 }}", "1 2a3"),
        ("{{ println \"a\" 1 }}", "a 1\n"),
        ("{{ html \"<a&b>\" }} {{ urlquery \"a b&c\" }} {{ js \"it's\" }}", "&lt;a&amp;b&gt; a+b%26c it\\'s"),
        // Trim markers and comments.
        ("a {{- \" b \" -}} c", "a b c"),
        ("a\n\n  {{- /* comment */ -}}\n\n  b", "ab"),
        ("x{{/* a\nmulti-line comment */}}y", "xy"),
        ("{{- .str -}}\n", "hello"),
        ("{{ 3 }} {{- 4 }}", "34"),
        // define / template / block.
        ("{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" .str }}{{ template \"x\" }}", "[hello][<no value>]"),
        ("{{ block \"b\" .one }}<{{ . }}>{{ end }}", "<1>"),
        // Rocker's helpers.
        ("{{ seq 3 }} {{ seq 5 1 2 }} {{ seq 0 }} {{ seq -2 }} {{ seq .n }}", "[1 2 3] [5 3 1] [] [-1 -2] [1 2 3 4 5]"),
        ("{{ range seq 1 3 }}{{ . }}{{ end }}", "123"),
        ("{{ json .map }} {{ json \"<x>\" }} {{ json .list }} {{ json .nil }}", "{\"a\":1,\"b\":2,\"c\":3} \"\\u003cx\\u003e\" [\"a\",\"b\",\"c\"] null"),
        ("{{ .map | yaml }}", "a: 1\nb: 2\nc: 3\n"),
        ("k:\n{{ .map | yaml 1 }}", "k:\n  a: 1\n  b: 2\n  c: 3\n"),
        ("{{ \"hello world\" | shell }} {{ .s | shell }} {{ \"a-b/c\" | shell }} {{ \"it's\" | shell }}", "'hello world' 'x y' a-b/c 'it'\\''s'"),
        // One word on one line: a newline would end the Rockerfile instruction (Rocker: `$'a\nb'`, bash only).
        ("{{ \"a\\nb\" | shell }}", "\"$(printf '%s\\n' 'a' 'b')\""),
        ("{{ replace \"url.com.\" \".\" \"-\" -1 }} {{ replace \"aaa\" \"a\" \"b\" 2 }}", "url-com- bba"),
        ("{{ indexOf \"chicken\" \"ken\" }} {{ lastIndex \"go gopher\" \"go\" }} {{ indexAny \"golang\" \"ny\" }}", "4 3 4"),
        ("{{ split \"a,b,c\" \",\" }} {{ join (split \"a,b\" \",\") \"-\" }} {{ splitN \"a,b,c\" \",\" 2 }}", "[a b c] a-b [a b,c]"),
        ("{{ toUpper \"abc\" }} {{ toLower \"ABC\" }} {{ title \"hello world\" }} {{ trimSpace \"  x  \" }}|", "ABC abc Hello World x|"),
        ("{{ hasPrefix \"abc\" \"ab\" }} {{ hasSuffix \"abc\" \"bc\" }} {{ contains \"abc\" \"d\" }} {{ containsAny \"abc\" \"xc\" }}", "true true false true"),
        ("{{ repeat \"ab\" 3 }} {{ trim \"xxaxx\" \"x\" }} {{ count \"cheese\" \"e\" }} {{ trimPrefix \"v1.2\" \"v\" }}", "ababab a 3 1.2"),
        ("{{ compare \"a\" \"b\" }} {{ equalFold \"Go\" \"GO\" }} {{ trimLeft \"xxa\" \"x\" }} {{ trimRight \"axx\" \"x\" }}", "-1 true a a"),
        ("{{ image \"debian\" }} {{ image \"golang\" \"1.5\" }}", "debian:latest golang:1.5"),
        ("{{ dump .list }}", "[]interface {}{\"a\", \"b\", \"c\"}"),
        ("{{ assert true }}ok", "ok"),
        ("{{ assert .str }}ok", "ok"),
    ];
    let mut failures = Vec::new();
    for (src, want) in cases {
        let got = std::panic::catch_unwind(|| ok(src));
        match got {
            Ok(got) if got == *want => {}
            Ok(got) => failures.push(format!("{src:?}\n   want {want:?}\n    got {got:?}")),
            Err(_) => failures.push(format!("{src:?}\n   panicked or failed")),
        }
    }
    assert!(failures.is_empty(), "{} case(s) differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn go_template_errors() {
    let deep_if = "{{ if true }}".repeat(150) + &"{{ end }}".repeat(150);
    let deep_parens = format!("{{{{ {}1{} }}}}", "(".repeat(500), ")".repeat(500));
    let cases: &[(&str, &str)] = &[
        ("{{ .X", "template-syntax"),
        ("{{ if .X }}", "template-syntax"),
        ("{{ end }}", "template-syntax"),
        ("{{ else }}", "template-syntax"),
        ("{{ if true }}{{ else }}{{ else }}{{ end }}", "template-syntax"),
        ("{{ }}", "template-syntax"),
        ("{{ \"abc }}", "template-syntax"),
        ("{{ 12ab }}", "template-syntax"),
        ("{{ # }}", "template-syntax"),
        ("{{/* unclosed", "template-syntax"),
        ("{{ break }}", "template-syntax"),
        ("{{ .a.b\"x\" }}", "template-syntax"),
        ("{{ lenn .list }}", "template-unknown-function"),
        ("{{ $x }}", "template-undefined-variable"),
        ("{{ $x = 1 }}", "template-undefined-variable"),
        ("{{ assert .missing }}", "template-assert-failed"),
        ("{{ assert .empty }}", "template-assert-failed"),
        ("{{ error \"boom\" }}", "template-error-called"),
        ("{{ len 3 }}", "template-wrong-type"),
        ("{{ len .nil }}", "template-wrong-type"),
        ("{{ hasPrefix 1 \"a\" }}", "template-wrong-type"),
        ("{{ repeat \"x\" \"3\" }}", "template-wrong-type"),
        ("{{ index .list 5 }}", "template-index"),
        ("{{ index .map 1 }}", "template-index"),
        ("{{ index .nil 1 }}", "template-index"),
        ("{{ eq 1 \"1\" }}", "template-compare"),
        ("{{ eq 1 1.0 }}", "template-compare"),
        ("{{ eq .list .list }}", "template-compare"),
        ("{{ lt true false }}", "template-compare"),
        ("{{ lt .missing 1 }}", "template-compare"),
        ("{{ .str.field }}", "template-type"),
        ("{{ .nil.field }}", "template-type"),
        ("{{ range 1.5 }}{{ end }}", "template-type"),
        ("{{ range .str }}{{ end }}", "template-type"),
        ("{{ hasPrefix }}", "template-wrong-arg-count"),
        ("{{ not 1 2 }}", "template-wrong-arg-count"),
        ("{{ and }}", "template-wrong-arg-count"),
        ("{{ seq }}", "template-wrong-arg-count"),
        ("{{ seq 1 2 0 }}", "template-call-failed"),
        ("{{ repeat \"x\" -1 }}", "template-call-failed"),
        ("{{ seq 1 100000000 }}", "template-too-large"),
        ("{{ repeat \"x\" 1000000000 }}", "template-too-large"),
        ("{{ template \"nope\" }}", "template-no-such-template"),
        ("{{ define \"r\" }}{{ template \"r\" }}{{ end }}{{ template \"r\" }}", "template-too-deep"),
        (&deep_if, "template-too-deep"),
        (&deep_parens, "template-too-deep"),
        ("{{ \"a\" \"b\" }}", "template-not-a-function"),
        ("{{ .str 1 }}", "template-not-a-function"),
        ("{{ 1 | 2 }}", "template-not-a-function"),
        ("{{ nil }}", "template-nil-command"),
    ];
    let mut failures = Vec::new();
    for (src, want) in cases {
        let got = std::panic::catch_unwind(|| err_code(src, false));
        match got {
            Ok(got) if got == *want => {}
            Ok(got) => failures.push(format!("{src:.60?}: want {want}, got {got}")),
            Err(_) => failures.push(format!("{src:.60?}: rendered or panicked")),
        }
    }
    assert!(failures.is_empty(), "{} case(s) differ:\n{}", failures.len(), failures.join("\n"));
}

fn first_error(src: &str, strict: bool) -> rockerc::diagnostic::Diagnostic {
    run(src, strict, &[]).unwrap_err().0.pop().unwrap()
}

#[test]
fn strict_mode_reports_unknown_variables_with_a_suggestion() {
    let d = first_error("TAG app:{{ .Verison }}", true);
    assert_eq!(d.code.as_str(), "template-unknown-variable");
    assert_eq!(d.message, "unknown variable `.Verison`");
    assert_eq!(d.help.as_deref(), Some("did you mean `.Version`?"));
    let file = SourceFile::new("Rockerfile", "TAG app:{{ .Verison }}");
    assert_eq!(d.location(&file, &rockerc::source::SourceMap::identity()), Some((1, 12)));

    let d = first_error("{{ .nested.inner.dep }}", true);
    assert_eq!(d.message, "unknown variable `.nested.inner.dep`");
    assert_eq!(d.help.as_deref(), Some("did you mean `.nested.inner.deep`?"));

    let d = first_error("{{ .Env.GIT_BRANHC }}", true);
    assert!(d.message.contains("environment variable `GIT_BRANHC` is not set"), "{}", d.message);
    assert_eq!(d.help.as_deref(), Some("did you mean `.Env.GIT_BRANCH`?"));

    // Existence tests stay legal: `if`, `with`, `or`, `and`, `not`.
    let r = run("{{ if .Missing }}x{{ end }}{{ with .Missing }}y{{ end }}{{ or .Missing \"d\" }}{{ not .Missing }}{{ and .Missing 1 }}", true, &[]).unwrap();
    assert_eq!(r.text, "dtrue<no value>");
    assert_eq!(first_error("{{ eq .Missing \"a\" }}", true).code.as_str(), "template-unknown-variable");
}

#[test]
fn errors_point_at_the_line_the_user_wrote() {
    let src = "FROM a\n{{ if .list }}\nRUN echo {{ lenn 1 }}\n{{ end }}\n";
    let d = first_error(src, false);
    assert_eq!(d.code.as_str(), "template-unknown-function");
    assert_eq!(d.help.as_deref(), Some("did you mean `len`?"));
    let file = SourceFile::new("Rockerfile", src);
    let map = rockerc::source::SourceMap::identity();
    assert_eq!(d.location(&file, &map), Some((3, 13)));
    let text = d.render(&file, &map, false);
    assert!(text.contains("--> Rockerfile:3:13"), "{text}");

    // Runtime errors too, after lines were added and removed above them.
    let src = "{{ range .list }}\n# {{ . }}\n{{ end }}\nRUN {{ assert .empty }}\n";
    let d = first_error(src, false);
    assert_eq!(d.code.as_str(), "template-assert-failed");
    assert_eq!(d.location(&SourceFile::new("f", src), &map), Some((4, 15)));
}

#[test]
fn source_map_points_rendered_text_back_to_the_template() {
    let src = "FROM {{ .str }}\n{{ range .list }}\nRUN echo {{ . }}\n{{ end }}\nTAG t\n";
    let r = run(src, false, &[]).unwrap();
    assert_eq!(r.text, "FROM hello\n\nRUN echo a\n\nRUN echo b\n\nRUN echo c\n\nTAG t\n");
    let tag = r.text.find("TAG").unwrap();
    assert_eq!(r.map.to_original(tag), src.find("TAG").unwrap());
    // Every `RUN` maps to the one line that produced it.
    let run_line = src.find("RUN").unwrap();
    for (i, _) in r.text.match_indices("RUN") {
        assert_eq!(r.map.to_original(i), run_line);
    }
    // Text produced by an action points at the action.
    let b = r.text.find("echo b").unwrap() + 5;
    assert_eq!(r.map.to_original(b), src.find("{{ . }}").unwrap());
    assert_eq!(r.map.to_original(r.text.find("hello").unwrap()), 5);
    // The segments tile the rendered text.
    let mut end = 0;
    for s in r.map.segments() {
        assert_eq!(s.rendered_start, end);
        end += s.len;
    }
    assert_eq!(end, r.text.len());
}

#[test]
fn a_file_without_templates_is_itself() {
    let src = "FROM alpine\nRUN echo '{ {' }}\n";
    let r = run(src, true, &[]).unwrap();
    assert_eq!(r.text, src);
    assert_eq!(r.map, rockerc::source::SourceMap::identity());
}

#[test]
fn var_values_are_strings_and_yaml_values_are_typed() {
    let r = run("{{ printf \"%T %T %T\" .n .one .t }}", false, &["n=5"]).unwrap();
    assert_eq!(r.text, "string int bool");
    let d = first_error("{{ if eq .one \"1\" }}{{ end }}", false);
    assert_eq!(d.code.as_str(), "template-compare");
    let r = run("{{ .one }}", false, &["one=override"]).unwrap();
    assert_eq!(r.text, "override");
}

#[test]
fn rocker_root_rockerfile_renders() {
    let src = "{{ $commit := or .Env.GIT_COMMIT \"\" }}{{ $branch := or .Env.GIT_BRANCH \"none\" }}{{ $version := or .Version \"local\" }}\n\
FROM golang:1.8\n\
{{ if and (ne $version \"local\") (eq $branch \"master\") }}PUSH rocker:{{ $version }}{{ end }}\n\
PUSH rocker:{{ $branch }}{{ $commit }}\n";
    let r = run(src, false, &[]).unwrap();
    assert_eq!(r.text, "\nFROM golang:1.8\nPUSH rocker:1.2\nPUSH rocker:master\n");
}

#[test]
fn a_dash_in_a_field_name_suggests_index() {
    let d = first_error("RUN {{ .a.b.my-var }}", false);
    assert_eq!(d.code.as_str(), "template-syntax");
    assert_eq!(d.message, "unrecognized character in action: '-'");
    assert_eq!(d.help.as_deref(), Some("a field name cannot contain '-'; write `index .a.b \"my-var\"`"));
}
