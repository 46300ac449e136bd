//! `rockerc --emit ast`: the rendered Rockerfile's syntax tree as JSON (schema in docs/ast.md),
//! pinned for a file that uses every argument form, and checked against BuildKit's own parser
//! test data: for every positive case the JSON must hold the instructions BuildKit's `result`
//! lists, with the same keywords, flags and argument values.
//!
//! ```text
//! ROCKERC_CONFORMANCE_DIR=../shared/conformance/buildkit cargo test --test integration emit_ast:: -- --ignored --nocapture
//! ```
//!
//! That case is `#[ignore]`d: a clone without `../shared` shows it as ignored, never as passed.

use crate::common::{Run, Test};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn rockerc(args: &[&str], dir: &Path) -> Run {
    Test::at(dir).args(args).run()
}

/// Every argument form, flags, a directive, a heredoc, a Rocker instruction and an unknown one.
const EVERY_FORM: &str = "# escape=\\\nFROM --platform=linux/amd64 rockerc-test/busybox AS base\nCMD\nRUN [\"echo\", \"hi\"]\nrun --network=none echo \\\n  hi\nEXPOSE 80 53/udp\nENV A=1 B=\"two words\"\nENV LEGACY the rest\nARG V=1 \"W=x y\"\nHEALTHCHECK --retries=3 CMD [\"true\"]\nONBUILD COPY a /a\nCOPY <<EOF /x\nbody\nEOF\nTAG app:1\nFOO bar\n";

/// The JSON of [`EVERY_FORM`]: the document without its instructions, then one instruction a
/// line.
const EVERY_FORM_JSON: &str = r#"{"directives":[{"name":{"span":{"column":3,"end":8,"end_column":9,"end_line":1,"line":1,"start":2},"value":"escape"},"value":{"span":{"column":10,"end":10,"end_column":11,"end_line":1,"line":1,"start":9},"value":"\\"}}],"escape":"\\","version":1}
{"args":{"form":"list","values":[{"span":{"column":29,"end":59,"end_column":49,"end_line":2,"line":2,"start":39},"value":"rockerc-test/busybox"},{"span":{"column":50,"end":62,"end_column":52,"end_line":2,"line":2,"start":60},"value":"AS"},{"span":{"column":53,"end":67,"end_column":57,"end_line":2,"line":2,"start":63},"value":"base"}]},"flags":[{"span":{"column":6,"end":38,"end_column":28,"end_line":2,"line":2,"start":16},"value":"--platform=linux/amd64"}],"heredocs":[],"keyword":{"span":{"column":1,"end":15,"end_column":5,"end_line":2,"line":2,"start":11},"value":"FROM"},"kind":"FROM","rest":{"span":{"column":29,"end":67,"end_column":57,"end_line":2,"line":2,"start":39},"value":"rockerc-test/busybox AS base"},"rocker":false,"span":{"column":1,"end":67,"end_column":57,"end_line":2,"line":2,"start":11}}
{"args":{"form":"none"},"flags":[],"heredocs":[],"keyword":{"span":{"column":1,"end":71,"end_column":4,"end_line":3,"line":3,"start":68},"value":"CMD"},"kind":"CMD","rest":{"span":{"column":4,"end":71,"end_column":4,"end_line":3,"line":3,"start":71},"value":""},"rocker":false,"span":{"column":1,"end":71,"end_column":4,"end_line":3,"line":3,"start":68}}
{"args":{"form":"json","values":[{"span":{"column":6,"end":83,"end_column":12,"end_line":4,"line":4,"start":77},"value":"echo"},{"span":{"column":14,"end":89,"end_column":18,"end_line":4,"line":4,"start":85},"value":"hi"}]},"flags":[],"heredocs":[],"keyword":{"span":{"column":1,"end":75,"end_column":4,"end_line":4,"line":4,"start":72},"value":"RUN"},"kind":"RUN","rest":{"span":{"column":5,"end":90,"end_column":19,"end_line":4,"line":4,"start":76},"value":"[\"echo\", \"hi\"]"},"rocker":false,"span":{"column":1,"end":90,"end_column":19,"end_line":4,"line":4,"start":72}}
{"args":{"form":"string","value":{"span":{"column":20,"end":121,"end_column":5,"end_line":6,"line":5,"start":110},"value":"echo   hi"}},"flags":[{"span":{"column":5,"end":109,"end_column":19,"end_line":5,"line":5,"start":95},"value":"--network=none"}],"heredocs":[],"keyword":{"span":{"column":1,"end":94,"end_column":4,"end_line":5,"line":5,"start":91},"value":"run"},"kind":"RUN","rest":{"span":{"column":20,"end":121,"end_column":5,"end_line":6,"line":5,"start":110},"value":"echo   hi"},"rocker":false,"span":{"column":1,"end":121,"end_column":5,"end_line":6,"line":5,"start":91}}
{"args":{"form":"list","values":[{"span":{"column":8,"end":131,"end_column":10,"end_line":7,"line":7,"start":129},"value":"80"},{"span":{"column":11,"end":138,"end_column":17,"end_line":7,"line":7,"start":132},"value":"53/udp"}]},"flags":[],"heredocs":[],"keyword":{"span":{"column":1,"end":128,"end_column":7,"end_line":7,"line":7,"start":122},"value":"EXPOSE"},"kind":"EXPOSE","rest":{"span":{"column":8,"end":138,"end_column":17,"end_line":7,"line":7,"start":129},"value":"80 53/udp"},"rocker":false,"span":{"column":1,"end":138,"end_column":17,"end_line":7,"line":7,"start":122}}
{"args":{"form":"pairs","pairs":[{"equals":true,"key":{"span":{"column":5,"end":144,"end_column":6,"end_line":8,"line":8,"start":143},"value":"A"},"value":{"span":{"column":7,"end":146,"end_column":8,"end_line":8,"line":8,"start":145},"value":"1"}},{"equals":true,"key":{"span":{"column":9,"end":148,"end_column":10,"end_line":8,"line":8,"start":147},"value":"B"},"value":{"span":{"column":11,"end":160,"end_column":22,"end_line":8,"line":8,"start":149},"value":"\"two words\""}}]},"flags":[],"heredocs":[],"keyword":{"span":{"column":1,"end":142,"end_column":4,"end_line":8,"line":8,"start":139},"value":"ENV"},"kind":"ENV","rest":{"span":{"column":5,"end":160,"end_column":22,"end_line":8,"line":8,"start":143},"value":"A=1 B=\"two words\""},"rocker":false,"span":{"column":1,"end":160,"end_column":22,"end_line":8,"line":8,"start":139}}
{"args":{"form":"pairs","pairs":[{"equals":false,"key":{"span":{"column":5,"end":171,"end_column":11,"end_line":9,"line":9,"start":165},"value":"LEGACY"},"value":{"span":{"column":12,"end":180,"end_column":20,"end_line":9,"line":9,"start":172},"value":"the rest"}}]},"flags":[],"heredocs":[],"keyword":{"span":{"column":1,"end":164,"end_column":4,"end_line":9,"line":9,"start":161},"value":"ENV"},"kind":"ENV","rest":{"span":{"column":5,"end":180,"end_column":20,"end_line":9,"line":9,"start":165},"value":"LEGACY the rest"},"rocker":false,"span":{"column":1,"end":180,"end_column":20,"end_line":9,"line":9,"start":161}}
{"args":{"form":"words","values":[{"span":{"column":5,"end":188,"end_column":8,"end_line":10,"line":10,"start":185},"value":"V=1"},{"span":{"column":9,"end":196,"end_column":16,"end_line":10,"line":10,"start":189},"value":"\"W=x y\""}]},"flags":[],"heredocs":[],"keyword":{"span":{"column":1,"end":184,"end_column":4,"end_line":10,"line":10,"start":181},"value":"ARG"},"kind":"ARG","rest":{"span":{"column":5,"end":196,"end_column":16,"end_line":10,"line":10,"start":185},"value":"V=1 \"W=x y\""},"rocker":false,"span":{"column":1,"end":196,"end_column":16,"end_line":10,"line":10,"start":181}}
{"args":{"command":{"form":"json","values":[{"span":{"column":30,"end":232,"end_column":36,"end_line":11,"line":11,"start":226},"value":"true"}]},"form":"healthcheck","kind":{"span":{"column":25,"end":224,"end_column":28,"end_line":11,"line":11,"start":221},"value":"CMD"}},"flags":[{"span":{"column":13,"end":220,"end_column":24,"end_line":11,"line":11,"start":209},"value":"--retries=3"}],"heredocs":[],"keyword":{"span":{"column":1,"end":208,"end_column":12,"end_line":11,"line":11,"start":197},"value":"HEALTHCHECK"},"kind":"HEALTHCHECK","rest":{"span":{"column":25,"end":233,"end_column":37,"end_line":11,"line":11,"start":221},"value":"CMD [\"true\"]"},"rocker":false,"span":{"column":1,"end":233,"end_column":37,"end_line":11,"line":11,"start":197}}
{"args":{"form":"onbuild","trigger":{"args":{"form":"list","values":[{"span":{"column":14,"end":248,"end_column":15,"end_line":12,"line":12,"start":247},"value":"a"},{"span":{"column":16,"end":251,"end_column":18,"end_line":12,"line":12,"start":249},"value":"/a"}]},"flags":[],"heredocs":[],"keyword":{"span":{"column":9,"end":246,"end_column":13,"end_line":12,"line":12,"start":242},"value":"COPY"},"kind":"COPY","rest":{"span":{"column":14,"end":251,"end_column":18,"end_line":12,"line":12,"start":247},"value":"a /a"},"rocker":false,"span":{"column":9,"end":251,"end_column":18,"end_line":12,"line":12,"start":242}}},"flags":[],"heredocs":[],"keyword":{"span":{"column":1,"end":241,"end_column":8,"end_line":12,"line":12,"start":234},"value":"ONBUILD"},"kind":"ONBUILD","rest":{"span":{"column":9,"end":251,"end_column":18,"end_line":12,"line":12,"start":242},"value":"COPY a /a"},"rocker":false,"span":{"column":1,"end":251,"end_column":18,"end_line":12,"line":12,"start":234}}
{"args":{"form":"list","values":[{"span":{"column":6,"end":262,"end_column":11,"end_line":13,"line":13,"start":257},"value":"<<EOF"},{"span":{"column":12,"end":265,"end_column":14,"end_line":13,"line":13,"start":263},"value":"/x"}]},"flags":[],"heredocs":[{"body":{"span":{"column":1,"end":271,"end_column":1,"end_line":15,"line":14,"start":266},"value":"body\n"},"chomp":false,"expand":true,"fd":null,"name":"EOF"}],"keyword":{"span":{"column":1,"end":256,"end_column":5,"end_line":13,"line":13,"start":252},"value":"COPY"},"kind":"COPY","rest":{"span":{"column":6,"end":265,"end_column":14,"end_line":13,"line":13,"start":257},"value":"<<EOF /x"},"rocker":false,"span":{"column":1,"end":274,"end_column":4,"end_line":15,"line":13,"start":252}}
{"args":{"form":"string","value":{"span":{"column":5,"end":284,"end_column":10,"end_line":16,"line":16,"start":279},"value":"app:1"}},"flags":[],"heredocs":[],"keyword":{"span":{"column":1,"end":278,"end_column":4,"end_line":16,"line":16,"start":275},"value":"TAG"},"kind":"TAG","rest":{"span":{"column":5,"end":284,"end_column":10,"end_line":16,"line":16,"start":279},"value":"app:1"},"rocker":true,"span":{"column":1,"end":284,"end_column":10,"end_line":16,"line":16,"start":275}}
{"args":{"form":"string","value":{"span":{"column":5,"end":292,"end_column":8,"end_line":17,"line":17,"start":289},"value":"bar"}},"flags":[],"heredocs":[],"keyword":{"span":{"column":1,"end":288,"end_column":4,"end_line":17,"line":17,"start":285},"value":"FOO"},"kind":null,"rest":{"span":{"column":5,"end":292,"end_column":8,"end_line":17,"line":17,"start":289},"value":"bar"},"rocker":false,"span":{"column":1,"end":292,"end_column":8,"end_line":17,"line":17,"start":285}}"#;

#[test]
fn every_argument_form_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), EVERY_FORM).unwrap();
    let out = rockerc(&["--emit", "ast", "Rockerfile"], dir.path());
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert!(out.stderr.is_empty(), "stderr: {}", out.stderr);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with("}\n"), "one JSON document and a newline");
    let mut got: Value = serde_json::from_str(&stdout).unwrap();
    let instructions = got.as_object_mut().unwrap().remove("instructions").unwrap();
    let mut lines = EVERY_FORM_JSON.lines();
    let head: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(got, head);
    assert_eq!(got["version"], 1);
    let expected: Vec<Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
    let instructions = instructions.as_array().unwrap();
    assert_eq!(instructions.len(), expected.len());
    for (got, expected) in instructions.iter().zip(&expected) {
        assert_eq!(got, expected, "\n got: {got}\nwant: {expected}");
    }
}

#[test]
fn templates_are_rendered_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), "FROM {{ .Base }}\n{{ range $i := seq 2 }}RUN echo {{ $i }}\n{{ end }}").unwrap();
    let out = rockerc(&["--emit", "ast", "-var", "Base=alpine", "Rockerfile"], dir.path());
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rests: Vec<&str> = json["instructions"].as_array().unwrap().iter().map(|i| i["rest"]["value"].as_str().unwrap()).collect();
    assert_eq!(rests, ["alpine", "echo 1", "echo 2"]);
}

#[test]
fn errors_are_reported_as_usual() {
    let dir = tempfile::tempdir().unwrap();
    // A syntax error: nothing on stdout, the diagnostic on stderr, exit 1.
    std::fs::write(dir.path().join("Rockerfile"), "FROM alpine\nCMD [\"a\", [\"b\"]]\n").unwrap();
    let out = rockerc(&["--emit", "ast", "Rockerfile"], dir.path());
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("error["), "{}", out.stderr);
    // A template error.
    std::fs::write(dir.path().join("Rockerfile"), "FROM {{ .Base \n").unwrap();
    let out = rockerc(&["--emit", "ast", "Rockerfile"], dir.path());
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    // The tree is the parser's: a file the analysis would reject still prints.
    std::fs::write(dir.path().join("Rockerfile"), "RUNN echo\n").unwrap();
    let out = rockerc(&["--emit", "ast", "Rockerfile"], dir.path());
    assert_eq!(out.code, 0);
    // Only standard output.
    let out = rockerc(&["--emit", "ast", "-o", "out", "Rockerfile"], dir.path());
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr, "error: --emit ast prints to standard output; it takes no -o DIR\n");
    assert!(!dir.path().join("out").exists());
}

// ---- BuildKit's parser test data, through --emit ast ----

/// One instruction as BuildKit's `result` files print it: `(keyword [flags] args...)`.
#[derive(Debug, PartialEq)]
struct Node {
    keyword: String,
    flags: Vec<String>,
    args: Vec<Arg>,
}

#[derive(Debug, PartialEq)]
enum Arg {
    Str(String),
    Node(Node),
}

/// Reads one s-expression of a `result` file, from its `(`.
fn parse_node(s: &mut &str) -> Node {
    *s = s.strip_prefix('(').expect("a node starts with (");
    let end = s.find([' ', ')']).unwrap();
    let keyword = s[..end].to_string();
    *s = &s[end..];
    let mut node = Node { keyword, flags: Vec::new(), args: Vec::new() };
    loop {
        if let Some(rest) = s.strip_prefix(')') {
            *s = rest;
            return node;
        }
        *s = s.strip_prefix(' ').expect("nodes are separated by a space");
        if let Some(rest) = s.strip_prefix('[') {
            *s = rest;
            while !s.starts_with(']') {
                *s = s.trim_start_matches(' ');
                node.flags.push(go_unquote(s));
            }
            *s = &s[1..];
        } else if s.starts_with('(') {
            node.args.push(Arg::Node(parse_node(s)));
        } else {
            node.args.push(Arg::Str(go_unquote(s)));
        }
    }
}

/// Reads a string quoted by Go's `strconv.Quote`.
fn go_unquote(s: &mut &str) -> String {
    let mut chars = s.strip_prefix('"').expect("a quoted string").char_indices();
    let mut bytes: Vec<u8> = Vec::new();
    let hex = |chars: &mut std::str::CharIndices, n: usize| -> u32 {
        let digits: String = (0..n).map(|_| chars.next().unwrap().1).collect();
        u32::from_str_radix(&digits, 16).unwrap()
    };
    loop {
        let (at, c) = chars.next().expect("an unterminated string");
        match c {
            '"' => {
                *s = &s[at + 2..];
                return String::from_utf8(bytes).expect("UTF-8");
            }
            '\\' => {
                let (_, e) = chars.next().unwrap();
                let decoded = match e {
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    'x' => {
                        bytes.push(hex(&mut chars, 2) as u8);
                        continue;
                    }
                    'u' => char::from_u32(hex(&mut chars, 4)).unwrap(),
                    'U' => char::from_u32(hex(&mut chars, 8)).unwrap(),
                    other => other,
                };
                bytes.extend(decoded.to_string().as_bytes());
            }
            c => bytes.extend(c.to_string().as_bytes()),
        }
    }
}

/// An instruction of `--emit ast` as BuildKit's dump would print it.
fn node_of(instruction: &Value) -> Node {
    let value = |v: &Value| v["value"].as_str().unwrap().to_string();
    let values = |v: &Value| v.as_array().unwrap().iter().map(|s| Arg::Str(value(s))).collect::<Vec<_>>();
    fn args(a: &Value, value: &dyn Fn(&Value) -> String, values: &dyn Fn(&Value) -> Vec<Arg>) -> Vec<Arg> {
        match a["form"].as_str().unwrap() {
            "none" => Vec::new(),
            "json" | "list" | "words" => values(&a["values"]),
            "string" => vec![Arg::Str(value(&a["value"]))],
            "pairs" => a["pairs"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|p| [Arg::Str(value(&p["key"])), Arg::Str(value(&p["value"])), Arg::Str(if p["equals"] == true { "=" } else { "" }.into())])
                .collect(),
            "healthcheck" => std::iter::once(Arg::Str(value(&a["kind"]))).chain(args(&a["command"], value, values)).collect(),
            "onbuild" => vec![Arg::Node(node_of(&a["trigger"]))],
            other => panic!("unknown form {other}"),
        }
    }
    Node {
        keyword: instruction["keyword"]["value"].as_str().unwrap().to_lowercase(),
        flags: instruction["flags"].as_array().unwrap().iter().map(value).collect(),
        // BuildKit keeps no arguments for an instruction it does not know.
        args: if instruction["kind"].is_null() { vec![Arg::Str(String::new())] } else { args(&instruction["args"], &value, &values) },
    }
}

fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    cases
}

#[test]
#[ignore = "needs ../shared: set ROCKERC_CONFORMANCE_DIR to shared/conformance/buildkit and run with --ignored (.ci/run does)"]
fn buildkit_positive_cases_through_emit_ast() {
    let root = std::env::var_os("ROCKERC_CONFORMANCE_DIR").expect("needs ../shared: set ROCKERC_CONFORMANCE_DIR to shared/conformance/buildkit");
    let positive = cases(&Path::new(&root).join("parser/testfiles"));
    let mut failures = Vec::new();
    let mut passed = 0;
    for case in &positive {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        // The case's directory is the build context; --emit ast does not need one.
        let out = rockerc(&["--emit", "ast", "Dockerfile"], case);
        if out.code != 0 {
            failures.push(format!("{name}: exit {}\n{}", out.code, out.stderr));
            continue;
        }
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let got: Vec<Node> = json["instructions"].as_array().unwrap().iter().map(node_of).collect();
        let result = std::fs::read_to_string(case.join("result")).unwrap().replace("\r\n", "\n");
        let expected: Vec<Node> = result.lines().map(|mut l| parse_node(&mut l)).collect();
        if got == expected {
            passed += 1;
        } else {
            failures.push(format!("{name}: the instructions differ\n--- expected\n{expected:#?}\n--- got\n{got:#?}"));
        }
    }
    println!("emit ast: BuildKit positive cases {passed}/{}", positive.len());
    assert!(!positive.is_empty(), "no cases under {}", Path::new(&root).display());
    assert!(failures.is_empty(), "{} cases differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn go_quoted_strings_read_back() {
    let mut s = r#""a\"b\\c\x00\u00e9\n♥" rest"#;
    assert_eq!(go_unquote(&mut s), "a\"b\\c\u{0}é\n♥");
    assert_eq!(s, " rest");
    let mut line = r#"(onbuild ["--x=1" "--y"] (run "echo" "test"))"#;
    let node = parse_node(&mut line);
    assert_eq!(node.keyword, "onbuild");
    assert_eq!(node.flags, ["--x=1", "--y"]);
    assert_eq!(node.args, [Arg::Node(Node { keyword: "run".into(), flags: Vec::new(), args: vec![Arg::Str("echo".into()), Arg::Str("test".into())] })]);
    assert!(line.is_empty());
}

/// An instruction an INCLUDE brought in says where it was written and through which INCLUDE
/// lines; the Rockerfile's own instructions have no `origin`.
#[test]
fn included_instructions_carry_their_origin() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("common")).unwrap();
    std::fs::write(dir.path().join("Rockerfile"), "FROM rockerc-test/busybox\nINCLUDE common/base.inc\nRUN true\n").unwrap();
    std::fs::write(dir.path().join("common/base.inc"), "# shared\nENV A=1\nINCLUDE user.inc\n").unwrap();
    std::fs::write(dir.path().join("common/user.inc"), "USER nobody\n").unwrap();
    let out = Test::at(dir.path()).args(["--emit", "ast", "Rockerfile"]).status(0).run();
    let ast: Value = serde_json::from_slice(&out.stdout).unwrap();
    let origins: Vec<(String, Value)> =
        ast["instructions"].as_array().unwrap().iter().map(|i| (i["keyword"]["value"].as_str().unwrap().to_string(), i["origin"].clone())).collect();
    assert_eq!(
        origins,
        vec![
            ("FROM".to_string(), Value::Null),
            (
                "ENV".to_string(),
                serde_json::json!({"file": "common/base.inc", "line": 2, "column": 1, "via": [{"file": "Rockerfile", "line": 2, "column": 1}]})
            ),
            (
                "USER".to_string(),
                serde_json::json!({"file": "common/user.inc", "line": 1, "column": 1, "via": [
                    {"file": "common/base.inc", "line": 3, "column": 1}, {"file": "Rockerfile", "line": 2, "column": 1}]})
            ),
            ("RUN".to_string(), Value::Null),
        ]
    );
}
