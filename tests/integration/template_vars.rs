//! Loading and merging of `-var` / `-vars`, and their diagnostics.

use rockerc::source::SourceFile;
use rockerc::template::{load_vars, render, TemplateOptions};
use std::fs;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn opts(base: &std::path::Path, files: &[&str], vars: &[&str]) -> TemplateOptions {
    TemplateOptions {
        var_files: files.iter().map(Into::into).collect(),
        vars: vars.iter().map(|s| s.to_string()).collect(),
        base_dir: Some(base.to_path_buf()),
        ..Default::default()
    }
}

fn render_with(options: &TemplateOptions, src: &str) -> String {
    match render(&SourceFile::new("Rockerfile", src), options) {
        Ok(r) => r.text,
        Err(d) => panic!("{:?}", d.0.iter().map(|d| &d.message).collect::<Vec<_>>()),
    }
}

fn codes(options: &TemplateOptions) -> Vec<&'static str> {
    load_vars(options).unwrap_err().0.iter().map(|d| d.code.as_str()).collect()
}

#[test]
fn later_var_wins_and_cli_overrides_files() {
    let d = dir();
    fs::write(d.path().join("a.yml"), "A: file-a\nB: file-b\nL: [1, 2]\n").unwrap();
    fs::write(d.path().join("b.json"), r#"{"B": "json-b", "L": [3], "N": 8080, "F": 1.5, "M": {"k": true}}"#).unwrap();
    let o = opts(d.path(), &["a.yml", "b.json"], &["A=cli1", "A=cli2", "E="]);
    let out = render_with(&o, "{{ .A }} {{ .B }} {{ .L }} {{ .N }} {{ .F }} {{ .M.k }} [{{ .E }}] {{ printf \"%T\" .N }}");
    // Lists from two files are appended, as Rocker's merge did.
    assert_eq!(out, "cli2 json-b [1 2 3] 8080 1.5 true [] int");
}

#[test]
fn var_at_file_reads_the_file_and_backslash_escapes_it() {
    let d = dir();
    fs::write(d.path().join("key.txt"), "secret\n").unwrap();
    let o = opts(d.path(), &[], &["K=@key.txt", "L=\\@literal", "M=a=b"]);
    assert_eq!(render_with(&o, "{{ .K }}|{{ .L }}|{{ .M }}"), "secret\n|@literal|a=b");
    let mut o = opts(d.path(), &[], &["K=@~/key.txt"]);
    o.env.insert("HOME".into(), d.path().display().to_string());
    assert_eq!(render_with(&o, "{{ .K }}"), "secret\n");
}

#[test]
fn json_vars_may_be_a_list_of_assignments() {
    let d = dir();
    fs::write(d.path().join("v.json"), r#"["A=1", "B=x=y"]"#).unwrap();
    let o = opts(d.path(), &["v.json"], &[]);
    assert_eq!(render_with(&o, "{{ .A }} {{ .B }} {{ printf \"%T\" .A }}"), "1 x=y string");
}

#[test]
fn yaml_vars_are_typed_by_yaml_1_1() {
    let d = dir();
    fs::write(d.path().join("v.yaml"), "on: yes\nmode: 0755\nver: 1.10\nname: 'yes'\nempty:\n").unwrap();
    let o = opts(d.path(), &["v.yaml"], &[]);
    assert_eq!(render_with(&o, "{{ .on }} {{ .mode }} {{ .ver }} {{ .name }} {{ .empty }}"), "true 493 1.1 yes <no value>");
}

#[test]
fn globs_expand_in_order() {
    let d = dir();
    fs::write(d.path().join("1.yml"), "A: one\n").unwrap();
    fs::write(d.path().join("2.yml"), "A: two\nB: b\n").unwrap();
    let o = opts(d.path(), &["*.yml"], &[]);
    assert_eq!(render_with(&o, "{{ .A }}{{ .B }}"), "twob");
    let vars = load_vars(&opts(d.path(), &["nothing-*.yml"], &[])).unwrap();
    assert_eq!(vars.warnings[0].code.as_str(), "vars-glob-empty");
}

#[test]
fn env_is_the_environment_and_shadows_a_var_named_env() {
    let d = dir();
    let mut o = opts(d.path(), &[], &["Env=x"]);
    o.env.insert("USER".into(), "me".into());
    let r = render(&SourceFile::new("R", "{{ .Env.USER }}"), &o).unwrap();
    assert_eq!(r.text, "me");
    assert_eq!(r.warnings[0].code.as_str(), "var-env-shadowed");
}

#[test]
fn bad_vars_are_reported_all_at_once() {
    let d = dir();
    fs::write(d.path().join("bad.yaml"), "a: [1, 2\n").unwrap();
    fs::write(d.path().join("bad.json"), "{nope}").unwrap();
    fs::write(d.path().join("list.yaml"), "- a\n- b\n").unwrap();
    let o = opts(d.path(), &["missing.yaml", "bad.yaml", "bad.json", "list.yaml"], &["NOEQUALS", "=x", "K=@nofile"]);
    assert_eq!(
        codes(&o),
        vec![
            "vars-file-unreadable",
            "vars-file-invalid",
            "vars-file-invalid",
            "vars-file-not-a-map",
            "var-missing-equals",
            "var-empty-name",
            "var-file-unreadable"
        ]
    );
    let errors = load_vars(&o).unwrap_err().0;
    assert_eq!(errors[4].message, "template variable `NOEQUALS` has no `=`: -var takes NAME=VALUE");
    assert_eq!(errors[4].help.as_deref(), Some("write `--var NOEQUALS=VALUE` (or `--var NOEQUALS=` for an empty value)"));
    assert!(errors[1].message.contains("is not valid YAML") && errors[1].message.contains("line 2"), "{}", errors[1].message);
    // Diagnostics about vars have no place in the Rockerfile, but still render.
    let text = errors[0].render(&SourceFile::new("Rockerfile", "FROM a\n"), &Default::default(), false);
    assert!(text.starts_with("error[vars-file-unreadable]: cannot read vars file"), "{text}");
}

#[test]
fn unknown_extension_reads_as_yaml_with_a_warning() {
    let d = dir();
    fs::write(d.path().join("vars.txt"), "A: 1\n").unwrap();
    let vars = load_vars(&opts(d.path(), &["vars.txt"], &[])).unwrap();
    assert_eq!(vars.warnings[0].code.as_str(), "vars-file-extension");
    assert!(vars.values.contains_key("A"));
}

#[test]
fn artifacts_from_yaml_feed_the_image_helper() {
    let d = dir();
    fs::write(
        d.path().join("artifacts.yml"),
        "RockerArtifacts:\n- Name: golang:1.5\n  Tag: \"1.5\"\n  Digest: sha256:ead434\n- Name: alpine:3.2\n  Tag: \"3.2\"\n",
    )
    .unwrap();
    let mut o = opts(d.path(), &["artifacts.yml"], &[]);
    assert_eq!(render_with(&o, "{{ image \"golang:1.*\" }} {{ image \"alpine:3\" }} {{ image \"debian\" }}"), "golang@sha256:ead434 alpine:3.2 debian:latest");
    o.demand_artifacts = true;
    let err = render(&SourceFile::new("R", "FROM {{ image \"debian:8\" }}"), &o).unwrap_err();
    assert_eq!(err.0[0].code.as_str(), "template-image-not-found");
    assert_eq!(err.0[0].message, "Cannot find suitable artifact for image debian:8");
}

/// A vars file named in the checkout (a glob, a path, `-var K=@FILE`) is never read through a
/// symbolic link that leads out of it; a link that stays inside is fine, and so is a file
/// outside the checkout named by its own path (the invoker's choice).
#[test]
fn vars_files_are_not_read_through_links_out_of_the_checkout() {
    let load = |o: &TemplateOptions| render(&SourceFile::new("Rockerfile", "FROM x\nRUN echo {{ json . }}\n"), o).map(|r| r.text);
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("config.yml"), "auth: HOST-ONLY\n").unwrap();
    let co = tempfile::tempdir().unwrap();
    let base = co.path();
    std::fs::create_dir(base.join("vars")).unwrap();
    std::fs::write(base.join("vars/a.yml"), "Version: 1\n").unwrap();
    std::fs::write(base.join("real.yml"), "Inside: yes\n").unwrap();
    std::os::unix::fs::symlink(host.path().join("config.yml"), base.join("vars/zz.yml")).unwrap();
    std::os::unix::fs::symlink(host.path(), base.join("hostdir")).unwrap();
    std::os::unix::fs::symlink("../real.yml", base.join("vars/inside.yml")).unwrap();
    std::os::unix::fs::symlink(host.path().join("config.yml"), base.join("notes.txt")).unwrap();
    let refused = |files: &[&str], vars: &[&str], named: &str| {
        let err = match load(&opts(base, files, vars)) {
            Ok(v) => panic!("{files:?} {vars:?}: read through the link: {v}"),
            Err(d) => d.0.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("\n"),
        };
        assert!(err.contains(named) && err.contains("leads out of it"), "{err}");
    };
    refused(&["vars/*.yml"], &[], "vars/zz.yml");
    refused(&["vars/zz.yml"], &[], "vars/zz.yml");
    refused(&["hostdir/config.yml"], &[], "hostdir/config.yml");
    refused(&[], &["K=@notes.txt"], "notes.txt");
    let absolute = base.join("vars/zz.yml");
    refused(&[absolute.to_str().unwrap()], &[], "vars/zz.yml");
    // Inside, and outside by its own path: read.
    assert!(load(&opts(base, &["vars/a.yml", "vars/inside.yml"], &[])).unwrap().contains("Inside"));
    let outside = host.path().join("config.yml");
    assert!(load(&opts(base, &[outside.to_str().unwrap()], &[&format!("K=@{}", outside.display())])).unwrap().contains("HOST-ONLY"));
}
