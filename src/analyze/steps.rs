//! What each build step needs when it runs, whichever backend builds it: a `--secret` only in a
//! RUN, and there only in the shell form; the arguments and ARG values of a MOUNTed (or secret)
//! RUN as a process can be given them; an image to run in after `FROM scratch`. The checks follow
//! each stage item by item, as a build does: the ARGs declared so far, the MOUNTs in effect, the
//! SHELL and WORKDIR (from the stage, or the TAG, that a FROM names), and whether anything has
//! made an image yet.
//!
//! [`StageState`] and [`mount_holding`] are shared with the sh lowering, which splits a stage at
//! the same places these checks look at.

use super::expand::Lexer;
use super::{normalize, scope_after_from, Base, Builder, Command, DockerOp, Globals, Item, Mount, Op, Program, Scope, VarValue};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::syntax::Keyword;
use std::collections::BTreeMap;

/// The image configuration Docker tracks through a stage that matters at compile time.
#[derive(Clone, Debug)]
pub struct StageState {
    /// Absolute WORKDIR, when the Rockerfile makes it known.
    pub workdir: Option<String>,
    pub shell: Vec<String>,
}

impl Default for StageState {
    fn default() -> Self {
        StageState { workdir: None, shell: vec!["/bin/sh".into(), "-c".into()] }
    }
}

impl StageState {
    /// After `FROM scratch`: the root is the working directory.
    pub fn scratch() -> StageState {
        StageState { workdir: Some("/".into()), ..StageState::default() }
    }

    /// After the Docker instruction `item` (WORKDIR and SHELL change the state), in `scope`.
    pub fn apply(&mut self, keyword: Keyword, op: &DockerOp, scope: &Scope) {
        match keyword {
            Keyword::Workdir => {
                // Docker expands WORKDIR with the stage's ENV and ARGs; a value that depends on
                // the base image's ENV is looked up when the script runs.
                let dir = match scope.expand(op.workdir.as_deref().unwrap_or_default()) {
                    Ok(e) => match e.value {
                        VarValue::Known(v) => Some(v),
                        _ => None,
                    },
                    Err(_) => None,
                };
                self.workdir = match dir {
                    Some(d) if d.starts_with('/') => Some(normalize(&d)),
                    Some(d) => self.workdir.as_ref().map(|w| normalize(&format!("{w}/{d}"))),
                    None => None,
                };
            }
            Keyword::Shell => {
                if let Some(shell) = &op.shell {
                    self.shell = shell.clone();
                }
            }
            _ => {}
        }
    }
}

/// The MOUNT among `mounts` that holds an IMPORT's destination `dest`, as an absolute path: such
/// an IMPORT writes into the MOUNT, not into the image. A relative destination is relative to
/// `workdir`; when that is not known at compile time, the image is assumed.
pub fn mount_holding(workdir: Option<&str>, mounts: &[Mount], dest: &str) -> Option<String> {
    let abs = if dest.starts_with('/') { normalize(dest) } else { normalize(&format!("{}/{dest}", workdir?)) };
    let inside = mounts.iter().any(|m| {
        let target = normalize(&m.dest().value);
        abs == target || abs.starts_with(&format!("{}/", target.trim_end_matches('/')))
    });
    inside.then_some(abs)
}

/// Whether `text` refers to the variable `name` (`$NAME`, `${NAME}`, `${NAME:-...}`): where a
/// declared secret is used.
pub fn refers_to(text: &str, name: &str) -> bool {
    // A shell reads ASCII names only: `$TOKENé` is `$TOKEN` to it, where Docker reads `TOKENé`.
    let shell_reads = |r: &str| r.strip_prefix(name).is_some_and(|tail| !tail.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'));
    super::expand::references(text).any(|r| shell_reads(r.name))
}

/// Every step of `program` checked for what it needs when it runs; `secrets` are the template
/// variables declared secret (`--secret`).
///
/// The ARG values a MOUNTed RUN receives are the legacy builder's (the sh backend hands them to
/// the RUN's process itself), and every backend refuses what that cannot carry, so that a
/// Rockerfile compiles for all backends or for none.
pub fn check_steps(program: &Program, secrets: &[String]) -> Result<(), Diagnostics> {
    let (globals, _) = Globals::new(&program.global_args, &program.build_args, Lexer::new(program.escape), Builder::Legacy);
    // The state at each stage's end (`None`) and after each TAG/PUSH (`Some(item)`): where a
    // later FROM of the stage, or of that tag, starts.
    let mut saved: BTreeMap<(usize, Option<usize>), StageState> = BTreeMap::new();
    let mut errors = Vec::new();
    for stage in &program.stages {
        let (mut state, mut has_image) = match &stage.from.base {
            Base::External(_) => (StageState::default(), true),
            Base::Scratch => (StageState::scratch(), false),
            Base::Stage(s) => (saved.get(&(*s, None)).cloned().unwrap_or_default(), true),
            Base::Tagged { stage: s, item, .. } => (saved.get(&(*s, Some(*item))).cloned().unwrap_or_default(), true),
        };
        let mut scope = scope_after_from(&stage.from.base, &program.stages[..stage.index], &globals);
        // ARG words declared in the stage so far, and the MOUNTs in effect.
        let mut args: Vec<String> = Vec::new();
        let mut mounts: Vec<Mount> = Vec::new();
        for (i, item) in stage.items.iter().enumerate() {
            let used: Vec<&String> = secrets.iter().filter(|name| refers_to(&item.text, name)).collect();
            let need_image = |errors: &mut Vec<Diagnostic>| {
                if !has_image {
                    errors.push(
                        Diagnostic::error(Code::NoImage, format!("{} right after FROM scratch: there is no image yet", item.keyword.as_str()))
                            .at(item.span, "")
                            .help("add files first (COPY, ADD or IMPORT)"),
                    );
                }
            };
            match &item.op {
                _ if !used.is_empty() && !matches!(item.op, Op::Run(_)) => errors.push(secret_outside_run(item, used[0])),
                Op::Docker(op) => {
                    state.apply(item.keyword, op, &scope);
                    if item.keyword == Keyword::Arg {
                        args.extend(op.arg_words.iter().cloned());
                    }
                    // Every instruction but a held-back ONBUILD goes into a Dockerfile that the
                    // next step builds on.
                    has_image |= item.keyword != Keyword::Onbuild;
                }
                Op::Run(_) if mounts.is_empty() && used.is_empty() => has_image = true,
                Op::Run(run) => {
                    need_image(&mut errors);
                    errors.extend(run_with_mounts(item, &run.command, &state, &scope, &args, &used));
                }
                Op::Mount(ms) => {
                    for m in ms {
                        // A later MOUNT of the same destination replaces the earlier one.
                        mounts.retain(|old| normalize(&old.dest().value) != normalize(&m.dest().value));
                        mounts.push(m.clone());
                    }
                }
                // An IMPORT into the image is a build of its own, on the image so far.
                Op::Import(t) if mount_holding(state.workdir.as_deref(), &mounts, t.dest_str()).is_none() => has_image = true,
                Op::Export(_) | Op::Import(_) | Op::Attach(_) => need_image(&mut errors),
                Op::Tag(_) | Op::Push(_) => {
                    need_image(&mut errors);
                    saved.insert((stage.index, Some(i)), state.clone());
                }
            }
            scope.apply(item, &globals);
        }
        saved.insert((stage.index, None), state);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics(errors))
    }
}

fn secret_outside_run(item: &Item, secret: &str) -> Diagnostic {
    Diagnostic::error(Code::SecretOutsideRun, format!("the secret `{secret}` is used in {}", item.keyword.as_str()))
        .at(item.span, "only RUN may read a --secret")
        .help(match item.keyword {
            Keyword::Env | Keyword::Label | Keyword::Arg => "its value would be stored in the image's config or history",
            Keyword::Mount => "a MOUNT source is kept in the build's cache key and no-op stamp",
            _ => "its value would end up in the image or in the build's output",
        })
}

/// A RUN that runs with MOUNTs or reads a secret: the process gets its arguments, and the ARGs
/// declared so far as environment variables, from the script or the builder itself.
fn run_with_mounts(item: &Item, command: &Command, state: &StageState, scope: &Scope, args: &[String], secrets: &[&String]) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    if command.argv(&state.shell).iter().any(|a| a.contains('\0')) {
        errors.push(Diagnostic::error(Code::NulByte, "RUN contains a NUL character").at(item.span, "a process argument cannot hold NUL"));
        return errors;
    }
    if let Some((k, _)) = arg_env(args, scope).into_iter().find(|(_, v)| v.contains('\n')) {
        errors.push(
            Diagnostic::error(Code::MultilineArg, format!("ARG {k} has a value with a newline, which a MOUNTed RUN cannot receive"))
                .at(item.span, "this RUN runs with MOUNTs"),
        );
    }
    if !secrets.is_empty() && matches!(command, Command::Exec(_)) {
        errors.push(
            Diagnostic::error(Code::SecretInExecForm, format!("the secret `{}` is used in the exec form of RUN, which no shell expands", secrets[0]))
                .at(item.span, "")
                .help("write the RUN in shell form: `RUN cmd ${NAME}`"),
        );
    }
    errors
}

/// The ARG values a MOUNTed RUN sees, as Docker expands them here: each ARG declared in the stage
/// so far (`args`, as written), once, in the order declared. The legacy builder gives an ENV
/// precedence even when the base image set it (which the compile cannot see): the script exports
/// an ARG only when the container has no such variable.
pub fn arg_env(args: &[String], scope: &Scope) -> Vec<(String, String)> {
    let mut names: Vec<&str> = args.iter().map(|w| w.split('=').next().unwrap_or_default()).collect();
    let mut seen = std::collections::BTreeSet::new();
    names.retain(|n| seen.insert(*n));
    names
        .into_iter()
        .filter_map(|name| match scope.get(name) {
            VarValue::Known(v) | VarValue::UnlessBaseEnv(v) => Some((name.to_string(), v)),
            VarValue::Unset | VarValue::Unknown => None,
        })
        .collect()
}
