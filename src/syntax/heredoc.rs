//! Which words of a RUN/ADD/COPY line open heredocs, decided as BuildKit decides it.
//!
//! BuildKit splits the whole logical line into shell words with its word-expansion lexer set to
//! change nothing (quotes and escapes kept, unset variables left as written), matches each word
//! against `^(\d*)<<(-?)\s*([^<]*)$`, and lexes the delimiter again twice, with quotes removed
//! and with quotes kept: a single word is required, and if the two spellings hold different
//! numbers of quote characters, part of the delimiter was quoted and the body is not expanded.
//! Reproducing that lexer (rather than approximating it with a regexp) is what makes the edge
//! cases agree: `<<EOF sh`, `<<'EOF`, `"<<EOF"`, `<<$EOF`, `<<  EOF`.
//!
//! The lexer is BuildKit's, with its escape character fixed to `\` whatever the escape
//! directive says, and with one quirk kept on purpose: every nested `${...}` clears the word
//! being built around it (BuildKit shares one word buffer between nesting levels).

use crate::golang;
use std::ops::Range;

/// A heredoc opened on an instruction line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    pub name: String,
    pub expand: bool,
    pub chomp: bool,
    pub fd: Option<u32>,
    /// Byte range of the word (`3<<-'EOF'`) in the logical line.
    pub word: Range<usize>,
}

/// The lexer failed on a delimiter that the line lexer accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordError {
    pub message: String,
    pub word: Range<usize>,
}

/// The heredocs a logical line opens, in order.
pub fn declarations(line: &str) -> Result<Vec<Declaration>, WordError> {
    if !line.contains("<<") {
        return Ok(Vec::new());
    }
    // BuildKit ignores a lexing error here: a line it cannot split has no heredocs.
    let Ok(words) = Lex::new(line, true, true).words() else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for (word, range) in words {
        if let Some(decl) = declaration(&word, range)? {
            out.push(decl);
        }
    }
    Ok(out)
}

/// BuildKit's `ParseHeredoc` on one raw word.
fn declaration(word: &str, range: Range<usize>) -> Result<Option<Declaration>, WordError> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let Some(after) = word[digits..].strip_prefix("<<") else { return Ok(None) };
    let (chomp, after) = match after.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, after),
    };
    let rest = after.trim_start_matches(['\t', '\n', '\x0c', '\r', ' ']);
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let fail = |message: String| WordError { message, word: range.clone() };
    let plain = Lex::new(rest, false, false).words().map_err(|e| fail(format!("cannot read heredoc delimiter `{rest}`: {e}")))?;
    let [(name, _)] = plain.as_slice() else { return Ok(None) };
    let raw = Lex::new(rest, true, false).words().map_err(|e| fail(format!("cannot read heredoc delimiter `{rest}`: {e}")))?;
    let [(raw_name, _)] = raw.as_slice() else {
        return Err(fail(format!("internal lexing of heredoc produced inconsistent results: {rest}")));
    };
    let quotes = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    Ok(Some(Declaration {
        name: name.clone(),
        expand: quotes(name) == quotes(raw_name),
        chomp,
        fd: if digits == 0 { None } else { word[..digits].parse().ok() },
        word: range,
    }))
}

type LexResult<T> = Result<T, &'static str>;

/// Words and where each starts and ends in the lexed text.
type WordList = Vec<(String, Range<usize>)>;

/// BuildKit's `shell.Lex` with `SkipUnsetEnv` and an empty environment: every variable is unset
/// and stays as written.
struct Lex<'s> {
    src: &'s str,
    pos: usize,
    raw_quotes: bool,
    raw_escapes: bool,
    /// The word being built, shared by all nesting levels (see the module docs).
    buf: String,
    buf_start: usize,
}

struct Words {
    done: WordList,
    in_word: bool,
}

impl<'s> Lex<'s> {
    fn new(src: &'s str, raw_quotes: bool, raw_escapes: bool) -> Lex<'s> {
        Lex { src, pos: 0, raw_quotes, raw_escapes, buf: String::new(), buf_start: 0 }
    }

    fn words(mut self) -> LexResult<WordList> {
        let raw = self.raw_escapes;
        Ok(self.stop_on(None, raw)?.1)
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn add_raw(&mut self, words: &mut Words, text: &str, at: usize) {
        if self.buf.is_empty() {
            self.buf_start = at;
        }
        self.buf.push_str(text);
        words.in_word = true;
    }

    fn add_char(&mut self, words: &mut Words, c: char, at: usize) {
        if golang::is_space(c) {
            if words.in_word && !self.buf.is_empty() {
                words.done.push((std::mem::take(&mut self.buf), self.buf_start..at));
                words.in_word = false;
            }
        } else {
            self.add_raw(words, c.encode_utf8(&mut [0; 4]), at);
        }
    }

    fn finish(&mut self, mut words: Words) -> WordList {
        if !self.buf.is_empty() {
            words.done.push((std::mem::take(&mut self.buf), self.buf_start..self.pos));
        }
        words.done
    }

    /// BuildKit's `processStopOn`: reads up to `stop` (consumed) or the end of the input.
    fn stop_on(&mut self, stop: Option<char>, raw_escapes: bool) -> LexResult<(String, WordList)> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let result = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        result
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> LexResult<(String, WordList)> {
        let mut result = String::new();
        self.buf.clear();
        let mut words = Words { done: Vec::new(), in_word: false };
        while let Some(c) = self.peek() {
            let at = self.pos;
            if Some(c) == stop {
                self.next();
                return Ok((result, self.finish(words)));
            }
            match c {
                '$' => {
                    let tmp = self.dollar()?;
                    result.push_str(&tmp);
                    // Expanded text is split on blanks like unquoted text.
                    for c in tmp.chars() {
                        self.add_char(&mut words, c, at);
                    }
                }
                '\'' | '"' => {
                    let tmp = if c == '\'' { self.single_quote()? } else { self.double_quote()? };
                    result.push_str(&tmp);
                    self.add_raw(&mut words, &tmp, at);
                }
                '<' => {
                    let tmp = self.possible_heredoc();
                    result.push_str(&tmp);
                    self.add_raw(&mut words, &tmp, at);
                }
                _ => {
                    self.next();
                    if c == '\\' {
                        if self.raw_escapes {
                            self.add_raw(&mut words, "\\", at);
                            result.push('\\');
                        }
                        let Some(escaped) = self.next() else { break };
                        self.add_raw(&mut words, escaped.encode_utf8(&mut [0; 4]), at);
                        result.push(escaped);
                    } else {
                        self.add_char(&mut words, c, at);
                        result.push(c);
                    }
                }
            }
        }
        if stop.is_some() {
            return Err("unexpected end of statement");
        }
        Ok((result, self.finish(words)))
    }

    fn single_quote(&mut self) -> LexResult<String> {
        let mut out = String::new();
        self.next();
        if self.raw_quotes {
            out.push('\'');
        }
        loop {
            match self.next() {
                None => return Err("unexpected end of statement while looking for matching single-quote"),
                Some('\'') => {
                    if self.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> LexResult<String> {
        let mut out = String::new();
        self.next();
        if self.raw_quotes {
            out.push('"');
        }
        loop {
            match self.peek() {
                None => return Err("unexpected end of statement while looking for matching double-quote"),
                Some('"') => {
                    self.next();
                    if self.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let value = self.dollar()?;
                    out.push_str(&value);
                }
                Some(_) => {
                    let mut c = self.next().unwrap_or_default();
                    if c == '\\' {
                        if self.raw_escapes {
                            out.push('\\');
                        }
                        match self.peek() {
                            None => continue,
                            Some('"' | '$' | '\\') => c = self.next().unwrap_or_default(),
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    /// `$name`, `${name}` and `${name<modifier>word}`, all unset, so all kept as written (as
    /// BuildKit rewrites them: `${a//x/y}` comes back as `${a/x/y}`).
    fn dollar(&mut self) -> LexResult<String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            return Ok(format!("${name}"));
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'"),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution"),
            Some(_) => {}
        }
        let name = self.name();
        let mut modifier = String::new();
        let c = self.next();
        let c = match c {
            Some('}') => return Ok(format!("${{{name}}}")),
            Some(':') => {
                modifier.push(':');
                let next = self.next();
                modifier.push(next.unwrap_or('\u{fffd}'));
                if matches!(next, Some('#' | '%')) {
                    return Err("unsupported modifier in substitution");
                }
                next
            }
            Some(c @ ('+' | '-' | '?' | '#' | '%')) => {
                modifier.push(c);
                Some(c)
            }
            Some('/') => {
                if self.peek() == Some('/') {
                    self.next();
                }
                let (pattern, _) = self.stop_on(Some('/'), true).map_err(|_| "syntax error: missing '/' in ${}")?;
                let (replacement, _) = self.stop_on(Some('}'), true).map_err(|_| "syntax error: missing '}'")?;
                return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
            }
            _ => return Err("unsupported modifier in substitution"),
        };
        let (word, _) = self.stop_on(Some('}'), matches!(c, Some('#' | '%'))).map_err(|_| "syntax error: missing '}'")?;
        Ok(format!("${{{name}{modifier}{word}}}"))
    }

    /// A variable name: see [`variable_name_len`].
    fn name(&mut self) -> String {
        let len = variable_name_len(&self.src[self.pos..]);
        self.pos += len;
        self.src[self.pos - len..self.pos].to_string()
    }

    /// `<<` takes the blanks after it into its word (`<<  EOF`), as BuildKit does since
    /// dockerfile/1.16.
    fn possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".to_string();
        }
        self.next();
        let mut out = "<<".to_string();
        while let Some(c) = self.peek().filter(|&c| c == ' ' || c == '\t') {
            self.next();
            out.push(c);
        }
        out
    }
}

/// The length in bytes of the variable name at the start of `text` (after its `$` or `${`), by
/// BuildKit's shell lexer: a run of digits, or one special parameter (`@ * # ? - $ ! 0`), or Go
/// letters, digits and `_`; 0 when no name starts there (the `$` is then literal). The one rule
/// every reader of `$NAME` in rockerc goes by: this lexer, `analyze::expand`'s, and
/// `analyze::expand::references`.
pub fn variable_name_len(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, c)) if golang::is_digit(c) => text.find(|c: char| !golang::is_digit(c)).unwrap_or(text.len()),
        Some((_, c @ ('@' | '*' | '#' | '?' | '-' | '$' | '!' | '0'))) => c.len_utf8(),
        _ => text.find(|c: char| !(golang::is_letter(c) || golang::is_digit(c) || c == '_')).unwrap_or(text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> Vec<(String, bool, bool, Option<u32>)> {
        declarations(line).unwrap().into_iter().map(|d| (d.name, d.expand, d.chomp, d.fd)).collect()
    }

    fn one(name: &str, expand: bool) -> Vec<(String, bool, bool, Option<u32>)> {
        vec![(name.to_string(), expand, false, None)]
    }

    #[test]
    fn forms() {
        assert_eq!(names("RUN <<EOF"), one("EOF", true));
        assert_eq!(names("RUN <<-EOF"), vec![("EOF".into(), true, true, None)]);
        assert_eq!(names("RUN 3<<EOF cat"), vec![("EOF".into(), true, false, Some(3))]);
        assert_eq!(names("RUN <<  EOF"), one("EOF", true));
        assert_eq!(names("RUN cat <<EOF sh"), one("EOF", true));
        assert_eq!(names("COPY <<FILE1 <<FILE2 /dest"), vec![one("FILE1", true)[0].clone(), one("FILE2", true)[0].clone()]);
        assert_eq!(names("RUN <<$EOF"), one("$EOF", true));
    }

    #[test]
    fn any_quoting_disables_expansion() {
        assert_eq!(names("RUN <<'EOF'"), one("EOF", false));
        assert_eq!(names("RUN <<\"EOF\""), one("EOF", false));
        assert_eq!(names("RUN <<eo'f'"), one("eof", false));
        assert_eq!(names("RUN <<eo\\'f"), one("eo'f", true));
        assert_eq!(names("RUN <<'e'o\\'f"), one("eo'f", false));
        assert_eq!(names("RUN <<'one two'"), one("one two", false));
    }

    #[test]
    fn not_heredocs() {
        assert!(names("RUN <<<EOF").is_empty());
        assert!(names("RUN <EOF").is_empty());
        assert!(names("RUN echo <<").is_empty());
        assert!(names("RUN \"<<NOHEREDOC\"").is_empty());
        assert!(names("RUN echo x<<EOF").is_empty());
        // An unterminated quote anywhere on the line: the line lexer fails, so no heredocs.
        assert!(names("RUN <<'EOF").is_empty());
        // A nested `${...}` clears the word around it.
        assert!(names("RUN <<${X:-EOF}").is_empty());
    }

    #[test]
    fn single_word_helper() {
        // BuildKit's `ParseHeredoc` on one string: the delimiter must lex to exactly one word.
        let one = |w: &str| declaration(w, 0..w.len());
        assert_eq!(one("<<EOF sh"), Ok(None));
        assert_eq!(one("<<<EOF"), Ok(None));
        assert_eq!(one("<EOF"), Ok(None));
        assert_eq!(one("<<"), Ok(None));
        assert_eq!(one("<<-"), Ok(None));
        let err = one("<<'EOF").unwrap_err();
        assert_eq!(err.message, "cannot read heredoc delimiter `'EOF`: unexpected end of statement while looking for matching single-quote");
        assert_eq!(one("12<<-  \"E\"OF").unwrap().map(|d| (d.name, d.expand, d.chomp, d.fd)), Some(("EOF".into(), false, true, Some(12))));
    }

    #[test]
    fn word_ranges() {
        let decls = declarations("RUN  3<<-'EOF' x").unwrap();
        assert_eq!(decls[0].word, 5..14);
    }
}
