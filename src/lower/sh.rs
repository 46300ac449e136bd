//! Program + stage graph -> a backend-neutral [`BuildPlan`]: each stage as a sequence of steps.
//!
//! Consecutive plain instructions become one generated Dockerfile (one `docker build`, so Docker's
//! layer cache works). A stage is split wherever Docker alone cannot do what the Rockerfile says:
//! a RUN while MOUNTs are active, EXPORT, TAG/PUSH (the image at that point), ATTACH, and an
//! IMPORT whose context cannot be shared with the instructions around it.
//!
//! Splitting one Dockerfile into several builds changes a few things Docker keeps per build, and
//! this module puts them back: ARGs are declared again in every later Dockerfile of the stage,
//! MAINTAINER likewise, an ENTRYPOINT in a later Dockerfile is followed by the stage's CMD again
//! (Docker clears CMD at ENTRYPOINT unless this stage set it), and ONBUILD triggers are held back
//! from the images the stage continues from (Docker would fire them at our next FROM) and added
//! where an image leaves the stage.

use super::plan::*;
use super::{build_arg_name, one_line_name, summarize, Lines};
use crate::analyze::expand::Lexer;
use crate::analyze::{
    arg_env, mount_holding, normalize, refers_to, scope_after_from, Base, Builder, DockerOp, Globals, Item, Mount, Op, Program, Scope, Stage, StageState,
    Transfer,
};
use crate::graph::StageGraph;
use crate::source::{SourceFile, SourceMap, Span};
use crate::syntax::Keyword;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `file` is the Rockerfile as the user wrote it and `map` takes spans of the rendered text back
/// to it: every line number in the output is a line of the file the user wrote.
///
/// The program has passed [`crate::analyze::check_steps`]: every step here can run, so lowering
/// cannot fail.
pub fn lower(program: &Program, graph: &StageGraph, file: &SourceFile, map: &SourceMap, options: &LowerOptions) -> BuildPlan {
    // The name appears in `#` comments of the script and of the Dockerfiles: a newline in a file
    // name must not end such a comment and start a command or an instruction.
    let display_name = one_line_name(&file.name);
    let source_name = display_name.as_str();
    let (globals, _) = Globals::new(&program.global_args, &options.build_args, Lexer::new(program.escape), Builder::Legacy);
    let mut lw = Lowerer {
        program,
        globals,
        source_name,
        graph,
        file,
        map,
        options,
        steps: 0,
        states: BTreeMap::new(),
        export_ids: BTreeMap::new(),
        saves_needed: needed_saves(program),
        arg_from: "ARG ROCKERC_FROM".into(),
    };
    for (id, e) in graph.exports.iter().enumerate() {
        lw.export_ids.insert((e.stage, e.item), id);
    }
    let mut stages = Vec::new();
    for stage in &program.stages {
        stages.push(lw.stage(stage));
    }
    let mut externals: Vec<String> = program
        .stages
        .iter()
        .filter_map(|s| match &s.from.base {
            Base::External(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    externals.sort();
    externals.dedup();
    let mut copy_from_images: Vec<String> = program
        .stages
        .iter()
        .flat_map(|s| &s.items)
        .filter_map(|item| match &item.op {
            Op::Docker(DockerOp { copy_from: Some(from), .. }) => match &from.1 {
                Base::External(name) => Some(name.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    copy_from_images.sort();
    copy_from_images.dedup();
    let mut urls: Vec<String> = program
        .stages
        .iter()
        .flat_map(|s| &s.items)
        .filter_map(|i| match &i.op {
            Op::Docker(op) => Some(op.url_sources.iter().cloned()),
            _ => None,
        })
        .flatten()
        .collect();
    urls.sort();
    urls.dedup();
    BuildPlan {
        source_name: source_name.to_string(),
        escape: (program.escape != '\\').then_some(program.escape),
        stages,
        levels: graph.levels(),
        build_args: options.build_args.clone(),
        externals,
        copy_from_images,
        step_count: lw.steps,
        host_mounts: super::host_mounts(program, file, map),
        urls,
        fusion: None,
    }
}

/// Keys of images that later FROMs and COPY --froms read.
fn needed_saves(program: &Program) -> Vec<ImageKey> {
    let mut keys = Vec::new();
    let mut note = |base: &Base| keys.extend(ImageKey::of(base));
    for stage in &program.stages {
        note(&stage.from.base);
        for item in &stage.items {
            if let Op::Docker(DockerOp { copy_from: Some(from), .. }) = &item.op {
                note(&from.1);
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

struct Lowerer<'a> {
    program: &'a Program,
    /// The global ARGs and `--build-arg` values, under the legacy builder's rules.
    globals: Globals,
    source_name: &'a str,
    graph: &'a StageGraph,
    file: &'a SourceFile,
    map: &'a SourceMap,
    options: &'a LowerOptions,
    steps: usize,
    /// State after each TAG/PUSH item and at each stage's end, for stages that build FROM them.
    states: BTreeMap<ImageKey, StageState>,
    export_ids: BTreeMap<(usize, usize), usize>,
    saves_needed: Vec<ImageKey>,
    /// `ARG ROCKERC_FROM`, which most Dockerfiles declare.
    arg_from: Arc<str>,
}

/// Instructions that change only the image's config, never a file or the working directory.
const METADATA_ONLY: &[&str] = &["LABEL", "ENV", "CMD", "ENTRYPOINT", "EXPOSE", "STOPSIGNAL", "HEALTHCHECK", "MAINTAINER"];

/// Instructions gathered for the next generated Dockerfile.
#[derive(Default)]
struct Pending {
    body: Vec<DockerfileLine>,
    first: Option<usize>,
    last: usize,
    keywords: Vec<&'static str>,
    /// The one-line summary of each instruction, for a step that has only one.
    summaries: Vec<String>,
    context: Option<Context>,
    stage_args: Vec<(String, ImageKey)>,
    has_cmd: bool,
    /// Where in `body` the last HEALTHCHECK is: a later one replaces it (see `docker`).
    healthcheck_at: Option<usize>,
    /// ARGs and MAINTAINER declared before this Dockerfile began: a new build must repeat them.
    args_at_start: Option<Arc<str>>,
    maintainer_at_start: Option<Arc<str>>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.body.is_empty()
    }
}

impl<'a> Lowerer<'a> {
    fn lines_of(&self, span: Span) -> Lines {
        super::lines_of(self.file, self.map, span)
    }

    fn next_step(&mut self) -> usize {
        self.steps += 1;
        self.steps
    }

    fn stage(&mut self, stage: &'a Stage) -> PlanStage {
        let (mut state, start) = match &stage.from.base {
            Base::External(name) => (StageState::default(), Start::External(name.clone())),
            Base::Scratch => (StageState::scratch(), Start::Scratch),
            Base::Stage(s) => (self.states.get(&ImageKey::Stage(*s)).cloned().unwrap_or_default(), Start::Saved(ImageKey::Stage(*s))),
            Base::Tagged { stage: s, item, .. } => {
                let key = ImageKey::Tag { stage: *s, item: *item };
                (self.states.get(&key).cloned().unwrap_or_default(), Start::Saved(key))
            }
        };
        let mut cx = StageLowering {
            stage,
            steps: Vec::new(),
            pending: Pending::default(),
            advanced: false,
            args: Vec::new(),
            maintainer: None,
            cmd_text: None,
            onbuild: Vec::new(),
            from_text: stage.from.text.as_str().into(),
            from_current: None,
            args_text: None,
            mounts: Mounts::from([]),
            env: None,
        };
        // The ENV/ARG values Docker would expand with, kept up to date item by item.
        let mut scope = scope_after_from(&stage.from.base, &self.program.stages[..stage.index], &self.globals);
        for (i, item) in stage.items.iter().enumerate() {
            self.item(&mut cx, &mut state, &scope, i, item);
            scope.apply(item, &self.globals);
        }
        // The stage's final image: what later stages and the build's tags see, triggers included.
        if !cx.onbuild.is_empty() {
            if !cx.pending.is_empty() {
                let onbuild = std::mem::take(&mut cx.onbuild);
                cx.pending.body.extend(onbuild.into_iter().map(DockerfileLine::Text));
            } else {
                self.flush(&mut cx);
                self.expose_onbuild(&mut cx, false);
            }
        }
        self.flush(&mut cx);
        // The plan holds every stage's steps until it is printed: no spare capacity.
        cx.steps.shrink_to_fit();
        self.states.insert(ImageKey::Stage(stage.index), state);
        PlanStage {
            index: stage.index,
            label: stage.label(),
            alias: stage.from.alias.as_ref().map(|a| a.value.clone()),
            from_text: stage.from.text.lines().next().unwrap_or_default().to_string(),
            lines: self.lines_of(stage.span),
            deps: self.graph.deps(stage.index),
            start,
            steps: cx.steps,
        }
    }

    fn item(&mut self, cx: &mut StageLowering<'a>, state: &mut StageState, scope: &Scope, i: usize, item: &'a Item) {
        // The item's lines, worked out once for every step and Dockerfile line it becomes.
        let lines = self.lines_of(item.span);
        // Only a RUN reads a secret (`check_steps`).
        let secrets = self.secrets_in(item);
        match &item.op {
            Op::Docker(op) => self.docker(cx, state, scope, item, lines, op),
            Op::Run(_) if cx.mounts.is_empty() && secrets.is_empty() => {
                self.add_line(cx, item, lines, item.text.clone(), None);
            }
            Op::Run(run) => {
                self.flush(cx);
                let argv = run.command.argv(&state.shell);
                let env = arg_env(&cx.args, scope);
                let mut key = run_key(&argv, &cx.mounts, &env);
                if !secrets.is_empty() {
                    // The names, never the values: a changed secret does not rebuild by itself.
                    key = run_key(&[key, secrets.join(" ")], &[], &[]);
                }
                // Docker's rule, which every other RUN follows: the proxy variables given with
                // --build-arg reach the command without an ARG, and stay out of the cache key
                // (and the history) unless an ARG declares them; the key was made above.
                let mut env = env;
                for (k, v) in &self.options.build_args {
                    if crate::analyze::is_proxy_arg(k) && !env.iter().any(|(n, _)| n == k) {
                        env.push((k.clone(), v.clone()));
                    }
                }
                // The RUNs in a row mostly see the same values: they share one list.
                let env = match &cx.env {
                    Some(last) if last[..] == env[..] => last.clone(),
                    _ => RunEnv::from(env),
                };
                cx.env = Some(env.clone());
                cx.advanced = true;
                let number = self.next_step();
                cx.steps.push(Step {
                    number,
                    lines,
                    summary: summarize(item),
                    kind: StepKind::Run(RunStep { argv, mounts: cx.mounts.clone(), env, key, secrets }),
                });
            }
            Op::Mount(ms) => {
                let mut mounts = cx.mounts.to_vec();
                for m in ms {
                    // A later MOUNT of the same destination replaces the earlier one.
                    mounts.retain(|old| normalize(&old.dest().value) != normalize(&m.dest().value));
                    mounts.push(m.clone());
                }
                cx.mounts = mounts.into();
            }
            Op::Export(t) => {
                self.flush(cx);
                let export = self.export_ids[&(cx.stage.index, i)];
                let sources: Vec<(String, bool)> = t.sources.iter().map(|s| (s.value.clone(), is_contents(&s.value))).collect();
                let needs_workdir = sources.iter().any(|(s, _)| !s.starts_with('/'));
                let number = self.next_step();
                cx.steps.push(Step {
                    number,
                    lines,
                    summary: summarize(item),
                    kind: StepKind::Export(ExportStep { export, workdir: state.workdir.clone(), needs_workdir, mounts: cx.mounts.clone(), sources }),
                });
            }
            Op::Import(t) if mount_holding(state.workdir.as_deref(), &cx.mounts, t.dest_str()).is_some() => {
                self.flush(cx);
                let mut imp = ImportContext { replay: Vec::new(), sources: Vec::new(), tars: Vec::new() };
                self.add_import_sources(cx, i, t, &mut imp);
                let mut dest = mount_holding(state.workdir.as_deref(), &cx.mounts, t.dest_str()).unwrap_or_default();
                let d = t.dest_str();
                let names_a_dir = d.ends_with('/') || d.ends_with("/.") || d.ends_with("/..") || d == "." || d == "..";
                if (t.sources.len() > 1 || names_a_dir) && !dest.ends_with('/') {
                    dest.push('/');
                }
                let number = self.next_step();
                cx.steps.push(Step {
                    number,
                    lines,
                    summary: summarize(item),
                    kind: StepKind::ImportToMount(ImportToMountStep { context: imp, dest, mounts: cx.mounts.clone() }),
                });
            }
            Op::Import(t) => self.import(cx, state, i, item, lines, t),
            Op::Tag(name) | Op::Push(name) => {
                self.flush(cx);
                let push = matches!(item.op, Op::Push(_));
                if !cx.onbuild.is_empty() {
                    self.expose_onbuild(cx, true);
                }
                cx.steps.push(Step { number: 0, lines, summary: summarize(item), kind: StepKind::Tag { name: name.to_string(), push } });
                let key = ImageKey::Tag { stage: cx.stage.index, item: i };
                if self.saves_needed.contains(&key) {
                    cx.steps.push(Step { number: 0, lines, summary: String::new(), kind: StepKind::Save(key) });
                }
                if !cx.onbuild.is_empty() {
                    // The exposed image carried the triggers; the stage continues without them.
                    cx.steps.push(Step { number: 0, lines, summary: String::new(), kind: StepKind::Restore });
                }
                self.states.insert(key, state.clone());
            }
            Op::Attach(cmd) => {
                self.flush(cx);
                let argv = cmd.as_ref().map(|c| c.argv(&state.shell)).unwrap_or_default();
                let number = self.next_step();
                cx.steps.push(Step { number, lines, summary: summarize(item), kind: StepKind::Attach(AttachStep { mounts: cx.mounts.clone(), argv }) });
            }
        }
    }

    fn docker(&mut self, cx: &mut StageLowering<'a>, state: &mut StageState, scope: &Scope, item: &'a Item, lines: Lines, op: &DockerOp) {
        state.apply(item.keyword, op, scope);
        match item.keyword {
            Keyword::Onbuild => {
                // Held back: see the module documentation.
                cx.onbuild.push(item.text.clone());
                return;
            }
            Keyword::Maintainer => cx.maintainer = Some(item.text.clone()),
            Keyword::Cmd => {
                cx.cmd_text = Some(item.text.clone());
            }
            _ => {}
        }
        if op.uses_context && matches!(cx.pending.context, Some(Context::Import(_))) {
            self.flush(cx);
        }
        let mut text = item.text.clone();
        let mut stage_arg = None;
        if let Some((flag, base)) = op.copy_from.as_deref() {
            if let Some(key) = ImageKey::of(base) {
                let alias = format!("rockerc-{}", key.to_string().replace('.', "-"));
                // `--from=0` or `--from=app:v1` would mean something else in the generated
                // Dockerfile; name the image this build receives instead.
                let start = flag.span.start - item.span.start;
                let end = flag.span.end - item.span.start;
                if start <= end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end) {
                    text = format!("{}--from={}{}", &text[..start], alias, &text[end..]).into();
                }
                stage_arg = Some((alias, key));
            }
        }
        let context = if op.uses_context { Some(context_of(&op.context_sources)) } else { None };
        let mut extra = None;
        if item.keyword == Keyword::Entrypoint && cx.cmd_text.is_some() && !cx.pending.has_cmd {
            // Docker clears CMD at ENTRYPOINT unless this stage set CMD; it did, in an earlier
            // Dockerfile, which a new build does not know.
            extra = cx.cmd_text.clone();
        }
        if item.keyword == Keyword::Arg && op.arg_words.len() > 1 {
            // The legacy builder takes one name per ARG.
            text = op.arg_words.iter().map(|w| format!("ARG {w}")).collect::<Vec<_>>().join("\n").into();
        }
        if item.keyword == Keyword::Healthcheck {
            // The legacy builder merges a HEALTHCHECK with the one before it: `HEALTHCHECK NONE`
            // after `HEALTHCHECK --interval=5m CMD ...` kept the 5m (BuildKit and Rocker did not).
            // Only the last one of a Dockerfile counts: the earlier ones stay, commented out.
            if let Some(at) = cx.pending.healthcheck_at {
                let (cite, text) = match &cx.pending.body[at] {
                    DockerfileLine::Instruction { lines, text } => (format!("{}:{lines}", self.source_name), text),
                    DockerfileLine::Included { cite, text } => (cite.to_string(), text),
                    DockerfileLine::Text(text) => (String::new(), text),
                };
                let earlier: Vec<String> = text.lines().map(|l| format!("#   {l}")).collect();
                let replaced = format!("# {cite} (replaced by the HEALTHCHECK below)\n{}", earlier.join("\n"));
                cx.pending.body[at] = DockerfileLine::Text(replaced.into());
            }
            cx.pending.healthcheck_at = Some(cx.pending.body.len());
        }
        self.add_line(cx, item, lines, text, context);
        if item.keyword == Keyword::Arg {
            // After add_line: a Dockerfile that starts with this ARG must not declare it twice.
            cx.args.extend(op.arg_words.iter().cloned());
            cx.args_text = None;
        }
        if let Some(cmd) = extra {
            cx.pending.body.push(DockerfileLine::Text(cmd));
            cx.pending.has_cmd = true;
        }
        if item.keyword == Keyword::Cmd {
            cx.pending.has_cmd = true;
        }
        if let Some(arg) = stage_arg {
            if !cx.pending.stage_args.contains(&arg) {
                cx.pending.stage_args.push(arg);
            }
        }
    }

    fn import(&mut self, cx: &mut StageLowering<'a>, state: &StageState, i: usize, item: &'a Item, lines: Lines, t: &Transfer) {
        // What rsync -a leaves depends on what is at the destination (a directory, a link to
        // one, a file, a directory with entries): the script looks in the image before it packs
        // the tar, so each IMPORT starts a build of its own, on the image with everything before
        // it. The instructions after it join that build. Instructions before it that change
        // neither a file nor the working directory (LABEL, ENV, CMD...) join it too: the image
        // before them has the same files, so the script looks there, and a build (a container
        // commit for each of them under the legacy builder, a BuildKit session) is saved.
        let metadata_only = cx.pending.context.is_none() && cx.pending.keywords.iter().all(|k| METADATA_ONLY.contains(k));
        if !metadata_only {
            self.flush(cx);
        }
        let mut imp = ImportContext { replay: Vec::new(), sources: Vec::new(), tars: Vec::new() };
        self.add_import_sources(cx, i, t, &mut imp);
        let line = lines.first;
        imp.tars.push(ImportTar { first: 0, count: t.sources.len(), dest: t.dest_str().to_string(), workdir: state.workdir.clone(), line });
        // The IMPORT as written, then the ADD that does it: the script lays the files out under
        // the absolute paths rsync wrote, in a tar that ADD extracts at the root with every mode
        // bit and link as it is.
        let text = format!("#   {}\nADD [\"0.tar\", \"/\"]", one_line_of(&item.text));
        self.add_line(cx, item, lines, text.into(), Some(Context::Import(imp)));
    }

    /// The declared secrets an instruction refers to (`$NAME`, `${NAME}`, `${NAME:-...}`).
    fn secrets_in(&self, item: &Item) -> Vec<String> {
        self.options.secrets.iter().filter(|name| refers_to(&item.text, name)).cloned().collect()
    }

    /// Adds an IMPORT's sources, and the EXPORTs that can affect them, to an import context.
    fn add_import_sources(&self, cx: &StageLowering, i: usize, t: &Transfer, imp: &mut ImportContext) {
        let ids = self.graph.imports.get(&(cx.stage.index, i)).map(Vec::as_slice).unwrap_or_default();
        let mut added = Vec::new();
        for &id in ids {
            // IMPORTs in a row share one context: a long run of them must not compare every id
            // with every replay already there.
            if imp.replay.binary_search_by_key(&id, |r| r.export).is_err() {
                let e = self.graph.exports[id];
                let Op::Export(x) = &self.program.stages[e.stage].items[e.item].op else { unreachable!() };
                added.push(Replay { export: id, dest: store_path(x.dest_str(), true), nsrc: x.sources.len() });
            }
        }
        // Replays happen in file order (later EXPORTs win, as in the store). Mostly the new ones
        // come after those already there: then appending keeps the order.
        let in_order = match (imp.replay.last(), added.first()) {
            (Some(r), Some(a)) => r.export < a.export,
            _ => true,
        };
        imp.replay.extend(added);
        if !in_order {
            imp.replay.sort_by_key(|r| r.export);
        }
        for s in &t.sources {
            let path = store_path(&s.value, false);
            let contents = is_contents(&s.value);
            let name = path.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("store").to_string();
            imp.sources.push(ImportSource { path, contents, name });
        }
    }

    fn add_line(&mut self, cx: &mut StageLowering<'a>, item: &Item, lines: Lines, text: Arc<str>, context: Option<Context>) {
        if let Some(ctx) = context {
            cx.pending.context = Some(match (cx.pending.context.take(), ctx) {
                (Some(Context::Paths(mut a)), Context::Paths(b)) => {
                    a.extend(b);
                    Context::Paths(sorted_paths(a))
                }
                (Some(Context::User), Context::Paths(_)) | (Some(Context::Paths(_)), Context::User) => Context::User,
                (_, ctx) => ctx,
            });
        }
        if cx.pending.first.is_none() {
            if cx.args_text.is_none() && !cx.args.is_empty() {
                cx.args_text = Some(cx.args.iter().map(|w| format!("ARG {w}")).collect::<Vec<_>>().join("\n").into());
            }
            cx.pending.args_at_start = cx.args_text.clone();
            cx.pending.maintainer_at_start = cx.maintainer.clone();
        }
        cx.pending.first.get_or_insert(lines.first);
        cx.pending.last = lines.last;
        cx.pending.keywords.push(item.keyword.as_str());
        cx.pending.summaries.push(summarize(item));
        // `# Rockerfile:5`, or for a line an INCLUDE brought in `# base.inc:2 via Rockerfile:5`.
        cx.pending.body.push(self.instruction_line(item.span, lines, text));
    }

    /// An instruction of the Rockerfile as a Dockerfile line, under its citation.
    fn instruction_line(&self, span: Span, lines: Lines, text: Arc<str>) -> DockerfileLine {
        if self.map.is_included(span) {
            DockerfileLine::Included { cite: self.map.cite(span, self.file, self.source_name, lines).into(), text }
        } else {
            DockerfileLine::Instruction { lines, text }
        }
    }

    /// Turns the pending instructions into a build step.
    fn flush(&mut self, cx: &mut StageLowering<'a>) {
        if cx.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut cx.pending);
        let from_current = cx.advanced || !matches!(cx.stage.from.base, Base::External(_) | Base::Scratch);
        let mut df = self.dockerfile_head(cx, from_current, &pending);
        df.extend(pending.body);
        let mut lines = Lines { first: pending.first.unwrap_or(0), last: pending.last };
        if !from_current {
            // This Dockerfile repeats the stage's FROM line.
            lines.first = self.lines_of(cx.stage.from.span).first;
        }
        let number = self.next_step();
        let summary = if pending.summaries.len() == 1 { pending.summaries[0].clone() } else { summarize_keywords(&pending.keywords) };
        cx.steps.push(Step {
            number,
            lines,
            summary,
            kind: StepKind::Build(BuildStep {
                dockerfile: df,
                from_current,
                context: pending.context.unwrap_or(Context::Empty),
                stage_args: pending.stage_args,
                exposes_only: false,
            }),
        });
        cx.advanced = true;
    }

    /// The Dockerfile's first lines: the global ARGs, the FROM lines and the re-declarations
    /// (the `# escape=` directive is the plan's, and the printer's).
    fn dockerfile_head(&self, cx: &mut StageLowering, from_current: bool, pending: &Pending) -> Vec<DockerfileLine> {
        let own = |text: String| DockerfileLine::Text(text.into());
        let mut df: Vec<DockerfileLine> = self.program.global_args.iter().map(|g| DockerfileLine::Text(g.text.clone())).collect();
        df.reserve(4 + 2 * pending.stage_args.len());
        // The script passes image ids as build args; only an ARG before the first FROM is seen
        // by every FROM line, so all of them are declared here.
        for (alias, _) in &pending.stage_args {
            df.push(own(format!("ARG {}", build_arg_name(alias))));
        }
        if from_current {
            df.push(DockerfileLine::Text(self.arg_from.clone()));
        }
        for (alias, _) in &pending.stage_args {
            df.push(own(format!("FROM ${{{}}} AS {alias}", build_arg_name(alias))));
        }
        if from_current {
            // Every Dockerfile of the stage after its first build says the same: one text.
            if !matches!(&cx.from_current, Some((advanced, _)) if *advanced == cx.advanced) {
                let what = if cx.advanced {
                    format!("the image {} has built so far", cx.stage.label())
                } else {
                    format!("{} ({})", cx.stage.from.image.value, describe_base(&cx.stage.from.base, self.program))
                };
                cx.from_current = Some((cx.advanced, format!("# FROM {what}\nFROM ${{ROCKERC_FROM}}").into()));
            }
            if let Some((_, from)) = &cx.from_current {
                df.push(DockerfileLine::Text(from.clone()));
            }
        } else {
            let from_lines = self.lines_of(cx.stage.from.span);
            df.push(self.instruction_line(cx.stage.from.span, from_lines, cx.from_text.clone()));
        }
        if let Some(args) = &pending.args_at_start {
            df.push(DockerfileLine::Text(args.clone()));
        }
        if let Some(m) = &pending.maintainer_at_start {
            df.push(DockerfileLine::Text(m.clone()));
        }
        df
    }

    /// An image for TAG (or the stage's end) that carries the held-back ONBUILD triggers.
    fn expose_onbuild(&mut self, cx: &mut StageLowering, only: bool) {
        let mut df = vec![DockerfileLine::Text(
            "# The image so far, with the stage's ONBUILD triggers (held back from the images the stage builds on).\nARG ROCKERC_FROM\nFROM ${ROCKERC_FROM}"
                .into(),
        )];
        df.extend(cx.onbuild.iter().cloned().map(DockerfileLine::Text));
        let number = self.next_step();
        cx.steps.push(Step {
            number,
            lines: self.lines_of(cx.stage.span),
            summary: "ONBUILD triggers".into(),
            kind: StepKind::Build(BuildStep { dockerfile: df, from_current: true, context: Context::Empty, stage_args: Vec::new(), exposes_only: only }),
        });
    }
}

struct StageLowering<'a> {
    stage: &'a Stage,
    steps: Vec<Step>,
    pending: Pending,
    /// The stage has produced an image of its own (a build or a MOUNTed RUN): the next
    /// Dockerfile starts FROM it rather than from the FROM line.
    advanced: bool,
    /// ARG words declared in the stage so far.
    args: Vec<String>,
    maintainer: Option<Arc<str>>,
    cmd_text: Option<Arc<str>>,
    onbuild: Vec<Arc<str>>,
    /// The stage's FROM line, for the Dockerfiles that repeat it.
    from_text: Arc<str>,
    /// `# FROM ...` and `FROM ${ROCKERC_FROM}` as the Dockerfiles that continue the stage start,
    /// and whether it was made after the stage had built (which changes the comment).
    from_current: Option<(bool, Arc<str>)>,
    /// The ARGs declared so far as a Dockerfile declares them again (`None` after a new one).
    args_text: Option<Arc<str>>,
    mounts: Mounts,
    /// The last MOUNTed RUN's environment, for the next one to share when it is the same.
    env: Option<RunEnv>,
}

fn describe_base(base: &Base, program: &Program) -> String {
    match base {
        Base::Stage(s) => format!("the image of {}", program.stages[*s].label()),
        Base::Tagged { stage, name, .. } => format!("TAGged as {name} by {}", program.stages[*stage].label()),
        Base::External(n) => format!("image {n}"),
        Base::Scratch => "scratch".into(),
    }
}

/// The context a COPY/ADD needs: only its sources when they are literal paths inside the context
/// (a shell glob skips dotfiles where Docker's does not, and `$X` is Docker's to expand), else
/// the whole context.
fn context_of(sources: &[String]) -> Context {
    let mut paths = Vec::new();
    for src in sources {
        if src.is_empty() || src.contains(['*', '?', '[', '$', '\\']) || src.chars().any(char::is_control) {
            return Context::User;
        }
        let rel = normalize(src.trim_start_matches('/'));
        if rel == "." || rel == ".." || rel.starts_with("../") {
            return Context::User;
        }
        paths.push(rel);
    }
    Context::Paths(sorted_paths(paths))
}

/// Deduplicated, ancestors before what is inside them (the script skips a path whose ancestor is
/// already in the context).
pub(super) fn sorted_paths(mut paths: Vec<String>) -> Vec<String> {
    paths.sort_by(|a, b| a.matches('/').count().cmp(&b.matches('/').count()).then_with(|| a.cmp(b)));
    paths.dedup();
    paths
}

/// Whether an EXPORT/IMPORT source names a directory's contents (`dir/`, `dir/.`, `/`).
fn is_contents(src: &str) -> bool {
    src.ends_with('/') || src.ends_with("/.") || src == "." || normalize(src) == "/"
}

/// A path in the export store: normalised, relative to its root (`""` is the root). With
/// `keep_slash`, a trailing `/` (a destination that must be a directory) is kept.
fn store_path(path: &str, keep_slash: bool) -> String {
    let n = normalize(&format!("/{path}"));
    let rel = n.trim_start_matches('/').to_string();
    if keep_slash && path.ends_with('/') && !rel.is_empty() {
        format!("{rel}/")
    } else {
        rel
    }
}

fn run_key(argv: &[String], mounts: &[Mount], env: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    h.update(b"rockerc run v1\n");
    for a in argv {
        h.update(a.as_bytes());
        h.update(b"\0");
    }
    h.update(b"\n");
    for m in mounts {
        h.update(m.spec().as_bytes());
        h.update(b"\0");
    }
    h.update(b"\n");
    for (k, v) in env {
        h.update(format!("{k}={v}").as_bytes());
        h.update(b"\0");
    }
    let digest = h.finalize();
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

fn one_line_of(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

fn summarize_keywords(kws: &[&str]) -> String {
    let mut uniq: Vec<&str> = Vec::new();
    for k in kws {
        if !uniq.contains(k) {
            uniq.push(k);
        }
    }
    if kws.len() == 1 {
        uniq[0].to_string()
    } else {
        format!("{} ({} instructions)", uniq.join(", "), kws.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_paths_are_relative_and_normalised() {
        assert_eq!(store_path("/dist/", true), "dist/");
        assert_eq!(store_path("./dnsdock", false), "dnsdock");
        assert_eq!(store_path("/", true), "");
        assert_eq!(store_path("a/../b", false), "b");
    }

    #[test]
    fn secret_references() {
        assert!(refers_to("curl -H \"Authorization: $TOKEN\" x", "TOKEN"));
        assert!(refers_to("echo ${TOKEN:-none}", "TOKEN"));
        assert!(!refers_to("echo $TOKENS $XTOKEN ${TOKEN_2}", "TOKEN"));
        assert!(!refers_to("echo TOKEN", "TOKEN"));
        assert!(refers_to("echo ${X:-$TOKEN}", "TOKEN"));
        // `$$` is the shell's process id (Docker's special parameter `$`): TOKEN after it is text.
        assert!(!refers_to("echo $$TOKEN", "TOKEN"));
        // A shell reads ASCII names: `$TOKENé` reads TOKEN.
        assert!(refers_to("echo $TOKENé", "TOKEN"));
    }

    #[test]
    fn contents_forms() {
        assert!(is_contents("/dist/"));
        assert!(is_contents("dist/."));
        assert!(is_contents("/"));
        assert!(!is_contents("/dist"));
    }
}
