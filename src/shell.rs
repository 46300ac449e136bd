//! Shell words: the one way a value reaches generated shell (the script, and the RUN lines
//! rockerc writes itself).

/// The one quoting function: every value that reaches the generated script goes through it.
///
/// Words made only of characters no POSIX shell treats specially are left bare (for readable
/// scripts); everything else is single-quoted, which makes `$`, backquotes, `\`, `"`, globs,
/// `;`, newlines and non-ASCII text literal. A NUL cannot be passed at all and is rejected
/// upstream: in the text by `syntax::parse`, written as a JSON `\u0000` by `lower`.
pub fn sh_quote(s: &str) -> String {
    let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-./=:@%+,".contains(&b)) && !s.starts_with('=');
    if plain {
        s.to_string()
    } else {
        sh_quote_always(s)
    }
}

/// Single quotes around every run of ordinary characters; a `'` or a `\` is written outside them
/// as `\'` or `\\`, so no quoted part ends in a backslash (which reads like an attempt to escape
/// the quote, to people and to shellcheck).
pub fn sh_quote_always(s: &str) -> String {
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
    out
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

/// Text from the Rockerfile is single-quoted, so a `$` or a backquote in it stays literal (a RUN's
/// command is expanded by the shell in the container, a path not at all). shellcheck flags such
/// words (SC2016); each generated command that has one says, right above it, that it is meant.
/// A quoted word may span lines (a value with a newline), and so may a command whose lines end in
/// `\`: quoting and continuations are followed across lines, and the directive goes above the
/// command's first line, never inside a word or between its lines.
pub fn mark_literal_dollars(code: &str) -> String {
    // No `$` and no backquote: nothing to mark (most of a script's stage functions).
    if !code.contains(['$', '`']) {
        return code.to_string();
    }
    let mut out = String::with_capacity(code.len() + 256);
    // Where the command being read starts in `code`; it is copied out once it ends.
    let mut start = 0;
    let mut scan = QuoteScan::default();
    for line in code.split_inclusive('\n') {
        // Every byte the scan cares about is ASCII; the bytes of other characters change nothing.
        scan.scan(line.as_bytes());
        let end = line.as_ptr() as usize - code.as_ptr() as usize + line.len();
        let backslashes = line.trim_end_matches('\n').bytes().rev().take_while(|&c| c == b'\\').count();
        if scan.in_word() || (!line.trim_start().starts_with('#') && backslashes % 2 == 1) {
            continue;
        }
        let command = &code[start..end];
        let trimmed = command.trim_start();
        if scan.literal_dollar && !trimmed.starts_with('#') {
            out.push_str(&command[..command.len() - trimmed.len()]);
            out.push_str("# shellcheck disable=SC2016 # literal text from the Rockerfile, not expanded here\n");
        }
        out.push_str(command);
        start = end;
        scan = QuoteScan::default();
    }
    out.push_str(&code[start..]);
    out
}

/// Quoting state of generated shell code, byte by byte.
#[derive(Default)]
struct QuoteScan {
    in_single: bool,
    in_double: bool,
    escaped: bool,
    comment: bool,
    /// A `$` or a backquote inside single quotes was seen.
    literal_dollar: bool,
}

impl QuoteScan {
    /// Reads `bytes`, jumping from one byte that matters in the current state to the next.
    fn scan(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            if self.comment {
                let Some(p) = rest.iter().position(|&b| b == b'\n') else { return };
                self.comment = false;
                i += p + 1;
            } else if self.in_single {
                let Some(p) = rest.iter().position(|&b| matches!(b, b'\'' | b'$' | b'`')) else { return };
                if rest[p] == b'\'' {
                    self.in_single = false;
                } else {
                    self.literal_dollar = true;
                }
                i += p + 1;
            } else if self.escaped {
                self.escaped = false;
                i += 1;
            } else {
                let Some(p) = rest.iter().position(|&b| matches!(b, b'\\' | b'"' | b'\'' | b'#')) else { return };
                match rest[p] {
                    b'\\' => self.escaped = true,
                    b'"' => self.in_double = !self.in_double,
                    b'\'' if !self.in_double => self.in_single = true,
                    b'#' if !self.in_double => self.comment = true,
                    _ => {}
                }
                i += p + 1;
            }
        }
    }

    fn in_word(&self) -> bool {
        self.in_single || self.in_double
    }
}

/// Whether a line of generated code has `$` or a backquote inside single quotes.
#[cfg(test)]
fn single_quoted_dollar(line: &str) -> bool {
    let mut scan = QuoteScan::default();
    scan.scan(line.as_bytes());
    scan.literal_dollar
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
    fn literal_dollars_are_marked_for_shellcheck() {
        assert!(single_quoted_dollar("rc_run k '' -- /bin/sh -c 'echo $HOME'"));
        assert!(single_quoted_dollar("x='`id`'"));
        assert!(!single_quoted_dollar("rc_build \"$rc_tmp/x\" '' \"$rc_img\""));
        assert!(!single_quoted_dollar("a \"it's $x\""));
        let marked = mark_literal_dollars("  a\n  b '$x'\n  # c '$y'\n");
        assert_eq!(marked, "  a\n  # shellcheck disable=SC2016 # literal text from the Rockerfile, not expanded here\n  b '$x'\n  # c '$y'\n");
        // A word spanning lines: the directive goes above the command, never inside the word.
        let marked = mark_literal_dollars("  rc_run k 'A=$(x)\nB=1\n' -- sh\n  next\n");
        assert_eq!(marked, "  # shellcheck disable=SC2016 # literal text from the Rockerfile, not expanded here\n  rc_run k 'A=$(x)\nB=1\n' -- sh\n  next\n");
        // A command on several lines: the directive goes above its first.
        let marked = mark_literal_dollars("  rc_run k '' '' \\\n    v /c \\\n    -- sh -c 'echo $x'\n");
        assert_eq!(
            marked,
            "  # shellcheck disable=SC2016 # literal text from the Rockerfile, not expanded here\n  rc_run k '' '' \\\n    v /c \\\n    -- sh -c 'echo $x'\n"
        );
    }
}
