//! `rockerc build [FLAGS] [CONTEXT]`: compile and run at once, so that `rocker build -var X=1
//! --push` keeps working with one word changed. Every flag of Rocker 1.3's `build` (and its
//! global flags) is accepted: those rockerc has a meaning for are passed on to the compile or to
//! the script; the others print a one-line note saying what rockerc does instead.

use super::{Cli, DialectArg, Emit, ErrorFormat};
use crate::diagnostic::{Code, Diagnostic};
use clap::{ArgAction, Args, CommandFactory};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};

const RUNNING: &str = "Running the build";
const ROCKER_ONLY: &str = "Rocker flags rockerc has no use for (each prints a note)";

#[derive(Args, Debug)]
#[command(
    args_override_self = true,
    after_help = "Rocker's spellings work: -f, -var, -vars, -print, -no-cache, --flag=false, and its global flags \
                        (--verbose, --host, ...) before or after `build`.\n\
                        Examples:\n  rockerc build -var Version=1.2 --push\n  rockerc build -f images/Rockerfile.app -vars release.yml ."
)]
pub struct BuildArgs {
    /// The build context, as `rocker build CONTEXT` took it [default: the Rockerfile's directory]
    #[arg(value_name = "CONTEXT")]
    pub context: Option<PathBuf>,

    /// The Rockerfile; `-` reads standard input [default: ./Rockerfile, as Rocker read it]
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Template variable NAME=VALUE (repeatable, later wins; VALUE @FILE reads FILE)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// YAML or JSON file of template variables, or a glob (repeatable, merged in order; --var overrides)
    #[arg(long = "vars", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,

    /// Value for an ARG, as `docker build --build-arg` (repeatable)
    #[arg(long = "build-arg", value_name = "NAME=VALUE", value_parser = super::parse_build_arg)]
    pub build_args: Vec<(String, String)>,

    /// Print the rendered Rockerfile and stop: nothing is built
    #[arg(long)]
    pub print: bool,

    /// Build id that names MOUNT volumes [default: context path + Rockerfile]
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// The `image` template helper must find a matching artifact
    #[arg(long = "demand-artifacts")]
    pub demand_artifacts: bool,

    /// An unknown template variable is an error (instead of `<no value>`)
    #[arg(long)]
    pub strict: bool,

    /// The template dialect [default: Go's text/template, or what the file asks for]
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub dialect: Option<DialectArg>,

    /// A secret the build reads from rockerc's environment (repeatable); see `rockerc --help`
    #[arg(long = "secret", value_name = "NAME", value_parser = super::parse_secret_name)]
    pub secrets: Vec<String>,

    /// How to print compile errors
    #[arg(long = "error-format", value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,

    /// Let MOUNTs bind PATH, or anything under it, outside the build context (repeatable)
    #[arg(long = "allow-mount", value_name = "PATH")]
    pub allow_mounts: Vec<PathBuf>,

    /// Push the images named by PUSH (without it they are only tagged)
    #[arg(long, help_heading = RUNNING)]
    pub push: bool,

    /// Open an interactive container at each ATTACH
    #[arg(long, help_heading = RUNNING)]
    pub attach: bool,

    /// Rebuild every step: no Docker layer cache, no cache for MOUNTed RUNs
    #[arg(long = "no-cache", help_heading = RUNNING)]
    pub no_cache: bool,

    /// Rebuild every step and keep the new results for later builds (what --no-cache does)
    #[arg(long = "reload-cache", help_heading = RUNNING)]
    pub reload_cache: bool,

    /// Pull every FROM image before building
    #[arg(long, help_heading = RUNNING)]
    pub pull: bool,

    /// Build at most N independent stages at a time [default: the number of CPUs]
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = RUNNING)]
    pub jobs: Option<u32>,

    /// Before the build, make each MOUNT volume that is not on the engine from DIR (see `sh build.sh --help`)
    #[arg(long = "cache-from", value_name = "DIR", help_heading = RUNNING)]
    pub cache_from: Option<PathBuf>,

    /// After a successful build, save the MOUNT volumes (and MOUNTed-RUN cache images) to DIR for a CI cache
    #[arg(long = "cache-to", value_name = "DIR", help_heading = RUNNING)]
    pub cache_to: Option<PathBuf>,

    /// Print errors only, and the final image id
    #[arg(short = 'q', long, help_heading = RUNNING)]
    pub quiet: bool,

    /// Stream Docker's own output, RUN output included: the default, as Rocker showed it (--verbose, --vv, -D are Rocker's spellings)
    #[arg(short = 'v', long, visible_alias = "vv", short_alias = 'D', help_heading = RUNNING)]
    pub verbose: bool,

    /// auto, tty (a live line per running step), plain (start lines and heartbeats) or quiet; instead of streaming Docker's output
    #[arg(long, value_name = "MODE", value_parser = ["auto", "tty", "plain", "quiet"], help_heading = RUNNING)]
    pub progress: Option<String>,

    /// Print rockerc's version and this command line first
    #[arg(short = 'C', long, help_heading = RUNNING)]
    pub cmd: bool,

    /// The Docker daemon to build on (DOCKER_HOST for the build's docker commands)
    #[arg(short = 'H', long, value_name = "ADDRESS", help_heading = RUNNING)]
    pub host: Option<String>,

    /// Talk to the daemon over TLS (DOCKER_TLS_VERIFY=1; the files come from DOCKER_CERT_PATH)
    #[arg(long, visible_alias = "tls", help_heading = RUNNING)]
    pub tlsverify: bool,

    /// Registry credentials USER:PASSWORD: rockerc uses docker's own (`docker login`)
    #[arg(short = 'a', long, value_name = "USER:PASSWORD", help_heading = ROCKER_ONLY)]
    pub auth: Option<String>,

    /// Rocker's cache directory: rockerc's cache is Docker's layer cache
    #[arg(long = "cache-dir", value_name = "DIR", help_heading = ROCKER_ONLY)]
    pub cache_dir: Option<PathBuf>,

    /// Unused by Rocker 1.x, and by rockerc
    #[arg(long = "no-reuse", help_heading = ROCKER_ONLY)]
    pub no_reuse: bool,

    /// Unused by Rocker 1.x, and by rockerc
    #[arg(long, help_heading = ROCKER_ONLY)]
    pub meta: bool,

    /// Remove untagged images: rockerc leaves no containers, and untagged images are Docker's cache
    #[arg(long = "no-garbage", help_heading = ROCKER_ONLY)]
    pub no_garbage: bool,

    /// Where Rocker wrote artifact files of PUSHed images: rockerc writes none
    #[arg(long = "artifacts-path", value_name = "DIR", help_heading = ROCKER_ONLY)]
    pub artifacts_path: Option<PathBuf>,

    /// Retries of a failed push: rockerc pushes once
    #[arg(long = "push-retry", value_name = "N", help_heading = ROCKER_ONLY)]
    pub push_retry: Option<String>,

    /// JSON lines on stdout, one object per step, tag, push, error and the result (nothing else)
    #[arg(long, help_heading = RUNNING)]
    pub json: bool,

    /// Coloured logs: rockerc colours errors when standard error is a terminal
    #[arg(long, help_heading = ROCKER_ONLY)]
    pub colors: bool,

    /// A TLS CA file: the docker CLI reads ca.pem from DOCKER_CERT_PATH
    #[arg(long, value_name = "FILE", help_heading = ROCKER_ONLY)]
    pub tlscacert: Option<PathBuf>,

    /// A TLS certificate file: the docker CLI reads cert.pem from DOCKER_CERT_PATH
    #[arg(long, value_name = "FILE", help_heading = ROCKER_ONLY)]
    pub tlscert: Option<PathBuf>,

    /// A TLS key file: the docker CLI reads key.pem from DOCKER_CERT_PATH
    #[arg(long, value_name = "FILE", help_heading = ROCKER_ONLY)]
    pub tlskey: Option<PathBuf>,
}

/// Rocker's global flags, written before the command as `rocker --verbose build`; the bool is
/// whether the flag takes a value. `-C` is left out: before a Rockerfile it is rockerc's own
/// `-C DIR`, and `rockerc -C build` has always meant the context `build`.
const ROCKER_GLOBALS: [(&str, bool); 13] = [
    ("verbose", false),
    ("vv", false),
    ("D", false),
    ("json", false),
    ("colors", false),
    ("cmd", false),
    ("tlsverify", false),
    ("tls", false),
    ("host", true),
    ("H", true),
    ("tlscacert", true),
    ("tlscert", true),
    ("tlskey", true),
];

/// Where the `build` command word is, when only Rocker's global flags come before it.
fn build_position(args: &[String]) -> Option<usize> {
    let mut i = 1;
    while let Some(a) = args.get(i) {
        if a == "build" {
            return Some(i);
        }
        let name = a.trim_start_matches('-');
        let (name, inline_value) = match name.split_once('=') {
            Some((n, _)) => (n, true),
            None => (name, false),
        };
        let global = ROCKER_GLOBALS.iter().find(|(n, _)| *n == name);
        match global {
            Some((_, takes_value)) if a.starts_with('-') => i += if *takes_value && !inline_value { 2 } else { 1 },
            _ => return None,
        }
    }
    None
}

/// Whether this command line is `rockerc [ROCKER GLOBAL FLAGS] build ...`.
pub fn is_build(args: &[String]) -> bool {
    build_position(args).is_some()
}

/// Rocker's flags were Go's: `-var` and `--var` are the same flag, a bool flag takes `=false`,
/// and global flags come before the command. clap wants `build` first, `--` for long names, and
/// no value on a switch.
pub fn normalize_args(args: Vec<String>) -> Vec<String> {
    let Some(at) = build_position(&args) else { return args };
    let mut out = vec![args[0].clone(), args[at].clone()];
    let rest = args[1..at].iter().chain(&args[at + 1..]);

    let cmd = Cli::command();
    let build = cmd.find_subcommand("build").expect("the build subcommand");
    let mut longs: Vec<&str> = Vec::new();
    let mut switches: Vec<&str> = Vec::new();
    for arg in build.get_arguments() {
        let names = arg.get_long().into_iter().chain(arg.get_all_aliases().unwrap_or_default());
        for name in names {
            longs.push(name);
            if matches!(arg.get_action(), ArgAction::SetTrue) {
                switches.push(name);
            }
        }
    }
    let mut positional = false;
    for a in rest {
        if positional || a == "--" {
            positional = true;
            out.push(a.clone());
            continue;
        }
        let mut a = a.clone();
        if a.starts_with('-') && !a.starts_with("--") && a.len() > 2 {
            let name = a[1..].split('=').next().unwrap_or_default();
            if longs.contains(&name) {
                a.insert(0, '-');
            }
        }
        if let Some((name, value)) = a.strip_prefix("--").and_then(|n| n.split_once('=')) {
            if switches.contains(&name) {
                // Go's strconv.ParseBool.
                match value {
                    "1" | "t" | "T" | "true" | "TRUE" | "True" => a = format!("--{name}"),
                    "0" | "f" | "F" | "false" | "FALSE" | "False" => continue,
                    _ => {}
                }
            }
        }
        out.push(a);
    }
    out
}

/// What rockerc does instead, for each Rocker flag it has no use for.
fn notes(args: &BuildArgs) -> Vec<&'static str> {
    let mut notes = Vec::new();
    let mut note = |given: bool, text: &'static str| {
        if given {
            notes.push(text);
        }
    };
    note(args.reload_cache, "--reload-cache: rockerc rebuilds every step as with --no-cache; the new results replace the cached ones");
    note(
        args.auth.is_some(),
        "--auth: rockerc pushes and pulls with docker's own credentials; run `docker login REGISTRY` once instead (the value given is not used)",
    );
    note(
        args.cache_dir.is_some(),
        "--cache-dir: rockerc keeps no cache directory; Docker's layer cache holds every step (a MOUNTed RUN's result is tagged rockerc-cache:...)",
    );
    note(args.no_reuse, "--no-reuse: ignored, as Rocker 1.x ignored it");
    note(args.meta, "--meta: ignored, as Rocker 1.x ignored it");
    note(
        args.no_garbage,
        "--no-garbage: rockerc leaves no containers behind; images of untagged steps stay as Docker's build cache (`docker image prune` removes them)",
    );
    note(
        args.artifacts_path.is_some(),
        "--artifacts-path: rockerc writes no artifact files; `docker image inspect --format '{{.RepoDigests}}' NAME` gives a pushed image's digest",
    );
    note(args.push_retry.is_some(), "--push-retry: rockerc pushes once; when a push fails, run the build again with --push (the steps come from the cache)");
    note(args.colors, "--colors: rockerc colours its errors when standard error is a terminal, and nothing else");
    note(
        args.tlscacert.is_some() || args.tlscert.is_some() || args.tlskey.is_some(),
        "--tlscacert/--tlscert/--tlskey: the docker CLI reads ca.pem, cert.pem and key.pem from one directory: set DOCKER_CERT_PATH to it",
    );
    notes
}

/// What the generated script runs besides shell built-ins (see src/emit/runtime.sh), with what
/// provides it on Debian. `tar` packs each IMPORT (GNU tar, or BusyBox's).
pub const TOOLS: [(&str, &str); 31] = [
    ("docker", "the Docker CLI (Debian: apt-get install docker.io)"),
    ("sh", "a POSIX shell (Debian: dash)"),
    ("awk", "Debian: mawk"),
    ("sed", "Debian: sed"),
    ("grep", "Debian: grep"),
    ("find", "Debian: findutils"),
    ("cat", "Debian: coreutils"),
    ("cut", "Debian: coreutils"),
    ("tr", "Debian: coreutils"),
    ("sort", "Debian: coreutils"),
    ("tail", "Debian: coreutils"),
    ("head", "Debian: coreutils"),
    ("touch", "Debian: coreutils"),
    ("mktemp", "Debian: coreutils"),
    ("mkdir", "Debian: coreutils"),
    ("rm", "Debian: coreutils"),
    ("cp", "Debian: coreutils"),
    ("mv", "Debian: coreutils"),
    ("chmod", "Debian: coreutils"),
    ("cksum", "Debian: coreutils"),
    ("date", "Debian: coreutils"),
    ("sleep", "Debian: coreutils"),
    ("tar", "Debian: tar"),
    ("ls", "Debian: coreutils"),
    ("dd", "Debian: coreutils"),
    ("readlink", "Debian: coreutils"),
    ("stat", "Debian: coreutils"),
    ("uname", "Debian: coreutils"),
    ("od", "Debian: coreutils"),
    ("sha256sum", "Debian: coreutils"),
    ("wc", "Debian: coreutils"),
];

/// The shell to run the script with, or a diagnostic naming every program missing from PATH.
fn find_tools() -> Result<PathBuf, Box<Diagnostic>> {
    let missing: Vec<&(&str, &str)> = TOOLS.iter().filter(|(name, _)| which::which(name).is_err()).collect();
    if missing.is_empty() {
        return which::which("sh").map_err(|_| unreachable!("sh was found above"));
    }
    let names: Vec<String> = missing.iter().map(|(name, _)| format!("`{name}`")).collect();
    let mut d = Diagnostic::error(Code::MissingTool, format!("cannot build: {} not on PATH", join_names(&names)));
    for (name, what) in missing {
        d = d.note(format!("`{name}`: {what}"));
    }
    Err(Box::new(d.help("install what is missing, or add its directory to PATH; `rockerc Rockerfile > build.sh` compiles without running anything")))
}

fn join_names(names: &[String]) -> String {
    match names {
        [one] => format!("{one} is"),
        [init @ .., last] => format!("{} and {last} are", init.join(", ")),
        [] => String::new(),
    }
}

/// The compile half: the same as `rockerc -o OUTPUT -f FILE ...`.
fn compile_cli(args: &BuildArgs, output: Option<PathBuf>) -> Cli {
    let announce_mounts = output.is_some();
    Cli {
        command: None,
        rockerfile: None,
        file: Some(args.file.clone().unwrap_or_else(|| PathBuf::from("Rockerfile"))),
        output,
        context: args.context.clone(),
        id: args.id.clone(),
        vars: args.vars.clone(),
        var_files: args.var_files.clone(),
        print: args.print,
        strict: args.strict,
        dialect: args.dialect,
        demand_artifacts: args.demand_artifacts,
        secrets: args.secrets.clone(),
        build_args: args.build_args.clone(),
        allow_mounts: args.allow_mounts.clone(),
        error_format: args.error_format,
        emit: Emit::Sh,
        explain: false,
        announce_mounts,
    }
}

/// The script's own options for what was asked.
fn script_args(args: &BuildArgs) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (given, flag) in [
        (args.push, "--push"),
        (args.attach, "--attach"),
        (args.no_cache || args.reload_cache, "--no-cache"),
        (args.pull, "--pull"),
        (args.quiet, "--quiet"),
        (args.json, "--json"),
    ] {
        if given {
            out.push(flag.into());
        }
    }
    // As `rocker build` did, RUN output streams unless asked otherwise.
    if args.verbose || !(args.quiet || args.json || args.progress.is_some()) {
        out.push("--verbose".into());
    }
    if let Some(mode) = &args.progress {
        out.extend(["--progress".into(), mode.clone()]);
    }
    if let Some(n) = args.jobs {
        out.extend(["--jobs".into(), n.to_string()]);
    }
    for (flag, dir) in [("--cache-from", &args.cache_from), ("--cache-to", &args.cache_to)] {
        if let Some(dir) = dir {
            out.extend([flag.into(), dir.to_string_lossy().into_owned()]);
        }
    }
    out
}

pub fn run(args: &BuildArgs) -> i32 {
    if args.cmd {
        eprintln!("rockerc {}: {}", env!("CARGO_PKG_VERSION"), command_line(std::env::args()));
    }
    for note in notes(args) {
        eprintln!("rockerc: note: {note}");
    }
    if args.print {
        return super::run(&compile_cli(args, None));
    }
    let diagnostics = compile_cli(args, None);
    let shell = match find_tools() {
        Ok(shell) => shell,
        Err(d) => return super::fail(&diagnostics, "rockerc", *d),
    };
    if let Some(d) = rockerfile_elsewhere(args) {
        return super::fail(&diagnostics, "Rockerfile", d);
    }
    // The script and its Dockerfiles live only as long as the build; a secret's value is never
    // among them (the script reads it from the environment it inherits from rockerc).
    let tmp = match tempfile::Builder::new().prefix("rockerc-build-").tempdir() {
        Ok(tmp) => tmp,
        Err(e) => {
            return super::fail(
                &diagnostics,
                "rockerc",
                Diagnostic::error(Code::OutputFailed, format!("cannot create a temporary directory: {}", super::io_reason(&e))),
            )
        }
    };
    crate::template::memory::remove_on_exit(tmp.path());
    let out = tmp.path().join("out");
    let compiled = super::run(&compile_cli(args, Some(out.clone())));
    if compiled != 0 {
        return compiled;
    }
    let mut script = std::process::Command::new(shell);
    script.arg(out.join("build.sh")).args(script_args(args));
    if let Some(host) = &args.host {
        script.env("DOCKER_HOST", host);
    }
    if args.tlsverify {
        script.env("DOCKER_TLS_VERIFY", "1");
    }
    let status = run_forwarding_signals(&mut script);
    drop(tmp);
    match status {
        Ok(status) => exit_code(status),
        Err(e) => {
            eprintln!("rockerc: error: cannot run the build script: {}", super::io_reason(&e));
            1
        }
    }
}

/// Rocker read ./Rockerfile whatever the context, and so does `rockerc build`; when there is none
/// but the context has one, say how to name it rather than only that ./Rockerfile is missing.
fn rockerfile_elsewhere(args: &BuildArgs) -> Option<Diagnostic> {
    let context = args.context.as_ref()?;
    if args.file.is_some() || Path::new("Rockerfile").exists() || !context.join("Rockerfile").is_file() {
        return None;
    }
    let theirs = context.join("Rockerfile");
    Some(
        Diagnostic::error(Code::FileUnreadable, "cannot read `Rockerfile`: no such file or directory")
            .note("rockerc build reads ./Rockerfile whatever the context, as rocker build did")
            .help(format!("name the context's Rockerfile: `rockerc build -f {} {}`", theirs.display(), context.display())),
    )
}

/// The command line as --cmd prints it, with the password of --auth masked.
fn command_line(args: impl Iterator<Item = String>) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut mask_next = false;
    for a in args {
        let name = a.trim_start_matches('-').split('=').next().unwrap_or_default().to_string();
        let auth = a.starts_with('-') && (name == "auth" || name == "a");
        let word = if mask_next {
            "***".to_string()
        } else if auth && a.contains('=') {
            format!("{}=***", a.split('=').next().unwrap_or_default())
        } else {
            a
        };
        mask_next = auth && !word.contains('=');
        words.push(crate::emit::sh_quote(&word).into());
    }
    words.join(" ")
}

/// The shell's exit status, or 128 + the signal that ended it, as a shell reports it.
fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1)
}

static SCRIPT_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(signal: libc::c_int) {
    let pid = SCRIPT_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// Runs the script and waits for it. Ctrl-C, TERM or HUP must not end rockerc first: the script
/// removes its containers and temporary files on those signals, and rockerc then removes the
/// compiled script and exits with the script's status. So rockerc catches them and passes them
/// on (a terminal's Ctrl-C reaches the script twice, which its cleanup ignores). A caught signal
/// is reset to its default in the script by exec; one rockerc was started ignoring (`nohup`, a
/// background job) stays ignored, in both.
fn run_forwarding_signals(script: &mut std::process::Command) -> std::io::Result<ExitStatus> {
    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
    let mut previous = Vec::new();
    for signal in SIGNALS {
        // SAFETY: querying and installing a handler that only calls kill(2).
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut old) != 0 || old.sa_sigaction == libc::SIG_IGN {
                continue;
            }
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = forward as extern "C" fn(libc::c_int) as libc::sighandler_t;
            new.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut new.sa_mask);
            libc::sigaction(signal, &new, std::ptr::null_mut());
            previous.push((signal, old));
        }
    }
    let status = script.spawn().and_then(|mut child| {
        SCRIPT_PID.store(child.id() as i32, Ordering::SeqCst);
        let status = child.wait();
        SCRIPT_PID.store(0, Ordering::SeqCst);
        status
    });
    for (signal, old) in previous {
        // SAFETY: restoring the disposition read above.
        unsafe {
            libc::sigaction(signal, &old, std::ptr::null_mut());
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn go_style_flags_of_build_become_long_flags() {
        assert_eq!(
            norm(&["rockerc", "build", "-var", "A=1", "-vars=f.yml", "-no-cache", "-f", "x", "-vv", "-D", "-j4", "ctx"]),
            ["rockerc", "build", "--var", "A=1", "--vars=f.yml", "--no-cache", "-f", "x", "--vv", "-D", "-j4", "ctx"]
        );
    }

    #[test]
    fn go_bool_values_set_or_drop_the_switch() {
        assert_eq!(norm(&["rockerc", "build", "--push=true", "-pull=false", "--colors=0", "--id=x"]), ["rockerc", "build", "--push", "--id=x"]);
    }

    #[test]
    fn rocker_global_flags_before_build_move_after_it() {
        assert_eq!(norm(&["rockerc", "--verbose", "-H", "tcp://h:2375", "build", "--push"]), ["rockerc", "build", "--verbose", "-H", "tcp://h:2375", "--push"]);
        assert!(!is_build(&["rockerc", "-C", "build"].map(String::from)), "rockerc -C DIR keeps its meaning");
        assert!(!is_build(&["rockerc", "--var", "build"].map(String::from)));
        assert!(!is_build(&["rockerc", "Rockerfile"].map(String::from)));
    }

    #[test]
    fn the_printed_command_line_hides_the_password() {
        let line = command_line(["rockerc", "build", "--auth", "me:pw", "-a=me:pw", "-f", "my file"].iter().map(|s| s.to_string()));
        assert_eq!(line, "rockerc build --auth '***' '-a=***' -f 'my file'");
    }

    #[test]
    fn nothing_after_a_double_dash_is_rewritten() {
        assert_eq!(norm(&["rockerc", "build", "--", "-print"]), ["rockerc", "build", "--", "-print"]);
    }
}
