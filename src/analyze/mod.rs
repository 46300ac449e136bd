//! AST -> a checked [`Program`]: stages split at FROM, every instruction validated the way
//! Docker's instruction layer validates it, Rocker's instructions parsed into typed operations,
//! and references (FROM, COPY --from) resolved to stages, images TAGged earlier, or external
//! images.
//!
//! Plain Dockerfile instructions keep their source text: Docker itself interprets them (quoting,
//! variable expansion) when it builds the generated Dockerfiles, so rockerc must hand them over
//! exactly as written.

pub mod expand;
mod imageref;
mod rocker;

pub use imageref::ImageName;
pub use rocker::{normalize, Mount, Transfer};

use crate::diagnostic::{suggest, Diagnostic, Diagnostics};
use crate::source::{Span, Spanned};
use crate::syntax::{Args, Ast, Instruction, Keyword};

/// A Rockerfile, checked and split into stages.
#[derive(Clone, Debug)]
pub struct Program {
    /// The escape character; generated Dockerfiles carry an `escape` directive when it is not `\`.
    pub escape: char,
    /// `ARG` instructions before the first FROM (visible only to FROM lines).
    pub global_args: Vec<Item>,
    pub stages: Vec<Stage>,
    pub warnings: Vec<Diagnostic>,
}

#[derive(Clone, Debug)]
pub struct Stage {
    /// 0-based position in the file.
    pub index: usize,
    pub from: From,
    /// The instructions after FROM, in order.
    pub items: Vec<Item>,
    /// From the FROM keyword to the end of the stage's last instruction.
    pub span: Span,
}

impl Stage {
    /// How the stage is named in messages and generated comments: `stage 2 (builder)`.
    pub fn label(&self) -> String {
        match &self.from.alias {
            Some(alias) => format!("stage {} ({})", self.index + 1, alias.value),
            None => format!("stage {}", self.index + 1),
        }
    }
}

#[derive(Clone, Debug)]
pub struct From {
    /// The image as written (`golang:1.22`, `builder`, `${BASE}`).
    pub image: Spanned<String>,
    pub alias: Option<Spanned<String>>,
    pub base: Base,
    /// The FROM instruction as written, flags included (`FROM --platform=linux/amd64 x AS y`).
    pub text: String,
    pub span: Span,
}

/// What an image reference (FROM, COPY --from) resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// `scratch`.
    Scratch,
    /// An image outside this file, by the name written.
    External(String),
    /// The final image of an earlier stage (by `AS` name or, for COPY --from, by index).
    Stage(usize),
    /// The image an earlier TAG or PUSH named: the image of `stage` at item `item`.
    Tagged { stage: usize, item: usize, name: String },
}

/// One instruction after FROM.
#[derive(Clone, Debug)]
pub struct Item {
    pub keyword: Keyword,
    /// The instruction's source text, from its keyword to the end of its last line, heredoc
    /// bodies included: what a generated Dockerfile repeats.
    pub text: String,
    pub span: Span,
    pub op: Op,
}

#[derive(Clone, Debug)]
pub enum Op {
    /// A Dockerfile instruction Docker builds itself (everything but RUN and Rocker's own).
    Docker(DockerOp),
    Run(Run),
    Mount(Vec<Mount>),
    Export(Transfer),
    Import(Transfer),
    Tag(ImageName),
    Push(ImageName),
    Attach(Option<Command>),
}

#[derive(Clone, Debug, Default)]
pub struct DockerOp {
    /// COPY/ADD that read the build context.
    pub uses_context: bool,
    /// COPY --from=...
    pub copy_from: Option<(Spanned<String>, Base)>,
    /// WORKDIR's argument as written.
    pub workdir: Option<String>,
    /// SHELL's vector.
    pub shell: Option<Vec<String>>,
    /// ARG names declared (one instruction may declare several).
    pub arg_names: Vec<String>,
    /// ARG words as written (`NAME` or `NAME=default`), for re-declaring in later steps.
    pub arg_words: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Run {
    pub command: Command,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Shell form: run through the stage's SHELL.
    Shell(String),
    /// Exec (JSON) form.
    Exec(Vec<String>),
}

impl Command {
    /// The argument vector a container runs for this command under `shell`.
    pub fn argv(&self, shell: &[String]) -> Vec<String> {
        match self {
            Command::Shell(text) => shell.iter().cloned().chain(std::iter::once(text.clone())).collect(),
            Command::Exec(argv) => argv.clone(),
        }
    }
}

/// Checks the AST and splits it into stages.
pub fn analyze(ast: &Ast, text: &str) -> Result<Program, Diagnostics> {
    let mut cx = Analyzer { text, errors: Vec::new(), warnings: Vec::new(), stages: Vec::new(), global_args: Vec::new() };
    cx.run(ast);
    if cx.errors.is_empty() {
        Ok(Program { escape: ast.escape, global_args: cx.global_args, stages: cx.stages, warnings: cx.warnings })
    } else {
        cx.errors.extend(cx.warnings);
        Err(Diagnostics(cx.errors))
    }
}

struct Analyzer<'a> {
    text: &'a str,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    stages: Vec<Stage>,
    global_args: Vec<Item>,
}

/// Rocker 0.2 instructions that still appear in real Rockerfiles, with what to write instead.
const ROCKER_V0: [(&str, &str); 3] = [
    ("REQUIRE", "REQUIRE was removed in Rocker 1.0; check variables with `{{ assert .NAME }}` (or run rockerc with --strict)"),
    ("INCLUDE", "INCLUDE was removed in Rocker 1.0; inline the included file, or generate it with a template"),
    ("VAR", "VAR was removed in Rocker 1.0; set template variables with -var NAME=VALUE or `{{ $name := \"value\" }}`"),
];

impl<'a> Analyzer<'a> {
    fn run(&mut self, ast: &Ast) {
        for inst in &ast.instructions {
            if inst.kind == Keyword::From {
                self.start_stage(inst);
                continue;
            }
            let Some(item) = self.item(inst) else { continue };
            match self.stages.last_mut() {
                Some(stage) => {
                    stage.span = stage.span.join(item.span);
                    stage.items.push(item);
                }
                None if item.keyword == Keyword::Arg => self.global_args.push(item),
                None => self.errors.push(
                    Diagnostic::error("before-from", format!("{} before the first FROM", item.keyword.as_str()))
                        .at(inst.keyword.span, "only ARG may come before the first FROM")
                        .help("start the file with a FROM instruction"),
                ),
            }
        }
        if self.stages.is_empty() && self.errors.is_empty() {
            let at = ast.instructions.last().map(|i| i.span).unwrap_or_default();
            self.errors.push(Diagnostic::error("no-from", "the Rockerfile has no FROM instruction").at(at, "").help("a Rockerfile starts with `FROM <image>`"));
        }
    }

    fn source(&self, span: Span) -> String {
        self.text[span.start..span.end].to_string()
    }

    fn start_stage(&mut self, inst: &Instruction) {
        let words = match &inst.args {
            Args::List(words) => words.clone(),
            _ => Vec::new(),
        };
        for flag in &inst.flags {
            if !flag.value.starts_with("--platform=") {
                self.errors.push(Diagnostic::error("unknown-flag", format!("unknown flag for FROM: `{}`", flag.value)).at(flag.span, "FROM accepts only --platform"));
            }
        }
        let (image, alias) = match words.as_slice() {
            [image] => (image.clone(), None),
            [image, as_kw, alias] if as_kw.value.eq_ignore_ascii_case("as") => (image.clone(), Some(alias.clone())),
            _ => {
                self.errors.push(
                    Diagnostic::error("wrong-arguments", "FROM requires either one or three arguments")
                        .at(inst.rest.span, "expected `FROM <image>` or `FROM <image> AS <name>`"),
                );
                return;
            }
        };
        let alias = alias.map(|a| a.map(|s| s.to_lowercase()));
        if let Some(alias) = &alias {
            if let Some(prev) = self.stages.iter().find(|s| s.from.alias.as_ref().map(|a| &a.value) == Some(&alias.value)) {
                self.errors.push(
                    Diagnostic::error("duplicate-stage", format!("stage name `{}` is already used", alias.value))
                        .at(alias.span, "")
                        .also(prev.from.alias.as_ref().unwrap().span, "first used here"),
                );
            }
            if !is_stage_name(&alias.value) {
                self.errors.push(
                    Diagnostic::error("bad-stage-name", format!("invalid stage name `{}`", alias.value))
                        .at(alias.span, "stage names start with a letter and use letters, digits, `_`, `-` and `.`"),
                );
            }
        }
        let base = self.resolve_base(&image, false);
        let index = self.stages.len();
        self.stages.push(Stage {
            index,
            from: From { image, alias, base, text: self.source(inst.span), span: inst.span },
            items: Vec::new(),
            span: inst.span,
        });
    }

    /// Resolves an image reference against earlier stages and TAGs. `by_index` allows a stage
    /// number (COPY --from=0).
    fn resolve_base(&mut self, image: &Spanned<String>, by_index: bool) -> Base {
        let name = image.value.as_str();
        if name.eq_ignore_ascii_case("scratch") {
            return Base::Scratch;
        }
        if by_index {
            if let Ok(n) = name.parse::<usize>() {
                if n < self.stages.len() {
                    return Base::Stage(n);
                }
                self.errors.push(
                    Diagnostic::error("unknown-stage", format!("there is no stage {n} before this one"))
                        .at(image.span, format!("stages are numbered from 0; {} so far", self.stages.len())),
                );
                return Base::Scratch;
            }
        }
        let lower = name.to_lowercase();
        if let Some(stage) = self.stages.iter().find(|s| s.from.alias.as_ref().map(|a| a.value.as_str()) == Some(lower.as_str())) {
            return Base::Stage(stage.index);
        }
        if !name.contains('$') {
            if let Ok(wanted) = ImageName::parse(name) {
                // The latest TAG or PUSH of that name before this point wins.
                for stage in self.stages.iter().rev() {
                    for (i, item) in stage.items.iter().enumerate().rev() {
                        if let Op::Tag(t) | Op::Push(t) = &item.op {
                            if t.same_image(&wanted) {
                                return Base::Tagged { stage: stage.index, item: i, name: t.to_string() };
                            }
                        }
                    }
                }
            }
        }
        Base::External(name.to_string())
    }

    fn item(&mut self, inst: &Instruction) -> Option<Item> {
        let op = self.op(inst)?;
        Some(Item { keyword: inst.kind, text: self.source(inst.span), span: inst.span, op })
    }

    fn op(&mut self, inst: &Instruction) -> Option<Op> {
        let kw = inst.kind;
        let name = kw.as_str();
        self.check_flags(inst);
        let op = match kw {
            Keyword::From => unreachable!("FROM starts a stage"),
            Keyword::Unknown => {
                let word = inst.keyword.value.to_uppercase();
                let mut d = Diagnostic::error("unknown-instruction", format!("unknown instruction `{}`", inst.keyword.value));
                if let Some((_, why)) = ROCKER_V0.iter().find(|(k, _)| *k == word) {
                    d = d.at(inst.keyword.span, "a Rocker 0.2 instruction").help(*why);
                } else if let Some(s) = suggest(&inst.keyword.value, Keyword::ALL.iter().map(|k| k.as_str())) {
                    d = d.at(inst.keyword.span, format!("did you mean `{s}`?"));
                } else {
                    d = d.at(inst.keyword.span, "not a Dockerfile or Rocker instruction");
                }
                self.errors.push(d);
                return None;
            }
            Keyword::Run => Op::Run(Run { command: self.command(inst, true)? }),
            Keyword::Cmd | Keyword::Entrypoint => {
                self.command(inst, false);
                Op::Docker(DockerOp::default())
            }
            Keyword::Shell => match &inst.args {
                Args::Json(v) if !v.is_empty() => Op::Docker(DockerOp { shell: Some(v.iter().map(|s| s.value.clone()).collect()), ..DockerOp::default() }),
                _ => return self.fail(inst, "SHELL requires the arguments to be in JSON form", "write `SHELL [\"/bin/bash\", \"-c\"]`"),
            },
            Keyword::Env | Keyword::Label => match &inst.args {
                Args::Pairs(pairs) if !pairs.is_empty() => Op::Docker(DockerOp::default()),
                _ => return self.fail(inst, &format!("{name} requires at least one argument"), &format!("write `{name} KEY=value`")),
            },
            Keyword::Arg => match &inst.args {
                Args::Words(words) if !words.is_empty() => {
                    let arg_words: Vec<String> = words.iter().map(|w| w.value.clone()).collect();
                    let arg_names = arg_words.iter().map(|w| w.split('=').next().unwrap_or_default().to_string()).collect();
                    Op::Docker(DockerOp { arg_names, arg_words, ..DockerOp::default() })
                }
                _ => return self.fail(inst, "ARG requires at least one argument", "write `ARG NAME` or `ARG NAME=default`"),
            },
            Keyword::Workdir => {
                let dir = self.one_string(inst)?;
                Op::Docker(DockerOp { workdir: Some(dir), ..DockerOp::default() })
            }
            Keyword::User | Keyword::Stopsignal | Keyword::Maintainer => {
                self.one_string(inst)?;
                Op::Docker(DockerOp::default())
            }
            Keyword::Expose | Keyword::Volume => {
                if inst.arg_strings().is_empty() {
                    return self.fail(inst, &format!("{name} requires at least one argument"), "");
                }
                Op::Docker(DockerOp::default())
            }
            Keyword::Copy | Keyword::Add => self.copy(inst)?,
            Keyword::Onbuild => {
                let Args::Onbuild(trigger) = &inst.args else {
                    return self.fail(inst, "ONBUILD requires an instruction", "write `ONBUILD RUN ...`");
                };
                match trigger.kind {
                    Keyword::Onbuild => return self.fail(inst, "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", ""),
                    Keyword::From => return self.fail(inst, "FROM isn't allowed as an ONBUILD trigger", ""),
                    Keyword::Maintainer => return self.fail(inst, "MAINTAINER isn't allowed as an ONBUILD trigger", ""),
                    k if k.is_rocker() => {
                        self.errors.push(
                            Diagnostic::error("rocker-onbuild", format!("{} can't be an ONBUILD trigger", k.as_str()))
                                .at(trigger.keyword.span, "Docker runs ONBUILD triggers and does not know Rocker's instructions")
                                .help("put the instruction in the Rockerfile that builds FROM this image"),
                        );
                        return None;
                    }
                    _ => {
                        // Validate the trigger as an instruction of its own.
                        self.op(trigger)?;
                    }
                }
                Op::Docker(DockerOp::default())
            }
            Keyword::Healthcheck => Op::Docker(DockerOp::default()),
            Keyword::Mount => Op::Mount(self.rocker_list(inst).and_then(|args| rocker::mounts(&args, &mut self.errors))?),
            Keyword::Export => Op::Export(self.transfer(inst)?),
            Keyword::Import => Op::Import(self.transfer(inst)?),
            Keyword::Tag | Keyword::Push => {
                let name = self.one_string(inst)?;
                match ImageName::parse(&name) {
                    Ok(image) => {
                        if kw == Keyword::Tag {
                            Op::Tag(image)
                        } else {
                            Op::Push(image)
                        }
                    }
                    Err(why) => {
                        let mut d = Diagnostic::error("bad-image-name", format!("invalid image name `{name}` in {}", kw.as_str())).at(inst.rest.span, why);
                        if name.contains('$') {
                            d = d.help("Rocker 0.2 substituted $VAR here; Rocker 1.x and rockerc do not: write `{{ .VAR }}` and pass -var VAR=...");
                        }
                        self.errors.push(d);
                        return None;
                    }
                }
            }
            Keyword::Attach => Op::Attach(match &inst.args {
                Args::None => None,
                _ => Some(self.command(inst, false)?),
            }),
        };
        Some(op)
    }

    fn fail<T>(&mut self, inst: &Instruction, message: &str, help: &str) -> Option<T> {
        let mut d = Diagnostic::error("wrong-arguments", message.to_string()).at(inst.span_for_args(), "");
        if !help.is_empty() {
            d = d.help(help.to_string());
        }
        self.errors.push(d);
        None
    }

    fn command(&mut self, inst: &Instruction, required: bool) -> Option<Command> {
        match &inst.args {
            Args::Json(v) if !(required && v.is_empty()) => Some(Command::Exec(v.iter().map(|s| s.value.clone()).collect())),
            Args::String(s) if !s.value.trim().is_empty() => Some(Command::Shell(s.value.clone())),
            Args::None | Args::String(_) if !required => Some(Command::Exec(Vec::new())),
            _ => self.fail(inst, &format!("{} requires at least one argument", inst.kind.as_str()), ""),
        }
    }

    fn one_string(&mut self, inst: &Instruction) -> Option<String> {
        match &inst.args {
            Args::String(s) if !s.value.trim().is_empty() => Some(s.value.clone()),
            _ => self.fail(inst, &format!("{} requires exactly one argument", inst.kind.as_str()), ""),
        }
    }

    /// The arguments of MOUNT/EXPORT/IMPORT (JSON or whitespace list).
    fn rocker_list(&mut self, inst: &Instruction) -> Option<Vec<Spanned<String>>> {
        match &inst.args {
            Args::Json(v) | Args::List(v) if !v.is_empty() => Some(v.clone()),
            _ => self.fail(inst, &format!("{} requires at least one argument", inst.kind.as_str()), ""),
        }
    }

    fn transfer(&mut self, inst: &Instruction) -> Option<Transfer> {
        let args = self.rocker_list(inst)?;
        rocker::transfer(inst.kind, args, &mut self.errors)
    }

    fn copy(&mut self, inst: &Instruction) -> Option<Op> {
        let args: Vec<&Spanned<String>> = inst.arg_strings();
        let name = inst.kind.as_str();
        if args.len() < 2 && inst.heredocs.is_empty() {
            return self.fail(inst, &format!("{name} requires at least two arguments, but only one was provided. Destination could not be determined"), "");
        }
        let mut op = DockerOp::default();
        for flag in &inst.flags {
            if let Some(from) = flag.value.strip_prefix("--from=") {
                let from = Spanned::new(from.to_string(), flag.span);
                let base = self.resolve_base(&from, true);
                op.copy_from = Some((from, base));
            }
        }
        let sources = &args[..args.len().saturating_sub(1)];
        let is_url = |s: &str| s.starts_with("http://") || s.starts_with("https://") || s.starts_with("git@");
        op.uses_context = op.copy_from.is_none() && sources.iter().any(|s| !is_url(&s.value));
        Some(Op::Docker(op))
    }

    /// Flags that only BuildKit understands are compile errors for the sh backend, which builds
    /// with Docker's legacy builder; unknown flags are errors everywhere.
    fn check_flags(&mut self, inst: &Instruction) {
        let allowed: &[&str] = match inst.kind {
            Keyword::Copy => &["from", "chown"],
            Keyword::Add => &["chown"],
            Keyword::Healthcheck => &["interval", "timeout", "start-period", "start-interval", "retries"],
            _ => &[],
        };
        let buildkit_only: &[&str] = match inst.kind {
            Keyword::Run => &["mount", "network", "security"],
            Keyword::Copy => &["link", "parents", "exclude", "chmod"],
            Keyword::Add => &["link", "exclude", "chmod", "checksum", "keep-git-dir"],
            _ => &[],
        };
        for flag in &inst.flags {
            let name = flag.value.trim_start_matches('-').split('=').next().unwrap_or_default();
            if allowed.contains(&name) {
                continue;
            }
            let d = if buildkit_only.contains(&name) {
                let mut d = Diagnostic::error("needs-buildkit", format!("{} --{name} needs BuildKit", inst.kind.as_str()))
                    .at(flag.span, "the sh backend builds with Docker's legacy builder, which does not support this flag");
                d = d.help(if inst.kind == Keyword::Run && name == "mount" {
                    "use Rocker's MOUNT instruction, which the sh backend lowers to `docker run` with mounts"
                } else {
                    "build this file with a BuildKit backend, or drop the flag"
                });
                d
            } else {
                let mut d = Diagnostic::error("unknown-flag", format!("unknown flag for {}: `{}`", inst.kind.as_str(), flag.value));
                let mut label = if allowed.is_empty() {
                    format!("{} takes no flags", inst.kind.as_str())
                } else {
                    format!("{} accepts {}", inst.kind.as_str(), allowed.iter().map(|a| format!("--{a}")).collect::<Vec<_>>().join(", "))
                };
                if let Some(s) = suggest(name, allowed.iter().copied()) {
                    label = format!("did you mean `--{s}`?");
                }
                d = d.at(flag.span, label);
                d
            };
            self.errors.push(d);
        }
    }
}

impl Instruction {
    /// Where argument errors point: the arguments, or the keyword when there are none.
    pub fn span_for_args(&self) -> Span {
        if self.rest.value.trim().is_empty() {
            self.keyword.span
        } else {
            self.rest.span
        }
    }
}

fn is_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
