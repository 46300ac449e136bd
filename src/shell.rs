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
    let mut run = String::new();
    let flush = |out: &mut String, run: &mut String| {
        if !run.is_empty() {
            out.push('\'');
            out.push_str(run);
            out.push('\'');
            run.clear();
        }
    };
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            flush(&mut out, &mut run);
            out.push('\\');
            out.push(c);
        } else {
            run.push(c);
        }
    }
    flush(&mut out, &mut run);
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
}
