//! The shell patterns of `${v#pat}`, `${v%pat}` and `${v/pat/repl}`, matched the way BuildKit
//! matches them.
//!
//! BuildKit turns a pattern into a Go regular expression and lets RE2 find the match, so the
//! answer is RE2's *leftmost-first* match: every `*` is `.*` (greedy) or `.*?` (lazy) and `?` is
//! `.`, and neither matches a newline. To get exactly the same answers this module runs the same
//! kind of program on a small Pike VM: time is O(len(text) × len(pattern)), like RE2, with no
//! backtracking blow-up.
//!
//! Pattern syntax, as BuildKit has it:
//! - `*` any run of characters, `?` any one character (neither crosses a newline);
//! - `\*`, `\?`, `\\` are those characters literally; `\}` and `\/` are `}` and `/` (the
//!   backslash only kept them from ending the `${…}`); any other `\x` is an error. The escape
//!   here is always `\`, whatever the Dockerfile's escape character;
//! - everything else is literal, `[` included: there are no bracket expressions.
//!
//! `${v%pat}` matches from the right; like BuildKit it reverses the pattern (keeping `\x` pairs
//! together) and the value, and trims from the left.

use crate::golang::{is_digit, is_letter};

/// Past this many bytes a `${v//pat/repl}` result is refused: each level of nesting multiplies
/// the size (`${v//?/${v//?/…}}`), and a build that big would fail in Docker anyway.
pub(super) const MAX_RESULT_LEN: usize = 1 << 24;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PatternError {
    /// The pattern text is malformed; the string says how (`invalid escape '\x'`).
    Invalid(String),
    /// The result would be longer than [`MAX_RESULT_LEN`].
    TooLong,
}

/// `${v#pat}` (`greedy` false) and `${v##pat}` (`greedy` true): `value` without the shortest or
/// longest prefix that matches.
pub(super) fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, PatternError> {
    let program = Program::compile(pattern, greedy)?;
    Ok(match program.find_at(value, 0, true) {
        Some((_, end)) => value[end..].to_owned(),
        None => value.to_owned(),
    })
}

/// `${v%pat}` and `${v%%pat}`: `value` without the shortest or longest matching suffix.
pub(super) fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, PatternError> {
    // RE2 has no "rightmost" search, so BuildKit reverses both and trims a prefix.
    let reversed: String = value.chars().rev().collect();
    let trimmed = trim_prefix(&reverse_pattern(pattern), &reversed, greedy)?;
    Ok(trimmed.chars().rev().collect())
}

/// `${v/pat/repl}`: the leftmost match replaced by `replacement`, taken literally.
pub(super) fn replace_first(pattern: &str, value: &str, replacement: &str) -> Result<String, PatternError> {
    let program = Program::compile(pattern, true)?;
    Ok(match program.find_at(value, 0, false) {
        Some((start, end)) => [&value[..start], replacement, &value[end..]].concat(),
        None => value.to_owned(),
    })
}

/// `${v//pat/repl}`: every match replaced, as Go's `Regexp.ReplaceAllString` does it. That
/// includes its template syntax in `replacement`: `$0` or `${0}` is the matched text, `$$` is
/// `$`, any other `$name` is empty, and a `$` not followed by a name stays.
pub(super) fn replace_all(pattern: &str, value: &str, replacement: &str) -> Result<String, PatternError> {
    let program = Program::compile(pattern, true)?;
    let mut out = String::new();
    let mut last_match_end = 0;
    let mut search_at = 0;
    while search_at <= value.len() {
        let Some((start, end)) = program.find_at(value, search_at, false) else { break };
        out.push_str(&value[last_match_end..start]);
        // No replacement for an empty match right after another match, as in Go.
        if end > last_match_end || start == 0 {
            expand_template(replacement, &value[start..end], &mut out);
        }
        if out.len() > MAX_RESULT_LEN {
            return Err(PatternError::TooLong);
        }
        last_match_end = end;
        let width = value[search_at..].chars().next().map_or(0, char::len_utf8);
        search_at = if search_at + width > end {
            search_at + width
        } else if search_at + 1 > end {
            // Only at the very end of the value, where `width` is 0.
            search_at + 1
        } else {
            end
        };
    }
    out.push_str(&value[last_match_end..]);
    if out.len() > MAX_RESULT_LEN {
        return Err(PatternError::TooLong);
    }
    Ok(out)
}

/// Go's `Regexp.Expand` for a regular expression whose only group is group 0.
fn expand_template(template: &str, matched: &str, out: &mut String) {
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        match template_reference(rest) {
            Some((name, after)) => {
                rest = after;
                if name == "0" {
                    out.push_str(matched);
                }
            }
            None => out.push('$'),
        }
    }
    out.push_str(rest);
}

/// The `name` or `{name}` after a template's `$`, and the text after it (Go's `extract`).
fn template_reference(text: &str) -> Option<(&str, &str)> {
    let (braced, body) = match text.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let len = body.char_indices().find(|&(_, c)| !(is_letter(c) || is_digit(c) || c == '_')).map_or(body.len(), |(at, _)| at);
    if len == 0 {
        return None;
    }
    let (name, mut rest) = body.split_at(len);
    if braced {
        rest = rest.strip_prefix('}')?;
    }
    Some((name, rest))
}

/// Reverses a pattern but keeps each `\x` pair in order: `a\*c` becomes `c\*a`.
fn reverse_pattern(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut units: Vec<&[char]> = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let len = if chars[at] == '\\' && at + 1 < chars.len() { 2 } else { 1 };
        units.push(&chars[at..at + len]);
        at += len;
    }
    units.iter().rev().flat_map(|unit| unit.iter()).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inst {
    /// One character, exactly.
    Char(char),
    /// Any one character but `\n` (RE2's `.`).
    AnyButNewline,
    /// Try the first target, then the second (at lower priority).
    Split(usize, usize),
    Jump(usize),
    Match,
}

/// A compiled pattern: the instructions RE2 would run for BuildKit's regular expression.
#[derive(Debug)]
struct Program {
    insts: Vec<Inst>,
}

impl Program {
    fn compile(pattern: &str, greedy: bool) -> Result<Program, PatternError> {
        // BuildKit reads the pattern with Go's text/scanner, which skips a leading BOM.
        let pattern = pattern.strip_prefix('\u{FEFF}').unwrap_or(pattern);
        let mut insts = Vec::with_capacity(pattern.len() + 1);
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => {
                    let at = insts.len();
                    let (loop_body, after) = (at + 1, at + 3);
                    insts.push(if greedy { Inst::Split(loop_body, after) } else { Inst::Split(after, loop_body) });
                    insts.push(Inst::AnyButNewline);
                    insts.push(Inst::Jump(at));
                }
                '?' => insts.push(Inst::AnyButNewline),
                '\\' => match chars.peek() {
                    // Only there to keep `}` or `/` from ending the `${…}`: not part of the pattern.
                    Some('}' | '/') => {}
                    _ => match chars.next() {
                        Some(c @ ('*' | '?' | '\\')) => insts.push(Inst::Char(c)),
                        Some(c) => return Err(PatternError::Invalid(format!("invalid escape '\\{c}'"))),
                        None => return Err(PatternError::Invalid("invalid escape '\\' at the end".to_owned())),
                    },
                },
                c => insts.push(Inst::Char(c)),
            }
        }
        insts.push(Inst::Match);
        Ok(Program { insts })
    }

    /// RE2's leftmost-first match in `text` starting at byte `from` or later (exactly at `from`
    /// when `anchored`), as a byte range.
    fn find_at(&self, text: &str, from: usize, anchored: bool) -> Option<(usize, usize)> {
        let mut current = Threads::new(self.insts.len());
        let mut next = Threads::new(self.insts.len());
        let mut stack = Vec::new();
        let mut found = None;
        let mut at = from;
        loop {
            if current.is_empty() && (found.is_some() || (anchored && at > from)) {
                break;
            }
            if found.is_none() && (!anchored || at == from) {
                // A match starting here ranks below every thread that started earlier.
                self.add_thread(&mut current, 0, at, &mut stack);
            }
            let c = text.get(at..).and_then(|rest| rest.chars().next());
            for &(pc, start) in &current.dense {
                match self.insts[pc] {
                    Inst::Match => {
                        found = Some((start, at));
                        // Leftmost-first: threads of lower priority can no longer win.
                        break;
                    }
                    Inst::Char(want) if c == Some(want) => self.add_thread(&mut next, pc + 1, start, &mut stack),
                    Inst::AnyButNewline if c.is_some_and(|c| c != '\n') => self.add_thread(&mut next, pc + 1, start, &mut stack),
                    _ => {}
                }
            }
            std::mem::swap(&mut current, &mut next);
            next.clear();
            match c {
                Some(c) => at += c.len_utf8(),
                None => break,
            }
        }
        found
    }

    /// Adds the thread at `pc` and everything it reaches without reading a character, in
    /// priority order. Iterative, because a pattern of many `*`s chains many splits.
    fn add_thread(&self, threads: &mut Threads, pc: usize, start: usize, stack: &mut Vec<usize>) {
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if !threads.insert(pc, start) {
                continue;
            }
            match self.insts[pc] {
                Inst::Jump(to) => stack.push(to),
                Inst::Split(first, second) => {
                    stack.push(second);
                    stack.push(first);
                }
                _ => {}
            }
        }
    }
}

/// A sparse set of threads (program counter, start offset), kept in priority order.
struct Threads {
    dense: Vec<(usize, usize)>,
    sparse: Vec<usize>,
}

impl Threads {
    fn new(len: usize) -> Threads {
        Threads { dense: Vec::with_capacity(len), sparse: vec![0; len] }
    }

    fn is_empty(&self) -> bool {
        self.dense.is_empty()
    }

    fn clear(&mut self) {
        self.dense.clear();
    }

    /// False if `pc` was already there (a thread of higher priority got there first).
    fn insert(&mut self, pc: usize, start: usize) -> bool {
        let slot = self.sparse[pc];
        if slot < self.dense.len() && self.dense[slot].0 == pc {
            return false;
        }
        self.sparse[pc] = self.dense.len();
        self.dense.push((pc, start));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(pattern: &str, greedy: bool) -> Vec<Inst> {
        Program::compile(pattern, greedy).unwrap().insts
    }

    #[test]
    fn compiles_wildcards_escapes_and_literals() {
        use Inst::*;
        assert_eq!(compiled("*", true), [Split(1, 3), AnyButNewline, Jump(0), Match]);
        assert_eq!(compiled("*", false), [Split(3, 1), AnyButNewline, Jump(0), Match]);
        assert_eq!(compiled("?", true), [AnyButNewline, Match]);
        assert_eq!(compiled(r"\*\?\\", true), [Char('*'), Char('?'), Char('\\'), Match]);
        // Regular-expression metacharacters and brackets are plain characters.
        assert_eq!(compiled("[a].", true), [Char('['), Char('a'), Char(']'), Char('.'), Match]);
        // `\}` and `\/` lose the backslash.
        assert_eq!(compiled(r"\}\/", true), [Char('}'), Char('/'), Match]);
        assert_eq!(compiled("\u{FEFF}a", true), [Char('a'), Match]);
    }

    #[test]
    fn rejects_other_escapes() {
        for (pattern, message) in [(r"\", "invalid escape '\\' at the end"), (r"\x", r"invalid escape '\x'"), (r"\\\", "invalid escape '\\' at the end")] {
            assert_eq!(Program::compile(pattern, true).unwrap_err(), PatternError::Invalid(message.to_owned()));
        }
    }

    #[test]
    fn reverses_patterns_keeping_escape_pairs() {
        // BuildKit's TestReversePattern.
        let cases = [(r"a\*c", r"c\*a"), (r"\\\ab", r"b\a\\"), ("ab\\", "\\ba"), (r"👽\🚀🖖", r"🖖\🚀👽"), (r"\\b", r"b\\")];
        for (pattern, reversed) in cases {
            assert_eq!(reverse_pattern(pattern), reversed, "{pattern}");
        }
    }

    #[test]
    fn finds_leftmost_first_matches() {
        let find = |pattern: &str, greedy, text: &str, anchored| Program::compile(pattern, greedy).unwrap().find_at(text, 0, anchored);
        assert_eq!(find("*x", true, "axbxc", true), Some((0, 4)));
        assert_eq!(find("*x", false, "axbxc", true), Some((0, 2)));
        assert_eq!(find("*", false, "abc", true), Some((0, 0)));
        assert_eq!(find("b*", true, "abcb", false), Some((1, 4)));
        assert_eq!(find("c", true, "abc", true), None);
        // Wildcards stop at a newline.
        assert_eq!(find("*", true, "ab\ncd", true), Some((0, 2)));
        assert_eq!(find("a?c", true, "a\nc abc", false), Some((4, 7)));
        assert_eq!(find("", true, "", false), Some((0, 0)));
    }

    #[test]
    fn trims_prefixes_and_suffixes() {
        assert_eq!(trim_prefix("*/", "a/b/c", false).unwrap(), "b/c");
        assert_eq!(trim_prefix("*/", "a/b/c", true).unwrap(), "c");
        assert_eq!(trim_suffix("/*", "a/b/c", false).unwrap(), "a/b");
        assert_eq!(trim_suffix("/*", "a/b/c", true).unwrap(), "a");
        assert_eq!(trim_suffix(".tar.*", "x.tar.gz", false).unwrap(), "x");
        assert_eq!(trim_suffix("x", "abc", false).unwrap(), "abc");
        assert_eq!(trim_suffix("한*", "가한나한다", true).unwrap(), "가");
    }

    #[test]
    fn replaces_like_go_replace_all_string() {
        assert_eq!(replace_all("", "xxyy", "ww").unwrap(), "wwxwwxwwywwyww");
        assert_eq!(replace_first("", "xxyy", "ww").unwrap(), "wwxxyy");
        // `*` is a wildcard, not a repetition.
        assert_eq!(replace_all("x*", "axxb", "-").unwrap(), "a-");
        assert_eq!(replace_all("?", "ab", "[$0]").unwrap(), "[a][b]");
        assert_eq!(replace_all("?", "ab", "${0}$$$1$x$.${}${0").unwrap(), "a$$.${}${0b$$.${}${0");
        // The template applies to replace-all only.
        assert_eq!(replace_first("?", "ab", "[$0]").unwrap(), "[$0]b");
    }

    #[test]
    fn refuses_huge_results() {
        let value = "x".repeat(1 << 12);
        let replacement = "y".repeat(1 << 13);
        assert!(matches!(replace_all("?", &value, &replacement), Err(PatternError::TooLong)));
    }
}
