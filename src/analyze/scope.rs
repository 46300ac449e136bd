//! What `ENV` and `ARG` variables hold at a point of a stage, as far as the compile can know: the
//! environment Docker expands `WORKDIR $HOME/app` or `COPY dist/$VERSION /app` in.
//!
//! The rules, all of them Docker's:
//!
//! - ARGs declared before the first FROM (global ARGs) are visible only in FROM lines. A stage
//!   sees one only after it declares it again, `ARG NAME` without a value, which takes the
//!   global value.
//! - An ARG's value is the `--build-arg` one if given, else its default (expanded where it is
//!   declared), else the global value; without any of these the ARG is declared but unset.
//! - ENV and ARG of the same name: the two builders disagree ([`Builder`]). Docker's legacy
//!   builder, which the sh backend drives, always prefers an ENV, even one the base image set and
//!   one that came before the ARG. BuildKit lets the later instruction win, and a stage built FROM
//!   another stage of the file inherits that stage's ARG values too.
//! - A stage built FROM an image outside the file starts with that image's ENV, which the compile
//!   cannot see: a variable the stage does not set itself is [`VarValue::Unknown`]. FROM scratch
//!   starts with only `PATH`, which both builders set to Docker's default when the base image
//!   has none.

use super::expand::{Env, ExpandError, Expansion, Lexer};
use super::{Base, Item, Op, Stage};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

/// The `PATH` both builders give a Linux image whose base sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Proxy variables Docker passes to RUN when given with `--build-arg`, without an ARG.
const PROXY_ARGS: [&str; 10] =
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"];

/// Whether NAME is one of the proxy variables Docker passes to RUN without an ARG (and leaves
/// out of the cache key unless an ARG declares it).
pub fn is_proxy_arg(name: &str) -> bool {
    PROXY_ARGS.contains(&name)
}

/// ARGs BuildKit declares before the first FROM itself, with values from the build's platforms.
const PLATFORM_ARGS: [&str; 8] = ["TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"];

/// Whose rules decide between an ENV and an ARG of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builder {
    /// Docker's legacy builder (`DOCKER_BUILDKIT=0`), which the sh backend builds with: an ENV
    /// always wins, and ARGs never reach another stage.
    Legacy,
    /// BuildKit: the later of ENV and ARG wins, stages inherit ARG values from the stage they
    /// build FROM, a global ARG without a value is set but empty, and the platform ARGs
    /// (`TARGETARCH`, ...) exist without being declared.
    BuildKit,
}

/// A variable's value at some point of a stage, as far as the compile knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarValue {
    /// Known at compile time.
    Known(String),
    /// Known to be unset (expands to nothing; `${X-default}` takes the default).
    Unset,
    /// The value an ARG gives, unless the base image (which the compile cannot see) has an ENV
    /// of that name: the legacy builder then uses the ENV. For an expansion, the value its ARGs
    /// give under that assumption.
    UnlessBaseEnv(String),
    /// Decided by the base image's ENV or the build's platform: not known at compile time.
    Unknown,
}

impl VarValue {
    /// The value, when the variable is set to one the compile knows (possibly under the
    /// [`VarValue::UnlessBaseEnv`] assumption).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            VarValue::Known(v) | VarValue::UnlessBaseEnv(v) => Some(v),
            VarValue::Unset | VarValue::Unknown => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            VarValue::Known(_) | VarValue::Unset => 0,
            VarValue::UnlessBaseEnv(_) => 1,
            VarValue::Unknown => 2,
        }
    }
}

/// A word expanded in a [`Scope`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expanded {
    /// The expansion with unknown variables taken as unset: `used` and `unset` list what the word
    /// looked up.
    pub expansion: Expansion,
    /// The result: `Known` when every variable it looked up is known (set or unset),
    /// `UnlessBaseEnv` when one is only known under that assumption, `Unknown` when one depends
    /// on the base image or the platform.
    pub value: VarValue,
}

/// What every stage starts from: the global ARGs and the `--build-arg` values.
#[derive(Clone, Debug)]
pub struct Globals {
    pub builder: Builder,
    pub lexer: Lexer,
    /// Global ARG values as FROM lines see them. A name declared without a value and without a
    /// `--build-arg` is absent (legacy) or empty (BuildKit).
    pub values: BTreeMap<String, VarValue>,
    /// Global ARG values as `ARG NAME` in a stage takes them: as `values`, except that BuildKit
    /// leaves a name declared without a value unset here.
    pub inherited: BTreeMap<String, VarValue>,
    /// Names declared before the first FROM.
    pub declared: BTreeSet<String>,
    /// `--build-arg` values; the last of a name wins.
    pub build_args: BTreeMap<String, String>,
}

/// A problem with the default of a global ARG: the item, the word's index in it, the error.
pub type GlobalError<'a> = (&'a Item, usize, ExpandError);

impl Globals {
    /// Evaluates the ARGs before the first FROM in order: each default is expanded with the
    /// global ARGs before it, unless a `--build-arg` overrides it.
    pub fn new<'a>(global_args: &'a [Item], build_args: &[(String, String)], lexer: Lexer, builder: Builder) -> (Globals, Vec<GlobalError<'a>>) {
        let build_args: BTreeMap<String, String> = build_args.iter().cloned().collect();
        let mut values = BTreeMap::new();
        let mut inherited = BTreeMap::new();
        match builder {
            // Proxy variables given with --build-arg reach FROM lines without an ARG.
            Builder::Legacy => {
                for name in PROXY_ARGS {
                    if let Some(v) = build_args.get(name) {
                        values.insert(name.to_string(), VarValue::Known(v.clone()));
                        inherited.insert(name.to_string(), VarValue::Known(v.clone()));
                    }
                }
            }
            Builder::BuildKit => {
                for name in PLATFORM_ARGS {
                    let value = build_args.get(name).map_or(VarValue::Unknown, |v| VarValue::Known(v.clone()));
                    values.insert(name.to_string(), value.clone());
                    inherited.insert(name.to_string(), value);
                }
            }
        }
        let mut declared = BTreeSet::new();
        let mut errors = Vec::new();
        for item in global_args {
            let Op::Docker(op) = &item.op else { continue };
            for (i, word) in op.arg_words.iter().enumerate() {
                let (name, default) = split_arg(word);
                declared.insert(name.to_string());
                let value = match (build_args.get(name), default) {
                    (Some(v), _) => Some(VarValue::Known(v.clone())),
                    (None, Some(default)) => {
                        let env = Lookup::new(&values);
                        match lexer.expand_word(default, &env) {
                            Ok(e) => Some(env.result(e.value)),
                            Err(e) => {
                                errors.push((item, i, e));
                                Some(VarValue::Unknown)
                            }
                        }
                    }
                    (None, None) => None,
                };
                match value {
                    Some(v) => {
                        values.insert(name.to_string(), v.clone());
                        inherited.insert(name.to_string(), v);
                    }
                    None => {
                        inherited.remove(name);
                        // FROM lines: legacy leaves the name unset (and forgets an earlier
                        // default); BuildKit sets it to nothing.
                        match builder {
                            Builder::Legacy => values.remove(name),
                            Builder::BuildKit => values.insert(name.to_string(), VarValue::Known(String::new())),
                        };
                    }
                }
            }
        }
        (Globals { builder, lexer, values, inherited, declared, build_args }, errors)
    }

    /// Expands a FROM word.
    pub fn expand(&self, word: &str) -> Result<Expanded, ExpandError> {
        let env = Lookup::new(&self.values);
        let expansion = self.lexer.expand_word(word, &env)?;
        let value = env.result(expansion.value.clone());
        Ok(Expanded { expansion, value })
    }
}

/// The variables in effect at one point of a stage. Made by [`crate::analyze::Program::scope_at`].
#[derive(Clone, Debug)]
pub struct Scope {
    builder: Builder,
    lexer: Lexer,
    /// ENV values: the base image's that the compile knows, then the stage's own. Under BuildKit
    /// ARG values are written here too, in order.
    env: BTreeMap<String, VarValue>,
    /// ARG values (legacy builder: beneath every ENV).
    args: BTreeMap<String, VarValue>,
    /// Names this stage declared with ARG (set or not).
    declared: BTreeSet<String>,
    /// Whether the base image's ENV is known: FROM scratch, or a chain of stages of the file that
    /// starts FROM scratch.
    base_known: bool,
}

impl Scope {
    fn start(base: &Base, stages: &[Stage], globals: &Globals) -> Scope {
        let empty = |base_known: bool| Scope {
            builder: globals.builder,
            lexer: globals.lexer,
            env: BTreeMap::new(),
            args: BTreeMap::new(),
            declared: BTreeSet::new(),
            base_known,
        };
        let (mut scope, triggers): (Scope, &[Item]) = match base {
            Base::Scratch => {
                let mut s = empty(true);
                s.env.insert("PATH".into(), VarValue::Known(DEFAULT_PATH.into()));
                (s, &[])
            }
            Base::External(_) => (empty(false), &[]),
            Base::Stage(s) => (scope_at(stages, globals, *s, stages[*s].items.len()).inherited(), &stages[*s].items),
            Base::Tagged { stage, item, .. } => {
                let upto = (*item + 1).min(stages[*stage].items.len());
                (scope_at(stages, globals, *stage, upto).inherited(), &stages[*stage].items[..upto])
            }
        };
        // The base's ONBUILD triggers run first, in the new stage.
        for item in triggers {
            if let Op::Docker(op) = &item.op {
                if let Some(trigger) = &op.trigger {
                    scope.apply(trigger, globals);
                }
            }
        }
        scope
    }

    /// The scope a stage built FROM this point starts with.
    fn inherited(mut self) -> Scope {
        // The legacy builder starts a new build from the image: its ENV, no ARGs. BuildKit keeps
        // the whole environment, ARG values included.
        self.args.clear();
        self.declared.clear();
        self
    }

    /// The value of `name` here.
    pub fn get(&self, name: &str) -> VarValue {
        let (value, rank) = self.lookup(name);
        match (value, rank) {
            (Some(v), 0) => VarValue::Known(v.to_string()),
            (Some(v), _) => VarValue::UnlessBaseEnv(v.to_string()),
            (None, 0) => VarValue::Unset,
            (None, _) => VarValue::Unknown,
        }
    }

    /// The value as a string and how sure it is (the [`VarValue`] ranks: 0 known, 1 unless a base
    /// ENV, 2 unknown).
    fn lookup(&self, name: &str) -> (Option<&str>, u8) {
        if let Some(v) = self.env.get(name) {
            return (v.as_str(), v.rank());
        }
        match self.args.get(name) {
            // Legacy: an ENV of the base image would take precedence over the ARG.
            Some(v) if !self.base_known => (v.as_str(), v.rank().max(1)),
            Some(v) => (v.as_str(), v.rank()),
            None if self.base_known => (None, 0),
            None => (None, 2),
        }
    }

    /// Whether this stage declares `name` (with ARG or ENV, or an ENV of a base stage of the
    /// file): a global ARG of that name is then no longer out of scope.
    pub fn declares(&self, name: &str) -> bool {
        self.env.contains_key(name) || self.args.contains_key(name) || self.declared.contains(name)
    }

    /// Expands `word` as Docker expands instruction arguments here.
    pub fn expand(&self, word: &str) -> Result<Expanded, ExpandError> {
        let env = ScopeLookup { scope: self, worst: Cell::new(0) };
        let expansion = self.lexer.expand_word(word, &env)?;
        let value = rank_value(expansion.value.clone(), env.worst.get());
        Ok(Expanded { expansion, value })
    }

    /// The scope after `item`.
    pub fn apply(&mut self, item: &Item, globals: &Globals) {
        let Op::Docker(op) = &item.op else { return };
        if !op.env.is_empty() {
            // Every value is expanded before any of them is set: `ENV A=1 B=$A` gives B the A
            // from before this line.
            let pairs: Vec<(String, VarValue)> = op
                .env
                .iter()
                .map(|(key, value)| {
                    let key = self.expand(key).map_or_else(|_| key.clone(), |e| e.expansion.value);
                    (key, self.expand(value).map_or(VarValue::Unknown, |e| e.value))
                })
                .collect();
            for (key, value) in pairs {
                self.env.insert(key, value);
            }
        }
        for word in &op.arg_words {
            let (key, default) = split_arg(word);
            let key = self.expand(key).map_or_else(|_| key.to_string(), |e| e.expansion.value);
            let value = match (globals.build_args.get(&key), default) {
                (Some(v), _) => Some(VarValue::Known(v.clone())),
                (None, Some(default)) => Some(self.expand(default).map_or(VarValue::Unknown, |e| e.value)),
                (None, None) => globals.inherited.get(&key).cloned(),
            };
            self.declared.insert(key.clone());
            match (self.builder, value) {
                (Builder::Legacy, Some(v)) => {
                    self.args.insert(key, v);
                }
                // `ARG X` after `ARG X=1` leaves X unset to the legacy builder.
                (Builder::Legacy, None) => {
                    self.args.remove(&key);
                }
                (Builder::BuildKit, Some(v)) => {
                    self.env.insert(key, v);
                }
                (Builder::BuildKit, None) => {}
            }
        }
    }
}

/// The scope just before item `item` of stage `stage` (`item == items.len()`: at its end).
pub fn scope_at(stages: &[Stage], globals: &Globals, stage: usize, item: usize) -> Scope {
    let s = &stages[stage];
    let mut scope = Scope::start(&s.from.base, &stages[..stage], globals);
    for it in &s.items[..item.min(s.items.len())] {
        scope.apply(it, globals);
    }
    scope
}

/// The scope at the start of a stage whose FROM resolved to `base`, for the analyzer, which
/// walks the stage itself.
pub fn scope_after_from(base: &Base, stages: &[Stage], globals: &Globals) -> Scope {
    Scope::start(base, stages, globals)
}

/// `NAME=default` or `NAME`, as ARG words are written.
pub fn split_arg(word: &str) -> (&str, Option<&str>) {
    match word.split_once('=') {
        Some((name, default)) => (name, Some(default)),
        None => (word, None),
    }
}

fn rank_value(value: String, rank: u8) -> VarValue {
    match rank {
        0 => VarValue::Known(value),
        1 => VarValue::UnlessBaseEnv(value),
        _ => VarValue::Unknown,
    }
}

/// A map of [`VarValue`]s as an [`Env`], remembering the least certain value it handed out.
struct Lookup<'m> {
    values: &'m BTreeMap<String, VarValue>,
    worst: Cell<u8>,
}

impl<'m> Lookup<'m> {
    fn new(values: &'m BTreeMap<String, VarValue>) -> Lookup<'m> {
        Lookup { values, worst: Cell::new(0) }
    }

    fn result(&self, value: String) -> VarValue {
        rank_value(value, self.worst.get())
    }
}

impl Env for Lookup<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        let v = self.values.get(name)?;
        self.worst.set(self.worst.get().max(v.rank()));
        v.as_str()
    }
}

struct ScopeLookup<'s> {
    scope: &'s Scope,
    worst: Cell<u8>,
}

impl Env for ScopeLookup<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        let (value, rank) = self.scope.lookup(name);
        self.worst.set(self.worst.get().max(rank));
        value
    }
}
