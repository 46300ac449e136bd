//! Program + stage graph -> a [`MultiStage`]: the Rockerfile as the stages of one multi-stage
//! Dockerfile, and the targets the script builds.
//!
//! A Rockerfile stage becomes one Dockerfile stage, cut into parts wherever another instruction
//! needs the image *at that point*: an EXPORT (a later IMPORT copies from the image as it was
//! there), a TAG or PUSH, an ATTACH. Each part continues from the one before (`FROM part AS
//! next`), so it must say again what Docker keeps per stage: ARGs are declared again, an
//! ENTRYPOINT is followed by the stage's CMD again (Docker clears CMD at ENTRYPOINT unless this
//! stage set it), and ONBUILD triggers are held back to the stage's end (Docker fires a stage's
//! triggers in every stage built FROM it, parts included).
//!
//! Docker 20.10's built-in BuildKit frontend (no `# syntax=` image can be pulled without a
//! registry) has `RUN --mount=type=cache|bind|secret`, `COPY --from` and `--chown`, and nothing
//! newer: no named contexts, no variables in mount options, no heredocs. The design stays inside
//! it; every Rocker feature it cannot say is a compile error here that names the sh backend.

use super::cksum::volume_name;
use super::store::{self, ExportInfo, ImportInfo, Kind, StoreCopy};
use super::{json_string, lines_of, one_line_name, Lines};
use crate::analyze::{normalize, Base, Command, DockerOp, Item, Mount, Op, Program, Stage, Transfer};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::graph::{EdgeKind, StageGraph};
use crate::shell::sh_quote;
use crate::source::{SourceFile, SourceMap, Span};
use crate::syntax::Keyword;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The Rockerfile as one multi-stage Dockerfile plus what the script does around it.
#[derive(Clone, Debug)]
pub struct MultiStage {
    /// The Rockerfile's name, on one line.
    pub source_name: String,
    pub escape: char,
    /// `ARG`s before the first FROM, as written.
    pub global_args: Vec<DLine>,
    /// In Dockerfile order: every stage only names stages above it.
    pub stages: Vec<DStage>,
    /// What the script builds, in the order of the Rockerfile.
    pub targets: Vec<Target>,
    /// Host files MOUNTed from outside the context: passed to the build as secrets.
    pub secrets: Vec<Secret>,
    /// The `--secret` names some RUN reads, sorted: the script passes each from its environment.
    pub env_secrets: Vec<String>,
    /// MOUNT sources inside the context (relative paths) and the first MOUNT line naming each,
    /// which the script creates when missing, as the sh backend does.
    pub context_binds: Vec<(String, String)>,
    /// The build id the cache mount ids are named from.
    pub build_id: String,
    /// For each IMPORT (stage, item): the EXPORTs its COPYs read from.
    pub import_exports: BTreeMap<(usize, usize), Vec<usize>>,
    /// Planned for the sh script's fused build ([`plan_fused`]): why it cannot be, if so.
    pub unfusable: Option<String>,
    /// In the fused build: (stage, body line) of each [`How::Hosted`] RUN, and the EXPORT whose
    /// check it runs (lines, summary), which the script shows as done when the RUN is.
    pub hosted_shows: Vec<(String, usize, Lines, String)>,
}

#[derive(Clone, Debug)]
pub struct DStage {
    pub name: String,
    /// The FROM line without `AS name`.
    pub from: String,
    /// Rockerfile lines of the FROM, for a stage that starts with the Rockerfile's FROM.
    pub from_lines: Option<Lines>,
    pub role: Role,
    /// Comment lines above the stage: what it is and why it exists.
    pub about: Vec<String>,
    pub body: Vec<DLine>,
    /// What the sh script's fused build shows when this stage's work is done, where it is not
    /// the stage's own lines: a check of the image at an EXPORT shows that EXPORT.
    pub shows: Option<(Lines, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// A part of Rockerfile stage `stage` (0-based); `last` is the stage's final image.
    Part { stage: usize, first: bool, last: bool },
    /// Checks the kind of an EXPORTed path before a COPY relies on it.
    Check,
    /// In the sh script's fused build: checks that a COPY --from gives what the steps' IMPORT
    /// (rsync's result, as a tar ADDed) gives, and fails the build with a line the script reads
    /// (`rockerc-fuse-check: ...`) when it does not; the script then builds step by step.
    FuseCheck,
    /// Gives an EXPORTed file the name the export store gave it.
    Rename,
    /// Holds what an IMPORT writes into a host directory, for `--output`.
    Output,
    /// The image at a TAG, with the stage's ONBUILD triggers.
    Tagged,
}

/// One instruction (or a group of them) in the Dockerfile.
#[derive(Clone, Debug)]
pub struct DLine {
    /// The Rockerfile lines it comes from; `None` for what rockerc adds itself.
    pub lines: Option<Lines>,
    /// Comment lines above it (without `# `).
    pub note: Vec<String>,
    /// The instruction text; several lines for a group (an IMPORT's COPYs).
    pub text: String,
    pub how: How,
    /// Why it has this form, for `--explain` (not in the Dockerfile).
    pub why: Vec<String>,
}

/// Which Docker mechanism carries a line, for `--explain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// As written: Docker builds it, and its layer cache keys it.
    Plain,
    /// A RUN with the stage's MOUNTs as `--mount` flags.
    Mounted,
    /// An IMPORT as COPY --from the image at the EXPORT.
    Import,
    /// Said again because a new Dockerfile stage starts (ARG, CMD).
    Repeated,
    /// ONBUILD triggers held back to where an image leaves the stage.
    Onbuild,
    /// A check rockerc adds (the kind of an EXPORTed path).
    Check,
    /// An EXPORT no IMPORT reads: nothing to do.
    Unused,
    /// In the sh script's fused build: a RUN whose container also runs the checks of the IMPORTs
    /// that read the EXPORT after it (see [`plan_fused`]).
    Hosted,
}

#[derive(Clone, Debug)]
pub struct Target {
    /// The Dockerfile stage (`--target`).
    pub stage: String,
    /// Set when the target is an image from outside the Dockerfile, as it is: a TAG or ATTACH
    /// right after `FROM image` names the base image itself (in Rocker too), which BuildKit
    /// would export again with a default PATH added to its config.
    pub image: Option<String>,
    pub lines: Lines,
    /// The Rockerfile instruction, on one line.
    pub what: String,
    pub kind: TargetKind,
}

#[derive(Clone, Debug)]
pub enum TargetKind {
    /// A stage's final image that no other target builds: built so that all of it runs.
    Build,
    Tag {
        name: String,
        push: bool,
    },
    Attach {
        mounts: Vec<Mount>,
        argv: Vec<String>,
    },
    /// `docker build --output type=local,dest=HOST` of a stage holding what an IMPORT wrote into a
    /// host MOUNT (`host` as written in the MOUNT).
    Output {
        host: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secret {
    pub id: String,
    /// The MOUNT source as written (`$SSH_KEY_FILE`, `~/.ssh/id_rsa`, `/etc/key`).
    pub src: String,
    pub lines: Lines,
}

/// Program + stage graph -> the multi-stage plan; `env_secrets` are the `--secret` names a RUN may read.
pub fn plan(
    program: &Program,
    graph: &StageGraph,
    file: &SourceFile,
    map: &SourceMap,
    build_id: &str,
    env_secrets: &[String],
) -> Result<MultiStage, Diagnostics> {
    plan_with(program, graph, file, map, build_id, env_secrets, false)
}

/// The plan the sh script builds in one BuildKit build (`lower::fuse`): each IMPORT's COPYs read
/// through a [`Role::FuseCheck`] stage, which looks at the EXPORTed paths and at the image just
/// before the IMPORT (a part ends there) and fails where COPY --from would not give what the
/// steps give: a symbolic link (COPY follows it), a directory whose mode is not 755 (COPY gives
/// the directory it copies into 755, or leaves an existing one as it was; the steps' tar gives
/// it the EXPORTed mode), hard links (COPY keeps them, the steps' tar does not), special files
/// (COPY leaves them out), a destination that is something else than what arrives or passes
/// to a symbolic link (links on the way there are followed, by both), a file with extended
/// attributes (COPY keeps them all, `security.capability` and `user.*` alike; the steps drop
/// them as Rocker's rsync -a did): seen with GNU tar's xattrs, else only capabilities with the
/// image's `getcap`; an image with neither (busybox's, Alpine's) cannot show them, and an
/// executable file EXPORTed from it falls back (a capability there makes it another program;
/// an attribute on a non-executable file there goes unseen). A build whose check fails is built
/// again step by step.
///
/// A check costs a container, and under Docker 20.10 each RUN's container costs some 200 ms of
/// network setup before it starts: on the path from the builder's last RUN to the COPY, that was
/// most of a small build's time. Where it can, the check runs in the container of the RUN that
/// made the EXPORTed files, after the RUN's own command ([`How::Hosted`]): the RUN's shell-form
/// command runs first, as `/bin/sh -c COMMAND` as before (a child of the check's shell, so its
/// `$$` is not 1), then the check, which writes nothing; the image before the IMPORT is mounted
/// under /dev, a tmpfs no layer keeps. Only where that changes nothing else: the RUN is the last
/// change of the files before the EXPORT, in shell form under the default SHELL and no USER (the
/// script does not fuse when a FROM image sets SHELL; the check fails unless it runs as root),
/// its stage is not one the final image is built FROM (its history would show the check). The
/// check does not see the image just before the IMPORT but the one its part of the stage
/// started FROM (an image, or a stage of FROM images, metadata and WORKDIRs): a mount's contents
/// key the RUN's cache, and the RUN must neither wait for another stage's work nor run again
/// when a file the importing stage COPYs changes. Where the part's COPY, ADD and WORKDIR wrote
/// (known when compiling: absolute, no variable, no COPY below another's) the check finds
/// apart from where the IMPORT writes, reached through no link (`apart`). Elsewhere a check
/// stage of its own does it, against the image just before the IMPORT.
pub fn plan_fused(program: &Program, graph: &StageGraph, file: &SourceFile, map: &SourceMap, env_secrets: &[String]) -> Result<MultiStage, Diagnostics> {
    plan_with(program, graph, file, map, "", env_secrets, true)
}

fn plan_with(
    program: &Program,
    graph: &StageGraph,
    file: &SourceFile,
    map: &SourceMap,
    build_id: &str,
    env_secrets: &[String],
    fused: bool,
) -> Result<MultiStage, Diagnostics> {
    let imports: Vec<ImportInfo> = program
        .stages
        .iter()
        .flat_map(|s| s.items.iter().enumerate().map(move |(i, item)| (s.index, i, item)))
        .filter_map(|(s, i, item)| match &item.op {
            Op::Import(t) => Some(ImportInfo { at: (s, i), transfer: t }),
            _ => None,
        })
        .collect();
    let used_exports: BTreeSet<usize> = graph.imports.values().flatten().copied().collect();
    let export_ids: BTreeMap<(usize, usize), usize> = graph.exports.iter().enumerate().map(|(id, e)| ((e.stage, e.item), id)).collect();
    let mut names = Names::default();
    for s in &program.stages {
        if let Some(a) = &s.from.alias {
            names.taken.insert(a.value.clone());
        }
    }
    let mut p = Planner {
        program,
        file,
        map,
        build_id,
        source_name: one_line_name(&file.name),
        names,
        store: store::Store::new(&imports),
        used_exports,
        export_ids,
        export_points: BTreeMap::new(),
        export_items: BTreeMap::new(),
        stage_images: BTreeMap::new(),
        tag_images: BTreeMap::new(),
        referenced: BTreeSet::new(),
        stage_ends: Vec::new(),
        states: BTreeMap::new(),
        stages: Vec::new(),
        targets: Vec::new(),
        secrets: Vec::new(),
        env_secrets,
        used_env_secrets: BTreeSet::new(),
        context_binds: Vec::new(),
        checks: BTreeMap::new(),
        import_exports: BTreeMap::new(),
        errors: Vec::new(),
        fused,
        unfusable: None,
        final_chain: final_chain(program),
        run_hosts: BTreeMap::new(),
        hosted: BTreeMap::new(),
        hosted_shows: Vec::new(),
        import_wrote: None,
        views: BTreeMap::new(),
    };
    p.host_read_after_write(graph);
    for stage in &program.stages {
        p.stage(stage);
    }
    // A stage's end that nothing builds on and nothing TAGs is built on its own, so that all of it
    // runs (the sh backend builds every stage).
    for (at, name, lines, label) in std::mem::take(&mut p.stage_ends).into_iter().rev() {
        if !p.referenced.contains(&name) && !p.targets.iter().any(|t| t.stage == name) {
            p.targets.insert(at, Target { stage: name, image: None, lines, what: format!("the end of {label}"), kind: TargetKind::Build });
        }
    }
    if !p.errors.is_empty() {
        return Err(Diagnostics(p.errors));
    }
    Ok(MultiStage {
        source_name: p.source_name,
        escape: program.escape,
        global_args: program
            .global_args
            .iter()
            .map(|a| DLine { lines: Some(lines_of(file, map, a.span)), note: Vec::new(), text: a.text.to_string(), how: How::Plain, why: Vec::new() })
            .collect(),
        stages: p.stages,
        targets: p.targets,
        secrets: p.secrets,
        env_secrets: p.used_env_secrets.into_iter().collect(),
        context_binds: p.context_binds,
        build_id: build_id.to_string(),
        import_exports: p.import_exports,
        unfusable: p.unfusable,
        hosted_shows: p.hosted_shows,
    })
}

/// Stage names: the Rockerfile's aliases are kept, rockerc's own never collide with them.
#[derive(Default)]
struct Names {
    taken: BTreeSet<String>,
}

impl Names {
    fn fresh(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_string();
        let mut n = 1;
        while self.taken.contains(&name) {
            n += 1;
            name = format!("{wanted}-{n}");
        }
        self.taken.insert(name.clone());
        name
    }
}

/// What the Rockerfile makes known at compile time about a stage's image.
#[derive(Clone, Debug, Default)]
struct State {
    /// Absolute WORKDIR, when known (relative EXPORT sources need it: COPY --from reads from `/`).
    workdir: Option<String>,
    shell: Option<Vec<String>>,
    /// A USER other than root was set (by the Rockerfile: a FROM image's is seen by the script).
    user: bool,
}

struct Planner<'a> {
    program: &'a Program,
    file: &'a SourceFile,
    map: &'a SourceMap,
    build_id: &'a str,
    source_name: String,
    names: Names,
    used_exports: BTreeSet<usize>,
    export_ids: BTreeMap<(usize, usize), usize>,
    /// The export store as the EXPORTs planned so far (in file order) leave it.
    store: store::Store,
    /// Export id -> the Dockerfile stage holding the image at that EXPORT.
    export_points: BTreeMap<usize, String>,
    /// Export id -> the EXPORT's lines and its summary (what a fused build's check shows).
    export_items: BTreeMap<usize, (Lines, String)>,
    /// Rockerfile stage -> its final Dockerfile stage.
    stage_images: BTreeMap<usize, String>,
    /// (stage, item) of a TAG/PUSH -> the Dockerfile stage with that image.
    tag_images: BTreeMap<(usize, usize), String>,
    /// Dockerfile stages some FROM or COPY --from names: building the one that names them builds
    /// them.
    referenced: BTreeSet<String>,
    /// Per Rockerfile stage: how many targets there were at its end, its final name, its lines.
    stage_ends: Vec<(usize, String, Lines, String)>,
    states: BTreeMap<String, State>,
    stages: Vec<DStage>,
    targets: Vec<Target>,
    secrets: Vec<Secret>,
    /// `--secret` names, and those some RUN reads.
    env_secrets: &'a [String],
    used_env_secrets: BTreeSet<String>,
    context_binds: Vec<(String, String)>,
    /// (stage to check, path, kind) -> the check stage's name.
    checks: BTreeMap<(String, String, Kind), String>,
    import_exports: BTreeMap<(usize, usize), Vec<usize>>,
    errors: Vec<Diagnostic>,
    /// Planning for the fused build: every IMPORT checked (see [`plan_fused`]).
    fused: bool,
    unfusable: Option<String>,
    /// Rockerfile stages the final image is built FROM (itself included): a RUN there cannot
    /// host a check (the image's history would show it).
    final_chain: BTreeSet<usize>,
    /// Dockerfile stage (a part that ended) -> a RUN in it that may host checks.
    run_hosts: BTreeMap<String, RunHost>,
    /// Dockerfile stage -> the checks its hosting RUN runs: (image mounted, `one ...` call).
    hosted: BTreeMap<String, Vec<(String, String)>>,
    hosted_shows: Vec<(String, usize, Lines, String)>,
    /// Where the fused plan's last IMPORT writes (absolute), for `Walk::writes`.
    import_wrote: Option<Vec<(String, Wrote)>>,
    /// Dockerfile stage (a part that ended) -> the FROM line of the first part of its chain whose
    /// image a hosted check may look at, and where the parts since wrote (`Walk::writes`).
    views: BTreeMap<String, (String, Vec<(String, Wrote)>)>,
}

/// How an instruction before an IMPORT wrote at its path (see `Walk::writes`); the number is
/// the check's (`apart`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wrote {
    /// A WORKDIR: the directories on the way, as COPY makes missing ones.
    Dirs = 0,
    /// A COPY or ADD: anything below the path, links too, written through a link at the path.
    Below = 1,
    /// An IMPORT's COPY from a scratch stage into a directory: anything below the path, links
    /// too, replacing a link at the path.
    Replacing = 2,
}

/// The image just before an IMPORT of the fused build: its Dockerfile stage, and the FROM line
/// of its last part and what that part wrote (`Walk::writes`), which a hosted check looks at.
struct Before<'a> {
    name: &'a str,
    from: &'a str,
    writes: Option<&'a [(String, Wrote)]>,
}

/// A RUN that may run the checks of a fused build's IMPORTs (see [`plan_fused`]).
#[derive(Clone, Debug)]
struct RunHost {
    /// Its line in the part's body.
    line: usize,
    /// Its shell-form command, as `/bin/sh -c` gets it.
    command: String,
}

/// A Rockerfile stage being cut into parts.
struct Walk<'a> {
    stage: &'a Stage,
    base: String,
    /// The part being written; its name is given when it ends.
    from: String,
    from_lines: Option<Lines>,
    body: Vec<DLine>,
    has_body: bool,
    first: bool,
    /// The last part that ended, by name.
    prev: Option<String>,
    /// Helper stages the current part's lines need: written above it.
    helpers: Vec<DStage>,
    finished: bool,
    state: State,
    args: Vec<String>,
    cmd_text: Option<String>,
    cmd_in_part: bool,
    onbuild: Vec<String>,
    mounts: Vec<Mount>,
    /// MOUNTs already explained in a comment (once per stage is enough).
    explained: BTreeSet<String>,
    /// The RUN of the current part that made the files as they are now, if it may host checks.
    run_host: Option<RunHost>,
    /// Where the current part's instructions wrote (absolute; `true` for a COPY or ADD, which may
    /// leave symbolic links there, `false` for a WORKDIR's directories), while that is all they
    /// did and is known: a hosted check sees the part's FROM image and that list.
    writes: Option<Vec<(String, Wrote)>>,
}

impl<'a> Planner<'a> {
    fn lines(&self, span: Span) -> Lines {
        lines_of(self.file, self.map, span)
    }

    fn place(&self, span: Span) -> String {
        format!("{}:{}", self.source_name, self.lines(span))
    }

    /// A BuildKit build reads the context once, when it starts: a stage cannot see what another
    /// wrote into it through a MOUNT.
    fn host_read_after_write(&mut self, graph: &StageGraph) {
        for stage in &self.program.stages {
            for (writer, edge) in graph.edges_into(stage.index) {
                if edge.kind == EdgeKind::HostPath {
                    let d = Diagnostic::error(
                        Code::BuildkitHostWrite,
                        format!("{} reads the build context after {} writes into it", stage.label(), self.program.stages[writer].label()),
                    )
                    .at(edge.span, "reads the context (COPY, ADD or a MOUNT)")
                    .note("the BuildKit backend sends the context to BuildKit once, when the build starts; the sh backend builds the stages one after another")
                    .help("build this Rockerfile with the sh backend (`--emit sh`, the default)");
                    self.errors.push(d);
                }
            }
        }
    }

    fn stage(&mut self, stage: &'a Stage) {
        let base_name = stage.from.alias.as_ref().map(|a| a.value.clone()).unwrap_or_else(|| format!("stage-{}", stage.index + 1));
        let base = if stage.from.alias.is_some() { base_name } else { self.names.fresh(&base_name) };
        let (from, state) = self.first_from(stage);
        let mut w = Walk {
            stage,
            base,
            from,
            from_lines: Some(self.lines(stage.from.span)),
            body: Vec::new(),
            has_body: false,
            first: true,
            prev: None,
            helpers: Vec::new(),
            finished: false,
            state,
            args: Vec::new(),
            cmd_text: None,
            cmd_in_part: false,
            onbuild: Vec::new(),
            mounts: Vec::new(),
            explained: BTreeSet::new(),
            run_host: None,
            writes: Some(Vec::new()),
        };
        for (i, item) in stage.items.iter().enumerate() {
            let last = !stage.items[i + 1..].iter().any(changes_image);
            self.item(&mut w, i, item, last);
        }
        if !w.finished {
            let name = w.base.clone();
            let onbuild = std::mem::take(&mut w.onbuild);
            for o in onbuild {
                w.body.push(DLine { lines: None, note: Vec::new(), text: o, how: How::Onbuild, why: Vec::new() });
            }
            let about = vec![format!("{}: {}, its final image", stage.label(), describe_stage(stage))];
            self.end_part(&mut w, name, true, about);
        }
        self.stage_images.insert(stage.index, w.base.clone());
        self.states.insert(w.base.clone(), w.state.clone());
        // A stage that changes nothing (FROM, MOUNT, TAG...) has nothing to run.
        if stage.items.iter().any(changes_image) {
            let lines = self.lines(stage.span);
            self.stage_ends.push((self.targets.len(), w.base.clone(), lines, stage.label()));
        }
    }

    /// A Dockerfile stage another one names.
    fn named(&mut self, name: &str) -> String {
        self.referenced.insert(name.to_string());
        name.to_string()
    }

    /// The first part's FROM line, and what is known of the image it starts from.
    fn first_from(&mut self, stage: &Stage) -> (String, State) {
        let mut from = String::from("FROM");
        for f in &stage.from.flags {
            from.push(' ');
            from.push_str(f);
        }
        let (image, state) = match &stage.from.base {
            Base::External(_) => (stage.from.image.value.clone(), State::default()),
            Base::Scratch => ("scratch".to_string(), State { workdir: Some("/".into()), shell: None, user: false }),
            Base::Stage(s) => {
                let name = self.named(&self.stage_images[s].clone());
                let state = self.states.get(&name).cloned().unwrap_or_default();
                (name, state)
            }
            Base::Tagged { stage, item, .. } => {
                let name = self.named(&self.tag_images[&(*stage, *item)].clone());
                let state = self.states.get(&name).cloned().unwrap_or_default();
                (name, state)
            }
        };
        from.push(' ');
        from.push_str(&image);
        (from, state)
    }

    /// Ends the current part under `name` and starts the next one FROM it.
    fn end_part(&mut self, w: &mut Walk, name: String, last: bool, about: Vec<String>) {
        if let Some(view) = self.view_of(&w.from, w.writes.as_deref()) {
            self.views.insert(name.clone(), view);
        }
        let part = DStage {
            name: name.clone(),
            from: std::mem::take(&mut w.from),
            from_lines: w.from_lines.take(),
            role: Role::Part { stage: w.stage.index, first: w.first, last },
            about,
            body: std::mem::take(&mut w.body),
            shows: None,
        };
        self.stages.append(&mut w.helpers);
        self.stages.push(part);
        if let Some(host) = w.run_host.take() {
            self.run_hosts.insert(name.clone(), host);
        }
        w.writes = Some(Vec::new());
        self.states.insert(name.clone(), w.state.clone());
        w.first = false;
        w.has_body = false;
        w.cmd_in_part = false;
        w.prev = Some(name.clone());
        w.from = format!("FROM {name}");
        if last {
            w.finished = true;
            return;
        }
        // A new Dockerfile stage: ARGs are declared per stage.
        for word in &w.args {
            w.body.push(DLine { lines: None, note: Vec::new(), text: format!("ARG {word}"), how: How::Repeated, why: Vec::new() });
        }
    }

    /// The base image by name, while the stage has done nothing to it yet (and holds no ONBUILD
    /// triggers).
    fn base_image(&self, w: &Walk) -> Option<String> {
        match &w.stage.from.base {
            Base::External(name) if w.first && !w.has_body && w.onbuild.is_empty() && !name.contains('$') => Some(w.stage.from.image.value.clone()),
            _ => None,
        }
    }

    /// The image at this point of the stage, as a Dockerfile stage name. `last`: nothing after
    /// this point changes the image, so the stage's final name is used.
    fn point(&mut self, w: &mut Walk, span: Span, last: bool, why: String) -> String {
        if !w.has_body {
            if let Some(prev) = w.prev.clone() {
                if let Some(s) = self.stages.iter_mut().rev().find(|s| s.name == prev) {
                    s.about.push(why);
                }
                return prev;
            }
        }
        let last = last && w.onbuild.is_empty();
        let (name, about) = if last {
            (w.base.clone(), format!("{}: {}, its final image", w.stage.label(), describe_stage(w.stage)))
        } else {
            let name = self.names.fresh(&format!("{}-at-{}", w.base, self.lines(span).first));
            (name, format!("{} up to {}: the image at that point", w.stage.label(), self.place(span)))
        };
        self.end_part(w, name.clone(), last, vec![about, why]);
        name
    }

    /// `base.inc:2 via Rockerfile:5` for a line an INCLUDE brought in; `None` for the Rockerfile's own.
    fn origin(&self, span: Span) -> Option<String> {
        let lines = self.lines(span);
        Some(self.map.cite(span, self.file, &self.source_name, lines)).filter(|c| c.contains(" via "))
    }

    fn push(&self, w: &mut Walk, item: &Item, text: String, how: How, mut note: Vec<String>) {
        note.extend(self.origin(item.span));
        w.body.push(DLine { lines: Some(self.lines(item.span)), note, text, how, why: Vec::new() });
        w.has_body = true;
    }

    fn item(&mut self, w: &mut Walk<'a>, i: usize, item: &'a Item, last: bool) {
        // What changes the files ends the last RUN's claim to have made them.
        let keeps_files = match &item.op {
            Op::Docker(_) => !matches!(item.keyword, Keyword::Copy | Keyword::Add | Keyword::Workdir | Keyword::Volume),
            Op::Export(_) | Op::Tag(_) | Op::Push(_) | Op::Attach(_) => true,
            Op::Run(_) | Op::Import(_) | Op::Mount(_) => false,
        };
        if !keeps_files {
            w.run_host = None;
        }
        if item.keyword == Keyword::User {
            let who = item.text.get(item.args_at..).unwrap_or("").trim();
            w.state.user = !matches!(who, "root" | "0" | "root:root" | "0:0");
        }
        if let Op::Run(run) = &item.op {
            w.writes = None;
            self.item_run(w, item, run);
            return;
        }
        if let Op::Import(t) = &item.op {
            self.import(w, i, item, t);
            // The part goes on after the IMPORT's COPYs (a part ended before them): where they
            // wrote, as a COPY's, when the fused plan knows it.
            w.writes = self.import_wrote.take();
            return;
        }
        if let Op::Docker(op) = &item.op {
            self.note_write(w, item, op);
        }
        match &item.op {
            Op::Docker(op) => self.docker(w, item, op),
            Op::Run(_) => unreachable!("item_run"),
            Op::Mount(ms) => {
                for m in ms {
                    w.mounts.retain(|old| normalize(&old.dest().value) != normalize(&m.dest().value));
                    w.mounts.push(m.clone());
                }
            }
            Op::Export(t) => self.export(w, i, item, t, last),
            Op::Import(_) => unreachable!("above"),
            Op::Tag(name) | Op::Push(name) => {
                let push = matches!(item.op, Op::Push(_));
                if let Some(image) = self.base_image(w) {
                    self.tag_images.insert((w.stage.index, i), image.clone());
                    let state = w.state.clone();
                    self.states.insert(image.clone(), state);
                    let kind = TargetKind::Tag { name: name.to_string(), push };
                    self.targets.push(Target { stage: image.clone(), image: Some(image), lines: self.lines(item.span), what: summarize(item), kind });
                    return;
                }
                let point = self.point(w, item.span, last, format!("{} ({}) names this image", summarize(item), self.place(item.span)));
                let image = if w.onbuild.is_empty() {
                    point
                } else {
                    self.referenced.insert(point.clone());
                    // The tagged image carries the stage's triggers; the stage goes on without them.
                    let name = self.names.fresh(&format!("{}-tag-{}", w.base, self.lines(item.span).first));
                    let body = w.onbuild.iter().map(|o| DLine { lines: None, note: Vec::new(), text: o.clone(), how: How::Onbuild, why: Vec::new() }).collect();
                    self.stages.push(DStage {
                        name: name.clone(),
                        from: format!("FROM {point}"),
                        from_lines: None,
                        role: Role::Tagged,
                        about: vec![format!("The image {} at {}, with the stage's ONBUILD triggers", summarize(item), self.place(item.span))],
                        body,
                        shows: None,
                    });
                    name
                };
                self.tag_images.insert((w.stage.index, i), image.clone());
                let state = w.state.clone();
                self.states.insert(image.clone(), state);
                self.targets.push(Target {
                    stage: image,
                    image: None,
                    lines: self.lines(item.span),
                    what: summarize(item),
                    kind: TargetKind::Tag { name: name.to_string(), push },
                });
            }
            Op::Attach(cmd) => {
                let image = self.base_image(w);
                let point = match &image {
                    Some(image) => image.clone(),
                    None => self.point(w, item.span, last, format!("{} ({}) opens a shell in this image", summarize(item), self.place(item.span))),
                };
                let shell = w.state.shell.clone().unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                let argv = cmd.as_ref().map(|c: &Command| c.argv(&shell)).unwrap_or_default();
                self.targets.push(Target {
                    stage: point,
                    image,
                    lines: self.lines(item.span),
                    what: summarize(item),
                    kind: TargetKind::Attach { mounts: w.mounts.clone(), argv },
                });
            }
        }
    }

    /// The image a hosted check may look at for a part FROM `from` that wrote `writes`, and where
    /// the parts since it wrote: back through the parts of a chain whose writes are known.
    fn view_of(&self, from: &str, writes: Option<&[(String, Wrote)]>) -> Option<(String, Vec<(String, Wrote)>)> {
        let writes = writes?;
        let image = from.split_whitespace().nth(1).unwrap_or("");
        let (view, mut all) = match self.views.get(image) {
            Some((view, earlier)) if from.split_whitespace().count() == 2 => (view.clone(), earlier.clone()),
            _ => (from.to_string(), Vec::new()),
        };
        for (path, how) in writes {
            // Below where an earlier COPY or ADD wrote, a link it left could lead anywhere.
            if all.iter().any(|(p, h)| *h != Wrote::Dirs && within(path, p)) {
                return None;
            }
            all.push((path.clone(), *how));
        }
        Some((view, all))
    }

    /// Records where a COPY, ADD or WORKDIR of the current part writes (see `Walk::writes`).
    fn note_write(&self, w: &mut Walk, item: &Item, op: &DockerOp) {
        let (path, links) = match item.keyword {
            Keyword::Copy | Keyword::Add if op.copy_from.is_none() => (copy_dest(item), Wrote::Below),
            Keyword::Workdir => {
                // Where it points after this instruction (as `docker` resolves it).
                let dir = op.workdir.clone().unwrap_or_default();
                let abs = if dir.contains('$') {
                    None
                } else if dir.starts_with('/') {
                    Some(normalize(&dir))
                } else {
                    w.state.workdir.as_ref().map(|wd| normalize(&format!("{wd}/{dir}")))
                };
                (abs, Wrote::Dirs)
            }
            Keyword::Copy | Keyword::Add | Keyword::Volume => (None, Wrote::Below),
            _ => return,
        };
        let abs = path.filter(|p| !p.contains('$') && !p.is_empty()).and_then(|p| {
            if p.starts_with('/') {
                Some(normalize(&p))
            } else {
                w.state.workdir.as_ref().map(|wd| normalize(&format!("{wd}/{p}")))
            }
        });
        let Some(writes) = &mut w.writes else { return };
        match abs {
            // Below where an earlier COPY or ADD wrote, a link it left could lead anywhere.
            Some(abs) if !writes.iter().any(|(p, h)| *h != Wrote::Dirs && within(&abs, p)) => writes.push((abs, links)),
            _ => w.writes = None,
        }
    }

    fn item_run(&mut self, w: &mut Walk, item: &Item, run: &crate::analyze::Run) {
        if !w.mounts.is_empty() || !self.env_secrets_of(item).is_empty() {
            self.mounted_run(w, item);
            return;
        }
        self.push(w, item, item.text.to_string(), How::Plain, Vec::new());
        if let Command::Shell(command) = &run.command {
            if self.fused && w.state.shell.is_none() && !w.state.user && !self.final_chain.contains(&w.stage.index) {
                w.run_host = Some(RunHost { line: w.body.len() - 1, command: command.clone() });
            }
        }
    }

    /// Where the check of a COPY from `export` may run in the RUN that made its files (see
    /// [`plan_fused`]): the mount point, if so. `view` is the FROM line of the part the IMPORT
    /// is in, which the check sees, and `writes` what the part wrote before the IMPORT
    /// (`Walk::writes`), which the check finds apart from what the IMPORT writes over.
    fn host_check(&mut self, export: &str, view: &str, writes: Option<&[(String, Wrote)]>, call: &str, shows: Option<(Lines, String)>) -> Option<String> {
        let host = self.run_hosts.get(export)?.clone();
        let writes = writes?;
        let mut words = view.split_whitespace().skip(1);
        let image = words.next()?.to_string();
        if words.next().is_some() || image.starts_with("--") || image.contains('$') {
            return None;
        }
        let source = if image.eq_ignore_ascii_case("scratch") { "type=tmpfs".to_string() } else { format!("type=bind,from={image}") };
        // A stage it sees: nothing but FROM images, metadata and WORKDIRs (an image of its own
        // is not looked into: another stage's work is not waited for, nor does it run again).
        let mut seen = BTreeSet::new();
        let mut todo = if self.stages.iter().any(|s| s.name == image) { vec![image.clone()] } else { Vec::new() };
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if name == export {
                return None;
            }
            let Some(stage) = self.stages.iter().find(|s| s.name == name) else { continue };
            if stage.body.iter().any(|l| matches!(first_word(&l.text).as_str(), "RUN" | "COPY" | "ADD")) {
                return None;
            }
            todo.extend(stage.from.split_whitespace().skip(1).find(|w| !w.starts_with("--")).map(str::to_string));
        }
        let mut apart = String::new();
        for (path, how) in writes {
            let _ = write!(apart, " {}", sh_quote(&format!("{}{path}", *how as u8)));
        }
        let checks = self.hosted.entry(export.to_string()).or_default();
        let target = format!("{HOSTED_DEST}-{}", checks.len() + 1);
        let apart = if apart.is_empty() { String::new() } else { format!("apart{apart}\n") };
        checks.push((source, format!("R={target}\n{call}{apart}")));
        let mut mounts = String::new();
        let mut script = format!("{HOSTED_WRAP}{FUSE_CHECK}{HOSTED_ROOT}");
        for (i, (source, call)) in checks.iter().enumerate() {
            let _ = write!(mounts, "--mount={source},target={HOSTED_DEST}-{} ", i + 1);
            script.push_str(call);
        }
        let n = checks.len();
        if self.stages.iter().any(|s| s.name == image) {
            self.referenced.insert(image);
        }
        let stage = self.stages.iter_mut().find(|s| s.name == export)?;
        let line = &mut stage.body[host.line];
        line.text = format!("RUN {mounts}[\"/bin/sh\", \"-c\", {}, \"rockerc-check\", {}]", json_string(&script), json_string(&host.command));
        line.how = How::Hosted;
        let what = if n == 1 { "the check" } else { "the checks" };
        line.note.retain(|l| !l.starts_with("Then, in the same container,"));
        line.note.insert(0, format!("Then, in the same container, {what} of the IMPORTs from the EXPORT after it (see the COPYs), which write nothing: if COPY --from would not give what the steps' IMPORT gives, this RUN fails and build.sh builds step by step"));
        if let Some((lines, what)) = shows {
            if !self.hosted_shows.iter().any(|(s, l, at, _)| s == export && *l == host.line && *at == lines) {
                self.hosted_shows.push((export.to_string(), host.line, lines, what));
            }
        }
        Some(target)
    }

    fn docker(&mut self, w: &mut Walk, item: &Item, op: &DockerOp) {
        match item.keyword {
            Keyword::Workdir => {
                let dir = op.workdir.clone().unwrap_or_default();
                w.state.workdir = if dir.contains('$') {
                    None
                } else if dir.starts_with('/') {
                    Some(normalize(&dir))
                } else {
                    w.state.workdir.as_ref().map(|wd| normalize(&format!("{wd}/{dir}")))
                };
            }
            Keyword::Shell => w.state.shell = op.shell.clone(),
            Keyword::Onbuild => {
                // Held back: see the module documentation.
                w.onbuild.push(item.text.to_string());
                return;
            }
            Keyword::Arg => w.args.extend(op.arg_words.iter().cloned()),
            _ => {}
        }
        let mut text = item.text.to_string();
        if let Some((flag, base)) = op.copy_from.as_deref() {
            let name = match base {
                Base::Stage(s) => Some(self.named(&self.stage_images[s].clone())),
                Base::Tagged { stage, item, .. } => Some(self.named(&self.tag_images[&(*stage, *item)].clone())),
                _ => None,
            };
            if let Some(name) = name {
                // `--from=0` or `--from=app:v1` would name something else in this Dockerfile.
                let start = flag.span.start - item.span.start;
                let end = flag.span.end - item.span.start;
                if start <= end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end) {
                    text = format!("{}--from={}{}", &text[..start], name, &text[end..]);
                }
            }
        }
        self.push(w, item, text, How::Plain, Vec::new());
        match item.keyword {
            Keyword::Cmd => {
                w.cmd_text = Some(item.text.to_string());
                w.cmd_in_part = true;
            }
            Keyword::Entrypoint if w.cmd_text.is_some() && !w.cmd_in_part => {
                // Docker clears CMD at ENTRYPOINT unless this Dockerfile stage set CMD; the
                // Rockerfile stage did, in an earlier part.
                let cmd = w.cmd_text.clone().unwrap_or_default();
                w.body.push(DLine { lines: None, note: Vec::new(), text: cmd, how: How::Repeated, why: Vec::new() });
                w.cmd_in_part = true;
            }
            _ => {}
        }
    }

    fn mounted_run(&mut self, w: &mut Walk, item: &Item) {
        let mut flags = Vec::new();
        let mut notes = Vec::new();
        let mounts = w.mounts.clone();
        for m in &mounts {
            let mut note = |text: String| {
                if w.explained.insert(m.spec()) {
                    notes.push(text);
                }
            };
            let dest = &m.dest().value;
            if let Some(bad) = mount_path_problem(dest) {
                self.errors.push(
                    Diagnostic::error(Code::BuildkitMountPath, format!("MOUNT destination `{dest}` {bad}"))
                        .at(m.dest().span, "BuildKit's --mount option cannot hold it")
                        .help("choose a path without blanks, commas or quotes, or build with the sh backend (`--emit sh`)"),
                );
                continue;
            }
            match m {
                Mount::Volume { .. } => {
                    let id = volume_name(self.build_id, dest);
                    flags.push(format!("--mount=type=cache,id={id},target={dest}"));
                    note(format!(
                        "MOUNT {dest} ({}): a cache mount, kept by BuildKit between builds; its id is the name of the sh backend's volume",
                        self.place(m.dest().span)
                    ));
                }
                Mount::Bind { src, .. } => match context_path(&src.value) {
                    Some(rel) => {
                        if !m.read_only() {
                            self.errors.push(
                                Diagnostic::error(Code::BuildkitHostWrite, "a RUN with a writable host MOUNT cannot be built by BuildKit")
                                    .at(item.span, "this RUN may write into the host directory")
                                    .also(src.span, format!("MOUNT {}", m.spec()))
                                    .note("BuildKit bind mounts are snapshots of the build context: read-only, and with `rw` the writes are thrown away; Rocker wrote them to the host")
                                    .help(format!(
                                        "if the RUNs only read it, say so: `MOUNT {}:{}:ro` (both backends honour `ro`); to write to the host, build with the sh backend (`--emit sh`, the default)",
                                        src.value,
                                        dest
                                    )),
                            );
                            continue;
                        }
                        if let Some(bad) = mount_path_problem(&rel) {
                            self.errors.push(
                                Diagnostic::error(Code::BuildkitMountPath, format!("MOUNT source `{}` {bad}", src.value))
                                    .at(src.span, "BuildKit's --mount option cannot hold it"),
                            );
                            continue;
                        }
                        if !self.context_binds.iter().any(|(s, _)| *s == src.value) {
                            let place = self.place(src.span);
                            self.context_binds.push((src.value.clone(), place));
                        }
                        flags.push(format!("--mount=type=bind,source={rel},target={dest}"));
                        note(format!("MOUNT {} ({}): a read-only bind mount of the build context", m.spec(), self.place(src.span)));
                    }
                    None => {
                        let id = self.secret(&src.value, src.span);
                        flags.push(format!("--mount=type=secret,id={id},target={dest},required=true"));
                        note(format!(
                            "MOUNT {} ({}): a host file outside the context, passed as a secret (read-only, never in a layer)",
                            m.spec(),
                            self.place(src.span)
                        ));
                    }
                },
            }
        }
        // A `--secret` the RUN reads: BuildKit mounts it under /dev (a tmpfs no layer keeps, so not
        // even the mount point is left in the image), and the command reads it into the variable
        // for this RUN alone. The value is never in the Dockerfile, a layer or the history.
        let mut command_prefix = String::new();
        for name in self.env_secrets_of(item) {
            if !self.shell_is_posix(w) {
                self.errors.push(
                    Diagnostic::error(Code::BuildkitSecretShell, format!("the RUN reads the secret `{name}`, and its SHELL is not a POSIX shell"))
                        .at(item.span, "")
                        .note("under BuildKit a secret reaches the command as `NAME=$(cat FILE) && export NAME && ...`, which needs sh, bash, dash, ash, ksh or zsh")
                        .help("run this RUN under a POSIX shell (`SHELL [\"/bin/sh\", \"-c\"]`), or build with the sh backend (`--emit sh`)"),
                );
                return;
            }
            let file = format!("/dev/.rockerc-secret-{name}");
            flags.push(format!("--mount=type=secret,id={},target={file},required=true", env_secret_id(&name)));
            // `; printf x` then `%x`: command substitution would drop trailing newlines (a key file's).
            command_prefix.push_str(&format!("{name}=$(cat {file}; printf x) && {name}=${{{name}%x}} && export {name} && "));
            if w.explained.insert(format!("--secret {name}")) {
                notes.push(format!("--secret {name}: BuildKit passes its value, byte for byte, to this RUN alone, from the environment of the script (never in a layer or the history)"));
            }
            self.used_env_secrets.insert(name);
        }
        let kw = item.keyword.as_str().len().min(item.text.len());
        let command = item.args_at.max(kw);
        let text = format!("{} {}{}{command_prefix}{}", &item.text[..kw], flags.join(" "), &item.text[kw..command], &item.text[command..]);
        self.push(w, item, text, How::Mounted, notes);
    }

    /// The `--secret` names the RUN refers to (`$NAME`, `${NAME}`).
    fn env_secrets_of(&self, item: &Item) -> Vec<String> {
        self.env_secrets.iter().filter(|name| crate::analyze::refers_to(&item.text, name)).cloned().collect()
    }

    /// Whether the stage's SHELL (default `/bin/sh -c`) understands `NAME=$(cat f) && export NAME`.
    fn shell_is_posix(&self, w: &Walk) -> bool {
        let Some(shell) = &w.state.shell else { return true };
        let program = shell.first().map(|s| s.rsplit('/').next().unwrap_or(s)).unwrap_or("");
        matches!(program, "sh" | "bash" | "dash" | "ash" | "ksh" | "mksh" | "zsh" | "busybox")
    }

    /// The id of the secret for a host path, one per path (never `env.*`, the ids of `--secret`s).
    fn secret(&mut self, src: &str, span: Span) -> String {
        if let Some(s) = self.secrets.iter().find(|s| s.src == src) {
            return s.id.clone();
        }
        let mut id: String = src.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' { c.to_ascii_lowercase() } else { '-' }).collect();
        id = id.trim_matches(|c: char| !c.is_ascii_alphanumeric()).chars().take(40).collect();
        if id.is_empty() || id.starts_with("env.") || self.secrets.iter().any(|s| s.id == id) {
            id = format!("secret-{}", self.secrets.len() + 1);
        }
        let lines = self.lines(span);
        self.secrets.push(Secret { id: id.clone(), src: src.to_string(), lines });
        id
    }

    fn export(&mut self, w: &mut Walk, i: usize, item: &'a Item, t: &'a Transfer, last: bool) {
        let id = self.export_ids[&(w.stage.index, i)];
        let mut sources = Vec::new();
        for s in &t.sources {
            let abs = if s.value.starts_with('/') {
                normalize(&s.value)
            } else if let Some(wd) = &w.state.workdir {
                normalize(&format!("{wd}/{}", s.value))
            } else {
                self.errors.push(
                    Diagnostic::error(Code::BuildkitWorkdir, format!("EXPORT `{}`: a relative path needs the WORKDIR, which the Rockerfile does not say", s.value))
                        .at(s.span, "relative to the image's working directory")
                        .note("COPY --from reads paths from the image's root; the WORKDIR here comes from the base image (or a variable), which rockerc sees only when the build runs")
                        .help("write the absolute path, or set WORKDIR in this stage"),
                );
                s.value.clone()
            };
            for m in &w.mounts {
                let target = normalize(&m.dest().value);
                let inside = |a: &str, b: &str| a == b || a.starts_with(&format!("{}/", b.trim_end_matches('/')));
                if inside(&abs, &target) || inside(&target, &abs) {
                    self.errors.push(
                        Diagnostic::error(Code::BuildkitExportMount, format!("EXPORT `{}` reads from the MOUNT at `{}`", s.value, m.dest().value))
                            .at(s.span, "")
                            .also(m.dest().span, "MOUNTed here")
                            .note("Rocker's EXPORT saw the stage's MOUNTs; COPY --from sees only the image, where a MOUNT is an empty directory")
                            .help("copy the files into the image with a RUN first, or build with the sh backend (`--emit sh`)"),
                    );
                }
            }
            if let Some(bad) = copy_path_problem(&abs) {
                self.errors.push(
                    Diagnostic::error(Code::BuildkitPath, format!("EXPORT `{}` {bad}", s.value))
                        .at(s.span, "COPY --from would read it differently")
                        .help("rename the file, or build with the sh backend (`--emit sh`)"),
                );
            }
            sources.push(abs);
        }
        self.store.export(&ExportInfo { id, at: (w.stage.index, i), transfer: t, sources });
        if self.used_exports.contains(&id) {
            let point = self.point(w, item.span, last, format!("{} ({}): IMPORTs copy from this image", summarize(item), self.place(item.span)));
            self.export_points.insert(id, point);
            self.export_items.insert(id, (self.lines(item.span), summarize(item)));
        } else {
            // A comment only: the part goes on as if the EXPORT were not there.
            w.body.push(DLine {
                lines: Some(self.lines(item.span)),
                note: Vec::new(),
                text: format!("# {}: no IMPORT reads it", summarize(item)),
                how: How::Unused,
                why: Vec::new(),
            });
        }
    }

    fn import(&mut self, w: &mut Walk, i: usize, item: &Item, t: &Transfer) {
        let dest = t.dest_str();
        let is_dir_dest = |d: &str| t.sources.len() > 1 || d.ends_with('/') || d == "." || d.ends_with("/.");
        // An IMPORT into a MOUNTed directory writes into the mount, not the image.
        let abs = if dest.starts_with('/') { Some(normalize(dest)) } else { w.state.workdir.as_ref().map(|wd| normalize(&format!("{wd}/{dest}"))) };
        let mount = abs.as_ref().and_then(|abs| {
            w.mounts.iter().find(|m| {
                let target = normalize(&m.dest().value);
                *abs == target || abs.starts_with(&format!("{}/", target.trim_end_matches('/')))
            })
        });
        if let (Some(m), Some(abs)) = (mount.cloned(), abs.clone()) {
            match &m {
                Mount::Bind { src, .. } if !m.read_only() => {
                    let target = normalize(&m.dest().value);
                    let sub = abs[target.len()..].trim_start_matches('/');
                    let mut inner = format!("/{sub}");
                    if is_dir_dest(dest) && !inner.ends_with('/') {
                        inner.push('/');
                    }
                    let line = self.lines(item.span).first;
                    let Some(copies) = self.store_copies(w, i, t, &inner, is_dir_dest(dest) || inner == "/") else { return };
                    let name = self.names.fresh(&format!("{}-out-{line}", w.base));
                    let (body, mut helpers) = self.copy_lines(item, &copies, &name);
                    self.stages.append(&mut helpers);
                    self.stages.push(DStage {
                        name: name.clone(),
                        from: "FROM scratch".into(),
                        from_lines: None,
                        role: Role::Output,
                        about: vec![
                            format!("{} ({}) writes into MOUNT {}, a host directory:", summarize(item), self.place(item.span), m.spec()),
                            "this stage holds what it writes, and build.sh exports it there (docker build --output type=local)".into(),
                        ],
                        body,
                        shows: None,
                    });
                    self.targets.push(Target {
                        stage: name,
                        image: None,
                        lines: self.lines(item.span),
                        what: summarize(item),
                        kind: TargetKind::Output { host: src.value.clone() },
                    });
                }
                _ => {
                    let what = if matches!(m, Mount::Volume { .. }) { "a volume" } else { "a read-only host directory" };
                    self.errors.push(
                        Diagnostic::error(
                            Code::BuildkitImportMount,
                            format!("IMPORT into the MOUNT at `{}`, {what}, cannot be built by BuildKit", m.dest().value),
                        )
                        .at(item.span, "writes into the mount, not into the image")
                        .also(m.dest().span, "MOUNTed here")
                        .note("BuildKit's COPY writes only into the image; a cache mount is reachable only from a RUN")
                        .help("build this Rockerfile with the sh backend (`--emit sh`, the default)"),
                    );
                }
            }
            return;
        }
        let Some(copies) = self.store_copies(w, i, t, dest, is_dir_dest(dest)) else { return };
        let stem = w.base.clone();
        if self.fused {
            // The image just before the IMPORT, for the check of what its COPYs write over.
            let why = format!("{} ({}) is checked against the image before it", summarize(item), self.place(item.span));
            let view = self.view_of(&w.from, w.writes.as_deref());
            let name = self.point(w, item.span, false, why);
            let before = Before { name: &name, from: view.as_ref().map(|v| v.0.as_str()).unwrap_or(""), writes: view.as_ref().map(|v| &v.1[..]) };
            let into = if is_dir_dest(dest) { None } else { Some(dest) };
            let (body, mut helpers) = self.fused_copy_lines(item, &copies, &stem, &before, w.state.workdir.as_deref(), into);
            w.helpers.append(&mut helpers);
            w.body.extend(body);
            w.has_body = true;
            return;
        }
        let (body, mut helpers) = self.copy_lines(item, &copies, &stem);
        w.helpers.append(&mut helpers);
        for line in body {
            w.body.push(line);
        }
        w.has_body = true;
    }

    fn store_copies(&mut self, w: &Walk, i: usize, t: &Transfer, dest: &str, dest_is_dir: bool) -> Option<Vec<StoreCopy>> {
        match store::resolve_import(&self.store, &t.sources, dest, dest_is_dir) {
            Ok(c) => {
                let mut ids: Vec<usize> = c.iter().map(|c| c.export).collect();
                ids.sort_unstable();
                ids.dedup();
                self.import_exports.insert((w.stage.index, i), ids);
                Some(c)
            }
            Err(d) => {
                self.errors.extend(d);
                None
            }
        }
    }

    /// The COPY lines of one IMPORT, and the helper stages (checks, renames) they read from.
    fn copy_lines(&mut self, item: &Item, copies: &[StoreCopy], stem: &str) -> (Vec<DLine>, Vec<DStage>) {
        let mut helpers = Vec::new();
        let mut text = Vec::new();
        let line = self.lines(item.span).first;
        for c in copies {
            let mut from = self.export_points.get(&c.export).cloned().unwrap_or_default();
            self.referenced.insert(from.clone());
            let mut src = c.src.clone();
            if let Some(kind) = c.check {
                let key = (from.clone(), src.clone(), kind);
                from = match self.checks.get(&key) {
                    Some(name) => name.clone(),
                    None => {
                        let name = self.names.fresh(&format!("{stem}-check-{line}"));
                        helpers.push(check_stage(&name, &from, &src, kind, &summarize(item), &self.place(item.span)));
                        self.checks.insert(key, name.clone());
                        name
                    }
                };
            }
            if let Some(store_name) = &c.rename {
                let (stage, target) = self.rename_stage(item, &format!("{stem}-store-{line}"), &from, &src, store_name);
                from = stage.name.clone();
                src = target;
                helpers.push(stage);
            }
            text.push(copy_instruction(&from, &src, &c.dest, true, self.program.escape));
        }
        (vec![self.import_line(item, copies, text)], helpers)
    }

    /// A scratch stage that holds `src` of `from` under the name the export store gave it, for
    /// `COPY` into an existing directory to name it as rsync did; and that name's path in it.
    fn rename_stage(&mut self, item: &Item, stem: &str, from: &str, src: &str, store_name: &str) -> (DStage, String) {
        let name = self.names.fresh(stem);
        let target = format!("/{store_name}");
        let stage = DStage {
            name,
            from: "FROM scratch".into(),
            from_lines: None,
            role: Role::Rename,
            about: vec![format!("`{src}` as the export store named it (`{store_name}`), for {}", summarize(item))],
            body: vec![DLine {
                lines: None,
                note: Vec::new(),
                text: copy_instruction(from, src, &target, false, self.program.escape),
                how: How::Import,
                why: Vec::new(),
            }],
            shows: None,
        };
        (stage, target)
    }

    /// An IMPORT's line of the Dockerfile: its COPYs (`text`), each with why it has its form.
    fn import_line(&self, item: &Item, copies: &[StoreCopy], text: Vec<String>) -> DLine {
        let mut note = vec![format!("{} ({}): COPY --from the image at each EXPORT, laid out as rsync would", summarize(item), self.place(item.span))];
        note.extend(self.origin(item.span));
        let why = copies.iter().map(|c| c.why.clone()).collect();
        DLine { lines: Some(self.lines(item.span)), note, text: text.join("\n"), how: How::Import, why }
    }
}

impl Planner<'_> {
    /// The COPY lines of one IMPORT in the fused build: each reads through a check stage (see
    /// [`plan_fused`]) of the image at its EXPORT, which sees the image `before` the IMPORT too.
    /// `into`: the IMPORT's destination when a file COPYed there goes into it if it is a directory.
    fn fused_copy_lines(
        &mut self,
        item: &Item,
        copies: &[StoreCopy],
        stem: &str,
        before: &Before,
        workdir: Option<&str>,
        into: Option<&str>,
    ) -> (Vec<DLine>, Vec<DStage>) {
        let mut helpers = Vec::new();
        let mut text = Vec::new();
        let line = self.lines(item.span).first;
        let mut wrote = Vec::new();
        for c in copies {
            let export = self.export_points.get(&c.export).cloned().unwrap_or_default();
            self.referenced.insert(export.clone());
            // What COPY reads must be exactly the EXPORTed path: the check's RUN leaves its mount
            // point (and, on some engines, /etc/hosts and the like) in the check stage.
            if c.src == "/"
                || ["/etc", "/dev", "/proc", "/sys", FUSE_DEST].iter().any(|p| *p == c.src || p.starts_with(&format!("{}/", c.src.trim_end_matches('/'))))
            {
                self.unfusable.get_or_insert_with(|| format!("IMPORT of {} (the check stage would add to it)", c.src));
            }
            let dest = if c.dest.starts_with('/') {
                Some(c.dest.clone())
            } else {
                workdir.map(|wd| {
                    let trail = if c.dest.ends_with('/') || c.dest == "." { "/" } else { "" };
                    format!("{}{trail}", normalize(&format!("{wd}/{}", c.dest)).trim_end_matches('/'))
                })
            };
            let Some(dest) = dest else {
                self.unfusable.get_or_insert_with(|| format!("IMPORT to {} (a WORKDIR only the image knows)", c.dest));
                continue;
            };
            let region = normalize(&dest);
            let name_in_dest = c.rename.clone().unwrap_or_else(|| c.src.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string());
            let kind = match c.check {
                Some(Kind::Dir) => "d",
                Some(Kind::File) => "f",
                None => "-",
            };
            let into = if into == Some(c.dest.as_str()) || dest.ends_with('/') { "y" } else { "n" };
            // Where the entry's name is the destination's last component, it goes into its
            // directory from a scratch stage that holds it under that name (`COPY --from=wrap /
            // DIR/`): COPY then replaces a symbolic link there, as rsync -a does, where COPY to
            // the path itself writes through it (busybox's /bin/crc32, an applet link, under an
            // IMPORTed crc32 overwrote /bin/busybox). A directory arrives as the COPY to its
            // path gives it, where the check allows it (checked on Docker 20.10).
            let wrap_dir = match c.dest.rsplit_once('/') {
                _ if into == "y" => None,
                Some((dir, last)) if last == name_in_dest => Some(format!("{dir}/")),
                None if c.dest == name_in_dest => Some("./".to_string()),
                _ => None,
            };
            let replaces = if wrap_dir.is_some() { "w" } else { "-" };
            wrote.push((region, if wrap_dir.is_some() { Wrote::Replacing } else { Wrote::Below }));
            let call = format!(
                "one {} {} {kind} {into} {} {} {replaces}\n",
                sh_quote(&c.src),
                sh_quote(&dest),
                sh_quote(&name_in_dest),
                sh_quote(c.root.trim_end_matches('/'))
            );
            let shows = self.export_items.get(&c.export).cloned();
            let mut from = if self.host_check(&export, before.from, before.writes, &call, shows).is_some() {
                export
            } else {
                let stage = self.check_stage_fused(item, c, stem, &export, before.name, &call);
                let name = stage.name.clone();
                helpers.push(stage);
                name
            };
            let mut src = c.src.clone();
            if let Some(dir) = wrap_dir {
                let (mut stage, _) = self.rename_stage(item, &format!("{stem}-import-{line}"), &from, &src, &name_in_dest);
                stage.about = vec![format!(
                    "`{src}` under the name it gets (`{name_in_dest}`), for {}: COPYed from here into its directory, it replaces a symbolic link there as the steps do",
                    summarize(item)
                )];
                text.push(copy_instruction(&stage.name, "/", &dir, true, self.program.escape));
                helpers.push(stage);
                continue;
            }
            if let Some(store_name) = &c.rename {
                let (stage, target) = self.rename_stage(item, &format!("{stem}-store-{line}"), &from, &src, store_name);
                from = stage.name.clone();
                src = target;
                helpers.push(stage);
            }
            text.push(copy_instruction(&from, &src, &c.dest, true, self.program.escape));
        }
        self.import_wrote = Some(wrote);
        (vec![self.import_line(item, copies, text)], helpers)
    }

    /// A stage of its own for the check of a COPY (see [`plan_fused`]): its name, for the COPY.
    fn check_stage_fused(&mut self, item: &Item, c: &StoreCopy, stem: &str, export: &str, before: &str, call: &str) -> DStage {
        let line = self.lines(item.span).first;
        let name = self.names.fresh(&format!("{stem}-fusecheck-{line}"));
        let script = format!("{FUSE_CHECK}R={FUSE_DEST}\n{call}");
        DStage {
            name,
            from: format!("FROM {export}"),
            from_lines: None,
            role: Role::FuseCheck,
            about: vec![format!(
                "{} ({}): does COPY --from give {} what the steps' IMPORT gives? If not, build.sh builds step by step",
                summarize(item),
                self.place(item.span),
                c.src
            )],
            body: vec![
                DLine { lines: None, note: Vec::new(), text: "USER 0:0".into(), how: How::Check, why: Vec::new() },
                DLine {
                    lines: None,
                    note: Vec::new(),
                    text: format!("RUN --mount=type=bind,from={before},target={FUSE_DEST} [\"/bin/sh\", \"-c\", {}]", json_string(&script)),
                    how: How::Check,
                    why: Vec::new(),
                },
            ],
            shows: self.export_items.get(&c.export).cloned(),
        }
    }
}

/// Where a fused build's check stage sees the image before the IMPORT.
const FUSE_DEST: &str = "/.rockerc-dest";

/// Where a hosting RUN's check sees the image before the IMPORT (`-1`, `-2`... one per check):
/// under /dev, a tmpfs, so that not even the mount point stays in the RUN's layer.
const HOSTED_DEST: &str = "/dev/.rockerc-dest";

/// A hosting RUN's command first (see [`plan_fused`]): `$1` as `/bin/sh -c` would run it alone.
/// This shell's own SHLVL (BusyBox's and bash's shells count themselves in it) must not reach
/// it: it sees the environment the RUN would give it.
const HOSTED_WRAP: &str = "unset SHLVL\n/bin/sh -c \"$1\" || exit\n";

/// Only root sees every file the check looks at (a FROM image's USER is not known when compiling).
const HOSTED_ROOT: &str =
    "[ \"$(id -u 2>/dev/null)\" = 0 ] || no \"the RUN before the EXPORT runs as a user other than root, who may not see every file the IMPORT copies\"\n";

/// The fused build's check (see [`plan_fused`]), as `sh -c` runs it in the image at the EXPORT
/// (root, the image before the IMPORT at `$R`): `R=DIR` then `one SRC DEST KIND INTO NAME ROOT
/// REPLACES` for each COPY, KIND `d`/`f` where the lowering assumed one (`-` otherwise), INTO `y`
/// when a file goes into DEST if that is a directory (as NAME), ROOT what the EXPORT named,
/// REPLACES `w` where the COPY replaces a link at DEST (`-` otherwise). It fails, saying why on a `rockerc-fuse-check:` line, wherever COPY --from and
/// the steps' IMPORT would differ, and never writes anything.
const FUSE_CHECK: &str = r#"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
no() { echo "rockerc-fuse-check: $1" >&2; exit 1; }
dest() {
  p='' r=${1#/} n=0 l=0 V=''
  while [ -n "$r" ]; do
    c=${r%%/*}
    case $r in */*) r=${r#*/} ;; *) r= ;; esac
    case $c in '' | .) continue ;; ..) p=${p%/*}; continue ;; esac
    V="$V$p/$c
"
    if [ -n "$r" ] && [ -L "$R$p/$c" ]; then
      n=$((n + 1))
      [ "$n" -le 40 ] || no "$1: too many levels of symbolic links in the importing image"
      t=$(readlink "$R$p/$c") || no "cannot read the link $p/$c"
      case $t in /*) p='' ;; esac
      r=$t/$r l=1
    else
      # On the way: COPY makes a missing directory, through a link too; the steps fail where a
      # link leads nowhere (rsync -a's mkdir) or a file is in the way.
      if [ -n "$r" ]; then
        if [ -e "$R$p/$c" ]; then
          [ -d "$R$p/$c" ] || no "$p/$c is not a directory in the importing image"
        elif [ "$l" = 1 ]; then
          no "$p/$c, where a symbolic link leads, is not in the importing image"
        fi
      fi
      p=$p/$c
    fi
  done
  d=$p
}
caps() {
  c="$1 holds a file with extended attributes, capabilities or others: COPY --from keeps them, the steps' IMPORT drops them as Rocker's rsync -a did"
  if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    # (Not an SELinux host's labels: every file has one, and the engine gives its own.)
    ! tar --xattrs --xattrs-include='*' --xattrs-exclude=security.selinux -cf - -- "$1" 2>/dev/null | grep -q -a 'SCHILY\.xattr\.' || no "$c"
  elif command -v getcap >/dev/null 2>&1; then
    x=$(getcap -r "$1" 2>/dev/null) || x=
    [ -z "$x" ] || no "$c"
  else
    x=$(find "$1" -type f -perm /111) || no "cannot list $1"
    [ -z "$x" ] || no "$1 holds an executable file, and the image at the EXPORT has neither GNU tar nor getcap to show whether it has capabilities: COPY --from keeps them, the steps' IMPORT drops them"
  fi
}
one() {
  s=$1 d=$2 q=$6
  [ ! -L "$s" ] || no "$s is a symbolic link (COPY --from copies what it points to)"
  # Below what the EXPORT named, the store has links as links: the steps' IMPORT never reads
  # through one (it refuses one that leads out of the store), COPY --from does.
  case $s in "$q" | "$q"/*) r=${s#"$q"} ;; *) r= ;; esac
  while :; do
    [ ! -L "$q" ] || no "$q is a symbolic link (the EXPORT stores it as one; COPY --from reads through it)"
    r=${r#/}
    [ -n "$r" ] || break
    q=$q/${r%%/*}
    case $r in */*) r=${r#*/} ;; *) r= ;; esac
  done
  [ -e "$s" ] || no "$s is missing"
  caps "$s"
  case $3 in d) [ -d "$s" ] || no "$s is not a directory" ;; f) [ ! -d "$s" ] || no "$s is a directory" ;; esac
  if [ -d "$s" ]; then
    dest "$d"
    G=$d
    m=$(stat -c %a "$s") || no "cannot stat $s"
    [ "$m" = 755 ] || no "the directory $s has mode $m (COPY --from gives its copy 755)"
    x=$(find "$s" '(' ! -type d ! -type f ! -type l ')' -o '(' -type f -links +1 ')') || no "cannot list $s"
    [ -z "$x" ] || no "$s holds a hard link or a special file"
    [ -e "$R$d" ] || [ -L "$R$d" ] || return 0
    [ -d "$R$d" ] && [ ! -L "$R$d" ] && [ "$(stat -c '%a %u %g' "$R$d")" = '755 0 0' ] || no "$d is not a directory of mode 755 owned by root in the importing image"
    find "$s" -mindepth 1 | {
      while IFS= read -r e; do
        t=$R$d${e#"$s"}
        [ -e "$t" ] || [ -L "$t" ] || continue
        if [ -d "$e" ] && [ ! -L "$e" ]; then
          [ -d "$t" ] && [ ! -L "$t" ] && [ "$(stat -c '%a %u %g' "$t")" = "$(stat -c %a "$e") 0 0" ] || no "${t#"$R"} in the importing image is not what the IMPORT makes of it"
        else
          [ -f "$e" ] && [ -f "$t" ] && [ ! -L "$t" ] || no "${t#"$R"} in the importing image is not what the IMPORT makes of it"
        fi
      done
    } || exit 1
  else
    [ -f "$s" ] || no "$s is not a regular file"
    dest "$d"
    if [ "$4" = y ] && [ -d "$R$d" ] && [ ! -L "$R$d" ]; then d=$d/$5; fi
    G=$d
    # (With $7 = w, the COPY replaces a link there, as the steps do.)
    if [ "$7" != w ] || [ ! -L "$R$d" ]; then
      [ ! -L "$R$d" ] || no "$d in the importing image is a symbolic link (COPY --from writes through it; the steps replace it, as rsync -a does)"
      if [ -e "$R$d" ]; then
        [ -f "$R$d" ] || no "$d in the importing image is not a file"
      fi
    fi
  fi
}
apart() {
  # $R is the image the instructions before the IMPORT started from; each KPATH is where one of
  # them wrote, K 1 for a COPY or ADD (anything below PATH, links too), 2 for an earlier
  # IMPORT's (the same, replacing a link at PATH), 0 for a WORKDIR (its directories, as COPY
  # makes missing ones). The last `one` looked at $R as the IMPORT's image:
  # it is, where they reached PATH through no symbolic link and wrote apart from what the IMPORT
  # writes over (G) and, a COPY or ADD, from every path on the IMPORT's way there (V).
  for w do
    k=${w%%/*} w=/${w#*/}
    q='' r=${w#/}
    while [ -n "$r" ]; do
      q=$q/${r%%/*}
      case $r in */*) r=${r#*/} ;; *) r= ;; esac
      # (An IMPORT's COPY, K 2, replaces a link at PATH itself.)
      [ ! -L "$R$q" ] || { [ "$k" = 2 ] && [ -z "$r" ]; } || no "$q, on the way to $w (written before the IMPORT), is a symbolic link"
    done
    case $w/ in "$G"/*) no "$w, written before the IMPORT, is where the IMPORT writes" ;; esac
    [ "$k" != 0 ] || continue
    printf '%s%s\n' "$V" "$G" | {
      while IFS= read -r v; do
        case $v/ in "$w"/*) exit 1 ;; esac
      done
    } || no "$w, written before the IMPORT, holds where the IMPORT writes"
  done
}
"#;

/// A stage that fails the build unless `path` in `from` is of `kind`: the COPY that follows
/// relies on it, and the Rockerfile does not say it.
fn check_stage(name: &str, from: &str, path: &str, kind: Kind, what: &str, place: &str) -> DStage {
    let (test, other, fix) = match kind {
        Kind::File => ("[ ! -d", "a directory", "for a directory, name the destination with a trailing /"),
        Kind::Dir => ("[ -d", "not a directory", "for a file, name the destination with a trailing /"),
    };
    let message = format!("rockerc: {what} ({place}) was compiled for {path} being {}, but it is {other}; {fix}, or build with the sh backend", kind.as_str());
    let script = format!("{test} {} ] || {{ echo {} >&2; exit 1; }}", sh_quote(path), sh_quote(&message));
    DStage {
        name: name.to_string(),
        from: format!("FROM {from}"),
        from_lines: None,
        role: Role::Check,
        about: vec![format!(
            "{what} ({place}) needs {path} to be {}; nothing in the Rockerfile says so, and COPY treats files and directories differently",
            kind.as_str()
        )],
        body: vec![DLine {
            lines: None,
            note: Vec::new(),
            text: format!("RUN [\"/bin/sh\", \"-c\", {}]", json_string(&script)),
            how: How::Check,
            why: Vec::new(),
        }],
        shows: None,
    }
}

/// `COPY --from=FROM [--chown=0:0] SRC DEST`, in JSON form when a path needs quoting.
///
/// `--chown=0:0`: the sh backend's IMPORT is a COPY from a build context, which makes files
/// root's; COPY --from keeps the owners the builder gave them.
pub fn copy_instruction(from: &str, src: &str, dest: &str, chown: bool, escape: char) -> String {
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+@:,%=".contains(&b));
    let chown = if chown { " --chown=0:0" } else { "" };
    if plain(src) && plain(dest) {
        format!("COPY --from={from}{chown} {src} {dest}")
    } else {
        let esc = |s: &str| {
            let mut out = String::new();
            for c in s.chars() {
                if c == escape || matches!(c, '$' | '\'' | '"') {
                    out.push(escape);
                }
                out.push(c);
            }
            json_string(&out)
        };
        format!("COPY --from={from}{chown} [{}, {}]", esc(src), esc(dest))
    }
}

/// A COPY's or ADD's destination, where it is plain: the last of its words after the flags (JSON
/// form too); `None` for anything an escape, a quote or a variable could change.
fn copy_dest(item: &Item) -> Option<String> {
    let mut args = item.text.get(item.args_at..)?.trim();
    while args.starts_with("--") {
        args = args.split_once(char::is_whitespace)?.1.trim_start();
    }
    let last = if args.starts_with('[') { serde_json::from_str::<Vec<String>>(args).ok()?.pop()? } else { args.split_whitespace().last()?.to_string() };
    let plain = !last.is_empty() && !last.contains(['\\', '`', '"', '\'', '$']) && !args.contains('\n');
    plain.then_some(last)
}

/// Whether `path` is `dir` or below it (both absolute and normalized).
fn within(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// The first word of a Dockerfile line, in capitals.
pub(super) fn first_word(text: &str) -> String {
    text.split_whitespace().next().unwrap_or("").to_ascii_uppercase()
}

/// The Rockerfile stages the last one (the fused build's image) is built FROM, itself included.
fn final_chain(program: &Program) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let mut at = program.stages.last().map(|s| s.index);
    while let Some(i) = at {
        if !out.insert(i) {
            break;
        }
        at = program.stages.iter().find(|s| s.index == i).and_then(|s| match &s.from.base {
            Base::Stage(s) => Some(*s),
            Base::Tagged { stage, .. } => Some(*stage),
            _ => None,
        });
    }
    out
}

/// Whether an item changes the image (so a point before it is not the stage's end).
fn changes_image(item: &Item) -> bool {
    !matches!(item.op, Op::Mount(_) | Op::Export(_) | Op::Tag(_) | Op::Push(_) | Op::Attach(_))
}

/// A MOUNT source inside the build context, as a path relative to it; `None` for `~`, `$VAR`,
/// absolute paths and paths that climb out of the context.
fn context_path(src: &str) -> Option<String> {
    if src.starts_with('/') || src.starts_with('~') || src.contains('$') {
        return None;
    }
    let rel = normalize(src);
    (!rel.starts_with("..")).then_some(rel)
}

/// Why a path cannot be an option of `--mount` (a CSV field on the RUN line).
fn mount_path_problem(path: &str) -> Option<&'static str> {
    if path.chars().any(char::is_whitespace) {
        Some("contains a blank")
    } else if path.contains([',', '"', '\'', '=']) {
        Some("contains a comma, a quote or `=`")
    } else {
        None
    }
}

/// Why a path cannot be a COPY source literally.
fn copy_path_problem(path: &str) -> Option<&'static str> {
    if path.contains(['*', '?', '[']) {
        Some("contains `*`, `?` or `[`, which COPY takes for a pattern")
    } else if path.contains('\\') {
        Some("contains a backslash")
    } else {
        None
    }
}

fn describe_stage(stage: &Stage) -> String {
    match &stage.from.base {
        Base::External(name) => format!("from {name}"),
        Base::Scratch => "from scratch".into(),
        Base::Stage(_) | Base::Tagged { .. } => format!("from {}", stage.from.image.value),
    }
}

/// The instruction on one line (continuations joined), cut at 60 characters.
pub fn summarize(item: &Item) -> String {
    summarize_text(&item.text)
}

/// An instruction's text on one line, 60 characters at most.
pub fn summarize_text(text: &str) -> String {
    let joined: String =
        text.lines().map(|l| l.trim().trim_end_matches(['\\', '`']).trim()).filter(|l| !l.is_empty() && !l.starts_with('#')).collect::<Vec<_>>().join(" ");
    let words = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s: String = words.chars().take(60).collect();
    if words.chars().count() > 60 {
        s.push_str(" ...");
    }
    s
}

/// The BuildKit secret id of `--secret NAME`.
pub fn env_secret_id(name: &str) -> String {
    format!("env.{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_lines_quote_only_when_needed() {
        assert_eq!(copy_instruction("a", "/out/x", "/bin/", true, '\\'), "COPY --from=a --chown=0:0 /out/x /bin/");
        assert_eq!(copy_instruction("a", "/out/my file", "/$HOME", false, '\\'), "COPY --from=a [\"/out/my file\", \"/\\\\$HOME\"]");
    }

    #[test]
    fn context_paths() {
        assert_eq!(context_path("."), Some(".".into()));
        assert_eq!(context_path("./dist/"), Some("dist".into()));
        assert_eq!(context_path("../x"), None);
        assert_eq!(context_path("~/.ssh"), None);
        assert_eq!(context_path("$KEY"), None);
    }
}
