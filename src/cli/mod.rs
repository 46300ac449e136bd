//! The command line: `rockerc [OPTIONS] [ROCKERFILE]` compiles; `rockerc build` compiles and
//! runs at once, as `rocker build` did; `rockerc completions SHELL` and `rockerc man` describe
//! the command line itself.
//!
//! Exit codes: 0 compiled, 1 the Rockerfile has errors (or an input cannot be read), 2 usage.
//! Nothing is written to stdout unless the compile succeeded, and `-o DIR` is replaced as a
//! whole or not at all.
//!
//! A Rockerfile named `build`, `completions`, `man` or `cache` is compiled with `rockerc ./build` (or
//! `-f build`): the bare word is the subcommand.

mod build;
mod cache;
mod docs;

pub use build::TOOLS;

use crate::diagnostic::{Code, Diagnostic};
use crate::emit::{Backend, Layout};
use crate::source::{SourceFile, SourceMap};
use crate::template::{memory, TemplateOptions};
use crate::{compile_to, render_included, Options};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Read, Write};
use std::path::{Component, Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "rockerc",
    version,
    about = "Compile a Rockerfile into plain Dockerfiles and a POSIX sh script that builds them with the docker CLI",
    after_help = "Rocker's single-dash spellings work too: -var, -vars, -print.\n\
                  Examples:\n  rockerc Rockerfile > build.sh && sh build.sh\n  rockerc -o build/ -var Version=1.2 Rockerfile\n  \
                  rockerc build -var Version=1.2 --push     (compile and build at once, as `rocker build`)",
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The Rockerfile; `-` reads standard input [default: ./Rockerfile]
    pub rockerfile: Option<PathBuf>,

    /// The Rockerfile, as `rocker build -f` spelled it
    #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with = "rockerfile")]
    pub file: Option<PathBuf>,

    /// Write DIR/build.sh (the plan), a file per build step and the runtime, instead of printing the script
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// The build context [default: the Rockerfile's directory; the current one for a pipe on stdin]
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

    /// A secret the build script reads from its environment when it runs (repeatable): `.NAME`
    /// renders as `${NAME}`, and only RUN may use it; its value never reaches rockerc, the
    /// generated files, the images or the output
    #[arg(long = "secret", value_name = "NAME", value_parser = parse_secret_name)]
    pub secrets: Vec<String>,

    /// Value for an ARG, as `docker build --build-arg` (repeatable)
    #[arg(long = "build-arg", value_name = "NAME=VALUE", value_parser = parse_build_arg)]
    pub build_args: Vec<(String, String)>,

    /// Let the script's MOUNTs bind PATH, or anything under it, outside the build context
    /// (repeatable); without it the script refuses such a MOUNT unless it is allowed when the
    /// script runs (its own --allow-mount, or ROCKERC_ALLOW_MOUNT)
    #[arg(long = "allow-mount", value_name = "PATH")]
    pub allow_mounts: Vec<PathBuf>,

    /// How to print errors
    #[arg(long = "error-format", value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,

    /// What to write: the sh script, a multi-stage Dockerfile for BuildKit with its script, the
    /// stage graph as Graphviz, or the parsed Rockerfile as JSON (see docs/ast.md)
    #[arg(long, value_enum, value_name = "OUTPUT", default_value_t = Emit::Sh)]
    pub emit: Emit,

    /// Print the output of --emit sh or buildkit annotated for a learner (Markdown): where each
    /// block comes from, which Docker mechanism carries it, and why
    #[arg(long)]
    pub explain: bool,

    /// `rockerc build`: say what each MOUNT of a host path binds before the build runs.
    #[arg(skip)]
    pub announce_mounts: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compile and build at once, with `rocker build`'s flags and spellings
    Build(Box<build::BuildArgs>),
    /// Print a completion script for SHELL (for example `rockerc completions bash > /etc/bash_completion.d/rockerc`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, as roff (for example `rockerc man | man -l -`)
    Man,
    /// List or remove the MOUNT volumes builds keep on the engine (`sh build.sh --cache-ls` and
    /// `--cache-prune` do the same for their own build id)
    #[command(subcommand)]
    Cache(cache::CacheCommand),
}

/// What `--emit` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// The sh build script (with `-o DIR`: the plan, a file per step, and the runtime).
    Sh,
    /// One multi-stage Dockerfile for BuildKit, and a short script for what it cannot say.
    Buildkit,
    /// The stage graph as Graphviz.
    Dot,
    /// The syntax tree of the rendered Rockerfile as JSON, for editors and linters.
    Ast,
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

fn parse_secret_name(s: &str) -> Result<String, String> {
    let ok = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(s.to_string())
    } else {
        Err("a secret's name is an environment variable name: letters, digits and `_`, not starting with a digit".into())
    }
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
    let args: Vec<String> = std::env::args().collect();
    let args = if build::is_build(&args) { build::normalize_args(args) } else { normalize_args(args) };
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match &cli.command {
        Some(Command::Build(args)) => build::run(args),
        Some(Command::Completions { shell }) => docs::completions(*shell),
        Some(Command::Man) => docs::man(),
        Some(Command::Cache(c)) => cache::run(c),
        None => run(&cli),
    }
}

/// `--build-arg NAME=VALUE`; anything else is a usage error, reported by clap before any file
/// is read.
fn parse_build_arg(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        Some(_) => Err("expected NAME=VALUE, but the name is empty".into()),
        // docker build would take the value from the environment; the script is compiled once and
        // run elsewhere, so the value is written out explicitly.
        None => Err(format!("expected NAME=VALUE; to pass the value of the environment variable, write `--build-arg {arg}=\"${arg}\"`")),
    }
}

/// Prints diagnostics to stderr as `--error-format` asks; identical ones (a `{{ range }}` that
/// repeats a bad line) once.
fn report(cli: &Cli, file: &SourceFile, diagnostics: &[Diagnostic], map: &SourceMap) {
    // https://no-color.org: a NO_COLOR that is set and not empty turns colour off.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = cli.error_format == ErrorFormat::Human && std::io::stderr().is_terminal() && !no_color;
    let mut seen: Vec<String> = Vec::new();
    for d in diagnostics {
        let text = match cli.error_format {
            ErrorFormat::Human => d.render(file, map, color),
            ErrorFormat::Json => format!("{}\n", d.to_json(file, map)),
        };
        if seen.contains(&text) {
            continue;
        }
        // Human diagnostics are separated by a blank line, as rustc does.
        if cli.error_format == ErrorFormat::Human && !seen.is_empty() {
            eprintln!();
        }
        eprint!("{text}");
        seen.push(text);
    }
}

/// Reports a problem that stops rockerc before (or after) the compile proper, and returns exit
/// code 1. `name` is the file the problem is about, for `--error-format json`.
fn fail(cli: &Cli, name: &str, diagnostic: Diagnostic) -> i32 {
    report(cli, &SourceFile::new(name, ""), &[diagnostic], &SourceMap::identity());
    1
}

/// Prepares the diagnostic the memory watchdog prints if a template asks for more memory than any
/// budget allows (see `template::memory`): it cannot be formatted then, with no memory to spare.
fn enable_watchdog(cli: &Cli, name: &str) {
    let d = Diagnostic::error(Code::TemplateTooLarge, format!("rendering the templates needs more than {} MiB of memory", memory::LIMIT >> 20))
        .note(format!(
            "the rendered Rockerfile may hold at most {} MiB; something in the templates makes far more than that",
            crate::template::MAX_RENDERED_BYTES >> 20
        ))
        .help("look for text that grows in a loop (`~`, `+`, `join`, `replace`, `printf`), for lists printed whole, and for `*aliases` nested in a -vars file");
    let file = SourceFile::new(name, "");
    let text = match cli.error_format {
        ErrorFormat::Human => d.render(&file, &SourceMap::identity(), false),
        ErrorFormat::Json => format!("{}\n", d.to_json(&file, &SourceMap::identity())),
    };
    memory::enable(text.into_bytes());
}

/// "no such file or directory" rather than "No such file or directory (os error 2)".
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            let mut chars = text.chars();
            chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or(text)
        }
    }
}

/// `bytes` as text, or a diagnostic: a binary file (an executable, an archive) says so; text in
/// another encoding names where the first byte that is not UTF-8 is.
fn utf8(name: &str, shown: &str, bytes: Vec<u8>) -> Result<String, Box<Diagnostic>> {
    if let Some(why) = crate::source::binary_reason(&bytes) {
        return Err(Box::new(
            Diagnostic::error(Code::BinaryFile, format!("{shown} looks like a binary file, not a Rockerfile: {why}"))
                .help("name the Rockerfile, a text file of instructions: `rockerc path/to/Rockerfile` (or `-f FILE`)"),
        ));
    }
    if bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff") {
        return Err(Box::new(
            Diagnostic::error(Code::NotUtf8, format!("{shown} is UTF-16 text, not UTF-8"))
                .help("save the Rockerfile as UTF-8 (for example with `iconv -f UTF-16 -t UTF-8`)"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let prefix = std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or_default();
        let (line, column) = SourceFile::new(name, prefix).line_col(valid);
        Box::new(
            Diagnostic::error(Code::NotUtf8, format!("{shown} is not UTF-8 text: byte 0x{:02x} at line {line}, column {column}", e.as_bytes()[valid]))
                .help("save the Rockerfile as UTF-8 (for example with `iconv -f LATIN1 -t UTF-8`)"),
        )
    })
}

pub fn run(cli: &Cli) -> i32 {
    let path = cli.file.clone().or_else(|| cli.rockerfile.clone()).unwrap_or_else(|| PathBuf::from("Rockerfile"));
    let stdin = path.as_os_str() == "-";
    let name = if stdin { "<stdin>".to_string() } else { path.display().to_string() };
    let bytes = if stdin {
        let mut buf = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut buf) {
            return fail(cli, &name, Diagnostic::error(Code::FileUnreadable, format!("cannot read standard input: {}", io_reason(&e))));
        }
        buf
    } else if path.is_dir() {
        return fail(
            cli,
            &name,
            Diagnostic::error(Code::FileUnreadable, format!("`{name}` is a directory, not a Rockerfile"))
                .help(format!("name the file: `rockerc {}`", path.join("Rockerfile").display())),
        );
    } else {
        match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                let mut d = Diagnostic::error(Code::FileUnreadable, format!("cannot read `{name}`: {}", io_reason(&e)));
                if e.kind() == std::io::ErrorKind::NotFound && cli.file.is_none() && cli.rockerfile.is_none() {
                    d = d.help("rockerc reads ./Rockerfile by default; name another file with `rockerc FILE` or `-f FILE`");
                }
                return fail(cli, &name, d);
            }
        }
    };
    enable_watchdog(cli, &name);
    let shown = if stdin { "standard input".to_string() } else { format!("`{name}`") };
    let rockerfile_sum = cksum_of(&bytes);
    let text = match utf8(&name, &shown, bytes) {
        Ok(text) => text,
        Err(d) => return fail(cli, &name, *d),
    };
    let file = SourceFile::new(name.clone(), text);
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
        checkout: checkout_roots(cli, &path, stdin),
        secrets: cli.secrets.clone(),
    };

    // --print and --emit ast splice in what INCLUDE names, as a compile does.
    let include_options = |template: &TemplateOptions| Options {
        template: template.clone(),
        context_dir: cli.context.clone(),
        allow_mounts: cli.allow_mounts.iter().map(|p| absolute_path(p)).collect(),
        rockerfile_path: if stdin { stdio_file(0) } else { Some(path.clone()) },
        ..Options::default()
    };
    if cli.print {
        return match render_included(&file, &include_options(&template)) {
            Ok(rendered) => {
                let mut warnings = crate::template::missing::warnings(&rendered.missing, &rendered.text);
                warnings.extend(rendered.warnings.iter().cloned());
                report(cli, &file, &warnings, &SourceMap::identity());
                let mut out = std::io::stdout().lock();
                i32::from(out.write_all(rendered.text.as_bytes()).and_then(|_| out.flush()).is_err())
            }
            Err(f) => {
                report(cli, &file, &f.diagnostics, &f.map);
                1
            }
        };
    }

    if cli.emit == Emit::Ast {
        if cli.explain {
            return fail(
                cli,
                &name,
                Diagnostic::error(Code::Usage, "--explain explains --emit sh or --emit buildkit")
                    .help("--emit ast is already meant for programs; see docs/ast.md"),
            );
        }
        return emit_ast(cli, &file, &include_options(&template));
    }

    // The Rockerfile's own path: standard input has one when it is a file (`rockerc - < Rockerfile`).
    let rockerfile = if stdin { stdio_file(0) } else { Some(path.clone()) };
    // The context: where COPY reads from and relative MOUNT sources point. By default the
    // Rockerfile's folder (the current one for a Rockerfile from a pipe).
    let context = match &cli.context {
        Some(c) => c.clone(),
        None => rockerfile.as_deref().and_then(Path::parent).filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".")),
    };
    if !context.is_dir() {
        let what = if context.exists() { "is not a directory" } else { "does not exist" };
        let help = if cli.context.is_some() {
            "pass an existing directory with -C DIR"
        } else {
            "the context defaults to the Rockerfile's directory; pass another with -C DIR"
        };
        return fail(cli, &name, Diagnostic::error(Code::BadContext, format!("the build context `{}` {what}", context.display())).help(help));
    }
    // The script records its context relative to its own folder: `-o DIR`, or the folder of the
    // file standard output goes to (`rockerc Rockerfile > ../build.sh`), or the current one when
    // that is not a file (a pipe, a terminal).
    let script_dir = match &cli.output {
        Some(dir) => dir.clone(),
        None => stdio_file(1).and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_else(|| PathBuf::from(".")),
    };
    let Some(context_rel) = relative_path(&context, &script_dir) else {
        return fail(
            cli,
            &name,
            Diagnostic::error(Code::BadContext, format!("cannot express the build context `{}` relative to `{}`", context.display(), script_dir.display()))
                .help("the script records its context as a relative path; use paths that are valid UTF-8"),
        );
    };

    let backend = match cli.emit {
        Emit::Sh => Backend::Sh,
        Emit::Buildkit => Backend::Buildkit,
        Emit::Dot => Backend::Dot,
        Emit::Ast => unreachable!("--emit ast returned above"),
    };
    if cli.output.is_some() && (cli.explain || backend == Backend::Dot) {
        let what = if cli.explain { "--explain" } else { "--emit dot" };
        return fail(
            cli,
            &name,
            Diagnostic::error(Code::Usage, format!("{what} prints to standard output; -o DIR is for the scripts"))
                .help(format!("redirect it: `rockerc {what} ... > FILE`")),
        );
    }
    if cli.explain && backend == Backend::Dot {
        return fail(
            cli,
            &name,
            Diagnostic::error(Code::Usage, "--explain explains --emit sh or --emit buildkit")
                .help("render the stage graph with `rockerc --emit dot Rockerfile | dot -Tsvg > stages.svg`"),
        );
    }
    // The BuildKit backend names MOUNT caches when it compiles: by default from the context's
    // absolute path and the Rockerfile's name, as the sh backend's script does when it runs.
    let build_id = match (&cli.id, backend) {
        (None, Backend::Buildkit) => {
            let dir = context.canonicalize().map(|p| p.display().to_string()).unwrap_or_else(|_| context.display().to_string());
            Some(format!("{dir}:{}", crate::lower::one_line_name(&name)))
        }
        _ => cli.id.clone(),
    };
    let allow_mounts = cli.allow_mounts.iter().map(|p| absolute_path(p)).collect();
    let sources = rockerfile.as_deref().and_then(|r| sources(cli, r, stdin, rockerfile_sum, &context, &template, backend));
    let options = Options {
        template,
        context: context_rel,
        build_args: cli.build_args.clone(),
        layout: if cli.output.is_some() { Layout::Directory } else { Layout::Single },
        build_id,
        context_dir: Some(context.clone()),
        allow_mounts,
        sources,
        rockerfile_path: rockerfile.clone(),
    };
    let compiled = match compile_to(&file, &options, backend, cli.explain) {
        Ok(c) => c,
        Err(f) => {
            report(cli, &file, &f.diagnostics, &f.map);
            return 1;
        }
    };
    report(cli, &file, &compiled.warnings, &compiled.map);
    if cli.announce_mounts {
        for line in &compiled.host_mounts {
            eprintln!("rockerc: MOUNT {line}");
        }
    }
    match &cli.output {
        None => {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            i32::from(compiled.output.write_script(&mut out).and_then(|_| out.flush()).is_err())
        }
        Some(dir) => match write_dir(dir, &compiled.output) {
            Ok(()) => 0,
            Err(d) => fail(cli, &name, *d),
        },
    }
}

/// `--emit ast`: the rendered file's syntax tree as JSON on stdout. The build context and `-o`
/// play no part.
fn emit_ast(cli: &Cli, file: &SourceFile, options: &Options) -> i32 {
    if cli.output.is_some() {
        eprintln!("error: --emit ast prints to standard output; it takes no -o DIR");
        return 2;
    }
    let rendered = match render_included(file, options) {
        Ok(rendered) => rendered,
        Err(f) => {
            report(cli, file, &f.diagnostics, &f.map);
            return 1;
        }
    };
    report(cli, file, &rendered.warnings, &SourceMap::identity());
    let parsed = match crate::syntax::parse(&rendered.text) {
        Ok(parsed) => parsed,
        Err(d) => {
            report(cli, file, &[d], &rendered.map);
            return 1;
        }
    };
    report(cli, file, &parsed.warnings, &rendered.map);
    let json = crate::syntax::json::to_json_with_origins(&parsed.ast, &rendered.text, Some((&rendered.map, file)));
    let mut out = std::io::stdout().lock();
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    i32::from(writeln!(out, "{text}").and_then(|_| out.flush()).is_err())
}

/// An `--allow-mount` path as the script compares it: absolute, physical where it exists.
fn absolute_path(p: &Path) -> String {
    let abs = std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf());
    let abs = abs.canonicalize().unwrap_or(abs);
    crate::analyze::normalize(&abs.to_string_lossy())
}

/// The path of the regular file that file descriptor `fd` is open on, where the system says it
/// (Linux's /proc/self/fd); `None` for a pipe, a terminal, a device or a deleted file.
fn stdio_file(fd: i32) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let by_path = std::fs::metadata(&link).ok()?;
    let by_fd = std::fs::metadata(format!("/proc/self/fd/{fd}")).ok()?;
    (link.is_absolute() && by_path.is_file() && by_path.dev() == by_fd.dev() && by_path.ino() == by_fd.ino()).then_some(link)
}

/// The checkout, for vars files (see [`TemplateOptions::checkout`]): the current directory and
/// the build context (by default the Rockerfile's folder). Not a git work tree found above them:
/// that may be a whole home directory.
fn checkout_roots(cli: &Cli, rockerfile: &Path, stdin: bool) -> Vec<PathBuf> {
    let mut roots = vec![PathBuf::from(".")];
    let context = match &cli.context {
        Some(c) => Some(c.clone()),
        None if !stdin => Some(rockerfile.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))),
        None => None,
    };
    roots.extend(context.and_then(|c| c.canonicalize().ok()));
    roots
}

/// What `cksum` prints for these bytes: `CRC SIZE`.
fn cksum_of(bytes: &[u8]) -> String {
    format!("{} {}", crate::emit::buildkit::cksum(bytes), bytes.len())
}

/// What the script was compiled from and how to compile it again, both as seen from the context:
/// the Rockerfile and the files the template variables came from, and the command line.
fn sources(
    cli: &Cli,
    rockerfile: &Path,
    stdin: bool,
    rockerfile_sum: String,
    context: &Path,
    template: &TemplateOptions,
    backend: Backend,
) -> Option<crate::emit::Sources> {
    let cwd = std::env::current_dir().ok()?;
    let context = context.canonicalize().ok()?;
    // A path the user gave (relative to the current directory), as seen from the context.
    let from_context = |p: &Path| -> Option<String> {
        let abs = cwd.join(p);
        rel_between(&abs.canonicalize().unwrap_or_else(|_| normalize(&abs)), &context)
    };
    let rockerfile_rel = from_context(rockerfile)?;
    let mut files = vec![(rockerfile_rel.clone(), rockerfile_sum)];
    for file in crate::template::var_input_files(template) {
        if let (Some(rel), Ok(bytes)) = (from_context(&file), std::fs::read(&file)) {
            files.push((rel, cksum_of(&bytes)));
        }
    }
    let mut words: Vec<String> = Vec::new();
    let mut word = |w: &str| words.push(crate::emit::sh_quote(w).into());
    if backend == Backend::Buildkit {
        word("--emit");
        word("buildkit");
    }
    if let Some(id) = &cli.id {
        word("--id");
        word(id);
    }
    for f in &cli.var_files {
        word("--vars");
        word(&if f.starts_with("~") { f.display().to_string() } else { from_context(f)? });
    }
    for v in &cli.vars {
        word("--var");
        match v.split_once("=@") {
            Some((k, file)) if !file.starts_with('~') => word(&format!("{k}=@{}", from_context(Path::new(file))?)),
            _ => word(v),
        }
    }
    for (k, v) in &cli.build_args {
        word("--build-arg");
        word(&format!("{k}={v}"));
    }
    for path in &cli.allow_mounts {
        word("--allow-mount");
        word(&absolute_path(path));
    }
    for s in &cli.secrets {
        word("--secret");
        word(s);
    }
    if cli.strict {
        word("--strict");
    }
    if cli.demand_artifacts {
        word("--demand-artifacts");
    }
    if let Some(d) = cli.dialect {
        word("--dialect");
        word(if d == DialectArg::Go { "go" } else { "jinja" });
    }
    // Run from the context, the compile takes the Rockerfile's folder for the context: `-C .`
    // when that is another folder.
    if rockerfile.canonicalize().ok()?.parent() != Some(context.as_path()) {
        word("-C");
        word(".");
    }
    if stdin {
        word("-");
        words.push(format!("< {}", crate::emit::sh_quote(&rockerfile_rel)));
    } else {
        word(&rockerfile_rel);
    }
    Some(crate::emit::Sources { files, args: words.join(" ") })
}

/// `path` without `.` and with each `..` taken back, without looking at the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `target` as seen from `base`, both absolute: relative when they share a folder other than `/`
/// (so that moving both keeps it right), absolute otherwise (so that moving the script alone does).
fn rel_between(target: &Path, base: &Path) -> Option<String> {
    let t: Vec<Component> = target.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common <= 1 && b.len() > 1 {
        return target.to_str().map(str::to_string);
    }
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
    rel_between(&target, &base)
}

/// Writes DIR/build.sh and the Dockerfiles into a fresh directory beside DIR, then swaps it in:
/// a failure leaves DIR as it was. DIR must be new, empty, or a previous rockerc output.
fn write_dir(dir: &Path, out: &crate::emit::Emitted) -> Result<(), Box<Diagnostic>> {
    let failed = |what: String, e: &std::io::Error| Box::new(Diagnostic::error(Code::OutputFailed, format!("{what}: {}", io_reason(e))));
    if dir.exists() {
        // The directory is swapped out as a whole: it cannot be where rockerc runs, or above it.
        if let (Ok(cwd), Ok(target)) = (std::env::current_dir().and_then(|d| d.canonicalize()), dir.canonicalize()) {
            if cwd.starts_with(&target) {
                return Err(Box::new(
                    Diagnostic::error(
                        Code::OutputNotOurs,
                        format!("-o {}: the output directory cannot be the current directory or one that holds it", dir.display()),
                    )
                    .note("rockerc replaces the output directory as a whole")
                    .help("name a directory of its own: `-o build`"),
                ));
            }
        }
        if !dir.is_dir() {
            return Err(Box::new(
                Diagnostic::error(Code::OutputNotOurs, format!("-o {}: a file of that name exists", dir.display()))
                    .help("-o names a directory for build.sh and the Dockerfiles; choose another name"),
            ));
        }
        let ours = std::fs::read_to_string(dir.join("build.sh")).map(|s| s.lines().nth(1).unwrap_or("").starts_with("# Generated by rockerc")).unwrap_or(false);
        let empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !ours && !empty {
            return Err(Box::new(
                Diagnostic::error(Code::OutputNotOurs, format!("-o {}: the directory is not empty and is not an earlier rockerc output", dir.display()))
                    .note("rockerc replaces the whole directory, so it only writes into a new or empty one, or one it wrote before")
                    .help("choose another -o directory"),
            ));
        }
    }
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // The directories this run creates above DIR go again if it fails: a failed `-o a/b` leaves
    // no empty `a`. Declared before `tmp`, so it is dropped after the staging directory is gone.
    let mut created = CreatedDirs(Vec::new());
    let mut missing = parent;
    while !missing.exists() {
        created.0.push(missing.to_path_buf());
        match missing.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(up) => missing = up,
            None => break,
        }
    }
    if let Some(file) = parent.ancestors().find(|a| !a.as_os_str().is_empty() && a.exists() && !a.is_dir()) {
        return Err(Box::new(
            Diagnostic::error(Code::OutputFailed, format!("cannot create `{}`: `{}` is a file, not a directory", dir.display(), file.display()))
                .help("choose another -o directory"),
        ));
    }
    std::fs::create_dir_all(parent).map_err(|e| failed(format!("cannot create `{}`", parent.display()), &e))?;
    let tmp = tempfile::Builder::new().prefix(".rockerc-").tempdir_in(parent).map_err(|e| failed(format!("cannot write in `{}`", parent.display()), &e))?;
    type Contents<'c> = &'c dyn Fn(&mut dyn Write) -> std::io::Result<()>;
    let write = |name: &str, contents: Contents, exec: bool| -> Result<(), Box<Diagnostic>> {
        let p = tmp.path().join(name);
        std::fs::File::create(&p)
            .and_then(|file| {
                let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
                contents(&mut w).and_then(|_| w.flush())
            })
            .map_err(|e| failed(format!("cannot write `{}`", p.display()), &e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if exec { 0o755 } else { 0o644 };
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).map_err(|e| failed(format!("cannot make `{}` executable", p.display()), &e))?;
        }
        Ok(())
    };
    write("build.sh", &|w| out.write_script(w), true)?;
    for (name, text) in &out.files {
        write(name, &|w| w.write_all(text.as_bytes()), false)?;
    }
    let staged = tmp.keep();
    if dir.exists() {
        let old = parent.join(format!(".rockerc-old-{}", std::process::id()));
        if let Err(e) = std::fs::rename(dir, &old) {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(failed(format!("cannot replace `{}`", dir.display()), &e));
        }
        if let Err(e) = std::fs::rename(&staged, dir) {
            let _ = std::fs::rename(&old, dir);
            let _ = std::fs::remove_dir_all(&staged);
            return Err(failed(format!("cannot replace `{}`", dir.display()), &e));
        }
        let _ = std::fs::remove_dir_all(&old);
    } else if let Err(e) = std::fs::rename(&staged, dir) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(failed(format!("cannot create `{}`", dir.display()), &e));
    }
    created.0.clear();
    Ok(())
}

/// Directories created for `-o`, innermost first; removed (only while empty) unless cleared.
struct CreatedDirs(Vec<PathBuf>);

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        for dir in &self.0 {
            let _ = std::fs::remove_dir(dir);
        }
    }
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
