//! The sh backend's build plan: each Rockerfile stage as a sequence of steps, each step a
//! `docker build` of a generated Dockerfile or one thing the script does itself (a RUN with
//! MOUNTs, an EXPORT, an IMPORT, a TAG, an ATTACH). [`super::sh`] makes it; `emit::sh` prints it.

use super::Lines;
use crate::analyze::{in_context_path, Mount};
use std::fmt::Write as _;
use std::sync::Arc;

/// The MOUNTs in effect at a step: one list per stretch of a stage between two MOUNTs, shared by
/// every step in it (a stage of a hundred MOUNTed RUNs holds its list once, not a hundred times).
pub type Mounts = Arc<[Mount]>;

/// `NAME=VALUE` per ARG in scope with a value: shared by the MOUNTed RUNs in a row that see the
/// same values.
pub type RunEnv = Arc<[(String, String)]>;

#[derive(Clone, Debug)]
pub struct BuildPlan {
    /// The Rockerfile's name as the user gave it.
    pub source_name: String,
    /// `# escape=` directive for generated Dockerfiles, when the Rockerfile changed it.
    pub escape: Option<char>,
    pub stages: Vec<PlanStage>,
    /// Stages that can build at the same time, level by level.
    pub levels: Vec<Vec<usize>>,
    /// `--build-arg K=V` given to rockerc, passed to every build.
    pub build_args: Vec<(String, String)>,
    /// Images FROM names outside the file, for --pull.
    pub externals: Vec<String>,
    /// Images `COPY --from` names outside the file: what they hold is an input of the build
    /// (the no-op check compares their ids).
    pub copy_from_images: Vec<String>,
    pub step_count: usize,
    /// Every host path a MOUNT names, in file order: what the script may bind.
    pub host_mounts: Vec<HostMount>,
    /// The http(s) URLs the ADDs download, sorted: the no-op check asks each whether it changed.
    pub urls: Vec<String>,
    /// The whole build as one BuildKit build, where that gives the same images (set by
    /// [`super::fuse`]); the script uses it under BuildKit.
    pub fusion: Option<super::Fusion>,
}

/// A MOUNT of a host path (not a volume), as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostMount {
    /// The source as written: `~` and `$VAR` are expanded by the script when it runs.
    pub src: String,
    pub dest: String,
    pub read_only: bool,
    /// The MOUNT's Rockerfile lines.
    pub lines: Lines,
    /// Where the source starts in the rendered text: it identifies this MOUNT's source among
    /// the mounts a step carries.
    pub src_at: usize,
}

impl HostMount {
    /// A source written relative to the build context that stays inside it lexically: it must
    /// stay inside once links are followed, too. Any other source is a host path outside the
    /// context unless it resolves into it.
    pub fn in_context(&self) -> bool {
        in_context_path(&self.src)
    }
}

#[derive(Clone, Debug)]
pub struct PlanStage {
    pub index: usize,
    pub label: String,
    pub alias: Option<String>,
    pub from_text: String,
    /// 1-based first and last Rockerfile line of the stage.
    pub lines: Lines,
    pub deps: Vec<usize>,
    /// Where the stage's first image comes from, when its first step is not a build.
    pub start: Start,
    pub steps: Vec<Step>,
}

/// An image the build keeps for later FROMs and `COPY --from`s: a stage's final image, or the
/// image at a TAG (the TAG's stage and item). The script names it `stage.N` or `tag.S.I`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImageKey {
    Stage(usize),
    Tag { stage: usize, item: usize },
}

impl ImageKey {
    /// The image a FROM or `COPY --from` base names, when this build makes it.
    pub fn of(base: &crate::analyze::Base) -> Option<ImageKey> {
        match base {
            crate::analyze::Base::Stage(s) => Some(ImageKey::Stage(*s)),
            crate::analyze::Base::Tagged { stage, item, .. } => Some(ImageKey::Tag { stage: *stage, item: *item }),
            _ => None,
        }
    }
}

impl std::fmt::Display for ImageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageKey::Stage(s) => write!(f, "stage.{s}"),
            ImageKey::Tag { stage, item } => write!(f, "tag.{stage}.{item}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// `docker image inspect` (and pull) the named image.
    External(String),
    /// The saved image of another stage or TAG point.
    Saved(ImageKey),
    Scratch,
}

#[derive(Clone, Debug)]
pub struct Step {
    /// 1-based, across the whole build.
    pub number: usize,
    pub lines: Lines,
    /// A short description for progress lines: `RUN make`, `COPY, RUN (3 instructions)`.
    pub summary: String,
    pub kind: StepKind,
}

#[derive(Clone, Debug)]
pub enum StepKind {
    Build(BuildStep),
    Run(RunStep),
    Export(ExportStep),
    Attach(AttachStep),
    /// An IMPORT whose destination is inside an active MOUNT: the files go into the mount (the
    /// host directory or the volume), as Rocker's rsync wrote them there; the image is unchanged.
    ImportToMount(ImportToMountStep),
    /// TAG or PUSH: recorded now, applied when the whole build succeeded.
    Tag {
        name: String,
        push: bool,
    },
    /// Keep the current image under a key a later FROM / COPY --from reads.
    Save(ImageKey),
    /// Go back to the image before the last `exposes_only` build (the stage continues from it).
    Restore,
}

impl StepKind {
    /// Steps that run docker and get a progress line.
    pub fn is_counted(&self) -> bool {
        matches!(self, StepKind::Build(_) | StepKind::Run(_) | StepKind::Export(_) | StepKind::Attach(_) | StepKind::ImportToMount(_))
    }
}

#[derive(Clone, Debug)]
pub struct BuildStep {
    /// The generated Dockerfile after its `# escape=` directive (the plan's `escape`, which the
    /// printer writes first, before rockerc's header), line by line.
    pub dockerfile: Vec<DockerfileLine>,
    /// `FROM ${ROCKERC_FROM}`: the build starts from the current image (otherwise the
    /// Dockerfile's FROM names its base itself).
    pub from_current: bool,
    pub context: Context,
    /// Other stages' images this Dockerfile names (`COPY --from`): (build arg, saved key).
    pub stage_args: Vec<(String, ImageKey)>,
    /// The result is only the image exposed at a TAG (ONBUILD triggers added); the stage goes on
    /// from the image before it.
    pub exposes_only: bool,
}

impl BuildStep {
    /// The Dockerfile's lines as text, every one ending in a newline (what follows the directive
    /// and the header); `source` is the Rockerfile's name as the citations show it.
    pub fn body_into(&self, source: &str, out: &mut String) {
        for line in &self.dockerfile {
            match line {
                DockerfileLine::Text(text) => out.push_str(text),
                DockerfileLine::Instruction { lines, text } => {
                    let _ = write!(out, "# {source}:{lines}\n{text}");
                }
                DockerfileLine::Included { cite, text } => {
                    let _ = write!(out, "# {cite}\n{text}");
                }
            }
            out.push('\n');
        }
    }

    /// The whole Dockerfile without rockerc's header: the `# escape=` directive when `escape`
    /// is given, then the lines.
    pub fn text(&self, source: &str, escape: Option<char>) -> String {
        let mut out = escape.map(|c| format!("# escape={c}\n")).unwrap_or_default();
        self.body_into(source, &mut out);
        out
    }
}

/// A line of a generated Dockerfile (several, for an instruction continued over lines). Text of
/// the Rockerfile is shared with the program, not copied into every Dockerfile that repeats it.
#[derive(Clone, Debug)]
pub enum DockerfileLine {
    /// Written as is: rockerc's own instructions and comments (`ARG ROCKERC_FROM`), and
    /// instructions repeated without a citation (the global ARGs, a CMD again after an
    /// ENTRYPOINT, the held-back ONBUILD triggers).
    Text(Arc<str>),
    /// An instruction of the Rockerfile under the comment that says where it is written:
    /// `# Rockerfile:5`.
    Instruction { lines: Lines, text: Arc<str> },
    /// An instruction an INCLUDE brought in, under its citation (`base.inc:2 via Rockerfile:5`).
    Included { cite: Box<str>, text: Arc<str> },
}

#[derive(Clone, Debug)]
pub enum Context {
    /// Nothing from the host: an empty directory.
    Empty,
    /// The user's whole build context.
    User,
    /// Only these paths of the user's context (relative, literal, ancestors first): what the
    /// build's COPY/ADD read, so only those bytes are sent to the daemon.
    Paths(Vec<String>),
    Import(ImportContext),
}

#[derive(Clone, Debug)]
pub struct ImportContext {
    /// EXPORT ids to replay, in file order, each with its destination and source count.
    pub replay: Vec<Replay>,
    pub sources: Vec<ImportSource>,
    /// Per IMPORT into the image: the tar it becomes (`K.tar` in the context, K its index).
    pub tars: Vec<ImportTar>,
}

/// One IMPORT into the image: the tar the script packs with rsync -a's result (worked out when
/// it runs, from the export store and what is at the destination in the image), which `ADD`
/// extracts at `/`: every mode bit kept (setuid, setgid, directory modes), links as links, an
/// existing link or file at a target replaced, owners root.
#[derive(Clone, Debug)]
pub struct ImportTar {
    /// `sources[first..first + count]` are this IMPORT's.
    pub first: usize,
    pub count: usize,
    /// The destination as written (relative ones are relative to WORKDIR).
    pub dest: String,
    /// WORKDIR when the Rockerfile makes it known (a relative destination is looked up in it).
    pub workdir: Option<String>,
    /// The IMPORT's Rockerfile line, for the errors where rsync fails.
    pub line: usize,
}

#[derive(Clone, Debug)]
pub struct Replay {
    pub export: usize,
    pub dest: String,
    pub nsrc: usize,
}

#[derive(Clone, Debug)]
pub struct ImportSource {
    /// Store path, normalised, `""` for the whole store.
    pub path: String,
    pub contents: bool,
    /// Name of the entry in the context's `I/` directory.
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct RunStep {
    pub argv: Vec<String>,
    pub mounts: Mounts,
    /// `NAME=VALUE` per ARG in scope with a value.
    pub env: RunEnv,
    /// Compile-time part of the cache key.
    pub key: String,
    /// `--secret` names the command reads (`${NAME}`); the script passes their values from its
    /// environment, through the wrapper, and never into the image.
    pub secrets: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ExportStep {
    pub export: usize,
    /// The stage's WORKDIR, if known at compile time (relative sources are relative to it).
    pub workdir: Option<String>,
    pub needs_workdir: bool,
    pub mounts: Mounts,
    /// (path as written, contents?) per source.
    pub sources: Vec<(String, bool)>,
}

#[derive(Clone, Debug)]
pub struct ImportToMountStep {
    pub context: ImportContext,
    /// The destination as written (a directory when it ends with `/` or there are several sources).
    pub dest: String,
    pub mounts: Mounts,
}

#[derive(Clone, Debug)]
pub struct AttachStep {
    pub mounts: Mounts,
    pub argv: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct LowerOptions {
    pub build_args: Vec<(String, String)>,
    /// `--secret` names.
    pub secrets: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large Rockerfile's memory is mostly these, one per instruction and one per step
    /// (BENCHMARKS.md, the 1000-stage file): a field that grows them grows every compile's peak.
    #[test]
    fn items_and_steps_stay_small() {
        let (item, step) = (std::mem::size_of::<crate::analyze::Item>(), std::mem::size_of::<Step>());
        eprintln!("Item {item} bytes, Step {step} bytes, DockerfileLine {} bytes", std::mem::size_of::<DockerfileLine>());
        assert!(item <= 200, "analyze::Item is {item} bytes");
        assert!(step <= 176, "lower::Step is {step} bytes");
    }
}
