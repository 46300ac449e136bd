//! Docker's word expansion (BuildKit's shell lexer): quote removal, escapes, `$X`, `${X:-d}` and
//! friends, as Dockerfile instructions apply it at build time.
//!
//! rockerc has to know at compile time what `WORKDIR $HOME/app` or `ENV PATH=$PATH:/opt/bin`
//! will mean to Docker, so this is a port of the behaviour of BuildKit's
//! `frontend/dockerfile/shell` lexer, pinned by BuildKit's own `envVarTest` and `wordsTest` data
//! (see `tests/integration/conformance_shell.rs`). In short:
//!
//! - `'…'` is literal. In `"…"` only `\"`, `\$` and `\\` are escapes and `$` expands. Outside
//!   quotes `\x` is `x` and a trailing lone `\` is dropped. The escape character is the lexer's
//!   (`` ` `` after `# escape=``), everywhere except inside a pattern, whose escape is always `\`.
//! - `$name` and `${name}`: a name is letters (any script), digits and `_`; one that starts with a
//!   digit is just the digit run (`$1x` is `$1` then `x`), and `@ * # ? - $ ! 0` are one-character
//!   names. Those are looked up like any other, so unless the environment has them they are empty.
//!   A `$` before anything else stays a `$`.
//! - `${v:-w} ${v-w} ${v:+w} ${v+w} ${v:?w} ${v?w}` with POSIX unset/empty rules; the word `w` is
//!   itself expanded (always, even when unused).
//! - `${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r} ${v//p/r}` with shell patterns: `*`, `?` and `\`
//!   escapes, matched exactly as BuildKit's regular expressions match them (`pattern.rs`). Like
//!   BuildKit there are no bracket expressions: `[` is literal.
//!
//! Where this deliberately differs from BuildKit:
//! - `${v` with no `}` reports "syntax error: missing '}'"; BuildKit says
//!   "unsupported modifier (\u{FFFD}) in substitution". Pattern errors of `${v%p}` quote `p` as
//!   written; BuildKit quotes it reversed. Only messages differ: both fail.
//! - Word splitting ([`Expansion::words`]) keeps text that comes before a `${v:-w}` in the same
//!   word (`80/${P:-tcp}` is one word `80/tcp`). Recent BuildKit shares one buffer between the
//!   outer word and the nested `w`, and drops that text.
//! - Nesting deeper than [`MAX_DEPTH`] `${` levels, and a `${v//p/r}` result over 16 MiB, are
//!   errors ([`ExpandErrorKind::Limit`]); BuildKit has no limits.

mod pattern;
#[cfg(test)]
mod tests;

/// Variable names are read by Go's `unicode.IsLetter` and `unicode.IsDigit`, as BuildKit reads
/// them (Rust's `is_alphabetic` and `is_numeric` are wider: combining marks, letter numbers, `²`).
use crate::syntax::variable_name_len;
use pattern::PatternError;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// How many `${…}` may nest inside one another. Each level costs stack, and real Dockerfiles nest
/// two or three.
pub const MAX_DEPTH: usize = 64;

/// Where variable values come from: the ARGs and ENVs in scope at an instruction.
pub trait Env {
    /// The value of `name`, or `None` when it is unset. Unset and set-but-empty differ for `-`,
    /// `+` and `?`.
    fn get(&self, name: &str) -> Option<&str>;
}

impl Env for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl Env for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

/// `(name, value)` pairs; when a name repeats, the last one wins, as in BuildKit.
impl Env for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter().rev().find(|(key, _)| *key == name).map(|&(_, value)| value)
    }
}

/// One `$NAME` or `${NAME...}` in a text: the name, and the bytes from the `$` through the name
/// (through the matching `}` when braced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reference<'t> {
    pub name: &'t str,
    pub at: usize,
    pub end: usize,
}

/// Every variable reference in `text`, in order, by the names Docker reads (see the module docs):
/// quotes and escapes are not looked at, so a `$NAME` that the shell or Docker would take
/// literally (`'$NAME'`, `\$NAME`) is reported too. This is for questions whose safe answer is
/// "it may be read": which secrets a RUN reads, where a message should point.
pub fn references(text: &str) -> impl Iterator<Item = Reference<'_>> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(off) = text[from..].find('$') {
            let at = from + off;
            let braced = text[at + 1..].starts_with('{');
            let start = at + 1 + usize::from(braced);
            let len = variable_name_len(&text[start..]);
            from = start + len;
            if len == 0 {
                from = at + 1;
                continue;
            }
            let mut end = start + len;
            if braced {
                // Through the `}` that closes this `${`, past any nested in a modifier's word.
                let mut depth = 1;
                for (i, c) in text[end..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        end += i + 1;
                        break;
                    }
                }
            }
            return Some(Reference { name: &text[start..start + len], at, end });
        }
        None
    })
}

/// Expands words the way Docker does for one Dockerfile. `Lexer::default()` is Docker's default
/// (escape character `\`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lexer {
    /// The Dockerfile's escape character: `\`, or `` ` `` after the `# escape=`` directive.
    pub escape: char,
}

impl Default for Lexer {
    fn default() -> Lexer {
        Lexer { escape: '\\' }
    }
}

/// The result of expanding one word.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The expanded word as one string, whitespace kept: what WORKDIR, USER, ENV values and most
    /// instructions use (BuildKit's `ProcessWord`).
    pub value: String,
    /// The expansion split into words (BuildKit's `ProcessWords`, used for EXPOSE): whitespace
    /// in literal text or in an unquoted variable's value separates words, quoted text never
    /// does, and an empty quoted string makes no word.
    pub words: Vec<String>,
    /// Variables that were looked up and set, in order of first reference.
    pub used: Vec<String>,
    /// Variables that were looked up and unset, in order of first reference: candidates for
    /// "ARG used outside its scope" lints.
    pub unset: Vec<String>,
}

/// Why a word could not be expanded. Docker fails the build on the same words, except those past
/// rockerc's limits ([`ExpandErrorKind::Limit`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpandError {
    pub kind: ExpandErrorKind,
    /// Specific and ready to show: `syntax error: bad substitution`, `FOO: is not allowed to be unset`.
    pub message: String,
    /// Byte offset in the word where the problem is: the opening quote of an unclosed string, the
    /// `$` of an unclosed or failing `${…}`, the character after `${` for a bad substitution, the
    /// modifier for an unsupported one, the pattern's start for a bad pattern.
    pub offset: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpandErrorKind {
    /// Malformed text: an unclosed quote or `${`, an unknown modifier, a bad pattern.
    Syntax,
    /// `${name?message}` or `${name:?message}` failed: the Dockerfile itself asks the build to stop
    /// when `name` is unset (or, with `:`, empty).
    Required { name: String },
    /// Past one of rockerc's limits ([`MAX_DEPTH`], or a replacement result over 16 MiB).
    Limit,
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExpandError {}

impl Lexer {
    pub const fn new(escape: char) -> Lexer {
        Lexer { escape }
    }

    /// Expands `word` (one argument of an instruction, as the parser gives it) in `env`.
    /// `env` is any [`Env`]: a `&dyn Env`, a map, or a `&[(&str, &str)]`.
    pub fn expand_word<E: Env + ?Sized>(&self, word: &str, env: &E) -> Result<Expansion, ExpandError> {
        let mut expander = Expander::new(word, self.escape, env);
        let mut words = Words::collecting();
        let value = expander.word(None, false, &mut words)?;
        Ok(Expansion { value, words: words.finish(), used: expander.used, unset: expander.unset })
    }

    /// Expands `word` and splits the result into words; see [`Expansion::words`].
    pub fn expand_words<E: Env + ?Sized>(&self, word: &str, env: &E) -> Result<Vec<String>, ExpandError> {
        Ok(self.expand_word(word, env)?.words)
    }
}

/// One expansion in progress: a cursor over the word, reading it once from left to right.
struct Expander<'w, 'e, E: Env + ?Sized> {
    text: &'w str,
    /// Byte offset of the next character.
    at: usize,
    escape: char,
    /// Inside a pattern or a replacement the escape character is kept with what it escapes, so
    /// the pattern can tell `\*` from `*`.
    raw_escapes: bool,
    env: &'e E,
    depth: usize,
    used: Vec<String>,
    unset: Vec<String>,
    seen: HashSet<String>,
}

impl<'w, 'e, E: Env + ?Sized> Expander<'w, 'e, E> {
    fn new(text: &'w str, escape: char, env: &'e E) -> Self {
        // BuildKit reads the word with Go's text/scanner, which skips a leading BOM.
        let at = if text.starts_with('\u{FEFF}') { '\u{FEFF}'.len_utf8() } else { 0 };
        Expander { text, at, escape, raw_escapes: false, env, depth: 0, used: Vec::new(), unset: Vec::new(), seen: HashSet::new() }
    }

    fn peek(&self) -> Option<char> {
        self.text.get(self.at..)?.chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        Some(c)
    }

    /// Reads up to `stop` (consumed) or the end, expanding as it goes, and feeds `words` the
    /// word-split form.
    fn word(&mut self, stop: Option<char>, raw_escapes: bool, words: &mut Words) -> Result<String, ExpandError> {
        let outer = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let result = self.word_until(stop, words);
        self.raw_escapes = outer;
        result
    }

    fn word_until(&mut self, stop: Option<char>, words: &mut Words) -> Result<String, ExpandError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.bump();
                return Ok(out);
            }
            match c {
                '$' => {
                    let value = self.dollar()?;
                    words.push_splitting(&value);
                    out.push_str(&value);
                }
                '\'' | '"' => {
                    let value = if c == '\'' { self.single_quoted()? } else { self.double_quoted()? };
                    words.push_verbatim(&value);
                    out.push_str(&value);
                }
                _ => {
                    self.bump();
                    if c != self.escape {
                        words.push_splitting_char(c);
                        out.push(c);
                        continue;
                    }
                    if self.raw_escapes {
                        words.push_verbatim_char(c);
                        out.push(c);
                    }
                    // A lone escape at the very end is dropped.
                    let Some(escaped) = self.bump() else { break };
                    words.push_verbatim_char(escaped);
                    out.push(escaped);
                }
            }
        }
        match stop {
            // Callers replace this with a message about their own construct.
            Some(stop) => Err(self.syntax_error(self.at, format!("unexpected end of statement while looking for matching {stop}"))),
            None => Ok(out),
        }
    }

    fn single_quoted(&mut self) -> Result<String, ExpandError> {
        let open = self.at;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
                None => return Err(self.syntax_error(open, "unexpected end of statement while looking for matching single-quote")),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, ExpandError> {
        let open = self.at;
        self.bump();
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.syntax_error(open, "unexpected end of statement while looking for matching double-quote")),
                Some('"') => {
                    self.bump();
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) => {
                    self.bump();
                    if c == self.escape {
                        if self.raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            // Dropped; the missing `"` is reported next time round.
                            None => continue,
                            Some(next) if next == '"' || next == '$' || next == self.escape => {
                                self.bump();
                                out.push(next);
                                continue;
                            }
                            // Any other escape is an ordinary character here.
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    /// `$name`, `${name}` or `${name<modifier>…}`, at the `$`.
    fn dollar(&mut self) -> Result<String, ExpandError> {
        let start = self.at;
        self.bump();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_owned());
            }
            return Ok(self.lookup(&name).unwrap_or_default().to_owned());
        }
        self.bump();
        match self.peek() {
            None => return Err(self.syntax_error(start, "syntax error: missing '}'")),
            Some('{' | '}' | ':') => return Err(self.syntax_error(self.at, "syntax error: bad substitution")),
            Some(_) => {}
        }
        if self.depth >= MAX_DEPTH {
            return Err(ExpandError {
                kind: ExpandErrorKind::Limit,
                message: format!("more than {MAX_DEPTH} levels of ${{…}} inside one another"),
                offset: start,
            });
        }
        self.depth += 1;
        let result = self.braced(start);
        self.depth -= 1;
        result
    }

    /// The rest of `${…}` after the `{`; `start` is the `$`.
    fn braced(&mut self, start: usize) -> Result<String, ExpandError> {
        let name = self.name();
        let modifier_at = self.at;
        let Some(c) = self.bump() else { return Err(self.syntax_error(start, "syntax error: missing '}'")) };
        match c {
            '}' => Ok(self.lookup(&name).unwrap_or_default().to_owned()),
            '-' | '+' | '?' | '#' | '%' => self.modifier(start, &name, c, false, modifier_at),
            ':' => match self.bump() {
                None => Err(self.syntax_error(start, "syntax error: missing '}'")),
                Some(op) => self.modifier(start, &name, op, true, modifier_at),
            },
            '/' => self.replace(start, &name),
            other => Err(self.unsupported(modifier_at, &other.to_string())),
        }
    }

    /// `${name<op>word}` and `${name:<op>word}` (`colon`), after the operator.
    fn modifier(&mut self, start: usize, name: &str, op: char, colon: bool, modifier_at: usize) -> Result<String, ExpandError> {
        let spelled = if colon { format!(":{op}") } else { op.to_string() };
        let is_pattern = op == '#' || op == '%';
        if colon && is_pattern {
            return Err(self.unsupported(modifier_at, &spelled));
        }
        let word_at = self.at;
        let word = self.nested_word('}', is_pattern, start, "syntax error: missing '}'")?;
        let value = self.lookup(name);
        // With `:`, empty counts as unset.
        let missing = match value {
            None => true,
            Some(value) => colon && value.is_empty(),
        };
        match op {
            '-' => Ok(if missing { word } else { value.unwrap_or_default().to_owned() }),
            '+' => Ok(if missing { String::new() } else { word }),
            '?' if missing => {
                let message = match (value, word.is_empty()) {
                    (_, false) => word,
                    (None, true) => "is not allowed to be unset".to_owned(),
                    (Some(_), true) => "is not allowed to be empty".to_owned(),
                };
                Err(ExpandError { kind: ExpandErrorKind::Required { name: name.to_owned() }, message: format!("{name}: {message}"), offset: start })
            }
            '?' => Ok(value.unwrap_or_default().to_owned()),
            '#' | '%' => {
                // `##` and `%%` take the longest match: BuildKit decides on the expanded word.
                let (greedy, pattern) = match word.strip_prefix(op) {
                    Some(rest) => (true, rest),
                    None => (false, word.as_str()),
                };
                let value = value.unwrap_or_default();
                let trimmed = if op == '#' { pattern::trim_prefix(pattern, value, greedy) } else { pattern::trim_suffix(pattern, value, greedy) };
                trimmed.map_err(|e| self.pattern_error(e, pattern, word_at))
            }
            _ => Err(self.unsupported(modifier_at, &spelled)),
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}`, after the first `/`.
    fn replace(&mut self, start: usize, name: &str) -> Result<String, ExpandError> {
        let all = self.peek() == Some('/');
        if all {
            self.bump();
        }
        let pattern_at = self.at;
        let pattern = self.nested_word('/', true, start, "syntax error: missing '/' in ${}")?;
        let replacement = self.nested_word('}', true, start, "syntax error: missing '}'")?;
        let value = self.lookup(name).unwrap_or_default();
        let replaced = if all { pattern::replace_all(&pattern, value, &replacement) } else { pattern::replace_first(&pattern, value, &replacement) };
        replaced.map_err(|e| self.pattern_error(e, &pattern, pattern_at))
    }

    /// The word inside `${…}` up to `stop`. Any failure that ran into the end of the text is
    /// reported as the `${…}` at `start` being unterminated, as BuildKit does.
    fn nested_word(&mut self, stop: char, raw_escapes: bool, start: usize, unterminated: &str) -> Result<String, ExpandError> {
        self.word(Some(stop), raw_escapes, &mut Words::ignoring()).map_err(|e| {
            if self.peek().is_none() && e.kind != ExpandErrorKind::Limit {
                self.syntax_error(start, unterminated)
            } else {
                e
            }
        })
    }

    /// A variable name, possibly empty: see the module docs.
    fn name(&mut self) -> String {
        let len = variable_name_len(&self.text[self.at..]);
        self.at += len;
        self.text[self.at - len..self.at].to_owned()
    }

    fn lookup(&mut self, name: &str) -> Option<&'e str> {
        let env = self.env;
        let value = env.get(name);
        // `${+x}` and friends look up the empty name; that is nobody's variable.
        if !name.is_empty() && !self.seen.contains(name) {
            self.seen.insert(name.to_owned());
            let list = if value.is_some() { &mut self.used } else { &mut self.unset };
            list.push(name.to_owned());
        }
        value
    }

    fn syntax_error(&self, offset: usize, message: impl Into<String>) -> ExpandError {
        ExpandError { kind: ExpandErrorKind::Syntax, message: message.into(), offset }
    }

    fn unsupported(&self, offset: usize, modifier: &str) -> ExpandError {
        self.syntax_error(offset, format!("unsupported modifier ({modifier}) in substitution"))
    }

    fn pattern_error(&self, error: PatternError, pattern: &str, offset: usize) -> ExpandError {
        match error {
            PatternError::Invalid(why) => self.syntax_error(offset, format!("invalid pattern ({pattern}) in substitution: {why}")),
            PatternError::TooLong => ExpandError {
                kind: ExpandErrorKind::Limit,
                message: format!("result of substitution is longer than {} bytes", pattern::MAX_RESULT_LEN),
                offset,
            },
        }
    }
}

/// The word-split form of an expansion being built (BuildKit's `wordsStruct`). Only the whole
/// word is split: the words inside `${v:-w}` are expanded first and their result split as a value.
struct Words {
    done: Vec<String>,
    current: String,
    collect: bool,
}

impl Words {
    fn collecting() -> Words {
        Words { done: Vec::new(), current: String::new(), collect: true }
    }

    fn ignoring() -> Words {
        Words { collect: false, ..Words::collecting() }
    }

    /// Literal text outside quotes, or an unquoted variable's value: whitespace separates words.
    fn push_splitting(&mut self, text: &str) {
        if self.collect {
            text.chars().for_each(|c| self.push_splitting_char(c));
        }
    }

    fn push_splitting_char(&mut self, c: char) {
        if !self.collect {
            return;
        }
        // Rust's White_Space is Go's unicode.IsSpace.
        if !c.is_whitespace() {
            self.current.push(c);
        } else if !self.current.is_empty() {
            self.done.push(std::mem::take(&mut self.current));
        }
    }

    /// Quoted or escaped text: kept whole.
    fn push_verbatim(&mut self, text: &str) {
        if self.collect {
            self.current.push_str(text);
        }
    }

    fn push_verbatim_char(&mut self, c: char) {
        if self.collect {
            self.current.push(c);
        }
    }

    fn finish(mut self) -> Vec<String> {
        if !self.current.is_empty() {
            self.done.push(self.current);
        }
        self.done
    }
}
