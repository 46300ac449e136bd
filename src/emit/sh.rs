//! The sh backend: a POSIX script of stage functions that call the runtime in `runtime.sh`.

use super::{heredoc_delimiter, sc2016, sh_quote, sh_quote_always, sources_code, Emitted, Script, Sources, Word, SHARED_RUNTIME};

use crate::lower::{
    build_arg_name, in_context_path, normalize, BuildPlan, BuildStep, Context, Fusion, HostMount, ImageKey, ImportContext, Mount, PlanStage, Start, Step,
    StepKind,
};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

const RUNTIME: &str = include_str!("runtime.sh");
/// Where the script is (the runtime and the step files are beside it): the plan's first code, in
/// both backends' scripts.
pub(crate) const HERE: &str = include_str!("here.sh");
/// MOUNT caches a CI job can keep and prune (--cache-to, --cache-from, --cache-ls, --cache-prune).
const CACHE: &str = include_str!("cache.sh");
/// Host paths carried to an engine that cannot see them (a remote daemon).
const REMOTE: &str = include_str!("remote.sh");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One script on stdout, its Dockerfiles inside it as heredocs.
    Single,
    /// A script plus one Dockerfile per build step beside it (`-o DIR`).
    Directory,
}

/// The sh backend's output, to be printed: the plan it prints, what it prints it with, and the
/// plan's hash. The script is never held whole: [`ShScript::write_to`] prints it into a sink, and
/// the hash (which the script states near its top, and which covers all of it) comes from a first
/// printing into the hasher alone.
#[derive(Clone, Debug)]
pub struct ShScript {
    plan: BuildPlan,
    layout: Layout,
    context: String,
    build_id: Option<String>,
    allow_mounts: Vec<String>,
    sources: Option<Sources>,
    hash: String,
}

/// The script and its files. `context` is the build context relative to where the script will
/// live (it is resolved against the script's own directory when it runs). `allow_mounts` are the
/// host paths outside the context its MOUNTs may bind without being allowed again when it runs
/// (`--allow-mount` given to rockerc: absolute paths); `sources`, what the script checks before
/// it builds.
pub fn sh(plan: BuildPlan, layout: Layout, context: &str, build_id: Option<&str>, allow_mounts: &[String], sources: Option<&Sources>) -> Emitted {
    let mut script = ShScript {
        plan,
        layout,
        context: context.to_string(),
        build_id: build_id.map(str::to_string),
        allow_mounts: allow_mounts.to_vec(),
        sources: sources.cloned(),
        hash: String::new(),
    };
    // The plan's checksum names the no-op stamp: a recompiled script with any change starts over.
    let mut h = Hasher(Sha256::new());
    let files = script.print(&mut h, None).expect("hashing does not fail");
    for (name, text) in &files {
        h.0.update(name.as_bytes());
        h.0.update(text.as_bytes());
    }
    script.hash = h.0.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    Emitted { script: Script::Sh(Box::new(script)), files }
}

impl ShScript {
    /// Prints the script into `w` (buffer it: the printer writes many small pieces).
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.print(w, Some(&self.hash)).map(drop)
    }

    /// One printing: with `hash`, the script as it is written; without, the text the hash is
    /// taken of (placeholders where the hash and the sources go). Returns the files beside the
    /// script (`-o DIR`).
    fn print(&self, w: &mut dyn std::io::Write, hash: Option<&str>) -> std::io::Result<Vec<(String, String)>> {
        let mut e = ShEmitter {
            plan: &self.plan,
            layout: self.layout,
            sources: self.sources.as_ref(),
            out: Sink { w, error: None },
            files: Vec::new(),
            allow_mounts: &self.allow_mounts,
        };
        // What the script was compiled from is not part of the plan: a new comment in the Rockerfile
        // makes the script check another checksum, not build again.
        let settings = |text: String| match hash {
            Some(hash) => text.replacen(PLAN_HASH, hash, 1).replacen(SOURCES, &sources_code(self.sources.as_ref(), self.layout), 1),
            None => text,
        };
        e.script(&self.context, self.build_id.as_deref(), settings);
        match e.out.error {
            Some(error) => Err(error),
            None => Ok(e.files),
        }
    }
}

/// Feeds what the printer writes to SHA-256.
struct Hasher(Sha256);

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where the printer writes: `w!` and `push_str` as on a `String`; the first I/O error is kept
/// (and the rest of the printing goes nowhere) for [`ShScript::print`] to return.
struct Sink<'w> {
    w: &'w mut dyn std::io::Write,
    error: Option<std::io::Error>,
}

impl Sink<'_> {
    fn push_str(&mut self, s: &str) {
        if self.error.is_none() {
            if let Err(e) = self.w.write_all(s.as_bytes()) {
                self.error = Some(e);
            }
        }
    }

    fn push(&mut self, c: char) {
        self.push_str(c.encode_utf8(&mut [0; 4]));
    }
}

impl std::fmt::Write for Sink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

const PLAN_HASH: &str = "@PLAN_HASH@";

/// The runtime's file beside build.sh with `-o DIR`.
pub const RUNTIME_FILE: &str = "rockerc-runtime.sh";

/// The runtime: the shell functions every script of this version of rockerc runs on, the same
/// text for every Rockerfile (inside the script, or the file [`RUNTIME_FILE`] beside it).
pub fn runtime() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let shared: String = SHARED_RUNTIME.iter().map(|part| format!("{part}\n")).collect();
    format!(
        "# shellcheck shell=sh\n# The runtime of rockerc {version}: the same for every Rockerfile; the plan (build.sh) calls it.\n{READ_WHOLE}\n{{\nrc_runtime={version}\n\n{shared}{RUNTIME}\n{CACHE}\n{REMOTE}}}\n"
    )
}

/// Why every generated shell file is one `{ ... }` block: the shell parses a compound command
/// whole before it runs any of it, and reads no further until it is done. dash and BusyBox sh
/// otherwise read a script a command at a time as they go, so a RUN that can write the file (a
/// writable MOUNT of the context holding build.sh) would add commands that then run on the host.
pub(crate) const READ_WHOLE: &str = "# One block, read whole before any of it runs: nothing written to this file while it runs is ever run.\n\
     # shellcheck disable=SC2317 # (in a block, shellcheck takes the functions only traps call for unreachable)";

/// The first 16 hex digits of the runtime's SHA-256, as build.sh names it.
pub fn runtime_hash(runtime: &str) -> String {
    Sha256::digest(runtime.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}
const SOURCES: &str = "@SOURCES@\n";

struct ShEmitter<'a, 'w> {
    plan: &'a BuildPlan,
    layout: Layout,
    sources: Option<&'a Sources>,
    out: Sink<'w>,
    files: Vec<(String, String)>,
    allow_mounts: &'a [String],
}

macro_rules! w {
    ($dst:expr) => {{ $dst.push('\n'); }};
    ($dst:expr, $($arg:tt)*) => {{ let _ = writeln!($dst, $($arg)*); }};
}

impl ShEmitter<'_, '_> {
    fn script(&mut self, context: &str, build_id: Option<&str>, settings: impl FnOnce(String) -> String) {
        let plan = self.plan;
        let name = &plan.source_name;
        w!(self.out, "#!/bin/sh");
        w!(self.out, "# Generated by rockerc {} from {name}. Do not edit: change {name} and compile again.", env!("CARGO_PKG_VERSION"));
        w!(
            self.out,
            "# Usage: sh {} [--push] [--attach] [--no-cache] [--pull] [--builder auto|buildkit|legacy] [--no-fuse] [--context DIR] [--id ID] [--allow-mount PATH] [--cache-from DIR] [--cache-to DIR] [--progress MODE] [--json] [-q] [-v] [-h]",
            self.script_name()
        );
        w!(self.out, "#");
        w!(self.out, "# Stages, and what each needs first:");
        for stage in &plan.stages {
            let deps = if stage.deps.is_empty() {
                String::new()
            } else {
                format!("  <- {}", stage.deps.iter().map(|d| format!("stage {}", d + 1)).collect::<Vec<_>>().join(", "))
            };
            w!(self.out, "#   stage {}  {name}:{}  {}{deps}", stage.index + 1, stage.lines, one_line(&stage.from_text));
        }
        if !plan.host_mounts.is_empty() {
            w!(self.out, "#");
            w!(self.out, "# Host paths its MOUNTs may bind (one outside the build context only where --allow-mount allows it):");
            for m in &plan.host_mounts {
                w!(self.out, "#   {}", host_mount_line(name, m, self.allow_mounts));
            }
        }
        if !self.allow_mounts.is_empty() {
            w!(
                self.out,
                "# Allowed when compiled (--allow-mount): {}",
                self.allow_mounts.iter().map(|a| crate::lower::one_line_name(a)).collect::<Vec<_>>().join(", ")
            );
        }
        w!(self.out, "#");
        match self.layout {
            Layout::Single => {
                w!(self.out, "# The plan comes first: the settings, one function per stage with one block per step, and");
                w!(self.out, "# rc_main; then the generated Dockerfiles; then the runtime, the same for every Rockerfile.");
            }
            Layout::Directory => {
                w!(self.out, "# The plan: the settings, one function per stage with one block per step, and rc_main. Each");
                w!(self.out, "# step's file is beside this script (NN-stageS.Dockerfile, or .run.sh, .export.sh, .import.sh,");
                w!(self.out, "# .attach.sh), and so is {RUNTIME_FILE}, the runtime, the same for every Rockerfile.");
            }
        }
        w!(self.out, "{READ_WHOLE}");
        w!(self.out, "{{");
        w!(self.out, "set -eu");
        w!(self.out);
        let mut s = String::new();
        setting(&mut s, "rc_rockerfile", name);
        setting(&mut s, "rc_context", context);
        setting(&mut s, "rc_default_id", build_id.unwrap_or(""));
        w!(s, "rc_steps={}", plan.step_count);
        // The image a build ends with, reported as its result: the last stage's.
        w!(s, "rc_final={}", ImageKey::Stage(plan.stages.len().saturating_sub(1)));
        // The build whose result may be the final image gets no per-run tag (see rc_build).
        let final_step = plan.stages.last().and_then(|st| st.steps.iter().rev().find(|x| matches!(x.kind, StepKind::Build(_)))).map_or(0, |x| x.number);
        w!(s, "rc_final_step={final_step}");
        let mut secrets: Vec<&str> = plan
            .stages
            .iter()
            .flat_map(|s| &s.steps)
            .filter_map(|st| match &st.kind {
                StepKind::Run(r) => Some(r.secrets.iter().map(String::as_str)),
                _ => None,
            })
            .flatten()
            .collect();
        secrets.sort_unstable();
        secrets.dedup();
        setting(&mut s, "rc_secrets", &secrets.join(" "));
        // The MOUNT volumes' paths, one a line: what --cache-to saves and --cache-from restores.
        let mut volumes: Vec<&str> = plan
            .stages
            .iter()
            .flat_map(|s| &s.steps)
            .flat_map(|st| match &st.kind {
                StepKind::Run(r) => &r.mounts[..],
                StepKind::Export(x) => &x.mounts[..],
                StepKind::ImportToMount(m) => &m.mounts[..],
                StepKind::Attach(a) => &a.mounts[..],
                _ => &[],
            })
            .filter_map(|m| match m {
                Mount::Volume { dest } => Some(dest.value.as_str()),
                Mount::Bind { .. } => None,
            })
            .collect();
        volumes.sort_unstable();
        volumes.dedup();
        let volumes: String = volumes.iter().map(|v| format!("{v}\n")).collect();
        setting(&mut s, "rc_volumes", &volumes);
        w!(s, "rc_plan_hash={PLAN_HASH}");
        let allowed: String = self.allow_mounts.iter().map(|a| format!("{a}\n")).collect();
        setting(&mut s, "rc_allow_compiled", &allowed);
        s.push_str(SOURCES);
        // What the no-op check looks at for changes: the whole context, or only the paths the
        // build's COPY/ADD read.
        let mut inputs: Vec<&str> = Vec::new();
        let mut whole = false;
        for step in plan.stages.iter().flat_map(|s| &s.steps) {
            if let StepKind::Build(b) = &step.kind {
                match &b.context {
                    Context::User => whole = true,
                    Context::Paths(p) => inputs.extend(p.iter().map(String::as_str)),
                    _ => {}
                }
            }
        }
        inputs.sort_unstable();
        inputs.dedup();
        let mut inputs = if whole { vec!["."] } else { inputs };
        // The Rockerfile and the variables' files are inputs too: where the no-op check runs its
        // find anyway, it sees their edits as any other's (mtime and ctime) at no cost, and
        // rc_check_sources compares their checksums only before a build. Where it would run find
        // for them alone, or cannot (outside the context), the checksums every run: one process
        // either way, and the exact answer.
        let mut sources_seen = !inputs.is_empty();
        for (path, _) in self.sources.iter().flat_map(|s| &s.files) {
            if path.starts_with('/') || path.starts_with("..") {
                sources_seen = false;
            }
        }
        if sources_seen && !whole {
            inputs.extend(self.sources.iter().flat_map(|s| &s.files).map(|(path, _)| path.as_str()));
        }
        w!(s, "rc_sources_seen={}", u8::from(sources_seen));
        w!(s, "rc_reads_context={}", u8::from(!inputs.is_empty()));
        w!(s, "rc_inputs_scope={}", if whole { "all" } else { "listed" });
        w!(s, "rc_find_inputs() {{");
        if inputs.is_empty() || whole {
            w!(s, "  find . \"$@\"");
        } else {
            // `./` first: a path that starts with `-` must not be taken for an option.
            let paths: Vec<Word> = inputs.iter().map(|p| sh_quote(&format!("./{p}"))).collect();
            s.push_str(&sc2016("  ", &paths));
            w!(s, "  find{} \"$@\"", paths.iter().map(|p| format!(" {p}")).collect::<String>());
        }
        w!(s, "}}");
        // The directories above the inputs: if one becomes a link, Docker reads elsewhere.
        let mut dirs: Vec<String> = Vec::new();
        if !whole {
            for p in &inputs {
                let mut at = 0;
                while let Some(i) = p[at..].find('/') {
                    dirs.push(p[..at + i].to_string());
                    at += i + 1;
                }
            }
        }
        dirs.sort();
        dirs.dedup();
        w!(s, "rc_input_dirs_linked() {{");
        if dirs.is_empty() {
            w!(s, "  return 1");
        } else {
            let dirs: Vec<Word> = dirs.iter().map(|d| sh_quote_always(d)).collect();
            s.push_str(&sc2016("  ", &dirs));
            w!(s, "  {}", dirs.iter().map(|d| format!("[ -L \"$1\"/{d} ]")).collect::<Vec<_>>().join(" || "));
        }
        w!(s, "}}");
        s.push_str(HERE);
        w!(s);
        self.out.push_str(&settings(s));
        let mut inputs = String::new();
        self.fast_path_inputs(&mut inputs);
        self.out.push_str(&inputs);
        // A stage function at a time.
        let mut text = String::new();
        for stage in &plan.stages {
            text.clear();
            self.stage(&mut text, stage);
            self.out.push_str(&text);
        }
        if let Some(fusion) = &plan.fusion {
            text.clear();
            self.fused(&mut text, fusion);
            self.out.push_str(&text);
        }
        // The plan's own part of rc_main: the stages, in the order the stage graph allows (and,
        // with `-o DIR`, the step files they read); what every build does before and after them
        // is the runtime's (rc_start, rc_connect, rc_finish).
        w!(self.out, "rc_main() {{");
        w!(self.out, "  rc_start \"$@\"");
        if self.layout == Layout::Directory && !self.files.is_empty() {
            // The step files and Dockerfiles are read from a private copy made before any step
            // runs: a RUN that can write beside this script (a writable MOUNT of the context)
            // cannot change what a later step sources or builds.
            let names: Vec<Word> = self.files.iter().map(|(f, _)| sh_quote(f)).collect();
            self.out.push_str(&sc2016("  ", &names));
            w!(self.out, "  rc_copy_plan{}", names.iter().map(|f| format!(" {f}")).collect::<String>());
        }
        w!(self.out, "  rc_connect");
        // Under BuildKit, rc_connect builds a plan that has a fused build (rc_fused) as that one
        // build where it gives the same images; the stages are the fallback.
        let indent = if plan.fusion.is_some() {
            w!(self.out, "  if [ \"$rc_fused_ok\" = 0 ]; then");
            "    "
        } else {
            "  "
        };
        // Stages that do not need each other build at the same time (the stage graph's levels).
        // An ATTACH needs the terminal, so a stage with one builds alone.
        for level in &plan.levels {
            let (interactive, background): (Vec<usize>, Vec<usize>) =
                level.iter().partition(|&&s| plan.stages[s].steps.iter().any(|st| matches!(st.kind, StepKind::Attach(_))));
            for s in interactive {
                w!(self.out, "{indent}rc_stage_{}", s + 1);
            }
            if !background.is_empty() {
                w!(self.out, "{indent}rc_level{}", background.iter().map(|s| format!(" {}", s + 1)).collect::<String>());
            }
        }
        if plan.fusion.is_some() {
            w!(self.out, "  fi");
        }
        w!(self.out, "  rc_finish");
        w!(self.out, "}}");
        w!(self.out);
        let runtime = runtime();
        let version = env!("CARGO_PKG_VERSION");
        match self.layout {
            Layout::Single => {
                self.dockerfile_functions();
                w!(self.out, "# ---- The runtime of rockerc {version}: the same for every Rockerfile (sha256 {}) ----", runtime_hash(&runtime));
                w!(self.out);
                self.out.push_str(&runtime);
                w!(self.out);
            }
            Layout::Directory => {
                w!(self.out, "# The runtime of rockerc {version}, beside this script: the same file for every Rockerfile");
                w!(self.out, "# (sha256 {}).", runtime_hash(&runtime));
                w!(
                    self.out,
                    "[ -f \"$rc_here/{RUNTIME_FILE}\" ] || {{ printf 'rockerc: %s is missing: compile again\\n' \"$rc_here/{RUNTIME_FILE}\" >&2; exit 1; }}"
                );
                w!(self.out, "# shellcheck source={RUNTIME_FILE}");
                w!(self.out, ". \"$rc_here/{RUNTIME_FILE}\"");
                w!(self.out, "[ \"$rc_runtime\" = {version} ] || {{ printf 'rockerc: %s is not the runtime of rockerc {version}: compile again\\n' \"$rc_here/{RUNTIME_FILE}\" >&2; exit 1; }}");
                w!(self.out);
                self.files.push((RUNTIME_FILE.to_string(), runtime));
                // shellcheck follows build.sh into the step files and the runtime (the same as `-x`).
                self.files.push((
                    ".shellcheckrc".to_string(),
                    "# build.sh sources the files beside it: follow them, from wherever shellcheck runs.\nexternal-sources=true\nsource-path=SCRIPTDIR\n"
                        .to_string(),
                ));
            }
        }
        w!(self.out, "rc_main \"$@\"");
        w!(self.out, "exit");
        w!(self.out, "}}");
    }

    /// What the no-op check compares: the FROM images and the tags (their ids), and the
    /// environment variables MOUNT sources read.
    fn fast_path_inputs(&self, out: &mut String) {
        let plan = self.plan;
        let mut images: Vec<String> = plan.externals.clone();
        images.extend(plan.copy_from_images.iter().cloned());
        for stage in &plan.stages {
            for step in &stage.steps {
                if let StepKind::Tag { name, .. } = &step.kind {
                    images.push(name.clone());
                }
            }
        }
        images.dedup();
        // Image names never hold blanks (analyze validates them): a plain word list.
        setting(out, "rc_fast_images", &images.join(" "));
        setting(out, "rc_externals", &plan.externals.join(" "));
        // 1: the plan has rc_fused, its one BuildKit build (rc_connect tries it first).
        setting(out, "rc_fusable", if plan.fusion.is_some() { "1" } else { "0" });
        // 1: a RUN of rc_fused's build runs checks after its command, which it runs with
        // /bin/sh -c: not where a FROM image sets another SHELL (rc_fuse_ok).
        let hosted = plan.fusion.as_ref().is_some_and(|f| f.dockerfile.stages.iter().flat_map(|s| &s.body).any(|l| l.how == crate::lower::How::Hosted));
        setting(out, "rc_hosted", if hosted { "1" } else { "0" });
        // ADD's URLs, one a line (a URL holds no blank: Docker splits ADD's arguments at them).
        setting(out, "rc_urls", &plan.urls.iter().map(|u| format!("{u}\n")).collect::<String>());
        let mut vars: Vec<String> = Vec::new();
        for stage in &plan.stages {
            for step in &stage.steps {
                let mounts = match &step.kind {
                    StepKind::Run(r) => &r.mounts[..],
                    StepKind::Export(x) => &x.mounts[..],
                    StepKind::ImportToMount(m) => &m.mounts[..],
                    _ => continue,
                };
                for m in mounts {
                    if let Mount::Bind { src, .. } = m {
                        vars.extend(host_path_vars(&src.value));
                        if src.value.starts_with('~') {
                            vars.push("HOME".into());
                        }
                    }
                }
            }
        }
        vars.sort();
        vars.dedup();
        w!(out, "rc_env_inputs() {{");
        w!(out, "  rc_envs=\"{}\"", vars.iter().map(|v| format!("${{{v}-}}")).collect::<Vec<_>>().join("|"));
        w!(out, "}}");
        w!(out);
    }

    /// A mount spec as the runtime reads it (see rc_mounts in runtime.sh): `v DEST`, or
    /// `c SRC DEST OPTIONS WHERE` (a host path in the context) / `b SRC DEST OPTIONS WHERE`.
    fn mount_words(&self, m: &Mount) -> Word {
        match m {
            Mount::Volume { dest } => {
                let mut words = Word::code("v ");
                words.push(&sh_quote(&dest.value));
                words
            }
            Mount::Bind { src, dest, options } => {
                let kind = if in_context_path(&src.value) { 'c' } else { 'b' };
                // The host mounts are in file order: a binary search, not a walk past every earlier one.
                let mounts = &self.plan.host_mounts;
                let at = mounts.partition_point(|h| h.src_at < src.span.start);
                let found = mounts.get(at).filter(|h| h.src_at == src.span.start).or_else(|| mounts.iter().find(|h| h.src_at == src.span.start));
                let lines = found.map(|h| h.lines.to_string()).unwrap_or_default();
                let where_ = format!("{}:{lines}", self.plan.source_name);
                let mut words = Word::code(format!("{kind} "));
                for (i, word) in [host_path(&src.value), sh_quote(&dest.value), sh_quote(&options.join(",")), sh_quote(&where_)].iter().enumerate() {
                    if i > 0 {
                        words.push(&Word::code(" "));
                    }
                    words.push(word);
                }
                words
            }
        }
    }

    /// `  HEAD MOUNTSPEC... -- WORD...`: a mount per line when there are any; the line that tells
    /// shellcheck a literal `$` is meant goes above the command's first line.
    fn command_lines(&self, out: &mut String, head: &Word, mounts: &[Mount], words: &[Word]) {
        let mounts: Vec<Word> = mounts.iter().map(|m| self.mount_words(m)).collect();
        out.push_str(&sc2016("  ", std::iter::once(head).chain(&mounts).chain(words)));
        out.push_str("  ");
        out.push_str(head.as_str());
        if !mounts.is_empty() {
            out.push_str(" \\\n");
            for m in &mounts {
                out.push_str("    ");
                out.push_str(m.as_str());
                out.push_str(" \\\n");
            }
            out.push_str("   ");
        }
        out.push_str(" --");
        for word in words {
            out.push(' ');
            out.push_str(word.as_str());
        }
        out.push('\n');
    }

    /// `NN-stageS` or `NN-stageS-ALIAS`: a step's files, in the order the steps run.
    fn step_file_stem(&self, stage: &PlanStage, step: &Step) -> String {
        format!("{:02}-stage{}{}", step.number, stage.index + 1, stage.alias.as_ref().map(|a| format!("-{a}")).unwrap_or_default())
    }

    fn script_name(&self) -> &'static str {
        "build.sh"
    }

    fn stage(&mut self, out: &mut String, stage: &PlanStage) {
        let name = &self.plan.source_name;
        w!(out, "# ---- {} ({name}:{}) ----", stage.label, stage.lines);
        w!(out, "rc_stage_{}() {{", stage.index + 1);
        w!(out, "  # {name}:{}  {}", stage.lines.first, one_line(&stage.from_text));
        // The base's id even when the first Dockerfile names it itself: the size report needs it.
        match &stage.start {
            Start::External(image) => {
                let (image, at) = (sh_quote(image), sh_quote(&format!("{name}:{}", stage.lines.first)));
                cmd!(out, [image, at], "  rc_base {image} {at}");
            }
            Start::Saved(key) => w!(out, "  rc_load {key}"),
            Start::Scratch => w!(out, "  rc_img=''"),
        }
        let first_is_build = matches!(stage.steps.first(), Some(Step { kind: StepKind::Build(_), .. }));
        let needs_image = stage.steps.iter().any(|s| s.kind.is_counted());
        if !first_is_build && needs_image && stage.start != Start::Scratch {
            w!(out, "  rc_onbuild_triggers");
        }
        for step in &stage.steps {
            self.step(out, stage, step);
        }
        w!(out, "  rc_save {}", ImageKey::Stage(stage.index));
        w!(out, "}}");
        w!(out);
    }

    fn step(&mut self, out: &mut String, stage: &PlanStage, step: &Step) {
        let name = &self.plan.source_name;
        let where_ = format!("{name}:{}", step.lines);
        if step.kind.is_counted() {
            w!(out);
            w!(out, "  # {where_}  {}", one_line(&step.summary));
            let (at, what) = (sh_quote(&where_), sh_quote(one_line(&step.summary)));
            cmd!(out, [at, what], "  rc_step {} {at} {what}", step.number);
        }
        // A step that is not a Dockerfile: its code, inline or (`-o DIR`) in a file of its own
        // that the stage function sources, as it names a Dockerfile for a build.
        let mut body = String::new();
        let (kind, what, mounts): (&str, &str, &[Mount]) = match &step.kind {
            StepKind::Build(b) => return self.build(out, stage, step, b),
            StepKind::Run(r) => {
                need_vars(&mut body, &r.mounts, &where_);
                let mut env = String::with_capacity(r.env.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
                for (k, v) in r.env.iter() {
                    env.push_str(k);
                    env.push('=');
                    env.push_str(v);
                    env.push('\n');
                }
                let mut head = Word::code(format!("rc_run {} ", r.key));
                head.push(&sh_quote(&env));
                head.push(&Word::code(" "));
                head.push(&sh_quote(&r.secrets.join(" ")));
                self.command_lines(&mut body, &head, &r.mounts, &r.argv.iter().map(|a| sh_quote(a)).collect::<Vec<_>>());
                let what = "A RUN while MOUNTs are active: `docker run` of the image so far with them, then `docker\n\
                            commit` with the config a Dockerfile RUN leaves (rc_run).";
                ("run", what, &r.mounts)
            }
            StepKind::Export(x) => {
                let wd = match (&x.workdir, x.needs_workdir) {
                    (_, false) => Word::code("/"),
                    (Some(w), true) => sh_quote(w),
                    (None, true) => {
                        w!(body, "  rc_workdir");
                        Word::code("\"$rc_wd\"")
                    }
                };
                need_vars(&mut body, &x.mounts, &where_);
                let sources: Vec<Word> = x.sources.iter().map(|(src, contents)| source_words(src, *contents)).collect();
                let mut head = Word::code(format!("rc_export {} ", x.export));
                head.push(&wd);
                self.command_lines(&mut body, &head, &x.mounts, &sources);
                let what = "EXPORT: `docker cp` out of a container of the image so far (it has the stage's MOUNTs)\n\
                            into this build's export store, which the IMPORTs read (rc_export).";
                ("export", what, &x.mounts)
            }
            StepKind::Attach(a) => {
                need_vars(&mut body, &a.mounts, &where_);
                self.command_lines(&mut body, &Word::code("rc_attach"), &a.mounts, &a.argv.iter().map(|a| sh_quote(a)).collect::<Vec<_>>());
                let what = "ATTACH: with --attach, an interactive container of the image so far, with the stage's\n\
                            MOUNTs; without it, a note that it was skipped (rc_attach).";
                ("attach", what, &a.mounts)
            }
            StepKind::ImportToMount(m) => {
                need_vars(&mut body, &m.mounts, &where_);
                self.import_store(&mut body, step, &m.context);
                let items: Vec<Word> = m.context.sources.iter().map(|src| source_words(&src.path, src.contents)).collect();
                let mut head = Word::code("rc_import_mount \"$rc_store\" ");
                head.push(&sh_quote(&m.dest));
                head.push(&Word::code(format!(" {}", step.lines.first)));
                self.command_lines(&mut body, &head, &m.mounts, &items);
                let what = "IMPORT into a MOUNTed folder: what the EXPORTs it reads left, laid out as rsync -a leaves it\n\
                            there, copied in through a container that has the stage's MOUNTs (rc_import_mount).";
                ("import", what, &m.mounts)
            }
            StepKind::Tag { name: tag, push } => {
                w!(out, "  # {where_}  {}", one_line(&step.summary));
                let tag = sh_quote(tag);
                cmd!(out, [tag], "  rc_tag {} {tag} {}", step.lines.first, u8::from(*push));
                return;
            }
            StepKind::Save(key) => return w!(out, "  rc_save {key}"),
            StepKind::Restore => return w!(out, "  rc_img=$rc_exposed_from"),
        };
        match self.layout {
            Layout::Single => out.push_str(&body),
            Layout::Directory => {
                let file = format!("{}.{kind}.sh", self.step_file_stem(stage, step));
                let mut text = String::new();
                w!(text, "# Generated by rockerc from {where_}, {}: step {} of {}, which runs this file.", stage.label, step.number, self.script_name());
                for line in what.lines() {
                    w!(text, "# {}", line.trim());
                }
                w!(text, "#");
                w!(text, "#   {}", one_line(&step.summary));
                for m in mounts {
                    w!(text, "#   with MOUNT {}", one_line(&m.spec()));
                }
                w!(text, "{READ_WHOLE}");
                w!(text, "{{");
                for line in body.lines() {
                    w!(text, "{}", line.strip_prefix("  ").unwrap_or(line));
                }
                w!(text, "}}");
                self.files.push((file.clone(), text));
                w!(out, "  # shellcheck source={file}");
                let file = sh_quote(&file);
                cmd!(out, [file], "  . \"$rc_plan/\"{file}");
            }
        }
        w!(out, "  rc_done");
    }

    fn build(&mut self, out: &mut String, stage: &PlanStage, step: &Step, b: &BuildStep) {
        let df_path = self.dockerfile(out, stage, step, b);
        let ctx = match &b.context {
            Context::Import(imp) => {
                self.import_store(out, step, imp);
                for (k, t) in imp.tars.iter().enumerate() {
                    let wd = t.workdir.as_deref().map(sh_quote).unwrap_or_else(|| Word::code("''"));
                    let dest = sh_quote(&t.dest);
                    let sources: Vec<Word> = imp.sources[t.first..t.first + t.count].iter().map(|s| source_words(&s.path, s.contents)).collect();
                    out.push_str(&sc2016("  ", [&wd, &dest].into_iter().chain(&sources)));
                    let mut line = format!("  rc_import_tar \"$rc_store\" \"$rc_ctx/{k}.tar\" {dest} {wd} {} --", t.line);
                    for s in &sources {
                        let _ = write!(line, " {s}");
                    }
                    w!(out, "{line}");
                }
                "\"$rc_ctx\"".to_string()
            }
            other => context_word(out, other),
        };
        if b.exposes_only {
            w!(out, "  rc_exposed_from=$rc_img");
        }
        let from = if b.from_current { "\"$rc_img\"" } else { "''" };
        let mut line = format!("  rc_build {df_path} {ctx} {from}");
        let mut words = vec![df_path];
        for (alias, key) in &b.stage_args {
            let key = sh_quote(&key.to_string());
            let _ = write!(line, " --build-arg \"{}=$(rc_saved {key})\"", build_arg_name(alias));
            words.push(key);
        }
        self.build_args(&mut line, &mut words);
        out.push_str(&sc2016("  ", &words));
        w!(out, "{line}");
        w!(out, "  rc_done");
    }

    /// The user's build args (`--build-arg`), for every `docker build` of the plan: onto `line`,
    /// their words into `words` (for shellcheck's directive).
    fn build_args(&self, line: &mut String, words: &mut Vec<Word>) {
        for (k, v) in &self.plan.build_args {
            let arg = sh_quote(&format!("{k}={v}"));
            let _ = write!(line, " --build-arg {arg}");
            words.push(arg);
        }
    }

    /// `rc_fused`: the whole plan as one BuildKit build of the BuildKit lowering's multi-stage
    /// Dockerfile (see `lower::fuse`), which rc_main runs instead of the stages when rc_fuse_ok.
    fn fused(&mut self, out: &mut String, fusion: &Fusion) {
        let name = &self.plan.source_name;
        let where_ = format!("{name}:{}", fusion.lines);
        let n = self.plan.stages.len();
        let what = if n == 1 { "stage 1 in one BuildKit build".to_string() } else { format!("stages 1-{n} in one BuildKit build") };
        w!(out, "# ---- {where_}, under BuildKit: every step above in one build ----");
        w!(out, "rc_fused() {{");
        w!(out, "  rc_steps_planned=$rc_steps rc_steps=1");
        let df = match self.layout {
            Layout::Directory => {
                let file = "fused.Dockerfile".to_string();
                self.files.push((file.clone(), self.fused_dockerfile(fusion)));
                format!("\"$rc_plan/\"{}", sh_quote(&file))
            }
            Layout::Single => {
                // rc_dockerfile_fused is printed with the step Dockerfiles, after rc_main.
                w!(out, "  rc_dockerfile_fused > \"$rc_tmp/Dockerfile.fused\"");
                "\"$rc_tmp/Dockerfile.fused\"".to_string()
            }
        };
        // The base of the stage whose image it builds: the parent in the size report.
        let stage = &self.plan.stages[fusion.stage];
        match &stage.start {
            Start::External(image) => {
                let (image, at) = (sh_quote(image), sh_quote(&format!("{name}:{}", stage.lines.first)));
                cmd!(out, [image, at], "  rc_base {image} {at}");
            }
            _ => w!(out, "  rc_img=''"),
        }
        w!(out, "  # {where_}  {what}");
        let (at, what) = (sh_quote(&where_), sh_quote(&what));
        cmd!(out, [at, what], "  rc_step 1 {at} {what}");
        let mut words: Vec<Word> = Vec::new();
        let ctx = context_word(out, &fusion.context);
        // BuildKit's steps and the Rockerfile instructions they do: the progress lines.
        w!(out, "  : > \"$rc_tmp/vertices\"");
        for v in &fusion.vertices {
            let (stage, at, what) = (sh_quote(&v.stage), sh_quote(&format!("{name}:{}", v.lines)), sh_quote(&v.what));
            cmd!(out, [stage, at, what], "  rc_vertex {stage} {} {at} {what}", v.number);
        }
        words.push(sh_quote(&fusion.target));
        let mut line = format!("  rc_fused_build {df} {ctx} {}", words[0]);
        for (at, tag) in &fusion.tags {
            let tag = sh_quote(tag);
            let _ = write!(line, " {at} {tag}");
            words.push(tag);
        }
        line.push_str(" --");
        self.build_args(&mut line, &mut words);
        out.push_str(&sc2016("  ", &words));
        w!(out, "{line}");
        // A check in the build said it would not give the steps' image.
        w!(out, "  if [ \"$rc_fuse_fell\" = 1 ]; then");
        w!(out, "    rc_unfuse \"$rc_steps_planned\"");
        w!(out, "    return 0");
        w!(out, "  fi");
        w!(out, "  rc_done");
        w!(out, "  rc_save {}", ImageKey::Stage(fusion.stage));
        w!(out, "  rc_fused_ok=1");
        w!(out, "}}");
        w!(out);
    }

    /// The BuildKit backend's Dockerfile, with a header of its own: why it is here.
    fn fused_dockerfile(&self, fusion: &Fusion) -> String {
        let where_ = format!("{}:{}", self.plan.source_name, fusion.lines);
        let directive = if fusion.dockerfile.escape != '\\' { format!("# escape={}\n", fusion.dockerfile.escape) } else { String::new() };
        format!(
            "{directive}# Generated by rockerc from {where_}: the steps of {} as one multi-stage build, which it runs\n\
             # under BuildKit instead of the step Dockerfiles (each IMPORT a COPY --from the image at its EXPORT).\n{}",
            self.script_name(),
            crate::emit::buildkit::dockerfile_body(&fusion.dockerfile)
        )
    }

    /// Replays the EXPORTs an IMPORT reads into a private store.
    fn import_store(&self, out: &mut String, step: &Step, imp: &ImportContext) {
        w!(out, "  rc_store=\"$rc_tmp/store.{}\" rc_ctx=\"$rc_tmp/ctx.{}\"", step.number, step.number);
        w!(out, "  mkdir \"$rc_store\" \"$rc_ctx\"");
        for r in &imp.replay {
            let dest = sh_quote(&r.dest);
            cmd!(out, [dest], "  rc_place \"$rc_store\" {} {dest} {}", r.export, r.nsrc);
        }
    }

    /// A step's Dockerfile as three pieces: the `# escape=` line (if any: a parser directive must
    /// stay the file's first line), rockerc's header, and the rest.
    fn dockerfile_pieces(&self, stage: &PlanStage, step: &Step, b: &BuildStep) -> (String, String, String) {
        let header =
            format!("# Generated by rockerc from {}:{}, {}: step {} of {}.\n", self.plan.source_name, step.lines, stage.label, step.number, self.script_name());
        let directive = self.plan.escape.map(|c| format!("# escape={c}\n")).unwrap_or_default();
        let mut body = String::new();
        b.body_into(&self.plan.source_name, &mut body);
        (directive, header, body)
    }

    /// Makes the Dockerfile available and returns the shell word for its path.
    fn dockerfile(&mut self, out: &mut String, stage: &PlanStage, step: &Step, b: &BuildStep) -> Word {
        match self.layout {
            Layout::Directory => {
                let (directive, header, body) = self.dockerfile_pieces(stage, step, b);
                let file = format!("{}.Dockerfile", self.step_file_stem(stage, step));
                self.files.push((file.clone(), format!("{directive}{header}{body}")));
                let mut path = Word::code("\"$rc_plan/\"");
                path.push(&sh_quote(&file));
                path
            }
            Layout::Single => {
                w!(out, "  rc_dockerfile_{} > \"$rc_tmp/Dockerfile.{}\"", step.number, step.number);
                Word::code(format!("\"$rc_tmp/Dockerfile.{}\"", step.number))
            }
        }
    }

    /// Single layout: a function per build step that prints its Dockerfile, in step order.
    fn dockerfile_functions(&mut self) {
        let plan = self.plan;
        let mut first = true;
        for stage in &plan.stages {
            for step in &stage.steps {
                let StepKind::Build(b) = &step.kind else { continue };
                if first {
                    w!(self.out, "# ---- The generated Dockerfiles, one per build step ----");
                    w!(self.out);
                    first = false;
                }
                let (directive, header, body) = self.dockerfile_pieces(stage, step, b);
                // rockerc's header and the directive are comments: no line of them is a delimiter.
                let delim = heredoc_delimiter("ROCKERC_DOCKERFILE", &body);
                w!(self.out, "rc_dockerfile_{}() {{", step.number);
                w!(self.out, "  cat <<'{delim}'");
                self.out.push_str(&directive);
                self.out.push_str(&header);
                self.out.push_str(&body);
                w!(self.out, "{delim}");
                w!(self.out, "}}");
                w!(self.out);
            }
        }
        if let Some(fusion) = &plan.fusion {
            let text = self.fused_dockerfile(fusion);
            let delim = heredoc_delimiter("ROCKERC_DOCKERFILE", &text);
            w!(self.out, "rc_dockerfile_fused() {{");
            w!(self.out, "  cat <<'{delim}'");
            self.out.push_str(&text);
            w!(self.out, "{delim}");
            w!(self.out, "}}");
            w!(self.out);
        }
    }
}

/// The build context a `docker build` reads, as a shell word: none, the user's, or the subset of
/// it the build reads (`rc_subset` makes it). An IMPORT's context is its step's own
/// (`ShEmitter::build` makes it); the fused build's never is one.
fn context_word(out: &mut String, context: &Context) -> String {
    match context {
        Context::User => "\"$rc_context\"".to_string(),
        Context::Paths(paths) => {
            let paths: Vec<Word> = paths.iter().map(|p| sh_quote(p)).collect();
            out.push_str(&sc2016("  ", &paths));
            w!(out, "  rc_subset{}", paths.iter().map(|p| format!(" {p}")).collect::<String>());
            "\"$rc_ctx\"".to_string()
        }
        Context::Empty | Context::Import(_) => "\"$rc_tmp/empty\"".to_string(),
    }
}

/// `NAME=VALUE`, a setting of the plan.
fn setting(out: &mut String, name: &str, value: &str) {
    let value = sh_quote(value);
    cmd!(out, [value], "{name}={value}");
}

/// `PATH 0|1`: an EXPORT's or IMPORT's source, and whether it names a directory's contents.
fn source_words(path: &str, contents: bool) -> Word {
    let mut words = sh_quote(path);
    words.push(&Word::code(format!(" {}", u8::from(contents))));
    words
}

fn need_vars(out: &mut String, mounts: &[Mount], where_: &str) {
    for m in mounts {
        if let Mount::Bind { src, .. } = m {
            for var in host_path_vars(&src.value) {
                let at = sh_quote(where_);
                cmd!(out, [at], "  rc_need_var {var} {at}");
            }
        }
    }
}

/// A MOUNT source as a shell word that the script expands when it runs: `~` is `$HOME`, `$VAR`
/// and `${VAR}` are the environment's, a relative path is relative to the context. Nothing else
/// in it is special.
pub fn host_path(src: &str) -> Word {
    let mut word = Word::code("");
    let mut rest = src;
    if rest == "~" || rest.starts_with("~/") {
        word.push(&Word::code("\"$HOME\""));
        rest = &rest[1..];
    } else if !rest.starts_with('/') && !rest.starts_with('$') {
        word.push(&Word::code("\"$rc_context\""));
        word.push(&sh_quote_always("/"));
    }
    let mut literal = String::new();
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < rest.len() {
        if bytes[i] == b'$' {
            let (name, len) = var_ref(&rest[i..]);
            if let Some(name) = name {
                if !literal.is_empty() {
                    word.push(&sh_quote_always(&literal));
                    literal.clear();
                }
                word.push(&Word::code(format!("\"${{{name}}}\"")));
                i += len;
                continue;
            }
        }
        let c = rest[i..].chars().next().unwrap_or_default();
        literal.push(c);
        i += c.len_utf8();
    }
    if !literal.is_empty() {
        word.push(&sh_quote_always(&literal));
    }
    if word.as_str().is_empty() {
        word.push(&Word::code("''"));
    }
    word
}

/// `$NAME` or `${NAME}` at the start of `s`: the name and the length of the reference.
fn var_ref(s: &str) -> (Option<&str>, usize) {
    let b = s.as_bytes();
    let is_start = |c: u8| c.is_ascii_alphabetic() || c == b'_';
    let is_name = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    if b.len() > 1 && b[1] == b'{' {
        if let Some(end) = s.find('}') {
            let name = &s[2..end];
            if !name.is_empty() && is_start(name.as_bytes()[0]) && name.bytes().all(is_name) {
                return (Some(name), end + 1);
            }
        }
        return (None, 1);
    }
    if b.len() > 1 && is_start(b[1]) {
        let len = 1 + s[1..].bytes().take_while(|&c| is_name(c)).count();
        return (Some(&s[1..len]), len);
    }
    (None, 1)
}

/// Names of environment variables a MOUNT source reads when the script runs.
pub fn host_path_vars(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = src[i..].find('$') {
        let (name, len) = var_ref(&src[i + off..]);
        if let Some(n) = name {
            out.push(n.to_string());
        }
        i += off + len;
    }
    out
}

/// One line about a MOUNT of a host path, for the script's header and `rockerc build`:
/// `Rockerfile:3  /var/run/docker.sock -> /s  writable, ...`.
pub fn host_mount_line(source_name: &str, m: &HostMount, allowed: &[String]) -> String {
    let mode = if m.read_only { "read-only" } else { "writable" };
    let status = if m.in_context() {
        "in the build context".to_string()
    } else if m.src.starts_with('/') && !m.src.contains('$') && allowed.iter().any(|a| covers(a, &m.src)) {
        "outside the build context: allowed when compiled".to_string()
    } else if m.src.starts_with('/') && !m.src.contains('$') {
        format!("outside the build context: needs --allow-mount {}", sh_quote(&normalize(&m.src)))
    } else {
        "resolved when the script runs; outside the build context it needs --allow-mount".to_string()
    };
    crate::lower::one_line_name(&format!("{source_name}:{}  {} -> {}  {mode}, {status}", m.lines, m.src, m.dest))
}

/// Whether the allowed path `a` is `p` or a directory above it (both absolute, compared as written).
fn covers(a: &str, p: &str) -> bool {
    let a = normalize(a);
    let p = normalize(p);
    a == "/" || p == a || p.starts_with(&format!("{a}/"))
}

fn one_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes at most 100 bytes a call, and fails once it holds `limit` bytes.
    struct Limited {
        taken: Vec<u8>,
        limit: usize,
    }

    impl std::io::Write for Limited {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.taken.len() >= self.limit {
                return Err(std::io::Error::other("no space left"));
            }
            let n = buf.len().min(100).min(self.limit - self.taken.len());
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_script_is_printed_into_a_sink_and_a_failed_write_is_an_error() {
        let text = "FROM busybox\nMOUNT /cache\nRUN echo '$HOME'\nTAG app:1\nFROM app:1\nRUN true\n";
        let file = crate::source::SourceFile::new("Rockerfile", text);
        let output = crate::compile(&file, &crate::Options::default()).unwrap_or_else(|f| panic!("{}", f.render(&file, false))).output;
        let whole = output.script_text();
        assert!(whole.starts_with("#!/bin/sh\n") && whole.ends_with("rc_main \"$@\"\nexit\n}\n"), "{whole}");
        let mut sink = Limited { taken: Vec::new(), limit: usize::MAX };
        output.write_script(&mut sink).unwrap();
        assert_eq!(String::from_utf8(sink.taken).unwrap(), whole, "printed in pieces, the same bytes");
        // The plan hash the script states is the hash of the text printed with placeholders.
        let stated = whole.lines().find_map(|l| l.strip_prefix("rc_plan_hash=")).unwrap();
        assert!(stated.len() == 16 && stated.bytes().all(|b| b.is_ascii_hexdigit()), "{stated}");
        let mut full = Limited { taken: Vec::new(), limit: 1000 };
        assert!(output.write_script(&mut full).is_err(), "a sink that fails makes the printing fail");
        assert_eq!(full.taken, whole.as_bytes()[..1000]);
    }

    #[test]
    fn host_paths_expand_home_vars_and_context_only() {
        assert_eq!(host_path("."), "\"$rc_context\"'/''.'");
        assert_eq!(host_path("~/.npm"), "\"$HOME\"'/.npm'");
        assert_eq!(host_path("/var/cache"), "'/var/cache'");
        assert_eq!(host_path("$GIT_SSH_KEY"), "\"${GIT_SSH_KEY}\"");
        assert_eq!(host_path("${HOME}/x$(id)"), "\"${HOME}\"'/x$(id)'");
        assert_eq!(host_path("a'b"), "\"$rc_context\"'/''a'\\''b'");
        assert_eq!(host_path_vars("$A/${B}/$"), vec!["A", "B"]);
    }
}
