//! AST -> a checked [`Program`]: stages split at FROM, every instruction validated the way
//! Docker's instruction layer validates it, Rocker's instructions parsed into typed operations,
//! and references (FROM, COPY --from) resolved to stages, images TAGged earlier, or external
//! images.
//!
//! Plain Dockerfile instructions keep their source text: Docker itself interprets them (quoting,
//! variable expansion) when it builds the generated Dockerfiles, so rockerc must hand them over
//! exactly as written. What rockerc must decide itself it decides as Docker would: a FROM line is
//! expanded with the global ARGs (and `--build-arg` values) before it is resolved, so
//! `FROM ${BASE}` with `BASE=builder` builds on the stage `builder`; [`Program::scope_at`] tells
//! what ENV and ARG variables hold at any point of a stage.

pub mod expand;
mod imageref;
mod rocker;
mod scope;
mod steps;

pub use imageref::{ImageName, RefError};
pub use rocker::{in_context_path, normalize, Mount, Transfer};
pub use scope::{is_proxy_arg, scope_after_from, Builder, Expanded, Globals, Scope, VarValue, DEFAULT_PATH};
pub use steps::{arg_env, check_steps, mount_holding, refers_to, StageState};

use crate::diagnostic::{suggest, Code, Diagnostic, Diagnostics};
use crate::source::{Span, Spanned};
use crate::syntax::{Args, Ast, Instruction, Keyword};
use expand::{ExpandError, ExpandErrorKind, Lexer};
use imageref::ImageKey;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the analysis needs besides the file.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--build-arg NAME=VALUE`, in order (a later one of the same name wins): they override ARG
    /// defaults, in FROM lines too.
    pub build_args: Vec<(String, String)>,
    /// The build context on this machine, when known: a MOUNT of a path missing from it is
    /// worth a warning (the script would create an empty directory there).
    pub context_dir: Option<std::path::PathBuf>,
    /// `--allow-mount PATH` (absolute): host paths outside the context a MOUNT may bind without
    /// a warning.
    pub allow_mounts: Vec<String>,
    /// The template variables that are set (`-var`, `-vars`, `--secret`): what REQUIRE checks.
    /// `None` when the caller rendered no template; REQUIRE then checks nothing.
    pub template_vars: Option<BTreeSet<String>>,
    /// The values of the template variables set as plain strings (`-var`, and `-vars` scalars):
    /// Rocker 0.2 replaced `$NAME` in TAG and PUSH with them.
    pub template_values: BTreeMap<String, String>,
}

/// A Rockerfile, checked and split into stages.
#[derive(Clone, Debug)]
pub struct Program {
    /// The escape character; generated Dockerfiles carry an `escape` directive when it is not `\`.
    pub escape: char,
    /// `ARG` instructions before the first FROM (visible only to FROM lines).
    pub global_args: Vec<Item>,
    pub stages: Vec<Stage>,
    pub warnings: Vec<Diagnostic>,
    /// The `--build-arg` values the program was analysed with.
    pub build_args: Vec<(String, String)>,
}

impl Program {
    /// The ENV and ARG variables in effect just before item `item` of stage `stage` (with
    /// `item == items.len()`, at the end of the stage), as far as the compile knows them, under
    /// `builder`'s rules (the sh backend builds with [`Builder::Legacy`]).
    ///
    /// ```
    /// # use rockerc::analyze::{analyze, Builder, VarValue};
    /// let text = "ARG V=1\nFROM scratch\nARG V\nENV DIR=/opt/$V\nWORKDIR $DIR/bin\n";
    /// let program = analyze(&rockerc::syntax::parse(text).unwrap().ast, text).unwrap();
    /// let scope = program.scope_at(0, 2, Builder::Legacy);
    /// assert_eq!(scope.get("DIR"), VarValue::Known("/opt/1".into()));
    /// assert_eq!(scope.expand("$DIR/bin").unwrap().value, VarValue::Known("/opt/1/bin".into()));
    /// ```
    pub fn scope_at(&self, stage: usize, item: usize, builder: Builder) -> Scope {
        let (globals, _) = Globals::new(&self.global_args, &self.build_args, Lexer::new(self.escape), builder);
        scope::scope_at(&self.stages, &globals, stage, item)
    }
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
    /// The image as Docker reads it: expanded with the global ARGs and `--build-arg` values
    /// (`golang:1.22` for `golang:${GO}`). `base` was resolved from this name.
    pub expanded: String,
    pub alias: Option<Spanned<String>>,
    pub base: Base,
    /// The FROM instruction as written, flags included (`FROM --platform=linux/amd64 x AS y`).
    pub text: String,
    /// Its flags as written (`--platform=linux/amd64`), from the parser's flags.
    pub flags: Vec<String>,
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
    /// bodies included: what a generated Dockerfile repeats (shared with every Dockerfile that
    /// does).
    pub text: std::sync::Arc<str>,
    /// Where the arguments start in `text`, after the keyword and the flags (the parser's
    /// `rest`): a lowering that rewrites the flags splices there instead of reading the text again.
    pub args_at: usize,
    pub span: Span,
    pub op: Op,
}

/// The item of an instruction whose source text is `text`.
fn item_of(inst: &Instruction, text: String, op: Op) -> Item {
    let args_at = inst.rest.span.start.saturating_sub(inst.span.start).min(text.len());
    Item { keyword: inst.kind, text: text.into(), args_at, span: inst.span, op }
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
    /// The context paths a COPY/ADD reads, as written (globs kept); empty for other instructions.
    pub context_sources: Box<[String]>,
    /// The http(s) URLs an ADD downloads, as written: the no-op check asks each whether it changed.
    pub url_sources: Box<[String]>,
    /// COPY --from=...
    pub copy_from: Option<Box<(Spanned<String>, Base)>>,
    /// WORKDIR's argument as written.
    pub workdir: Option<String>,
    /// SHELL's vector.
    pub shell: Option<Vec<String>>,
    /// ARG names declared (one instruction may declare several).
    pub arg_names: Box<[String]>,
    /// ARG words as written (`NAME` or `NAME=default`), for re-declaring in later steps.
    pub arg_words: Box<[String]>,
    /// ENV's pairs as written: key, and value with its quotes and variables.
    pub env: Box<[(String, String)]>,
    /// ONBUILD's trigger, checked as an instruction of its own.
    pub trigger: Option<Box<Item>>,
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

/// Checks the AST and splits it into stages, with no `--build-arg` values.
pub fn analyze(ast: &Ast, text: &str) -> Result<Program, Diagnostics> {
    analyze_with(ast, text, &Options::default())
}

/// Checks the AST and splits it into stages.
pub fn analyze_with(ast: &Ast, text: &str, options: &Options) -> Result<Program, Diagnostics> {
    analyze_instructions(&ast.directives, ast.escape, first_from(&ast.instructions), ast.instructions.iter(), text, options)
}

/// [`analyze_with`] for a caller done with the tree: each instruction is dropped once its item is
/// made, and the tree's vector gives its memory back as it empties, so the tree and the program
/// are never both whole in memory (on a file of 100,000 instructions, tens of megabytes).
pub fn analyze_owned(ast: Ast, text: &str, options: &Options) -> Result<Program, Diagnostics> {
    let Ast { directives, escape, mut instructions } = ast;
    let from = first_from(&instructions);
    instructions.reverse();
    analyze_instructions(&directives, escape, from, Consume(instructions), text, options)
}

/// The first FROM's keyword, which an error about what comes before it points at too.
fn first_from(instructions: &[Instruction]) -> Option<Span> {
    instructions.iter().find(|i| i.kind == Keyword::From).map(|i| i.keyword.span)
}

/// A vector's elements, handed out first to last (the vector holds them last first), the spare
/// capacity given back each time half of it is spare.
struct Consume<T>(Vec<T>);

impl<T> Iterator for Consume<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let next = self.0.pop();
        if self.0.capacity() > 64 && self.0.len() < self.0.capacity() / 2 {
            self.0.shrink_to_fit();
        }
        next
    }
}

fn analyze_instructions<I: std::borrow::Borrow<Instruction>>(
    directives: &[crate::syntax::Directive],
    escape: char,
    first_from: Option<Span>,
    instructions: impl Iterator<Item = I>,
    text: &str,
    options: &Options,
) -> Result<Program, Diagnostics> {
    let mut cx = Analyzer {
        text,
        escape,
        build_args: &options.build_args,
        context_dir: options.context_dir.as_deref(),
        allow_mounts: &options.allow_mounts,
        template_vars: options.template_vars.as_ref(),
        template_values: &options.template_values,
        errors: Vec::new(),
        warnings: Vec::new(),
        stages: Vec::new(),
        aliases: HashMap::new(),
        tagged: HashMap::new(),
        global_args: Vec::new(),
        globals: None,
        scope: None,
        out_of_scope: BTreeSet::new(),
    };
    cx.run(directives, first_from, instructions);
    // The items' vectors grew by doubling; what the lowering reads beside the plan it builds
    // need not keep the spare half.
    for stage in &mut cx.stages {
        stage.items.shrink_to_fit();
    }
    if cx.errors.is_empty() {
        Ok(Program { escape, global_args: cx.global_args, stages: cx.stages, warnings: cx.warnings, build_args: options.build_args.clone() })
    } else {
        cx.errors.extend(cx.warnings);
        Err(Diagnostics(cx.errors))
    }
}

struct Analyzer<'a> {
    text: &'a str,
    /// The escape character (`\` or a backtick), for messages about line continuations.
    escape: char,
    build_args: &'a [(String, String)],
    context_dir: Option<&'a std::path::Path>,
    allow_mounts: &'a [String],
    template_vars: Option<&'a BTreeSet<String>>,
    template_values: &'a BTreeMap<String, String>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    stages: Vec<Stage>,
    /// Stage by `AS` name (the first of a name; a second is an error), and the latest TAG or
    /// PUSH of each image so far: every FROM and COPY --from looks a name up, so a scan of the
    /// earlier stages would make the analysis quadratic in their number.
    aliases: HashMap<String, usize>,
    tagged: HashMap<ImageKey, (usize, usize, String)>,
    global_args: Vec<Item>,
    /// The global ARGs, evaluated at the first FROM (the sh backend's builder's rules).
    globals: Option<Globals>,
    /// The variables at the current point of the current stage.
    scope: Option<Scope>,
    /// (stage, name) of the global ARGs already reported as used out of scope.
    out_of_scope: BTreeSet<(usize, String)>,
}

/// Rocker 0.2 instructions that rockerc does not compile (REQUIRE and INCLUDE it does).
const ROCKER_V0: [&str; 1] = ["VAR"];

/// What to write instead of a Rocker 0.2 instruction, from its arguments as written.
fn rocker_v0_help(rest: &str) -> String {
    match rest.trim().split_once(['=', ' ']) {
        Some((name, value)) if !name.is_empty() => format!(
            "VAR was removed in Rocker 1.0; pass `-var {name}={}` to rockerc, or write `{{{{ ${name} := \"{}\" }}}}`",
            value.trim(),
            value.trim().trim_matches('"')
        ),
        _ => "VAR was removed in Rocker 1.0; pass -var NAME=VALUE to rockerc, or write `{{ $name := \"value\" }}`".into(),
    }
}

impl<'a> Analyzer<'a> {
    fn run<I: std::borrow::Borrow<Instruction>>(
        &mut self,
        directives: &[crate::syntax::Directive],
        first_from: Option<Span>,
        instructions: impl Iterator<Item = I>,
    ) {
        for d in directives {
            let what = match d.name.value.as_str() {
                "syntax" => "chooses a BuildKit frontend",
                "check" => "configures BuildKit's build checks",
                _ => continue,
            };
            self.warnings.push(
                Diagnostic::warning(
                    Code::IgnoredDirective,
                    format!("the `{}` directive {what}; the sh backend builds with Docker's legacy builder, which ignores it", d.name.value),
                )
                .at(d.name.span.join(d.value.span), "")
                .help("rockerc rejects BuildKit-only syntax for this backend, so the file builds the same without it"),
            );
        }
        let mut before_from_reported = false;
        let mut last = Span::default();
        for inst in instructions {
            let inst = inst.borrow();
            last = inst.span;
            if inst.kind == Keyword::From {
                self.start_stage(inst);
                continue;
            }
            let Some(item) = self.item(inst) else { continue };
            if !self.stages.is_empty() {
                self.check_expansion(inst);
                self.check_scope(inst);
                if let (Some(scope), Some(globals)) = (&mut self.scope, &self.globals) {
                    scope.apply(&item, globals);
                }
            }
            match self.stages.last_mut() {
                Some(stage) => {
                    stage.span = stage.span.join(item.span);
                    if let Op::Tag(name) | Op::Push(name) = &item.op {
                        self.tagged.insert(name.key(), (stage.index, stage.items.len(), name.to_string()));
                    }
                    stage.items.push(item);
                }
                None if item.keyword == Keyword::Arg => self.global_args.push(item),
                // One error is enough: every later line before the FROM has the same problem.
                None if before_from_reported => {}
                None => {
                    before_from_reported = true;
                    let keyword = item.keyword.as_str();
                    self.errors.push(match first_from {
                        Some(from) => Diagnostic::error(Code::BeforeFrom, format!("{keyword} before the first FROM"))
                            .at(inst.keyword.span, "only ARG may come before the first FROM")
                            .also(from, "the first FROM")
                            .help(format!("move the {keyword} below a FROM: instructions run in the image a FROM starts")),
                        None => Diagnostic::error(Code::NoFrom, "the Rockerfile has no FROM instruction")
                            .at(inst.keyword.span, format!("{keyword} needs an image, and no FROM starts one"))
                            .help("start the file with `FROM <image>`; if a template should write the FROM, `rockerc --print` shows what it wrote"),
                    });
                }
            }
        }
        if self.stages.is_empty() && self.errors.is_empty() {
            let at = last;
            self.errors
                .push(Diagnostic::error(Code::NoFrom, "the Rockerfile has no FROM instruction").at(at, "").help("a Rockerfile starts with `FROM <image>`"));
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
        self.check_flags(inst);
        let (image, alias) = match words.as_slice() {
            [image] => (image.clone(), None),
            [image, as_kw, alias] if as_kw.value.eq_ignore_ascii_case("as") => (image.clone(), Some(alias.clone())),
            _ => {
                let mut d = Diagnostic::error(Code::WrongArguments, "FROM requires either one or three arguments")
                    .at(inst.span_for_args(), "expected `FROM <image>` or `FROM <image> AS <name>`");
                d = match words.as_slice() {
                    [] => d.help("name the base image: `FROM alpine:3.19`, or `FROM scratch` for an empty one"),
                    // `FROM --platform linux/arm64 alpine`: the flag's value was taken for the image.
                    [value, image] if inst.flags.last().is_some_and(|f| f.value().is_none()) => {
                        let flag = inst.flags.last().unwrap().as_str();
                        d.help(format!("a flag's value follows `=`: write `FROM {flag}={} {}`", value.value, image.value))
                    }
                    [image, name] => d.help(format!("to name the stage, write `FROM {} AS {}`", image.value, name.value)),
                    [image, _, name] => d.help(format!("the second word must be AS: `FROM {} AS {}`", image.value, name.value)),
                    _ => d,
                };
                self.errors.push(d);
                // Later instructions still belong to a stage: a placeholder keeps them from being
                // reported as "before the first FROM" (the error above stops the compile anyway).
                let image = Spanned::new(inst.rest.value.clone(), inst.rest.span);
                let index = self.stages.len();
                let base = Base::External(image.value.clone());
                self.scope = None;
                self.stages.push(Stage {
                    index,
                    from: From {
                        expanded: image.value.clone(),
                        image,
                        alias: None,
                        base,
                        text: self.source(inst.span),
                        flags: self.flag_texts(inst),
                        span: inst.span,
                    },
                    items: Vec::new(),
                    span: inst.span,
                });
                return;
            }
        };
        let alias = alias.map(|a| a.map(|s| s.to_lowercase()));
        if let Some(alias) = &alias {
            if let Some(prev) = self.aliases.get(&alias.value).map(|&i| &self.stages[i]) {
                self.errors.push(
                    Diagnostic::error(Code::DuplicateStage, format!("stage name `{}` is already used", alias.value))
                        .at(alias.span, format!("already the name of {}", prev.label()))
                        .also(prev.from.alias.as_ref().unwrap().span, "first used here")
                        .note("stage names are case-insensitive")
                        .help("give each stage its own name"),
                );
            }
            if matches!(alias.value.as_str(), "scratch" | "context") {
                // BuildKit's ReservedStageName check: `FROM scratch` and `--from=context` mean
                // something else, so a stage of that name is a trap.
                self.warnings.push(
                    Diagnostic::warning(Code::ReservedStageName, format!("`{}` is a reserved word, not a good stage name", alias.value))
                        .at(
                            alias.span,
                            if alias.value == "scratch" { "`FROM scratch` means the empty image" } else { "`context` names the build context in BuildKit" },
                        )
                        .help("give the stage another name, e.g. `base`"),
                );
            }
            if !is_stage_name(&alias.value) {
                self.errors.push(
                    Diagnostic::error(Code::BadStageName, format!("invalid stage name `{}`", alias.value))
                        .at(alias.span, "stage names start with a letter and use letters, digits, `_`, `-` and `.`"),
                );
            }
        }
        let globals = self.globals();
        let (expanded, base) = match self.expand_from(&image, &globals) {
            Some(name) => {
                let base = self.resolve_base(&image, &name, false);
                if let Base::External(name) = &base {
                    self.check_image_name(&image, name, &globals);
                }
                (name, base)
            }
            None => (image.value.clone(), Base::External(image.value.clone())),
        };
        self.scope = Some(scope::scope_after_from(&base, &self.stages, &globals));
        self.globals = Some(globals);
        let index = self.stages.len();
        if let Some(alias) = &alias {
            self.aliases.entry(alias.value.clone()).or_insert(index);
        }
        self.stages.push(Stage {
            index,
            from: From { image, expanded, alias, base, text: self.source(inst.span), flags: self.flag_texts(inst), span: inst.span },
            items: Vec::new(),
            span: inst.span,
        });
    }

    /// The global ARGs; the first FROM evaluates them (every later ARG belongs to a stage).
    fn globals(&mut self) -> Globals {
        if let Some(globals) = &self.globals {
            return globals.clone();
        }
        let (globals, errors) = Globals::new(&self.global_args, self.build_args, Lexer::new(self.escape), Builder::Legacy);
        for (item, i, e) in errors {
            let Op::Docker(op) = &item.op else { continue };
            let word = &op.arg_words[i];
            let (name, default) = scope::split_arg(word);
            // The word as written, inside the ARG's text.
            let at = self.text[item.span.start..item.span.end].find(word.as_str()).map(|at| item.span.start + at);
            let span = match at {
                Some(at) => self.point_in(Span::new(at, at + word.len()), word, name.len() + 1 + e.offset),
                None => item.span,
            };
            let d = Diagnostic::error(Code::BadExpansion, format!("cannot expand the default of ARG `{name}`: {}", e.message))
                .at(span, expansion_label(&e))
                .note(format!("the default as written: `{}`", default.unwrap_or_default()));
            self.errors.push(d);
        }
        globals
    }

    /// Expands a FROM line's image with the global ARGs, as Docker does before it looks the name
    /// up. `None` when that fails (the error is reported).
    fn expand_from(&mut self, image: &Spanned<String>, globals: &Globals) -> Option<String> {
        let expanded = match globals.expand(&image.value) {
            Ok(e) => e,
            Err(e) => {
                let mut d = Diagnostic::error(Code::BadExpansion, format!("cannot expand `{}` in FROM: {}", image.value, e.message))
                    .at(self.point_in(image.span, &image.value, e.offset), expansion_label(&e));
                if let ExpandErrorKind::Required { name } = &e.kind {
                    d = d.help(format!("pass `--build-arg {name}=...`, or declare it with a default before the first FROM: `ARG {name}=...`"));
                }
                self.errors.push(d);
                return None;
            }
        };
        let name = expanded.expansion.value;
        if expanded.value == VarValue::Unknown {
            // It used a global ARG whose default could not be expanded: reported already.
            return None;
        }
        if name.is_empty() {
            let mut d = Diagnostic::error(Code::EmptyBaseName, format!("FROM `{}` names no image: it expands to nothing", image.value));
            d = match self.culprit(&expanded.expansion.unset, &expanded.expansion.used, globals) {
                Some(var) => self.explain_variable(d, image.span, &var, globals),
                None => d.at(image.span, "an empty image name"),
            };
            self.errors.push(d);
            return None;
        }
        // A variable no global ARG declares is empty here, whatever the file does later.
        for var in &expanded.expansion.unset {
            if !globals.declared.contains(var) {
                let d = Diagnostic::warning(Code::UndefinedArgInFrom, format!("FROM uses `{var}`, which no ARG before the first FROM declares"));
                let d = self.explain_variable(d, image.span, var, globals);
                self.warnings.push(d);
            }
        }
        Some(name)
    }

    /// The variable to blame for a FROM that expanded to something unusable: the first unset one,
    /// else the first that is set but empty.
    fn culprit(&self, unset: &[String], used: &[String], globals: &Globals) -> Option<String> {
        unset.first().cloned().or_else(|| used.iter().find(|v| globals.values.get(*v).and_then(VarValue::as_str) == Some("")).cloned())
    }

    /// Points `d` at `var` in the FROM word at `span`, saying why it has no value there.
    fn explain_variable(&self, d: Diagnostic, span: Span, var: &str, globals: &Globals) -> Diagnostic {
        let at = self.variable_span(span, var);
        let declared_in_stage =
            self.stages.iter().find(|s| s.items.iter().any(|i| matches!(&i.op, Op::Docker(op) if op.arg_words.iter().any(|w| scope::split_arg(w).0 == var))));
        let given = self.build_args.iter().any(|(k, _)| k == var);
        match globals.values.get(var).and_then(VarValue::as_str) {
            Some("") => d.at(at, format!("`{var}` is empty")).help(format!("pass `--build-arg {var}=<image>`, or give the ARG a default: `ARG {var}=<image>`")),
            Some(_) => d.at(at, ""),
            None if globals.declared.contains(var) => d
                .at(at, format!("`{var}` is declared without a default, and no --build-arg sets it"))
                .help(format!("pass `--build-arg {var}=<image>`, or give it a default: `ARG {var}=<image>`")),
            None => {
                let d = d.at(at, format!("`{var}` is not declared before the first FROM, so it has no value here"));
                let d = match declared_in_stage {
                    Some(stage) => {
                        d.note(format!("{} declares an ARG `{var}`, but FROM lines see only the ARGs declared before the first FROM", stage.label()))
                    }
                    None if given => d.note(format!("--build-arg {var} reaches FROM lines only through an ARG declared before the first FROM")),
                    None => d,
                };
                d.help(format!("declare it at the top of the file, before the first FROM: `ARG {var}` (or `ARG {var}=<default>`)"))
            }
        }
    }

    /// `bad-image-name` for `name`, written at `span`: pointing at the part to blame when the name
    /// is written there as it is, with a valid name the user probably meant.
    fn bad_image_name(&self, message: String, name: &str, span: Span, why: RefError) -> Diagnostic {
        let verbatim = self.text.get(span.start..span.end) == Some(name);
        let at = match why.at {
            Some((start, end)) if verbatim && end <= name.len() && start < end => Span::new(span.start + start, span.start + end),
            _ => span,
        };
        let d = Diagnostic::error(Code::BadImageName, message).at(at, why.message);
        match why.suggestion {
            Some(fixed) => d.help(format!("did you mean `{fixed}`?")),
            None => d,
        }
    }

    /// Rejects a base image name Docker would refuse.
    fn check_image_name(&mut self, image: &Spanned<String>, name: &str, globals: &Globals) {
        let Err(why) = ImageName::parse_reference(name, true) else { return };
        if name == image.value {
            let d = self.bad_image_name(format!("invalid image name `{name}` in FROM"), name, image.span, why);
            self.errors.push(d);
            return;
        }
        let mut d =
            Diagnostic::error(Code::BadImageName, format!("FROM `{}` expands to `{name}`, which is not a valid image name", image.value)).note(why.message);
        if let Some(fixed) = why.suggestion {
            d = d.help(format!("did you mean `{fixed}`?"));
        }
        let expanded = globals.expand(&image.value).ok();
        let culprit = expanded.and_then(|e| self.culprit(&e.expansion.unset, &e.expansion.used, globals));
        let d = match culprit {
            Some(var) => self.explain_variable(d, image.span, &var, globals),
            None => d.at(image.span, ""),
        };
        self.errors.push(d);
    }

    /// The span of the character at byte `offset` of `word`, when `word` is written as is at
    /// `span` (a word broken over lines by a continuation is not); otherwise `span`.
    fn point_in(&self, span: Span, word: &str, offset: usize) -> Span {
        if self.text.get(span.start..span.end) != Some(word) || offset > word.len() || !word.is_char_boundary(offset) {
            return span;
        }
        let len = word[offset..].chars().next().map_or(0, char::len_utf8);
        Span::new(span.start + offset, span.start + offset + len)
    }

    /// Where `$name` or `${name...}` first appears in the text at `span`; `span` when it does not.
    fn variable_span(&self, span: Span, name: &str) -> Span {
        let Some(text) = self.text.get(span.start..span.end) else { return span };
        expand::references(text).find(|r| r.name == name).map_or(span, |r| Span::new(span.start + r.at, span.start + r.end))
    }

    /// Docker expands the arguments of ENV, LABEL, ARG, WORKDIR, USER, COPY, ... when the stage
    /// builds, and stops the build on a word it cannot expand: an unclosed quote or `${`, an
    /// unsupported modifier (`${X:=y}`). Those words fail on every engine, so they fail here.
    /// (RUN's shell form is the shell's to read.)
    fn check_expansion(&mut self, inst: &Instruction) {
        if inst.kind == Keyword::Run {
            return;
        }
        let lexer = Lexer::new(self.escape);
        let empty: BTreeMap<String, String> = BTreeMap::new();
        for word in expanded_words(inst) {
            let Err(e) = lexer.expand_word(&word.value, &empty) else { continue };
            if e.kind != ExpandErrorKind::Syntax {
                continue;
            }
            self.errors.push(
                Diagnostic::error(Code::BadExpansion, format!("cannot expand `{}` in {}: {}", word.value, inst.kind.as_str(), e.message))
                    .at(self.point_in(word.span, &word.value, e.offset), "Docker cannot expand this, and stops the build")
                    .help(if e.message.contains("matching") {
                        format!("close the quote; a literal quote is escaped: `{}\"`", self.escape)
                    } else if e.message.contains("modifier") {
                        "Docker's modifiers are `${NAME:-default}`, `${NAME:+value}`, `${NAME:?message}` (each also without the `:`) and the `#`, `%` and `/` patterns".to_string()
                    } else {
                        format!("close the `${{`; a literal `$` is escaped: `{}$`", self.escape)
                    }),
            );
            return;
        }
    }

    /// Warns about global ARGs that an instruction uses where the stage has not declared them:
    /// Docker expands them to nothing (or to an ENV of the base image).
    fn check_scope(&mut self, inst: &Instruction) {
        let (Some(scope), Some(globals)) = (&self.scope, &self.globals) else { return };
        let stage = self.stages.len() - 1;
        let mut found: Vec<(String, Span)> = Vec::new();
        for word in expanded_words(inst) {
            // RUN's text is the shell's; Docker's lexer only finds the variables it names.
            let Ok(e) = scope.expand(&word.value) else { continue };
            for name in e.expansion.unset {
                if globals.declared.contains(&name) && !scope.declares(&name) && !found.iter().any(|(n, _)| *n == name) {
                    found.push((name, word.span));
                }
            }
        }
        for (name, span) in found {
            if !self.out_of_scope.insert((stage, name.clone())) {
                continue;
            }
            let from = self.stages[stage].from.text.lines().next().unwrap_or_default().trim().to_string();
            let mut d = Diagnostic::warning(Code::ArgOutOfScope, format!("global ARG `{name}` used in a stage that does not declare it"))
                .at(self.variable_span(span, &name), "the global value does not reach this instruction");
            if let Some(decl) = self.global_args.iter().find(|g| matches!(&g.op, Op::Docker(op) if op.arg_words.iter().any(|w| scope::split_arg(w).0 == name)))
            {
                d = d.also(decl.span, "declared before the first FROM: only FROM lines see it");
            }
            d = d.help(format!("declare it in the stage to use the global value: `ARG {name}` on a line after `{from}`"));
            self.warnings.push(d);
        }
    }

    /// Resolves an image reference (`name`, written as `image`) against earlier stages and TAGs.
    /// `by_index` allows a stage number (COPY --from=0).
    fn resolve_base(&mut self, image: &Spanned<String>, name: &str, by_index: bool) -> Base {
        if name.eq_ignore_ascii_case("scratch") {
            return Base::Scratch;
        }
        if by_index {
            if let Ok(n) = name.parse::<usize>() {
                if n < self.stages.len() {
                    return Base::Stage(n);
                }
                self.errors.push(
                    Diagnostic::error(Code::UnknownStage, format!("there is no stage {n} before this one"))
                        .at(image.span, format!("stages are numbered from 0; {} so far", self.stages.len()))
                        .help(format!(
                            "name an earlier stage by its number or its AS name: {}",
                            self.stages
                                .iter()
                                .map(|s| match &s.from.alias {
                                    Some(a) => format!("{} or `{}`", s.index, a.value),
                                    None => s.index.to_string(),
                                })
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                );
                return Base::Scratch;
            }
        }
        let lower = name.to_lowercase();
        if let Some(&stage) = self.aliases.get(&lower) {
            return Base::Stage(stage);
        }
        if !name.contains('$') {
            if let Ok(wanted) = ImageName::parse(name) {
                // The latest TAG or PUSH of that name before this point wins.
                if let Some((stage, item, name)) = self.tagged.get(&wanted.key()) {
                    return Base::Tagged { stage: *stage, item: *item, name: name.clone() };
                }
            }
        }
        // A name that is one typo away from a stage is most likely meant to be that stage; as
        // written, Docker would pull an image of that name.
        // (Only when some stage has a name: this scans the stages, once for every FROM.)
        if !self.aliases.is_empty() && !name.contains([':', '/', '@', '$']) {
            if let Some(stage) = suggest(name, self.stages.iter().filter_map(|s| s.from.alias.as_ref()).map(|a| a.value.as_str())) {
                self.warnings.push(
                    Diagnostic::warning(Code::StageTypo, format!("`{name}` is not a stage of this file, so it names an image to pull"))
                        .at(image.span, format!("did you mean the stage `{stage}`?")),
                );
            }
        }
        Base::External(name.to_string())
    }

    fn item(&mut self, inst: &Instruction) -> Option<Item> {
        let op = self.op(inst)?;
        Some(item_of(inst, self.source(inst.span), op))
    }

    /// An instruction's flags as written in the source.
    fn flag_texts(&self, inst: &Instruction) -> Vec<String> {
        inst.flags.iter().map(|f| self.source(f.span())).collect()
    }

    fn op(&mut self, inst: &Instruction) -> Option<Op> {
        let kw = inst.kind;
        let name = kw.as_str();
        self.check_flags(inst);
        if !inst.heredocs.is_empty() {
            self.heredoc_needs_buildkit(inst);
            return None;
        }
        let op = match kw {
            Keyword::From => unreachable!("FROM starts a stage"),
            Keyword::Unknown => {
                let word = inst.keyword.value.to_uppercase();
                let mut d = Diagnostic::error(Code::UnknownInstruction, format!("unknown instruction `{}`", inst.keyword.value));
                if ROCKER_V0.contains(&word.as_str()) {
                    d = d.at(inst.keyword.span, "a Rocker 0.2 instruction").help(rocker_v0_help(&inst.rest.value));
                } else if let Some(s) = suggest(&inst.keyword.value, Keyword::ALL.iter().map(|k| k.as_str())) {
                    d = d.at(inst.keyword.span, format!("did you mean `{s}`?"));
                } else {
                    d = d.at(inst.keyword.span, "not a Dockerfile or Rocker instruction");
                    if inst.keyword.value != word {
                        // A lower-case word at the start of a line is most often the rest of a
                        // command whose previous line lost its `\`.
                        d = d.help(format!("if this line continues the instruction above, end the line above with `{}`", self.escape));
                    }
                }
                self.errors.push(d);
                return None;
            }
            Keyword::Require => {
                self.require(inst);
                return None;
            }
            // `compile` splices every INCLUDE in before the analysis; only a caller of `analyze`
            // on text it did not splice gets here.
            Keyword::Include => {
                self.errors.push(
                    Diagnostic::error(Code::IncludeUsage, "INCLUDE was not resolved before the analysis")
                        .at(inst.keyword.span, "")
                        .help("splice fragments in first: rockerc::compile and rockerc::render_included do"),
                );
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
                // BuildKit's instruction layer: "ENV names can not be blank".
                Args::Pairs(pairs) if pairs.iter().any(|p| p.key.value.is_empty()) => {
                    for p in pairs.iter().filter(|p| p.key.value.is_empty()) {
                        self.errors.push(
                            Diagnostic::error(Code::BlankName, format!("{name} names can not be blank"))
                                .at(p.key.span.join(p.value.span), format!("`={}` has no name before `=`", p.value.value))
                                .help(format!("write `{name} NAME={}`", p.value.value)),
                        );
                    }
                    return None;
                }
                Args::Pairs(pairs) if !pairs.is_empty() && kw == Keyword::Env => {
                    Op::Docker(DockerOp { env: pairs.iter().map(|p| (p.key.value.clone(), p.value.value.clone())).collect(), ..DockerOp::default() })
                }
                Args::Pairs(pairs) if !pairs.is_empty() => Op::Docker(DockerOp::default()),
                _ => {
                    return self.fail(
                        inst,
                        &format!("{name} requires at least one argument"),
                        &format!("write `{name} KEY=value`; a value with spaces is quoted: `{name} KEY=\"a b\"`"),
                    )
                }
            },
            Keyword::Arg => match &inst.args {
                Args::Words(words) if words.iter().any(|w| w.value.starts_with('=')) => {
                    for w in words.iter().filter(|w| w.value.starts_with('=')) {
                        self.errors.push(
                            Diagnostic::error(Code::BlankName, "ARG names can not be blank")
                                .at(w.span, "no name before `=`")
                                .help(format!("write `ARG NAME{}`", w.value)),
                        );
                    }
                    return None;
                }
                Args::Words(words) if !words.is_empty() => {
                    let arg_words: Box<[String]> = words.iter().map(|w| w.value.clone()).collect();
                    let arg_names = arg_words.iter().map(|w| w.split('=').next().unwrap_or_default().to_string()).collect();
                    Op::Docker(DockerOp { arg_names, arg_words, ..DockerOp::default() })
                }
                _ => return self.fail(inst, "ARG requires at least one argument", "write `ARG NAME` or `ARG NAME=default`"),
            },
            Keyword::Workdir => {
                let dir = self.one_string(inst)?;
                Op::Docker(DockerOp { workdir: Some(dir), ..DockerOp::default() })
            }
            Keyword::Stopsignal => {
                let signal = self.one_string(inst)?;
                // Docker checks the signal when the stage builds, after expanding variables;
                // a word with a `$` or quotes is left to it.
                if !signal.contains(['$', '"', '\'', self.escape]) && !is_signal(&signal) {
                    let names: Vec<String> = SIGNALS.iter().map(|n| format!("SIG{n}")).collect();
                    let label = match suggest(&signal.to_ascii_uppercase(), names.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "expected a signal name such as SIGTERM or TERM, or a number from 1 to 255".to_string(),
                    };
                    self.errors.push(
                        Diagnostic::error(Code::BadSignal, format!("invalid signal `{signal}` in STOPSIGNAL"))
                            .at(inst.rest.span, label)
                            .note("Docker checks the signal when the stage builds, and fails the build on this one")
                            .help("write `STOPSIGNAL SIGTERM`, `STOPSIGNAL SIGKILL` or `STOPSIGNAL 9`"),
                    );
                    return None;
                }
                Op::Docker(DockerOp::default())
            }
            Keyword::User | Keyword::Maintainer => {
                self.one_string(inst)?;
                Op::Docker(DockerOp::default())
            }
            Keyword::Expose | Keyword::Volume => {
                if inst.arg_strings().is_empty() {
                    let help = if kw == Keyword::Expose { "write `EXPOSE 8080` or `EXPOSE 53/udp`" } else { "write `VOLUME /data`" };
                    return self.fail(inst, &format!("{name} requires at least one argument"), help);
                }
                if kw == Keyword::Volume {
                    // BuildKit's instruction layer: "VOLUME specified can not be an empty string".
                    if let Some(empty) = inst.arg_strings().into_iter().find(|v| v.value.trim().is_empty()) {
                        self.errors.push(
                            Diagnostic::error(Code::WrongArguments, "VOLUME specified can not be an empty string")
                                .at(empty.span, "an empty path")
                                .help("name the directory: `VOLUME [\"/data\"]`"),
                        );
                        return None;
                    }
                }
                if kw == Keyword::Expose {
                    // Docker checks ports only when it builds. Words with quotes, escapes or
                    // variables are left to it: they are expanded first.
                    let plain = |w: &str| w.bytes().all(|b| b.is_ascii_alphanumeric() || b":/.-".contains(&b));
                    let bad: Vec<Diagnostic> = inst
                        .arg_strings()
                        .into_iter()
                        .filter(|port| plain(&port.value) && !is_port_spec(&port.value))
                        .map(|port| {
                            Diagnostic::error(Code::BadPort, format!("invalid port `{}` in EXPOSE", port.value))
                                .at(port.span, "expected a port number (0-65535), a range, and optionally /tcp, /udp or /sctp")
                                .help("write `EXPOSE 8080`, `EXPOSE 53/udp` or `EXPOSE 8000-8010`")
                        })
                        .collect();
                    if !bad.is_empty() {
                        self.errors.extend(bad);
                        return None;
                    }
                }
                Op::Docker(DockerOp::default())
            }
            Keyword::Copy | Keyword::Add => self.copy(inst)?,
            Keyword::Onbuild => {
                let Args::Onbuild(trigger) = &inst.args else {
                    return self.fail(inst, "ONBUILD requires an instruction", "write `ONBUILD RUN ...`");
                };
                match trigger.kind {
                    Keyword::Onbuild | Keyword::From | Keyword::Maintainer => {
                        let trigger_name = trigger.kind.as_str();
                        let message = if trigger.kind == Keyword::Onbuild {
                            "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".to_string()
                        } else {
                            format!("{trigger_name} isn't allowed as an ONBUILD trigger")
                        };
                        self.errors.push(
                            Diagnostic::error(Code::WrongArguments, message)
                                .at(trigger.keyword.span, "Docker rejects this trigger when an image builds FROM this one"),
                        );
                        return None;
                    }
                    k if k.is_rocker() => {
                        self.errors.push(
                            Diagnostic::error(Code::RockerOnbuild, format!("{} can't be an ONBUILD trigger", k.as_str()))
                                .at(trigger.keyword.span, "Docker runs ONBUILD triggers and does not know Rocker's instructions")
                                .help("put the instruction in the Rockerfile that builds FROM this image"),
                        );
                        return None;
                    }
                    _ => {}
                }
                // Validate the trigger as an instruction of its own.
                let op = self.op(trigger)?;
                let trigger = item_of(trigger, self.source(trigger.span), op);
                Op::Docker(DockerOp { trigger: Some(Box::new(trigger)), ..DockerOp::default() })
            }
            Keyword::Healthcheck => {
                self.healthcheck(inst)?;
                Op::Docker(DockerOp::default())
            }
            Keyword::Mount => {
                let mounts = self.rocker_list(inst).and_then(|args| rocker::mounts(&args, &mut self.errors))?;
                self.lint_mount_sources(&mounts);
                Op::Mount(mounts)
            }
            Keyword::Export => {
                let t = self.transfer(inst)?;
                self.lint_rsync_nesting(&t);
                Op::Export(t)
            }
            Keyword::Import => Op::Import(self.transfer(inst)?),
            Keyword::Tag | Keyword::Push => {
                let mut name = self.one_string(inst)?;
                // Rocker 0.2 replaced `$NAME` and `${NAME}` with the `-var` of that name.
                if let Some(replaced) = rocker_v0_substitute(&name, self.template_values) {
                    let var = dollar_variable(&name).unwrap_or_default().to_string();
                    self.warnings.push(
                        Diagnostic::warning(
                            Code::RockerV0Variable,
                            format!("`${var}` in {} is Rocker 0.2's variable: rockerc replaced it with the -var", kw.as_str()),
                        )
                        .at(inst.rest.span, format!("read as `{replaced}`"))
                        .help(format!("write `{{{{ .{var} }}}}`, the template form Rocker 1.x and rockerc read")),
                    );
                    name = replaced;
                }
                // Several valid names in a row: one TAG per name was meant. Anything else with a
                // blank in it is a malformed name, reported below.
                let names: Vec<&str> = name.split_whitespace().collect();
                if names.len() > 1 && names.iter().all(|n| ImageName::parse(n).is_ok()) {
                    self.errors.push(
                        Diagnostic::error(Code::WrongArguments, format!("{} takes one image name, not {}", kw.as_str(), names.len()))
                            .at(inst.rest.span, format!("{} names", names.len()))
                            .help(format!(
                                "write one {} per name: `{} {}`, then `{} {}` on the next line",
                                kw.as_str(),
                                kw.as_str(),
                                names[0],
                                kw.as_str(),
                                names[1]
                            )),
                    );
                    return None;
                }
                match ImageName::parse_reference(&name, false) {
                    Ok(image) if image.reserved().is_some() => {
                        let repo = image.reserved().unwrap_or_default();
                        self.errors.push(
                            Diagnostic::error(
                                Code::ReservedImageName,
                                format!("{} {name}: `{repo}` is a repository the build script uses itself", kw.as_str()),
                            )
                            .at(inst.rest.span, format!("the script keeps its own images under `{repo}`"))
                            .note("a TAG there could be taken for the script's cache of MOUNTed RUNs, and a later build would use it")
                            .help(format!("choose another repository name, e.g. `{}`", image.original.replacen(repo, "my-app", 1))),
                        );
                        return None;
                    }
                    Ok(image) => {
                        if kw == Keyword::Tag {
                            Op::Tag(image)
                        } else {
                            if !image.explicit_domain {
                                self.warnings.push(
                                    Diagnostic::warning(Code::PushWithoutRegistry, format!("PUSH {name} goes to Docker Hub"))
                                        .at(inst.rest.span, format!("no registry in the name: {}/{}", image.domain, image.path))
                                        .help("name the registry to push elsewhere: `PUSH registry.example.com/team/app:1.0`"),
                                );
                            }
                            Op::Push(image)
                        }
                    }
                    Err(why) => {
                        let mut d = self.bad_image_name(format!("invalid image name `{name}` in {}", kw.as_str()), &name, inst.rest.span, why);
                        if let Some(var) = dollar_variable(&name) {
                            d = d.help(format!(
                                "Rocker 0.2 replaced `${var}` with a variable here; Rocker 1.x and rockerc do not: write `{{{{ .{var} }}}}` and pass `-var {var}=...`"
                            ));
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

    /// `EXPORT /src /app` stores a directory at `app/src` (rsync copies the directory itself into
    /// the destination) but a file at `app`: a surprise either way unless meant.
    fn lint_rsync_nesting(&mut self, t: &Transfer) {
        let ([src], Some(dest)) = (t.sources.as_slice(), &t.dest) else { return };
        let base = |p: &str| normalize(p).rsplit('/').next().unwrap_or_default().to_string();
        if src.value.ends_with('/') || dest.value.ends_with('/') || base(&src.value) == base(&dest.value) {
            return;
        }
        let (s, d) = (src.value.as_str(), dest.value.as_str());
        self.warnings.push(
            Diagnostic::warning(Code::RsyncNesting, format!("EXPORT {s} {d}: a directory lands at {d}/{}, a file at {d}", base(s)))
                .at(src.span.join(dest.span), "rsync copies a directory into the destination")
                .help(format!("write `EXPORT {s}/ {d}` for the directory's contents at {d}, or `EXPORT {s} {d}/` to nest it on purpose")),
        );
    }

    /// MOUNT sources the build script will not bind as they stand, said early: a path in the
    /// context that does not exist yet (the script creates it), one whose links lead out of the
    /// context (the script refuses it), and a host path outside the context that no
    /// `--allow-mount` allows (the script refuses it unless whoever runs it allows it).
    fn lint_mount_sources(&mut self, mounts: &[Mount]) {
        let Some(context) = self.context_dir else { return };
        let real_context = context.canonicalize().unwrap_or_else(|_| context.to_path_buf());
        for m in mounts {
            let Mount::Bind { src, .. } = m else { continue };
            let s = src.value.as_str();
            if s.starts_with('~') || s.contains('$') {
                continue;
            }
            let path = if s.starts_with('/') { std::path::PathBuf::from(s) } else { real_context.join(s) };
            let real = path.canonicalize().ok();
            if in_context_path(s) {
                match real {
                    None => self.warnings.push(
                        Diagnostic::warning(Code::MountSourceMissing, format!("MOUNT source `{s}` does not exist in the build context"))
                            .at(src.span, "the build script will create it as an empty directory")
                            .help("create it, or check the path (it is relative to the build context)"),
                    ),
                    Some(r) if !r.starts_with(&real_context) => self.warnings.push(
                        Diagnostic::warning(Code::MountOutsideContext, format!("MOUNT source `{s}` leads out of the build context, to `{}`", r.display()))
                            .at(src.span, "a symbolic link on the way points outside the context: the build script refuses this MOUNT")
                            .help("a relative MOUNT source must stay in the build context; to bind that path, name it: `MOUNT /path:/dest` with --allow-mount /path"),
                    ),
                    Some(_) => {}
                }
                continue;
            }
            // As written (absolute), for the message: the script takes either form.
            let shown = std::path::PathBuf::from(normalize(&path.to_string_lossy()));
            if real.as_ref().is_some_and(|r| r.starts_with(&real_context)) {
                continue;
            }
            let allowed = self.allow_mounts.iter().any(|a| {
                let a = std::path::Path::new(a);
                let ar = a.canonicalize().unwrap_or_else(|_| a.to_path_buf());
                shown.starts_with(a) || real.as_ref().is_some_and(|r| r.starts_with(&ar))
            });
            if allowed {
                continue;
            }
            let option = format!("--allow-mount {}", crate::shell::sh_quote(&shown.to_string_lossy()));
            let mut d = Diagnostic::warning(Code::MountOutsideContext, format!("MOUNT binds `{}`, a host path outside the build context", shown.display()))
                .at(src.span, "the build script refuses it unless whoever runs the build allows it");
            if real.is_none() {
                d = d.note("it does not exist here, and the build script creates nothing outside the build context");
            }
            self.warnings.push(d.help(format!("to allow it, pass `{option}` to rockerc, to the script, or to `rockerc build` (or set ROCKERC_ALLOW_MOUNT)")));
        }
    }

    /// Docker's instruction layer: `HEALTHCHECK NONE` alone, or `HEALTHCHECK [flags] CMD command`;
    /// durations are Go durations of at least 1ms (or 0), retries a number.
    fn healthcheck(&mut self, inst: &Instruction) -> Option<()> {
        match &inst.args {
            Args::None => {
                return self.fail(inst, "HEALTHCHECK requires an argument", "write `HEALTHCHECK CMD <command>` or `HEALTHCHECK NONE`");
            }
            Args::Healthcheck { kind, command } => {
                let word = kind.value.to_uppercase();
                match (word.as_str(), command.as_ref()) {
                    // Flags on NONE are ignored, as Docker does (a warning in `check_flags`).
                    ("NONE", Args::None) => return Some(()),
                    ("NONE", _) => return self.fail(inst, "HEALTHCHECK NONE takes no other arguments", "write just `HEALTHCHECK NONE`"),
                    ("CMD", Args::None) => return self.fail(inst, "HEALTHCHECK CMD requires a command", "write `HEALTHCHECK CMD curl -f http://localhost/`"),
                    ("CMD", Args::Json(v)) if v.is_empty() => {
                        return self.fail(inst, "HEALTHCHECK CMD requires a command", "write `HEALTHCHECK CMD curl -f http://localhost/`")
                    }
                    ("CMD", _) => {}
                    _ => {
                        self.errors.push(
                            Diagnostic::error(Code::WrongArguments, format!("unknown HEALTHCHECK type `{}`", kind.value))
                                .at(kind.span, "expected CMD or NONE")
                                .help("write `HEALTHCHECK CMD <command>` or `HEALTHCHECK NONE`"),
                        );
                        return None;
                    }
                }
            }
            _ => {}
        }
        for flag in &inst.flags {
            let (name, value) = (flag.name(), flag.value().unwrap_or_default());
            let ok = match name {
                // Go's `strconv.ParseInt(value, 10, 32)`: a 32-bit number.
                "retries" => value.parse::<i32>().is_ok_and(|n| n >= 0),
                "interval" | "timeout" | "start-period" | "start-interval" => go_duration_ok(value),
                _ => true,
            };
            if !ok {
                self.errors.push(Diagnostic::error(Code::BadFlagValue, format!("invalid value for --{name}: `{value}`")).at(
                    flag.span(),
                    if name == "retries" {
                        "expected a number from 0 to 2147483647"
                    } else {
                        "expected a duration such as 30s, 1m30s or 500ms (at least 1ms, or 0)"
                    },
                ));
            }
        }
        Some(())
    }

    /// REQUIRE `NAME`, `REQUIRE A B`, `REQUIRE ["A", "B"]` (Rocker 0.2): every name must be a
    /// template variable that is set, or the compile fails naming it. It builds nothing.
    fn require(&mut self, inst: &Instruction) {
        let names: Vec<&Spanned<String>> = match &inst.args {
            Args::Json(v) | Args::List(v) => v.iter().collect(),
            _ => Vec::new(),
        };
        if names.is_empty() {
            self.fail::<()>(inst, "REQUIRE requires at least one variable name", "write `REQUIRE VERSION` or `REQUIRE [\"VERSION\", \"COMMIT\"]`");
            return;
        }
        for flag in &inst.flags {
            self.errors
                .push(Diagnostic::error(Code::UnknownFlag, format!("unknown flag for REQUIRE: `{}`", flag.as_str())).at(flag.span(), "REQUIRE takes no flags"));
        }
        for name in names {
            let bare = name.value.strip_prefix('.').unwrap_or(&name.value);
            if bare.is_empty() || !bare.chars().all(|c| c.is_alphanumeric() || c == '_') {
                self.errors.push(
                    Diagnostic::error(Code::BadRequire, format!("REQUIRE `{}` is not a variable name", name.value))
                        .at(name.span, "a template variable's name: letters, digits and `_`"),
                );
                continue;
            }
            let Some(set) = self.template_vars else { continue };
            if !set.contains(bare) {
                let mut d = Diagnostic::error(Code::RequiredVariable, format!("the variable `{bare}` is required but not set"))
                    .at(name.span, "REQUIREd here")
                    .help(format!("set it: `rockerc -var {bare}=VALUE ...`, or `{bare}: VALUE` in a `-vars` file"));
                if let Some(s) = suggest(bare, set.iter().map(String::as_str)) {
                    d = d.note(format!("a variable `{s}` is set: did you mean it?"));
                }
                self.errors.push(d);
            }
        }
    }

    fn fail<T>(&mut self, inst: &Instruction, message: &str, help: &str) -> Option<T> {
        let mut d = Diagnostic::error(Code::WrongArguments, message.to_string()).at(inst.span_for_args(), format!("expected `{}`", usage(inst.kind)));
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
            _ => self.fail(
                inst,
                &format!("{} requires at least one argument", inst.kind.as_str()),
                "write the command to run: `RUN make install`, or in exec form `RUN [\"make\", \"install\"]`",
            ),
        }
    }

    fn one_string(&mut self, inst: &Instruction) -> Option<String> {
        match &inst.args {
            Args::String(s) if !s.value.trim().is_empty() => Some(s.value.clone()),
            _ => {
                let help = match inst.kind {
                    Keyword::User => "write `USER nobody` or `USER 1000:1000`",
                    Keyword::Workdir => "write `WORKDIR /app`",
                    Keyword::Stopsignal => "write `STOPSIGNAL SIGTERM`",
                    Keyword::Maintainer => "write `LABEL maintainer=\"name <email>\"` (MAINTAINER is deprecated)",
                    Keyword::Tag => "write `TAG myapp:1.0`",
                    _ => "write `PUSH registry.example.com/team/myapp:1.0`",
                };
                self.fail(inst, &format!("{} requires exactly one argument", inst.kind.as_str()), help)
            }
        }
    }

    /// The arguments of MOUNT/EXPORT/IMPORT (JSON or whitespace list).
    fn rocker_list(&mut self, inst: &Instruction) -> Option<Vec<Spanned<String>>> {
        match &inst.args {
            Args::Json(v) | Args::List(v) if !v.is_empty() => Some(v.clone()),
            _ => {
                let help = match inst.kind {
                    Keyword::Mount => "write `MOUNT /root/.cache` for a volume kept between builds, or `MOUNT .:/src` for a host directory",
                    Keyword::Export => "write `EXPORT /app/bin/tool` to put `tool` in the export store",
                    _ => "write `IMPORT tool /usr/local/bin/` to copy what `EXPORT /app/bin/tool` stored",
                };
                self.fail(inst, &format!("{} requires at least one argument", inst.kind.as_str()), help)
            }
        }
    }

    fn transfer(&mut self, inst: &Instruction) -> Option<Transfer> {
        let args = self.rocker_list(inst)?;
        rocker::transfer(inst.kind, args, &mut self.errors)
    }

    fn copy(&mut self, inst: &Instruction) -> Option<Op> {
        let args: Vec<&Spanned<String>> = inst.arg_strings();
        let name = inst.kind.as_str();
        match args.as_slice() {
            [] => {
                return self.fail(
                    inst,
                    &format!("{name} requires a source and a destination"),
                    &format!("write `{name} . /app/` to copy the whole build context"),
                )
            }
            [only] => {
                self.errors.push(
                    Diagnostic::error(Code::WrongArguments, format!("{name} requires at least two arguments: the sources, then the destination"))
                        .at(only.span, "the only argument: a destination is missing")
                        .help(format!("write where it goes in the image: `{name} {} /app/`", only.value)),
                );
                return None;
            }
            _ => {}
        }
        let mut op = DockerOp::default();
        for flag in &inst.flags {
            if let (true, Some(from)) = (flag.name() == "from", flag.value()) {
                let from = Spanned::new(from.to_string(), flag.span());
                if from.value.contains('$') {
                    self.variable_in_copy_from(&from);
                    return None;
                }
                let base = self.resolve_base(&from, &from.value, true);
                if let Base::External(name) = &base {
                    if let Err(why) = ImageName::parse(name) {
                        self.errors.push(
                            Diagnostic::error(Code::BadImageName, format!("invalid image name `{name}` in COPY --from"))
                                .at(from.span, why)
                                .help("name an earlier stage (by its AS name or number) or an image"),
                        );
                    }
                }
                op.copy_from = Some(Box::new((from, base)));
            }
        }
        let sources = &args[..args.len().saturating_sub(1)];
        let is_url = |s: &str| s.starts_with("http://") || s.starts_with("https://") || s.starts_with("git@");
        op.uses_context = op.copy_from.is_none() && sources.iter().any(|s| !is_url(&s.value));
        if op.uses_context {
            op.context_sources = sources.iter().filter(|s| !is_url(&s.value)).map(|s| s.value.clone()).collect();
        }
        if inst.kind == Keyword::Add && op.copy_from.is_none() {
            op.url_sources = sources.iter().filter(|s| s.value.starts_with("http://") || s.value.starts_with("https://")).map(|s| s.value.clone()).collect();
        }
        Some(Op::Docker(op))
    }

    /// Docker uses `--from` as written: `COPY --from=$X` fails on every builder ("invalid from
    /// flag value"). A stage named from the variable does what was meant.
    fn variable_in_copy_from(&mut self, from: &Spanned<String>) {
        let var = dollar_variable(&from.value).unwrap_or("X").to_string();
        let alias = var.to_lowercase().replace('_', "-");
        let mut d = Diagnostic::error(Code::VariableInCopyFrom, format!("Docker does not expand variables in COPY --from: `{}`", from.value))
            .at(from.span, "used as written, which names no stage and no valid image");
        d = d.help(format!(
            "name a stage after the image before this one: `ARG {var}` before the first FROM, then `FROM ${{{var}}} AS {alias}`, and write `COPY --from={alias}`"
        ));
        self.errors.push(d);
    }

    /// Docker's legacy builder, which the sh backend drives, has no heredocs: it would read the
    /// body lines as instructions of their own.
    fn heredoc_needs_buildkit(&mut self, inst: &Instruction) {
        let name = inst.kind.as_str();
        let delimiter = &inst.heredocs[0].name;
        // Point at the `<<EOF` word in the rendered text when it can be found.
        let rest = &self.text[inst.rest.span.start..inst.rest.span.end];
        let span = match rest.find("<<") {
            Some(at) => {
                let start = inst.rest.span.start + at;
                let len = rest[at..].find(char::is_whitespace).unwrap_or(rest.len() - at);
                Span::new(start, start + len)
            }
            None => inst.keyword.span,
        };
        let help = match inst.kind {
            Keyword::Copy | Keyword::Add => format!("put the file in the build context and `{name}` it from there"),
            _ => format!("write the commands on the RUN line, joined with `&&` (continue lines with `{}`), or COPY a script and RUN it", self.escape),
        };
        self.errors.push(
            Diagnostic::error(Code::NeedsBuildkit, format!("{name} with a heredoc (`<<{delimiter}`) needs BuildKit"))
                .at(span, "the sh backend builds with Docker's legacy builder, which reads the heredoc body as instructions")
                .help(help),
        );
    }

    /// Flags that only BuildKit understands are compile errors for the sh backend, which builds
    /// with Docker's legacy builder; unknown flags are errors everywhere.
    fn check_flags(&mut self, inst: &Instruction) {
        // Docker parses no flags for STOPSIGNAL and for `HEALTHCHECK NONE`: it accepts any and
        // ignores them, so they build; rockerc says they do nothing.
        if inst.kind == Keyword::Stopsignal || matches!(&inst.args, Args::Healthcheck { kind, .. } if kind.value.eq_ignore_ascii_case("NONE")) {
            let what = if inst.kind == Keyword::Stopsignal { "STOPSIGNAL" } else { "HEALTHCHECK NONE" };
            for flag in &inst.flags {
                self.warnings.push(
                    Diagnostic::warning(Code::IgnoredFlag, format!("Docker ignores flags on {what}: `{}` does nothing", flag.as_str()))
                        .at(flag.span(), format!("{what} reads no flags"))
                        .help("remove the flag"),
                );
            }
            return;
        }
        let allowed: &[&str] = match inst.kind {
            Keyword::From => &["platform"],
            Keyword::Copy => &["from", "chown"],
            Keyword::Add => &["chown"],
            Keyword::Healthcheck => &["interval", "timeout", "start-period", "start-interval", "retries"],
            _ => &[],
        };
        let buildkit_only: &[&str] = match inst.kind {
            Keyword::Run => &["mount", "network", "security", "device"],
            Keyword::Copy => &["link", "parents", "exclude", "chmod"],
            Keyword::Add => &["link", "exclude", "chmod", "checksum", "keep-git-dir", "unpack"],
            _ => &[],
        };
        // Flags Docker allows more than once (BuildKit's `AddStrings`).
        let repeatable: &[&str] = &["mount", "exclude", "device"];
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for flag in &inst.flags {
            let name = flag.name();
            if allowed.contains(&name) {
                // BuildKit's flag parser: a string flag needs `=value`, and none may repeat.
                if flag.value().is_none() && inst.kind != Keyword::Healthcheck {
                    self.errors.push(
                        Diagnostic::error(Code::BadFlagValue, format!("missing a value on flag --{name}"))
                            .at(flag.span(), format!("--{name} takes a value"))
                            .help(match name {
                                "from" => "write `--from=<stage or image>`".to_string(),
                                "chown" => "write `--chown=<user>:<group>`".to_string(),
                                "platform" => "write `--platform=linux/amd64`, or `--platform=$BUILDPLATFORM`".to_string(),
                                _ => format!("write `--{name}=<value>`"),
                            }),
                    );
                } else if let Some(&(_, first)) = seen.iter().find(|(n, _)| *n == name).filter(|_| !repeatable.contains(&name)) {
                    self.errors.push(
                        Diagnostic::error(Code::DuplicateFlag, format!("duplicate flag specified: --{name}"))
                            .at(flag.span(), "given again here")
                            .also(first, "first given here")
                            .help(format!("{} takes --{name} once: keep the one you mean", inst.kind.as_str())),
                    );
                }
                seen.push((name, flag.span()));
                continue;
            }
            let d = if buildkit_only.contains(&name) {
                let mut d = Diagnostic::error(Code::NeedsBuildkit, format!("{} --{name} needs BuildKit", inst.kind.as_str()))
                    .at(flag.span(), "the sh backend builds with Docker's legacy builder, which does not support this flag");
                d = d.help(if inst.kind == Keyword::Run && name == "mount" {
                    "use Rocker's MOUNT instruction, which the sh backend lowers to `docker run` with mounts"
                } else {
                    "build this file with a BuildKit backend, or drop the flag"
                });
                d
            } else {
                let mut d = Diagnostic::error(Code::UnknownFlag, format!("unknown flag for {}: `{}`", inst.kind.as_str(), flag.as_str()));
                let mut label = if allowed.is_empty() {
                    format!("{} takes no flags", inst.kind.as_str())
                } else {
                    format!("{} accepts {}", inst.kind.as_str(), allowed.iter().map(|a| format!("--{a}")).collect::<Vec<_>>().join(", "))
                };
                if let Some(s) = suggest(name, allowed.iter().copied()) {
                    label = format!("did you mean `--{s}`?");
                }
                d = d.at(flag.span(), label);
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

/// What Docker's EXPOSE accepts (`nat.ParsePortSpecs`): `[ip:[hostport]:]port[-port][/proto]`,
/// of which only the container port and the protocol matter to an image.
fn is_port_spec(spec: &str) -> bool {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let ports = ports.rsplit(':').next().unwrap_or(ports);
    let (start, end) = ports.split_once('-').unwrap_or((ports, ports));
    let port = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok();
    matches!(proto.to_ascii_lowercase().as_str(), "tcp" | "udp" | "sctp") && port(start) && port(end) && start.parse::<u16>().ok() <= end.parse::<u16>().ok()
}

/// The name of the first `$NAME` or `${NAME}` in `text`.
/// `text` with every `$NAME` / `${NAME}` replaced by the template variable's value, when every
/// one names a variable that is set; `None` otherwise (or when there is none).
fn rocker_v0_substitute(text: &str, values: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    let mut any = false;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let var = dollar_variable(&rest[at..])?;
        let braced = rest[at + 1..].starts_with('{');
        out.push_str(values.get(var)?);
        rest = &rest[at + 1 + var.len() + if braced { 2 } else { 0 }..];
        any = true;
    }
    out.push_str(rest);
    any.then_some(out)
}

fn dollar_variable(text: &str) -> Option<&str> {
    let after = &text[text.find('$')? + 1..];
    let (after, braced) = match after.strip_prefix('{') {
        Some(rest) => (rest, true),
        None => (after, false),
    };
    let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
    let name = &after[..end];
    let closed = !braced || after[end..].starts_with('}');
    (!name.is_empty() && closed).then_some(name)
}

/// The label under the caret for an expansion error.
fn expansion_label(e: &ExpandError) -> String {
    match &e.kind {
        ExpandErrorKind::Required { name } => format!("Docker stops the build here when `{name}` has no value"),
        ExpandErrorKind::Syntax => "Docker cannot expand this".to_string(),
        ExpandErrorKind::Limit => "past rockerc's limits for variable expansion".to_string(),
    }
}

/// The words of an instruction that Docker expands variables in (RUN: the shell form, whose
/// variables the shell expands from the same environment). Rocker's instructions, CMD,
/// ENTRYPOINT, HEALTHCHECK and ONBUILD are not expanded when the stage builds.
fn expanded_words(inst: &Instruction) -> Vec<&Spanned<String>> {
    let mut words: Vec<&Spanned<String>> = Vec::new();
    match (inst.kind, &inst.args) {
        (Keyword::Run, Args::String(s)) => words.push(s),
        (Keyword::Env | Keyword::Label | Keyword::Arg | Keyword::Workdir | Keyword::User | Keyword::Stopsignal | Keyword::Expose | Keyword::Volume, _) => {
            words = inst.arg_strings();
        }
        (Keyword::Copy | Keyword::Add, _) => {
            words = inst.arg_strings();
            words.extend(inst.flags.iter().filter(|f| matches!(f.name(), "chown" | "chmod") && f.value().is_some()).map(|f| &f.word));
        }
        _ => {}
    }
    words
}

/// The form an instruction takes, for "expected ..." labels.
fn usage(kind: Keyword) -> &'static str {
    match kind {
        Keyword::From => "FROM <image> [AS <name>]",
        Keyword::Run => "RUN <command>",
        Keyword::Cmd => "CMD <command>",
        Keyword::Entrypoint => "ENTRYPOINT <command>",
        Keyword::Shell => "SHELL [\"<executable>\", \"<parameters>\"...]",
        Keyword::Env => "ENV <key>=<value>...",
        Keyword::Label => "LABEL <key>=<value>...",
        Keyword::Arg => "ARG <name>[=<default>]",
        Keyword::Workdir => "WORKDIR <path>",
        Keyword::User => "USER <user>[:<group>]",
        Keyword::Expose => "EXPOSE <port>[/<protocol>]...",
        Keyword::Volume => "VOLUME <path>...",
        Keyword::Copy => "COPY <source>... <destination>",
        Keyword::Add => "ADD <source>... <destination>",
        Keyword::Onbuild => "ONBUILD <instruction>",
        Keyword::Stopsignal => "STOPSIGNAL <signal>",
        Keyword::Healthcheck => "HEALTHCHECK [<options>] CMD <command>",
        Keyword::Maintainer => "MAINTAINER <name>",
        Keyword::Mount => "MOUNT [<source>:]<absolute path>...",
        Keyword::Export => "EXPORT <path>... [<store path>]",
        Keyword::Import => "IMPORT <store path>... [<destination>]",
        Keyword::Tag => "TAG <name>[:<tag>]",
        Keyword::Push => "PUSH <name>[:<tag>]",
        Keyword::Attach => "ATTACH [<command>]",
        Keyword::Include => "INCLUDE <path>",
        Keyword::Require => "REQUIRE <variable>...",
        Keyword::Unknown => "<instruction> <arguments>",
    }
}

/// A Go duration (`1h2m3.5s`, `300ms`) that Docker's HEALTHCHECK accepts: 0, or at least 1ms.
fn go_duration_ok(s: &str) -> bool {
    if s == "0" {
        return true;
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let Ok(n) = rest[..num_len].parse::<f64>() else { return false };
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return false,
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    total == 0.0 || total >= 1e-3
}

/// Linux signal names as Docker's `signal.SignalMap` has them, without `SIG`.
const SIGNALS: [&str; 36] = [
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT",
    "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
];

/// What Docker's `signal.ParseSignal` accepts on Linux: a number from 1 to 255, or a signal
/// name with or without `SIG`, in any case (`RTMIN+3` and `RTMAX-2` included).
fn is_signal(text: &str) -> bool {
    if let Ok(n) = text.parse::<u8>() {
        return n != 0;
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let offset = |rest: &str| rest.parse::<u8>().is_ok_and(|n| (1..=15).contains(&n)) && !rest.starts_with(['+', '0']);
    SIGNALS.contains(&name) || name.strip_prefix("RTMIN+").is_some_and(offset) || name.strip_prefix("RTMAX-").is_some_and(offset)
}

fn is_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
