//! Fusion: the sh backend's steps as ONE BuildKit build, where the Rockerfile allows it.
//!
//! Under BuildKit every `docker build` is a session of its own (hundreds of milliseconds), and an
//! EXPORT/IMPORT pair costs a `docker create` + `docker cp` out of one image, probes of the
//! other, and a second build. A multi-stage Dockerfile says the same in one build: each stage a
//! Dockerfile stage, each IMPORT a `COPY --from` the image at its EXPORT. The BuildKit lowering
//! ([`super::buildkit`]) already writes that Dockerfile; this module decides when the sh script
//! may build with it instead of step by step, and what it must do around the build.
//!
//! Only where the result is the same image, config and files, as the steps build: nothing that
//! needs the script between two instructions (a MOUNT, an ATTACH, a secret), no ONBUILD (the sh
//! backend holds triggers back differently), no IMPORT that the Dockerfile can only say with an
//! assumption checked at build time or a renaming stage, or with several COPYs (the steps' IMPORT
//! is one layer, an ADD of one tar), and one image to build: a Dockerfile
//! build exports one image, and a second build of a shared stage under `--no-cache` would run it
//! again (a TAG further down would no longer be a child of the first). Everything else builds
//! step by step, as under the legacy builder. The script fuses only under BuildKit; a base image
//! with ONBUILD triggers (seen when it runs) also sends it the step-by-step way.

use super::buildkit::{How, MultiStage, Role, TargetKind};
use super::plan::{BuildPlan, Context, StepKind};
use super::Lines;
use crate::analyze::{Op, Program};

/// One BuildKit build for the whole Rockerfile.
#[derive(Clone, Debug)]
pub struct Fusion {
    pub dockerfile: MultiStage,
    /// The Dockerfile stage to build (`--target`).
    pub target: String,
    /// The Rockerfile stage (0-based) whose final image the target is.
    pub stage: usize,
    /// The names the TAGs give that image, with each TAG's line.
    pub tags: Vec<(usize, String)>,
    /// What the build reads of the context: the union of what the steps read.
    pub context: Context,
    /// The Rockerfile lines the build covers (all its stages).
    pub lines: Lines,
}

/// The fused build of `plan`, when its steps can be one build (see the module documentation);
/// `ms` is the BuildKit lowering of the same program, if it succeeded.
pub fn fuse(program: &Program, plan: &BuildPlan, ms: Option<MultiStage>, secrets: &[String]) -> Option<Fusion> {
    let ms = ms?;
    if !secrets.is_empty() || !ms.secrets.is_empty() || !ms.env_secrets.is_empty() || !ms.context_binds.is_empty() {
        return None;
    }
    if program.stages.iter().flat_map(|s| &s.items).any(|item| matches!(item.op, Op::Mount(_) | Op::Attach(_) | Op::Push(_)))
        || program.stages.iter().flat_map(|s| &s.items).any(|item| item.keyword == crate::syntax::Keyword::Onbuild)
    {
        return None;
    }
    if ms.unfusable.is_some() || ms.stages.iter().any(|s| !matches!(s.role, Role::Part { .. } | Role::FuseCheck | Role::Rename)) {
        return None;
    }
    // One layer per IMPORT, as the steps' ADD of its tar makes: an IMPORT of several sources
    // would be a COPY (a layer) each.
    if ms.stages.iter().flat_map(|s| &s.body).any(|l| l.how == How::Import && l.text.lines().count() > 1) {
        return None;
    }
    // One image: every target names the same Dockerfile stage, the last part of a Rockerfile stage.
    let first = ms.targets.first()?;
    let target = first.stage.clone();
    let mut tags = Vec::new();
    for t in &ms.targets {
        if t.stage != target || t.image.is_some() {
            return None;
        }
        match &t.kind {
            TargetKind::Build => {}
            TargetKind::Tag { name, push: false } => tags.push((t.lines.first, name.clone())),
            _ => return None,
        }
    }
    let stage = ms.stages.iter().find_map(|s| match s.role {
        Role::Part { stage, last: true, .. } if s.name == target => Some(stage),
        _ => None,
    })?;
    // The script's final image is the last stage's (rc_final): the build must make that one.
    if stage + 1 != plan.stages.len() {
        return None;
    }
    let mut context: Option<Context> = None;
    for step in plan.stages.iter().flat_map(|s| &s.steps) {
        match &step.kind {
            StepKind::Build(b) if !b.exposes_only => {
                context = Some(match (context.take(), &b.context) {
                    (c, Context::Empty | Context::Import(_)) => c.unwrap_or(Context::Empty),
                    (Some(Context::User), _) | (_, Context::User) => Context::User,
                    (Some(Context::Paths(mut a)), Context::Paths(b)) => {
                        a.extend(b.iter().cloned());
                        Context::Paths(super::sh::sorted_paths(a))
                    }
                    (_, Context::Paths(b)) => Context::Paths(b.clone()),
                });
            }
            StepKind::Export(x) if x.mounts.is_empty() => {}
            StepKind::Tag { push: false, .. } | StepKind::Save(_) => {}
            _ => return None,
        }
    }
    let lines = Lines { first: plan.stages.first()?.lines.first, last: plan.stages.iter().map(|s| s.lines.last).max()? };
    Some(Fusion { dockerfile: ms, target, stage, tags, context: context.unwrap_or(Context::Empty), lines })
}
