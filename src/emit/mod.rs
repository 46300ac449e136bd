//! Build plan -> text: the POSIX sh driver script and its Dockerfiles; the BuildKit backend's
//! multi-stage Dockerfile and script; the stage graph as Graphviz; the explained lowering.

/// Writes one command of generated shell, as `writeln!` would, with the line that tells
/// shellcheck its literal `$` is meant right above it (at its indent) when one of the listed
/// words holds one (`crate::shell::sc2016`): `cmd!(out, [tag], "  rc_tag {} {tag} {}", n, push)`.
macro_rules! cmd {
    ($dst:expr, [$($word:expr),+], $($arg:tt)*) => {{
        let line = format!($($arg)*);
        let indent = &line[..line.len() - line.trim_start().len()];
        let _ = writeln!($dst, "{}{line}", crate::shell::sc2016(indent, [$(&$word),+]));
    }};
}

pub mod buildkit;
mod dot;
mod explain;
mod sh;

pub use crate::shell::{heredoc_delimiter, sc2016, sh_quote, sh_quote_always, Word};
pub use dot::dot;
pub use explain::{explain_buildkit, explain_sh};
pub use sh::{host_mount_line, runtime, runtime_hash, sh, Layout, ShScript, RUNTIME_FILE};

/// The script's code that says what it was compiled from (see [`Sources`]): `rc_sources`, which
/// checks each file, and how to compile it again. Without sources (a Rockerfile read from a pipe)
/// there is nothing to compare.
pub fn sources_code(sources: Option<&Sources>, layout: Layout) -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "# What this script was compiled from (paths relative to the build context), with each file's\n\
         # `cksum` then: run in another context, or after an edit, it stops and says how to compile again.\n",
    );
    let rockerfile = sh_quote(sources.and_then(|s| s.files.first()).map(|(path, _)| path.as_str()).unwrap_or_default());
    cmd!(out, [rockerfile], "rc_compiled_from={rockerfile}");
    let args = sh_quote(sources.map(|s| s.args.as_str()).unwrap_or_default());
    cmd!(out, [args], "rc_compile_args={args}");
    let _ = writeln!(out, "rc_compiled_to_dir={}", u8::from(layout == Layout::Directory));
    out.push_str("rc_sources() {\n");
    match sources {
        Some(s) if !s.files.is_empty() => {
            let words: Vec<(Word, Word)> = s.files.iter().map(|(path, sum)| (sh_quote(path), sh_quote(sum))).collect();
            let checks: Vec<String> = words.iter().map(|(path, sum)| format!("rc_source {path} {sum}")).collect();
            out.push_str(&sc2016("  ", words.iter().flat_map(|(path, sum)| [path, sum])));
            let _ = writeln!(out, "  {}", checks.join(" &&\n    "));
        }
        _ => out.push_str("  : # the Rockerfile came from a pipe: nothing to compare\n"),
    }
    out.push_str("}\n");
    out
}

/// Which output rockerc writes (`--emit`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The POSIX sh script and its Dockerfiles (Docker's legacy builder).
    #[default]
    Sh,
    /// One multi-stage Dockerfile for BuildKit, and a short script around it.
    Buildkit,
    /// The stage graph, as Graphviz.
    Dot,
}

/// What a script was compiled from, so that before it builds it can tell that it runs in another
/// context than the one it was compiled for (it was moved, or `--context` names another folder),
/// or that the Rockerfile has changed since.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// The Rockerfile first, then the other files the compile read (`--vars`, `--var K=@FILE`):
    /// each as a path relative to the build context (absolute when they share no folder but
    /// `/`), with what `cksum` printed for it then (`CRC SIZE`).
    pub files: Vec<(String, String)>,
    /// The compile's arguments as shell words, for a compile run in the context; the script adds
    /// where the output goes (`-o DIR`, or `> FILE`) from where it is itself.
    pub args: String,
}

/// The shell that checks [`Sources`] when a script starts; the same in both backends' runtimes.
pub const SOURCES_RUNTIME: &str = include_str!("sources.sh");

/// The runtime both backends' scripts share, in the order they carry it: the prelude (messages,
/// quoting, the secrets' mask), which host paths a MOUNT may touch, and the check of [`Sources`].
/// Each backend's own runtime follows it.
pub(crate) const SHARED_RUNTIME: [&str; 3] = [include_str!("prelude.sh"), include_str!("host_paths.sh"), SOURCES_RUNTIME];

/// What a backend writes: the script, and the files that go beside it (`-o DIR`).
#[derive(Clone, Debug)]
pub struct Emitted {
    pub script: Script,
    /// (path relative to the output directory, contents), in step order.
    pub files: Vec<(String, String)>,
}

/// Two outputs are the same when they print the same bytes.
impl PartialEq for Emitted {
    fn eq(&self, other: &Emitted) -> bool {
        self.files == other.files && self.script_text() == other.script_text()
    }
}

impl Eq for Emitted {}

/// A backend's script: text, or (the sh backend, whose script is the largest output by far)
/// a printer that writes it into a sink when asked, so that it is never held whole.
#[derive(Clone, Debug)]
pub enum Script {
    Text(String),
    Sh(Box<ShScript>),
}

impl Emitted {
    /// Output that is text already.
    pub fn text(script: String, files: Vec<(String, String)>) -> Emitted {
        Emitted { script: Script::Text(script), files }
    }

    /// Writes the script into `w` (which should be buffered).
    pub fn write_script(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        match &self.script {
            Script::Text(text) => w.write_all(text.as_bytes()),
            Script::Sh(sh) => sh.write_to(w),
        }
    }

    /// The script as one string (tests, and callers that want it whole).
    pub fn script_text(&self) -> String {
        match &self.script {
            Script::Text(text) => text.clone(),
            Script::Sh(_) => {
                let mut out = Vec::new();
                self.write_script(&mut out).expect("writing to memory does not fail");
                String::from_utf8(out).expect("the script is UTF-8")
            }
        }
    }
}
