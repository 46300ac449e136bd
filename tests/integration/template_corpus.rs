//! Every real Rockerfile in `shared/corpus` renders, leniently without variables (as Rocker did,
//! with `<no value>`) and under `--strict` with the variables its README row lists.
//!
//! The corpus lives beside the repository, not in it: the files belong to their projects. Point
//! `ROCKERC_CORPUS_DIR` at it and run with `--ignored` (`.ci/run` does); a clone without it shows the
//! test as ignored, never as passed.

use rockerc::source::SourceFile;
use rockerc::template::{render, TemplateOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    let dir = PathBuf::from(std::env::var_os("ROCKERC_CORPUS_DIR").expect("needs ../shared: set ROCKERC_CORPUS_DIR to shared/corpus"));
    assert!(dir.is_dir(), "ROCKERC_CORPUS_DIR={} is not a directory", dir.display());
    dir
}

/// File name -> (variables, environment variables), from the README table.
fn readme_vars(dir: &std::path::Path) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    let mut rows = BTreeMap::new();
    for line in readme.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 7 {
            continue;
        }
        let words = |c: &str| c.split_whitespace().filter(|w| *w != "-").map(str::to_string).collect::<Vec<_>>();
        rows.insert(cells[1].trim_matches('`').to_string(), (words(cells[5]), words(cells[6])));
    }
    rows
}

#[test]
#[ignore = "needs ../shared: set ROCKERC_CORPUS_DIR to shared/corpus and run with --ignored (.ci/run does)"]
fn corpus_renders() {
    let dir = corpus();
    let rows = readme_vars(&dir);
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name == "README.md" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let file = SourceFile::new(name.clone(), text.clone());

        let lenient = render(&file, &TemplateOptions::default()).unwrap_or_else(|d| panic!("{name}: {:?}", d.0));
        assert!(!lenient.text.contains("{{"), "{name}: template left in output");
        if !text.contains("{{") {
            assert_eq!(lenient.text, text, "{name}: a file without templates must be itself");
        }

        let (vars, env) = rows.get(&name).cloned().unwrap_or_default();
        let options = TemplateOptions {
            vars: vars.iter().map(|v| format!("{v}=1")).collect(),
            env: env.iter().map(|e| (e.clone(), "1".to_string())).collect(),
            strict: true,
            ..Default::default()
        };
        let strict = render(&file, &options).unwrap_or_else(|d| panic!("{name} (strict): {:?}", d.0.iter().map(|d| &d.message).collect::<Vec<_>>()));
        assert!(!strict.text.contains("<no value>"), "{name}: strict rendering printed <no value>");
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} corpus files found");
}
