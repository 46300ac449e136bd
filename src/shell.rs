//! Shell words: the one way a value reaches generated shell (the script, and the RUN lines
//! rockerc writes itself).

/// A word of generated shell as [`sh_quote`] made it: its text, and whether it holds a `$` or a
/// backquote inside single quotes. That is literal text from the Rockerfile (a RUN's command is
/// expanded by the shell in the container, a path not at all), which shellcheck takes for an
/// expansion that was meant (SC2016): a command with such a word says, right above it, that it
/// is meant ([`sc2016`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    text: String,
    literal_dollar: bool,
}

impl Word {
    /// Code the emitter writes itself (`"$rc_ctx"`, `''`): never a literal `$` in single quotes.
    pub fn code(text: impl Into<String>) -> Word {
        Word { text: text.into(), literal_dollar: false }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn literal_dollar(&self) -> bool {
        self.literal_dollar
    }

    /// `self` and then `other`, as one word.
    pub fn push(&mut self, other: &Word) {
        self.text.push_str(&other.text);
        self.literal_dollar |= other.literal_dollar;
    }
}

impl std::fmt::Display for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq<&str> for Word {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl From<Word> for String {
    fn from(w: Word) -> String {
        w.text
    }
}

/// The line that tells shellcheck a command's literal `$` is meant, at the command's `indent`,
/// when one of its `words` holds one; nothing otherwise. It goes right above the command's first
/// line (a command may span lines, and so may a word).
pub fn sc2016<'a>(indent: &str, words: impl IntoIterator<Item = &'a Word>) -> String {
    if words.into_iter().any(Word::literal_dollar) {
        format!("{indent}# shellcheck disable=SC2016 # literal text from the Rockerfile, not expanded here\n")
    } else {
        String::new()
    }
}

/// The one quoting function: every value that reaches the generated script goes through it.
///
/// Words made only of characters no POSIX shell treats specially are left bare (for readable
/// scripts); everything else is single-quoted, which makes `$`, backquotes, `\`, `"`, globs,
/// `;`, newlines and non-ASCII text literal. A NUL cannot be passed at all and is rejected
/// upstream: in the text by `syntax::parse`, written as a JSON `\u0000` by `lower`.
pub fn sh_quote(s: &str) -> Word {
    let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-./=:@%+,".contains(&b)) && !s.starts_with('=');
    if plain {
        Word::code(s)
    } else {
        sh_quote_always(s)
    }
}

/// Single quotes around every run of ordinary characters; a `'` or a `\` is written outside them
/// as `\'` or `\\`, so no quoted part ends in a backslash (which reads like an attempt to escape
/// the quote, to people and to shellcheck).
pub fn sh_quote_always(s: &str) -> Word {
    let mut out = String::with_capacity(s.len() + 2);
    // Runs between the `'` and `\` (both ASCII, so every cut is at a character boundary).
    let mut run_start = 0;
    for (i, b) in s.bytes().enumerate() {
        if b == b'\'' || b == b'\\' {
            if run_start < i {
                out.push('\'');
                out.push_str(&s[run_start..i]);
                out.push('\'');
            }
            out.push('\\');
            out.push(b as char);
            run_start = i + 1;
        }
    }
    if run_start < s.len() {
        out.push('\'');
        out.push_str(&s[run_start..]);
        out.push('\'');
    }
    if out.is_empty() {
        out.push_str("''");
    }
    // Every `$` and backquote of `s` is now inside single quotes.
    Word { text: out, literal_dollar: s.contains(['$', '`']) }
}

/// A heredoc delimiter that does not occur as a line of `body`.
pub fn heredoc_delimiter(base: &str, body: &str) -> String {
    let mut delim = base.to_string();
    let mut n = 1;
    while body.lines().any(|l| l == delim) {
        n += 1;
        delim = format!("{base}_{n}");
    }
    delim
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_bare_only_for_harmless_words() {
        assert_eq!(sh_quote("/usr/bin"), "/usr/bin");
        assert_eq!(sh_quote("app:1.0"), "app:1.0");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote("'a\\"), "\\''a'\\\\");
        assert_eq!(sh_quote("a\\'b"), "'a'\\\\\\''b'");
        assert_eq!(sh_quote("$(id)"), "'$(id)'");
        assert_eq!(sh_quote("`id`"), "'`id`'");
        assert_eq!(sh_quote("a\nb"), "'a\nb'");
        assert_eq!(sh_quote("~"), "'~'");
        assert_eq!(sh_quote("*"), "'*'");
        assert_eq!(sh_quote("=x"), "'=x'");
    }

    #[test]
    fn heredoc_delimiters_avoid_collisions() {
        assert_eq!(heredoc_delimiter("EOF", "a\nb\n"), "EOF");
        assert_eq!(heredoc_delimiter("EOF", "a\nEOF\nEOF_2\n"), "EOF_3");
    }

    #[test]
    fn a_quoted_word_knows_whether_it_holds_a_literal_dollar() {
        assert!(sh_quote("echo $HOME").literal_dollar());
        assert!(sh_quote("`id`").literal_dollar());
        assert!(sh_quote("A=$(x)\nB=1\n").literal_dollar());
        assert!(sh_quote_always("$").literal_dollar());
        assert!(!sh_quote("it's").literal_dollar());
        assert!(!sh_quote("/usr/bin").literal_dollar());
        assert!(!Word::code("\"$rc_ctx\"").literal_dollar());
        let mut w = Word::code("\"$HOME\"");
        w.push(&sh_quote_always("/$x"));
        assert_eq!((w.as_str(), w.literal_dollar()), ("\"$HOME\"'/$x'", true));
        assert_eq!(sc2016("  ", [&sh_quote("a"), &sh_quote("$x")]), "  # shellcheck disable=SC2016 # literal text from the Rockerfile, not expanded here\n");
        assert_eq!(sc2016("  ", [&sh_quote("a b")]), "");
    }
}
