//! `--explain`: the generated script and Dockerfiles annotated for a learner, as Markdown. Every
//! block says which Rockerfile lines it came from, which Docker mechanism carries it, and why
//! that one.

use crate::emit::buildkit;
use crate::lower::{BuildPlan, BuildStep, Context, ImageKey, Lines, PlanStage, Start, StepKind};
use crate::lower::{How, Mount, MultiStage, Role, TargetKind};
use crate::source::SourceFile;
use std::collections::BTreeMap;
use std::fmt::Write as _;

macro_rules! w {
    ($dst:expr) => {{ $dst.push('\n'); }};
    ($dst:expr, $($arg:tt)*) => {{ let _ = writeln!($dst, $($arg)*); }};
}

/// The Rockerfile lines, as a fenced block.
fn quote(out: &mut String, file: &SourceFile, lines: Lines) {
    w!(out, "```dockerfile");
    let last = lines.last.min(file.lines.line_count());
    for l in lines.first.max(1)..=last {
        w!(out, "{}", file.line_text(l));
    }
    w!(out, "```");
}

fn fenced(out: &mut String, lang: &str, text: &str) {
    // A fence longer than any run of backquotes in the text.
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    w!(out, "{fence}{lang}");
    out.push_str(text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    w!(out, "{fence}");
}

const MECHANISMS_SH: &str = "\
The script uses three Docker mechanisms, and each block below says which one carries it:

- **Layer cache.** Consecutive plain instructions become one generated Dockerfile, built with
  `docker build` (the legacy builder, which every Docker has). Docker keys each step by its parent
  image and the instruction, so an unchanged step costs nothing on the next build.
- **run + commit.** A RUN while MOUNTs are active is `docker run` with the mounts, then
  `docker commit`: the legacy builder cannot mount a host path or a volume into a RUN. The commit
  puts back exactly the config a Dockerfile RUN leaves, and the mounted files never enter a layer.
- **Tar stream.** EXPORT is `docker cp` out of a container of the builder image (a tar stream) into
  a per-build export store, with `rsync -a --delete-during` rules; IMPORT sends only the files it
  reads to `docker build` as the build context (another tar stream) and COPYs them. Nothing of the
  builder or of the machinery reaches the runtime image.
";

/// The sh backend's script, step by step.
pub fn explain_sh(plan: &BuildPlan, file: &SourceFile) -> String {
    let name = &plan.source_name;
    let mut out = String::new();
    w!(out, "# {name} through the sh backend, explained");
    w!(out);
    w!(out, "`rockerc {name} > build.sh` turns the Rockerfile into a POSIX sh script that builds its images with");
    w!(out, "nothing but the `docker` CLI. The script has one shell function per stage, run in the order of the");
    w!(out, "stage graph, and {} steps in all.", plan.step_count);
    w!(out);
    out.push_str(MECHANISMS_SH);
    // Where each EXPORT is, for the IMPORTs that replay it.
    let mut exports = BTreeMap::new();
    for stage in &plan.stages {
        for step in &stage.steps {
            if let StepKind::Export(x) = &step.kind {
                exports.insert(x.export, format!("{name}:{}", step.lines));
            }
        }
    }
    for stage in &plan.stages {
        explain_sh_stage(&mut out, plan, file, stage, &exports);
    }
    w!(out);
    w!(out, "## At the end");
    w!(out);
    w!(out, "Tags are applied with `docker tag` only once every stage has built, so a failed build leaves the");
    w!(out, "previous images under their names; with `--push`, PUSH names are then pushed.");
    out
}

fn explain_sh_stage(out: &mut String, plan: &BuildPlan, file: &SourceFile, stage: &PlanStage, exports: &BTreeMap<usize, String>) {
    let name = &plan.source_name;
    w!(out);
    w!(out, "## {}: {name}:{}", capitalize(&stage.label), stage.lines);
    w!(out);
    let start = match &stage.start {
        Start::External(image) => format!("It starts from the image `{image}` (`docker image inspect`, pulled when missing or with `--pull`)."),
        Start::Saved(ImageKey::Tag { .. }) => "It starts from the image an earlier TAG of this file named, as this build made it.".to_string(),
        Start::Saved(_) => "It starts from the final image of an earlier stage of this build.".to_string(),
        Start::Scratch => "It starts from nothing (`FROM scratch`).".to_string(),
    };
    let deps = if stage.deps.is_empty() {
        String::new()
    } else {
        format!(" It waits for {} first (the stage graph).", stage.deps.iter().map(|d| format!("stage {}", d + 1)).collect::<Vec<_>>().join(", "))
    };
    w!(out, "{start}{deps}");
    for step in &stage.steps {
        let lines = step.lines;
        match &step.kind {
            StepKind::Build(b) => {
                w!(out);
                w!(out, "### Step {}: {name}:{lines} ({})", step.number, step.summary);
                w!(out);
                quote(out, file, lines);
                w!(out);
                explain_build(out, b, exports);
                w!(out);
                fenced(out, "dockerfile", &b.text(&plan.source_name, plan.escape));
            }
            StepKind::Run(r) => {
                w!(out);
                w!(out, "### Step {}: {name}:{lines} ({})", step.number, step.summary);
                w!(out);
                quote(out, file, lines);
                w!(out);
                w!(out, "**run + commit.** The legacy builder cannot mount anything into a RUN, so the script runs the command");
                w!(out, "itself: `docker run` of the current image with the stage's MOUNTs, then `docker commit` of that");
                w!(out, "container with the config a Dockerfile RUN would leave (the command never becomes the image's CMD).");
                w!(out, "The mounted files stay outside every layer. The result is cached under a `rockerc-cache:` tag keyed by");
                w!(out, "the parent image, the command and the resolved mounts (not their contents, as in Rocker).");
                w!(out);
                mounts_list(out, &r.mounts);
                w!(out);
                fenced(out, "sh", &format!("docker run{} IMAGE {}\ndocker commit CONTAINER\n", mount_flags(&r.mounts), shell_words(&r.argv)));
            }
            StepKind::Export(x) => {
                w!(out);
                w!(out, "### Step {}: {name}:{lines} ({})", step.number, step.summary);
                w!(out);
                quote(out, file, lines);
                w!(out);
                w!(out, "**Tar stream.** The script creates (never starts) a container of the image at this point, with the");
                w!(out, "stage's MOUNTs, and `docker cp`s each source out of it: Docker sends it as a tar stream. It keeps the");
                w!(out, "copy for the IMPORTs that read it, which replay the EXPORTs they can read into a store with");
                w!(out, "`rsync -a --delete-during` rules (a trailing `/` means the contents; a later EXPORT to the same path");
                w!(out, "replaces the earlier one). No rsync binary and no export volume ever touch an image.");
                w!(out);
                let srcs: Vec<String> = x.sources.iter().map(|(s, _)| s.clone()).collect();
                fenced(
                    out,
                    "sh",
                    &format!("docker create{} IMAGE\ndocker cp CONTAINER:{} STORE/\n", mount_flags(&x.mounts), srcs.join(" STORE/\ndocker cp CONTAINER:")),
                );
            }
            StepKind::Attach(a) => {
                w!(out);
                w!(out, "### Step {}: {name}:{lines} ({})", step.number, step.summary);
                w!(out);
                quote(out, file, lines);
                w!(out);
                w!(out, "**docker run -it.** Only with `--attach`: an interactive container of the image at this point, with the");
                w!(out, "stage's MOUNTs. It changes nothing in the image.");
                w!(out);
                fenced(out, "sh", &format!("docker run --rm -it{} IMAGE {}\n", mount_flags(&a.mounts), shell_words(&a.argv)));
            }
            StepKind::ImportToMount(m) => {
                w!(out);
                w!(out, "### Step {}: {name}:{lines} ({})", step.number, step.summary);
                w!(out);
                quote(out, file, lines);
                w!(out);
                w!(out, "**Tar stream into a mount.** The destination lies in a MOUNT, so, as Rocker's rsync did, the files go");
                w!(out, "into the mount (the host directory or the volume), not into the image: the script replays the EXPORTs");
                w!(out, "into a store, lays the files out, and `docker cp`s them into a container that has the stage's MOUNTs.");
                w!(out);
                fenced(out, "sh", &format!("docker create{} IMAGE\ndocker cp FILES CONTAINER:{}\n", mount_flags(&m.mounts), m.dest));
            }
            StepKind::Tag { name: tag, push } => {
                w!(out);
                w!(out, "### {name}:{lines} ({})", step.summary);
                w!(out);
                let what = if *push { "PUSH" } else { "TAG" };
                w!(out, "**Recorded.** {what} names the image at this point, `{tag}`; the script applies the name when the whole");
                w!(out, "build has succeeded{}.", if *push { ", and pushes it with `--push`" } else { "" });
            }
            StepKind::Save(_) | StepKind::Restore => {}
        }
    }
}

fn explain_build(out: &mut String, b: &BuildStep, exports: &BTreeMap<usize, String>) {
    match &b.context {
        Context::Import(imp) => {
            let replayed: Vec<String> = imp.replay.iter().map(|r| exports.get(&r.export).cloned().unwrap_or_else(|| r.export.to_string())).collect();
            w!(out, "**Tar stream (IMPORT).** The script replays the EXPORT at {} into a private store and packs what", replayed.join(", "));
            w!(out, "this IMPORT reads into a tar with what `rsync -a` leaves, under the absolute paths it writes, with");
            w!(out, "root as owner; the context holds only that tar. The script first looks at the destination in the");
            w!(out, "image (`docker cp` of single paths), as rsync looked: a link there is followed as rsync followed it");
            w!(out, "and never written through otherwise, a `src/` gives the directory its mode, duplicate names are kept");
            w!(out, "as rsync keeps them, and where rsync fails (a dangling link or a file where a directory must be, a");
            w!(out, "file over a directory with entries) the build fails, naming the IMPORT's line. `ADD` at `/` extracts");
            w!(out, "the tar with every mode bit (setuid, directory modes), links as links and hard links as separate");
            w!(out, "files; COPY would drop setuid, follow a link named as a source and write through a link at the");
            w!(out, "destination. Each IMPORT is a build of its own, on the image with everything before it; plain");
            w!(out, "instructions after it join that build (layer cache).");
        }
        Context::User => {
            w!(out, "**Layer cache.** These instructions go into one generated Dockerfile, built with `docker build` and the");
            w!(out, "build context; Docker's cache keys each instruction by its parent image (and COPY by the files' checksums).");
        }
        Context::Paths(paths) => {
            w!(out, "**Layer cache, minimal context.** These instructions go into one generated Dockerfile, built with");
            w!(out, "`docker build`. The context the daemon receives holds only what they read, hard-linked into a private");
            w!(
                out,
                "directory: {}. Docker's cache keys each instruction by its parent image (and COPY by the files'",
                paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
            );
            w!(out, "checksums).");
        }
        Context::Empty if b.exposes_only => {
            w!(out, "**Layer cache.** An image for the TAG that carries the stage's ONBUILD triggers. They are held back from");
            w!(out, "the images the stage builds on (Docker would fire them at the next step's FROM) and added where an");
            w!(out, "image leaves the stage.");
        }
        Context::Empty => {
            w!(out, "**Layer cache.** These instructions go into one generated Dockerfile, built with `docker build` (an");
            w!(out, "empty context: nothing here reads the host); Docker's cache keys each instruction by its parent image.");
        }
    }
    if b.from_current {
        w!(out, "It builds on the image the stage has so far (`FROM ${{ROCKERC_FROM}}`, the id the script passes).");
    }
}

fn mounts_list(out: &mut String, mounts: &[Mount]) {
    for m in mounts {
        match m {
            Mount::Volume { dest } => w!(out, "- `MOUNT {}`: a Docker volume named `rockerc_<build id>_<path>`, kept between builds.", dest.value),
            Mount::Bind { src, dest, .. } => w!(
                out,
                "- `MOUNT {}`: the host path `{}` bound at `{}`{}.",
                m.spec(),
                src.value,
                dest.value,
                if m.read_only() { ", read-only" } else { "; writes reach the host" }
            ),
        }
    }
}

fn mount_flags(mounts: &[Mount]) -> String {
    mounts
        .iter()
        .map(|m| match m {
            Mount::Volume { dest } => format!(" --mount type=volume,src=rockerc_ID_PATH,dst={}", dest.value),
            Mount::Bind { src, dest, .. } => format!(" --mount type=bind,src={},dst={}{}", src.value, dest.value, if m.read_only() { ",readonly" } else { "" }),
        })
        .collect()
}

fn shell_words(argv: &[String]) -> String {
    argv.iter().map(|a| String::from(crate::emit::sh_quote(a))).collect::<Vec<_>>().join(" ")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

const MECHANISMS_BUILDKIT: &str = "\
BuildKit can say in a Dockerfile most of what the sh backend had to do around one:

- **Layer cache.** Plain instructions stay as written; BuildKit's cache is content-addressed and
  shared by every target of the Dockerfile, so the stages several images need build once.
- **RUN --mount instead of run + commit.** A MOUNT becomes a `--mount` flag on each RUN after it: a
  volume is a cache mount (`type=cache`, kept by BuildKit between builds), a read-only host directory
  in the context is a bind mount of the context, a host file outside it is a secret. None of them
  reaches a layer, and the RUN stays an ordinary Dockerfile RUN.
- **COPY --from instead of the tar streams.** An IMPORT copies straight from the image at the EXPORT
  (the stage is cut there, so later changes do not leak in), with rsync's trailing-slash rules
  worked out when rockerc compiles. Two things COPY cannot do as rsync did: it follows a link named
  as a source (the file it points to arrives, not the link), and a directory it creates gets mode
  0755 (Docker 20.10's frontend has no `COPY --chmod`). The modes inside, setuid bits included,
  are kept. The sh backend keeps both, through a tar that ADD extracts.
- **What is at an IMPORT's destination is not looked at.** COPY follows a link there, also where
  rsync failed: a file IMPORTed to `dang/`, a dangling link, lands where the link points. A
  `src/` into a link to a directory fills that directory but leaves its mode. A file IMPORTed
  onto a directory with entries goes inside it (rsync fails). Of two sources with one name, a
  file after a directory goes inside it and a directory after a file stops the build (rsync keeps
  the directory, else the first). A link in the exports that leads out of them (an absolute one)
  is followed in the exporting image. The sh backend does what rsync did, or fails where it
  failed.
- **build.sh** does what a Dockerfile cannot say: it builds each image the Rockerfile TAGs as a
  `--target`, applies the names at the end (and pushes with `--push`), runs ATTACH, and writes what an
  IMPORT puts in a host directory with `--output type=local`.
";

/// The BuildKit backend's Dockerfile, stage by stage, and what its script does.
pub fn explain_buildkit(ms: &MultiStage, file: &SourceFile) -> String {
    let name = &ms.source_name;
    let mut out = String::new();
    w!(out, "# {name} as a multi-stage Dockerfile, explained");
    w!(out);
    w!(out, "`rockerc --emit buildkit -o out/ {name}` writes one multi-stage Dockerfile for Docker's built-in BuildKit");
    w!(out, "(`out/Dockerfile`) and a short `out/build.sh` around it. Below, each Dockerfile stage follows the");
    w!(out, "Rockerfile lines it comes from; the comments in it say where each line comes from, and the notes");
    w!(out, "after it say how and why wherever the translation is more than a copy.");
    w!(out);
    out.push_str(MECHANISMS_BUILDKIT);
    for stage in &ms.stages {
        w!(out);
        let (title, why) = match &stage.role {
            Role::Part { stage: s, first, last } => {
                let part = match (first, last) {
                    (true, true) => "",
                    (true, false) => ", first part",
                    (false, true) => ", last part",
                    (false, false) => ", a middle part",
                };
                (format!("stage {}{part}", s + 1), None)
            }
            Role::Check => ("a check".to_string(), Some("COPY copies a directory's contents and a file as itself, so what it gives depends on the kind of the path. The Rockerfile does not say it; rockerc assumed it (see the IMPORT below), and this RUN stops the build if the assumption is wrong. Nothing of this stage reaches an image.")),
            Role::FuseCheck => ("a check of the fused build".to_string(), Some("build.sh's one BuildKit build checks that each COPY --from gives what its step-by-step IMPORT gives (no symbolic link, no directory whose mode COPY would change, no hard link, nothing in the way at the destination); when it does not, this RUN fails and build.sh builds step by step. Nothing of this stage reaches an image.")),
            Role::Rename => ("a rename".to_string(), Some("The export store named the file otherwise than its source: COPY into an existing directory keeps the source's name, so this scratch stage gives it the store's name first.")),
            Role::Output => ("files for the host".to_string(), Some("build.sh builds this stage with `--output type=local,dest=HOST`: BuildKit writes its files into the host directory, as Rocker's IMPORT into a MOUNT did; the image of the importing stage does not change.")),
            Role::Tagged => ("a TAGged image".to_string(), Some("The TAGged image carries the stage's ONBUILD triggers; the stage itself goes on without them (Docker fires a stage's triggers in every stage built FROM it).")),
        };
        w!(out, "## `{}` ({title})", stage.name);
        w!(out);
        let rockerfile = stage_lines(stage);
        if let Some(lines) = rockerfile {
            w!(out, "From {name}:{lines}:");
            w!(out);
            quote(&mut out, file, lines);
            w!(out);
            w!(out, "becomes:");
            w!(out);
        }
        fenced(&mut out, "dockerfile", &buildkit::stage_text(ms, stage));
        if let Some(why) = why {
            w!(out);
            w!(out, "{why}");
        }
        let mut notes = Vec::new();
        if matches!(stage.role, Role::Part { first: false, .. }) {
            notes.push(format!("`{}`: the stage goes on from the image at the point before; it is a Dockerfile stage of its own so that an IMPORT, a TAG or an ATTACH can name the image at that point.", stage.from));
        }
        let plain = stage.body.iter().filter(|l| l.how == How::Plain).count();
        if plain > 0 {
            notes.push(format!(
                "{plain} plain instruction{}: as written; BuildKit's layer cache keys each by its parent and its inputs.",
                if plain == 1 { "" } else { "s" }
            ));
        }
        for line in &stage.body {
            let at = line.lines.map(|l| format!("{name}:{l}")).unwrap_or_else(|| "rockerc".into());
            let text = match line.how {
                How::Plain | How::Check => continue,
                How::Mounted => format!("{at}, **RUN --mount**: the stage's MOUNTs become mounts of this RUN (a volume is a cache whose id is the sh backend's volume name; a read-only host directory in the context is a bind mount of the context; a host file outside it is a secret; a `--secret` the RUN reads is a secret read into its variable for this RUN alone). No run + commit, and nothing mounted reaches the layer."),
                How::Import => {
                    let mut t = format!("{at}, **COPY --from**: the IMPORT copies from the image at each EXPORT, owned by root (`--chown=0:0`) as the sh backend's COPY from a build context makes them.");
                    for why in &line.why {
                        t.push_str(&format!("\n  - {why}."));
                    }
                    t
                }
                How::Repeated => format!("`{}`: said again, because a new Dockerfile stage starts here (ARG is per stage, and Docker clears CMD at an ENTRYPOINT unless the same stage set it).", first_line(&line.text)),
                How::Onbuild => format!("`{}`: held back to here, where the image leaves the stage.", first_line(&line.text)),
                How::Unused => format!("{at}: an EXPORT no IMPORT reads; nothing to do."),
                How::Hosted => format!("{at}, **RUN, then checks**: in build.sh's one BuildKit build, the RUN's command runs as written, then the checks of the IMPORTs from the EXPORT after it run in the same container; they write nothing."),
            };
            notes.push(text);
        }
        if !notes.is_empty() {
            w!(out);
            for n in notes {
                w!(out, "- {n}");
            }
        }
    }
    w!(out);
    w!(out, "## What build.sh does");
    w!(out);
    for s in &ms.secrets {
        w!(out, "- It checks that `{}` is a file and passes it as `--secret id={},src=...` (from {name}:{}).", s.src, s.id, s.lines);
    }
    for (n, t) in ms.targets.iter().enumerate() {
        let at = format!("{name}:{}", t.lines);
        let build = match &t.image {
            Some(image) => format!("takes the image `{image}` as it is (TAG right after FROM names the base image itself, as in Rocker)"),
            None => format!("`docker build --target {}`", t.stage),
        };
        let what = match &t.kind {
            TargetKind::Build => format!("{build}: the end of a stage that nothing else builds, so that all of it runs, as the sh backend runs every stage."),
            TargetKind::Tag { name: tag, push } => format!("{build}, then `docker tag` to `{tag}` once every build has succeeded{}.", if *push { ", and `docker push` with `--push`" } else { "" }),
            TargetKind::Attach { .. } => format!("with `--attach`: {build}, then `docker run -it` of it with the stage's MOUNTs (a volume MOUNT is the Docker volume the sh backend uses: BuildKit's cache is reachable only from a build)."),
            TargetKind::Output { host } => format!("`docker build --target {} --output type=local,dest={host}`: the files the IMPORT writes into the host directory.", t.stage),
        };
        w!(out, "{}. `{at}` {}: {what}", n + 1, t.what.replace('`', "'"));
    }
    out
}

/// The Rockerfile lines a Dockerfile stage comes from.
fn stage_lines(stage: &crate::lower::DStage) -> Option<Lines> {
    let mut all: Vec<Lines> = stage.body.iter().filter_map(|l| l.lines).collect();
    all.extend(stage.from_lines);
    let first = all.iter().map(|l| l.first).min()?;
    let last = all.iter().map(|l| l.last).max()?;
    Some(Lines { first, last })
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().replace('`', "'")
}
