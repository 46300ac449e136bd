//! The BuildKit backend: the Rockerfile as one modern multi-stage Dockerfile, plus a short script
//! for what a Dockerfile cannot say.
//!
//! `lower::buildkit` cuts the Rockerfile into Dockerfile stages and decides every translation
//! (and every compile error); `dockerfile` and `script` here only print its [`MultiStage`].

mod dockerfile;
mod script;

pub use crate::lower::{cksum, volume_name};

use super::{Emitted, Layout};
use crate::lower::{DStage, MultiStage};

/// Where the script lives and what it passes to every build.
#[derive(Clone, Debug)]
pub struct BuildkitOptions<'a> {
    pub layout: Layout,
    /// The build context relative to where the script will live.
    pub context: &'a str,
    /// The build id MOUNT cache ids are named from (`--id`, or the context's absolute path and the
    /// Rockerfile's name, as the sh backend's script computes it by default).
    pub build_id: &'a str,
    pub build_args: &'a [(String, String)],
    /// `--allow-mount` given to rockerc: host paths outside the context the script may bind.
    pub allow_mounts: &'a [String],
    /// What the script checks before it builds.
    pub sources: Option<&'a super::Sources>,
}

/// The Dockerfile's text.
pub fn dockerfile_text(ms: &MultiStage) -> String {
    dockerfile::render(ms)
}

/// The Dockerfile without its parser directive and header comment: its global ARGs and stages.
pub fn dockerfile_body(ms: &MultiStage) -> String {
    dockerfile::body(ms)
}

/// One Dockerfile stage's text.
pub fn stage_text(ms: &MultiStage, stage: &DStage) -> String {
    dockerfile::stage_text(ms, stage)
}

/// The script and the Dockerfile.
pub fn buildkit(ms: &MultiStage, options: &BuildkitOptions) -> Emitted {
    let dockerfile = dockerfile::render(ms);
    let script = script::render(ms, &dockerfile, options.layout, options.context, options.build_args, options.allow_mounts, options.sources);
    let files = match options.layout {
        Layout::Single => Vec::new(),
        Layout::Directory => vec![("Dockerfile".to_string(), dockerfile)],
    };
    Emitted::text(script, files)
}
