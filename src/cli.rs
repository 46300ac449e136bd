//! The command line: `rockerc [OPTIONS] [ROCKERFILE]`.
//!
//! Exit codes: 0 compiled, 1 the Rockerfile has errors (or an input cannot be read), 2 usage.
//! Nothing is written to stdout unless the compile succeeded, and `-o DIR` is replaced as a
//! whole or not at all.

use crate::emit::Layout;
use crate::source::SourceFile;
use crate::template::TemplateOptions;
use crate::{compile, render, Options};
use clap::{Parser, ValueEnum};
use std::io::{IsTerminal, Read, Write};
use std::path::{Component, Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "rockerc",
    version,
    about = "Compile a Rockerfile into plain Dockerfiles and a POSIX sh script that builds them with the docker CLI",
    after_help = "Rocker's single-dash spellings work too: -var, -vars, -print.\n\
                  Examples:\n  rockerc Rockerfile > build.sh && sh build.sh\n  rockerc -o build/ -var Version=1.2 Rockerfile"
)]
pub struct Cli {
    /// The Rockerfile; `-` reads standard input [default: ./Rockerfile]
    pub rockerfile: Option<PathBuf>,

    /// The Rockerfile, as `rocker build -f` spelled it
    #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with = "rockerfile")]
    pub file: Option<PathBuf>,

    /// Write DIR/build.sh and one Dockerfile per build step instead of printing the script
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// The build context [default: the Rockerfile's directory; the current one for stdin]
    #[arg(short = 'C', long = "context", value_name = "DIR")]
    pub context: Option<PathBuf>,

    /// Build id that names MOUNT volumes, as Rocker's --id [default: context path + Rockerfile]
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// Template variable NAME=VALUE (repeatable, later wins; VALUE @FILE reads FILE)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// YAML or JSON file of template variables (repeatable, merged in order; --var overrides)
    #[arg(long = "vars", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,

    /// Print the rendered Rockerfile and stop
    #[arg(long)]
    pub print: bool,

    /// An unknown template variable is an error (instead of `<no value>`)
    #[arg(long)]
    pub strict: bool,

    /// The template dialect [default: Go's text/template, or what the file asks for]
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub dialect: Option<DialectArg>,

    /// The `image` template helper must find a matching artifact (Rocker's --demand-artifacts)
    #[arg(long = "demand-artifacts")]
    pub demand_artifacts: bool,

    /// Value for an ARG, as `docker build --build-arg` (repeatable)
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,

    /// How to print errors
    #[arg(long = "error-format", value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    Go,
    Jinja,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ErrorFormat {
    Human,
    Json,
}

/// Rocker's flags were Go-style (`-var`); clap wants `--var`.
fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .map(|a| {
            for long in ["-var", "-vars", "-print", "-file", "-strict", "-id", "-context", "-output", "-demand-artifacts"] {
                if a == long || a.starts_with(&format!("{long}=")) {
                    return format!("-{a}");
                }
            }
            a
        })
        .collect()
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse_from(normalize_args(std::env::args())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    run(&cli)
}

fn error(message: &str) -> i32 {
    eprintln!("rockerc: error: {message}");
    1
}

pub fn run(cli: &Cli) -> i32 {
    let path = cli.file.clone().or_else(|| cli.rockerfile.clone()).unwrap_or_else(|| PathBuf::from("Rockerfile"));
    let stdin = path.as_os_str() == "-";
    let (name, text) = if stdin {
        let mut buf = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut buf) {
            return error(&format!("cannot read standard input: {e}"));
        }
        match String::from_utf8(buf) {
            Ok(t) => ("<stdin>".to_string(), t),
            Err(e) => return error(&format!("standard input is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to())),
        }
    } else {
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => (path.display().to_string(), t),
                Err(e) => {
                    return error(&format!("{} is not UTF-8 text (invalid byte at offset {})", path.display(), e.utf8_error().valid_up_to()))
                }
            },
            Err(e) => return error(&format!("cannot read {}: {e}", path.display())),
        }
    };
    let file = SourceFile::new(name, text);
    let template = TemplateOptions {
        var_files: cli.var_files.clone(),
        vars: cli.vars.clone(),
        env: std::env::vars().collect(),
        strict: cli.strict,
        demand_artifacts: cli.demand_artifacts,
        dialect: cli.dialect.map(|d| match d {
            DialectArg::Go => crate::template::Dialect::Go,
            DialectArg::Jinja => crate::template::Dialect::Jinja,
        }),
        base_dir: None,
    };
    let color = std::io::stderr().is_terminal();
    let report = |failure: &crate::Failure| {
        match cli.error_format {
            ErrorFormat::Human => eprint!("{}", failure.render(&file, color)),
            ErrorFormat::Json => {
                for d in &failure.diagnostics {
                    eprintln!("{}", d.to_json(&file, &failure.map));
                }
            }
        }
        1
    };

    if cli.print {
        return match render(&file, &template) {
            Ok(rendered) => {
                if !rendered.warnings.is_empty() {
                    report(&crate::Failure { diagnostics: rendered.warnings.clone(), map: crate::source::SourceMap::identity() });
                }
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(rendered.text.as_bytes());
                0
            }
            Err(f) => report(&f),
        };
    }

    // The context: where COPY reads from and relative MOUNT sources point.
    let context = match &cli.context {
        Some(c) => c.clone(),
        None if stdin => PathBuf::from("."),
        None => path.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".")),
    };
    if !context.is_dir() {
        return error(&format!("the build context {} is not a directory", context.display()));
    }
    let script_dir = cli.output.clone().unwrap_or_else(|| PathBuf::from("."));
    let Some(context_rel) = relative_path(&context, &script_dir) else {
        return error(&format!("cannot express the context {} relative to {}", context.display(), script_dir.display()));
    };

    let mut build_args = Vec::new();
    for a in &cli.build_args {
        match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => build_args.push((k.to_string(), v.to_string())),
            _ => {
                eprintln!("rockerc: --build-arg {a:?}: expected NAME=VALUE");
                return 2;
            }
        }
    }
    let options = Options {
        template,
        context: context_rel,
        build_args,
        layout: if cli.output.is_some() { Layout::Directory } else { Layout::Single },
        build_id: cli.id.clone(),
    };
    let compiled = match compile(&file, &options) {
        Ok(c) => c,
        Err(f) => return report(&f),
    };
    if !compiled.warnings.is_empty() {
        report(&crate::Failure { diagnostics: compiled.warnings.clone(), map: compiled.map.clone() });
    }
    match &cli.output {
        None => {
            let mut out = std::io::stdout().lock();
            if out.write_all(compiled.output.script.as_bytes()).and_then(|_| out.flush()).is_err() {
                return 1;
            }
            0
        }
        Some(dir) => match write_dir(dir, &compiled.output) {
            Ok(()) => 0,
            Err(e) => error(&e),
        },
    }
}

/// `target` as seen from `base` (both relative to the current directory or absolute).
fn relative_path(target: &Path, base: &Path) -> Option<String> {
    let cwd = std::env::current_dir().ok()?;
    let target = target.canonicalize().ok()?;
    // The output directory may not exist yet: canonicalise its closest existing ancestor.
    let base_abs = if base.is_absolute() { base.to_path_buf() } else { cwd.join(base) };
    let mut existing = base_abs.clone();
    let mut tail = Vec::new();
    while !existing.exists() {
        tail.push(existing.file_name()?.to_os_string());
        existing = existing.parent()?.to_path_buf();
    }
    let mut base = existing.canonicalize().ok()?;
    for t in tail.into_iter().rev() {
        base.push(t);
    }
    let t: Vec<Component> = target.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    let s = rel.to_str()?.to_string();
    Some(if s.is_empty() { ".".into() } else { s })
}

/// Writes DIR/build.sh and the Dockerfiles into a fresh directory beside DIR, then swaps it in:
/// a failure leaves DIR as it was. DIR must be new, empty, or a previous rockerc output.
fn write_dir(dir: &Path, out: &crate::emit::Emitted) -> Result<(), String> {
    if dir.exists() {
        let ours = std::fs::read_to_string(dir.join("build.sh")).map(|s| s.lines().nth(1).unwrap_or("").starts_with("# Generated by rockerc")).unwrap_or(false);
        let empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !ours && !empty {
            return Err(format!("{} exists and is not an earlier rockerc output; choose another -o directory", dir.display()));
        }
    }
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let tmp = tempfile::Builder::new().prefix(".rockerc-").tempdir_in(parent).map_err(|e| format!("cannot write in {}: {e}", parent.display()))?;
    let write = |name: &str, text: &str, exec: bool| -> Result<(), String> {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if exec { 0o755 } else { 0o644 };
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    write("build.sh", &out.script, true)?;
    for (name, text) in &out.files {
        write(name, text, false)?;
    }
    let staged = tmp.keep();
    if dir.exists() {
        let old = parent.join(format!(".rockerc-old-{}", std::process::id()));
        std::fs::rename(dir, &old).map_err(|e| format!("cannot replace {}: {e}", dir.display()))?;
        if let Err(e) = std::fs::rename(&staged, dir) {
            let _ = std::fs::rename(&old, dir);
            let _ = std::fs::remove_dir_all(&staged);
            return Err(format!("cannot replace {}: {e}", dir.display()));
        }
        let _ = std::fs::remove_dir_all(&old);
    } else if let Err(e) = std::fs::rename(&staged, dir) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(format!("cannot create {}: {e}", dir.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_flags_become_long_flags() {
        let args = normalize_args(["rockerc", "-var", "A=1", "-vars=f.yml", "-print", "-f", "x"].map(String::from));
        assert_eq!(args, ["rockerc", "--var", "A=1", "--vars=f.yml", "--print", "-f", "x"]);
    }
}
