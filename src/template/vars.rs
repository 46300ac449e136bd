//! Template variables: `--vars FILE` (YAML or JSON, globbed, merged in order), then
//! `--var K=V` (strings; `@file` reads a file; later wins), then `.Env`.

use super::value::{kind, list_items, GoKind};
use super::TemplateOptions;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use minijinja::value::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The merged variables, and warnings about how they were loaded.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    pub values: BTreeMap<String, Value>,
    pub warnings: Vec<Diagnostic>,
}

impl Vars {
    /// The template data: the variables, `Env`, and `DemandArtifacts` when asked for.
    pub fn data(&self, options: &TemplateOptions) -> Value {
        let mut data = self.values.clone();
        let mut env: BTreeMap<String, Value> = options.env.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
        // A secret renders as a reference the container's shell expands when the script runs:
        // its value never passes through rockerc, into the Rockerfile or the generated files.
        for name in &options.secrets {
            let reference = Value::from(format!("${{{name}}}"));
            data.insert(name.clone(), reference.clone());
            env.insert(name.clone(), reference);
        }
        data.insert("Env".to_string(), Value::from(env));
        if options.demand_artifacts {
            data.insert("DemandArtifacts".to_string(), Value::from(true));
        }
        Value::from(data)
    }
}

/// Loads and merges `options.var_files` and `options.vars`. Every problem is reported, not just
/// the first; none of them has a place in the Rockerfile.
pub fn load_vars(options: &TemplateOptions) -> Result<Vars, Diagnostics> {
    let mut vars = Vars::default();
    let mut errors = Vec::new();
    for pattern in &options.var_files {
        for path in expand_glob(options, pattern, &mut vars.warnings, &mut errors) {
            match load_file(options, &path, &mut vars.warnings) {
                Ok(values) => merge(&mut vars.values, values),
                Err(d) => errors.push(*d),
            }
        }
    }
    let mut cli = BTreeMap::new();
    for raw in &options.vars {
        match parse_var(options, raw) {
            Ok((k, _)) if options.secrets.contains(&k) => errors.push(
                Diagnostic::error(Code::SecretValueGiven, format!("`{k}` is a --secret: its value is not given to rockerc"))
                    .help(format!("drop `--var {k}=...`, and export {k} when the build script runs: the script passes it to the RUNs that use it")),
            ),
            Ok((k, v)) => {
                cli.insert(k, v);
            }
            Err(d) => errors.push(*d),
        }
    }
    merge(&mut vars.values, cli);
    if vars.values.contains_key("Env") {
        vars.warnings.push(
            Diagnostic::warning(Code::VarEnvShadowed, "a variable named `Env` is replaced by the environment")
                .note("`.Env` always holds the environment at compile time, as in Rocker"),
        );
    }
    if errors.is_empty() {
        Ok(vars)
    } else {
        Err(Diagnostics(errors))
    }
}

/// The files the variables are read from: each `--vars` file (globs expanded), then each
/// `--var K=@FILE`. A generated script checks that they have not changed since it was compiled.
pub fn var_input_files(options: &TemplateOptions) -> Vec<PathBuf> {
    let (mut warnings, mut errors) = (Vec::new(), Vec::new());
    let mut files: Vec<PathBuf> = options.var_files.iter().flat_map(|pattern| expand_glob(options, pattern, &mut warnings, &mut errors)).collect();
    for raw in &options.vars {
        if let Some(file) = raw.split_once('=').and_then(|(_, value)| value.strip_prefix('@')) {
            files.push(resolve_path(options, file));
        }
    }
    files
}

/// Rocker's merge: later values replace earlier ones, but two lists are appended.
fn merge(into: &mut BTreeMap<String, Value>, from: BTreeMap<String, Value>) {
    for (k, v) in from {
        match into.get(&k) {
            Some(old) if kind(old) == GoKind::List && kind(&v) == GoKind::List => {
                let mut items = list_items(old);
                items.extend(list_items(&v));
                into.insert(k, Value::from(items));
            }
            _ => {
                into.insert(k, v);
            }
        }
    }
}

fn resolve_path(options: &TemplateOptions, path: &str) -> PathBuf {
    let home = options.env.get("HOME").cloned().or_else(|| std::env::var("HOME").ok()).unwrap_or_default();
    let expanded = if path == "~" {
        PathBuf::from(home)
    } else if let Some(rest) = path.strip_prefix("~/") {
        Path::new(&home).join(rest)
    } else {
        PathBuf::from(path)
    };
    if expanded.is_absolute() {
        expanded
    } else {
        match &options.base_dir {
            Some(base) => base.join(expanded),
            None => expanded,
        }
    }
}

/// What went wrong reading a file, in words (not `No such file or directory (os error 2)`).
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// A file's text, or why it has none in words: unreadable, binary, or not UTF-8.
fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| io_reason(&e))?;
    if let Some(why) = crate::source::binary_reason(&bytes) {
        return Err(format!("it looks like a binary file, not text: {why}"));
    }
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
}

/// A `-var` value: `K=V`, `K=@file` (the file's contents), `K=\@x` (the literal `@x`).
fn parse_var(options: &TemplateOptions, raw: &str) -> Result<(String, Value), Box<Diagnostic>> {
    let Some((key, value)) = raw.split_once('=') else {
        return Err(Box::new(
            Diagnostic::error(Code::VarMissingEquals, format!("template variable `{raw}` has no `=`: -var takes NAME=VALUE"))
                .help(format!("write `--var {raw}=VALUE` (or `--var {raw}=` for an empty value)")),
        ));
    };
    if key.is_empty() {
        return Err(Box::new(Diagnostic::error(Code::VarEmptyName, format!("template variable `{raw}` has an empty name")).help("write `--var NAME=VALUE`")));
    }
    if let Some(file) = value.strip_prefix('@') {
        let path = resolve_path(options, file);
        if let Some(to) = leaves_checkout(options, &path) {
            return Err(linked_out(&format!("the file of `--var {key}=@{file}`,"), &path.display().to_string(), &to));
        }
        return match read_text(&path) {
            Ok(text) => Ok((key.to_string(), Value::from(text))),
            Err(why) => Err(Box::new(
                Diagnostic::error(Code::VarFileUnreadable, format!("cannot read `{}` for `--var {key}=@{file}`: {why}", path.display()))
                    .help(format!("a value that starts with `@` names a file; write `--var {key}=\\@{file}` for the literal text")),
            )),
        };
    }
    if let Some(rest) = value.strip_prefix("\\@") {
        return Ok((key.to_string(), Value::from(format!("@{rest}"))));
    }
    Ok((key.to_string(), Value::from(value)))
}

fn has_wildcards(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

fn expand_glob(options: &TemplateOptions, pattern: &Path, warnings: &mut Vec<Diagnostic>, errors: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let text = pattern.to_string_lossy();
    if !has_wildcards(&text) {
        return vec![resolve_path(options, &text)];
    }
    let full = resolve_path(options, &text);
    match glob::glob(&full.to_string_lossy()) {
        Ok(paths) => {
            let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
            found.sort();
            if found.is_empty() {
                warnings.push(Diagnostic::warning(Code::VarsGlobEmpty, format!("`--vars {text}` matches no file")));
            }
            found
        }
        Err(e) => {
            errors.push(Diagnostic::error(Code::VarsGlobInvalid, format!("`--vars {text}` is not a valid pattern: {e}")));
            Vec::new()
        }
    }
}

/// Where a vars file named inside the checkout leads, when a symbolic link takes it out of it
/// (see [`TemplateOptions::checkout`]); `None` when it stays in, names a file outside the
/// checkout, or does not exist (reading it then says so).
fn leaves_checkout(options: &TemplateOptions, path: &Path) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    let absolute = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
    let roots: Vec<PathBuf> =
        if options.checkout.is_empty() { vec![options.base_dir.clone().unwrap_or_else(|| PathBuf::from("."))] } else { options.checkout.clone() };
    let named = lexical(&absolute(path));
    let inside_named = roots.iter().any(|r| named.starts_with(lexical(&absolute(r))) || r.canonicalize().is_ok_and(|c| named.starts_with(c)));
    if !inside_named {
        return None;
    }
    let real = path.canonicalize().ok()?;
    let inside_real = roots.iter().filter_map(|r| absolute(r).canonicalize().ok()).any(|c| real.starts_with(c));
    (!inside_real).then_some(real)
}

/// `path` with `.` and `..` taken away as written (links not followed).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// The error for a vars file that a link takes out of the checkout.
fn linked_out(what: &str, shown: &str, to: &Path) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::error(
            Code::VarsFileLinkLeavesCheckout,
            format!(
                "{what} `{shown}` is in the checkout, but a symbolic link on the way leads out of it, to `{}`; rockerc reads no vars file through such a link",
                to.display()
            ),
        )
        .note("the files in a checkout may come from a pull request, and a link there could hand any file of this machine to the template")
        .help("put the file itself in the checkout, or, to read a file outside it on purpose, name that file by its own path"),
    )
}

fn load_file(options: &TemplateOptions, path: &Path, warnings: &mut Vec<Diagnostic>) -> Result<BTreeMap<String, Value>, Box<Diagnostic>> {
    let shown = path.display().to_string();
    if let Some(to) = leaves_checkout(options, path) {
        return Err(linked_out("vars file", &shown, &to));
    }
    let text = read_text(path).map_err(|why| Box::new(Diagnostic::error(Code::VarsFileUnreadable, format!("cannot read vars file `{shown}`: {why}"))))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let value = if ext == "json" {
        parse_json(options, &text, &shown)?
    } else {
        if !matches!(ext.as_str(), "yaml" | "yml") {
            warnings.push(
                Diagnostic::warning(Code::VarsFileExtension, format!("vars file `{shown}` is neither .yaml, .yml nor .json; reading it as YAML"))
                    .note("Rocker silently ignored such files"),
            );
        }
        super::yaml::parse(&text).map_err(|e| {
            Box::new(if e.too_large {
                Diagnostic::error(Code::VarsFileTooLarge, format!("vars file `{shown}` is too large: {} (line {}, column {})", e.message, e.line, e.col))
                    .note("each `*alias` stands for all that its `&anchor` holds, so aliases nested a few levels deep multiply (a \"billion laughs\")")
                    .help("write the values out, or nest fewer aliases")
            } else {
                Diagnostic::error(Code::VarsFileInvalid, format!("vars file `{shown}` is not valid YAML: {} at line {}, column {}", e.message, e.line, e.col))
            })
        })?
    };
    match kind(&value) {
        GoKind::Map => {
            Ok(super::value::map_entries(&value).into_iter().map(|(k, v)| (k.as_str().map(str::to_string).unwrap_or_else(|| k.to_string()), v)).collect())
        }
        GoKind::Nil | GoKind::Missing => Ok(BTreeMap::new()),
        _ => Err(Box::new(
            Diagnostic::error(
                Code::VarsFileNotAMap,
                format!("vars file `{shown}` must hold a mapping of names to values, not a {}", super::value::type_name(&value)),
            )
            .help("write `NAME: value` lines"),
        )),
    }
}

fn parse_json(options: &TemplateOptions, text: &str, shown: &str) -> Result<Value, Box<Diagnostic>> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Box::new(Diagnostic::error(Code::VarsFileInvalid, format!("vars file `{shown}` is not valid JSON: {e}"))))?;
    // Rocker also accepted a list of "K=V" strings.
    if let serde_json::Value::Array(items) = &json {
        let mut map = BTreeMap::new();
        for item in items {
            let Some(s) = item.as_str() else {
                return Err(Box::new(Diagnostic::error(Code::VarsFileNotAMap, format!("vars file `{shown}` is a list, but not of \"NAME=VALUE\" strings"))));
            };
            let (k, v) = parse_var(options, s)?;
            map.insert(k, v);
        }
        return Ok(Value::from(map));
    }
    Ok(from_json(&json))
}

fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => Value::from(items.iter().map(from_json).collect::<Vec<_>>()),
        serde_json::Value::Object(map) => Value::from(map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect::<BTreeMap<_, _>>()),
    }
}
