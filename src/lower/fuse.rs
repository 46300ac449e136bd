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

use super::buildkit::{first_word, summarize, summarize_text, How, MultiStage, Role, TargetKind};
use super::plan::{BuildPlan, Context, StepKind};
use super::{lines_of, Lines};
use crate::analyze::{Op, Program};
use crate::source::{SourceFile, SourceMap};
use std::collections::{BTreeMap, BTreeSet};

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
    /// What the script shows as BuildKit finishes each step of the build (its progress: one
    /// build, but a line per Rockerfile instruction that does work, as the steps show).
    pub vertices: Vec<Vertex>,
}

/// A step of the fused build as BuildKit names it (`[build 3/4]`), and the Rockerfile
/// instruction it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vertex {
    /// The Dockerfile stage (BuildKit's name for its steps).
    pub stage: String,
    /// BuildKit's count in that stage, from 1.
    pub number: usize,
    pub lines: Lines,
    pub what: String,
}

/// Each Rockerfile instruction's summary by its lines (`None` where several share the lines:
/// an INCLUDE's).
pub fn summaries(program: &Program, file: &SourceFile, map: &SourceMap) -> BTreeMap<(usize, usize), Option<String>> {
    let mut out: BTreeMap<(usize, usize), Option<String>> = BTreeMap::new();
    for item in program.stages.iter().flat_map(|s| &s.items) {
        let l = lines_of(file, map, item.span);
        out.entry((l.first, l.last)).and_modify(|e| *e = None).or_insert_with(|| Some(summarize(item)));
    }
    out
}

/// BuildKit's steps of `ms`, counted as BuildKit counts them in each stage: the FROM of an image
/// (not of another stage, nor scratch), and each RUN, COPY, ADD and WORKDIR.
fn vertices(ms: &MultiStage, summaries: &BTreeMap<(usize, usize), Option<String>>) -> Vec<Vertex> {
    let mut out = Vec::new();
    let mut stages: BTreeSet<&str> = BTreeSet::new();
    for s in &ms.stages {
        let mut n = 0;
        let base = s.from.split_whitespace().skip(1).find(|w| !w.starts_with("--")).unwrap_or("");
        if !stages.contains(base) && !base.eq_ignore_ascii_case("scratch") {
            n += 1;
            if let Some(lines) = s.from_lines {
                out.push(Vertex { stage: s.name.clone(), number: n, lines, what: s.from.clone() });
            }
        }
        for (li, l) in s.body.iter().enumerate() {
            let word = first_word(&l.text);
            if !matches!(word.as_str(), "RUN" | "COPY" | "ADD" | "WORKDIR") {
                continue;
            }
            n += 1;
            let shown = match (&s.shows, l.lines) {
                (Some((lines, what)), _) => Some((*lines, what.clone())),
                (None, Some(lines)) => {
                    let what = summaries.get(&(lines.first, lines.last)).cloned().flatten();
                    Some((lines, what.unwrap_or_else(|| summarize_text(&l.text))))
                }
                (None, None) => None,
            };
            if let Some((lines, what)) = shown {
                out.push(Vertex { stage: s.name.clone(), number: n, lines, what });
            }
            // A RUN that runs an EXPORT's check shows that EXPORT too, after itself.
            for (stage, line, lines, what) in &ms.hosted_shows {
                if *stage == s.name && *line == li {
                    out.push(Vertex { stage: s.name.clone(), number: n, lines: *lines, what: what.clone() });
                }
            }
        }
        stages.insert(&s.name);
    }
    out
}

/// The fused build of `plan`, when its steps can be one build (see the module documentation);
/// `ms` is the BuildKit lowering of the same program, if it succeeded.
/// Whether the program may be one build at all, before the BuildKit lowering is asked (it costs
/// as much as the plan: a Rockerfile with a MOUNT, of which there are many, never pays for it).
pub fn may_fuse(program: &Program, secrets: &[String]) -> bool {
    secrets.is_empty()
        && !program
            .stages
            .iter()
            .flat_map(|s| &s.items)
            .any(|item| matches!(item.op, Op::Mount(_) | Op::Attach(_) | Op::Push(_)) || item.keyword == crate::syntax::Keyword::Onbuild)
}

pub fn fuse(
    program: &Program,
    plan: &BuildPlan,
    ms: Option<MultiStage>,
    secrets: &[String],
    summaries: &BTreeMap<(usize, usize), Option<String>>,
) -> Option<Fusion> {
    if !may_fuse(program, secrets) {
        return None;
    }
    let ms = ms?;
    if !ms.secrets.is_empty() || !ms.env_secrets.is_empty() || !ms.context_binds.is_empty() {
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
    let vertices = vertices(&ms, summaries);
    Some(Fusion { dockerfile: ms, target, stage, tags, context: context.unwrap_or(Context::Empty), lines, vertices })
}
