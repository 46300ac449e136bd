//! Physical lines -> logical lines, as BuildKit's `parser.Parse` reads them.
//!
//! A logical line is the text of one instruction after continuation lines have been joined. It
//! borrows the source when it sits on one physical line (most do) and otherwise owns the joined
//! text together with a short list of [`Piece`]s, one per contributing physical line, so that
//! any byte of the logical text maps back to the byte of the file it came from. Each piece is a
//! contiguous slice of the file, which is what makes that map a binary search rather than a
//! table with an entry per character.
//!
//! The lexer also reads parser directives (only at the top of the file), tracks the escape
//! character they set, and reads heredoc bodies when the parser asks for them: whether a line
//! has heredocs depends on its instruction, which only the parser knows.

use super::ast::Directive;
use crate::diagnostic::{Code, Diagnostic};
use crate::golang;
use crate::source::{Span, Spanned};
use std::borrow::Cow;
use std::ops::Range;

/// BuildKit reads lines with Go's `bufio.Scanner`, whose default buffer holds 64 KiB including
/// the newline.
pub const MAX_LINE_LEN: usize = 65535;

const BOM: &str = "\u{feff}";

/// One instruction's text after continuation lines are joined, and where it came from.
#[derive(Debug)]
pub struct LogicalLine<'a> {
    pub text: Cow<'a, str>,
    /// Where each stretch of `text` starts in the file, in order; never empty.
    pieces: Vec<Piece>,
    /// End of the last physical line consumed (before its line terminator): the end of the
    /// instruction's span unless heredoc bodies follow.
    pub end: usize,
}

#[derive(Clone, Copy, Debug)]
struct Piece {
    logical: usize,
    source: usize,
}

impl LogicalLine<'_> {
    /// The file offset of the logical byte offset `at` (`text.len()` maps to just past the last
    /// byte of the text).
    pub fn offset(&self, at: usize) -> usize {
        let i = self.pieces.partition_point(|p| p.logical <= at).saturating_sub(1);
        let piece = self.pieces[i];
        piece.source + (at - piece.logical)
    }

    /// The file span of a logical byte range. A range that crosses a continuation runs from its
    /// first to its last source byte.
    pub fn span(&self, range: Range<usize>) -> Span {
        if range.is_empty() {
            return Span::point(self.offset(range.start));
        }
        Span::new(self.offset(range.start), self.offset(range.end - 1) + 1)
    }

    /// The file span of `part`, which must be a subslice of `text`.
    pub fn span_of(&self, part: &str) -> Span {
        self.span(self.range_of(part))
    }

    /// The logical byte range of `part`, which must be a subslice of `text`.
    pub fn range_of(&self, part: &str) -> Range<usize> {
        let start = part.as_ptr() as usize - self.text.as_ptr() as usize;
        debug_assert!(start + part.len() <= self.text.len());
        start..start + part.len()
    }
}

/// One line of the file: `start..content_end` is its text without the line terminator.
#[derive(Clone, Copy, Debug)]
struct Physical {
    start: usize,
    content_end: usize,
}

pub struct Lexer<'a> {
    text: &'a str,
    /// Start of the next physical line.
    pos: usize,
    pub escape: char,
    /// Directives are recognised until the first line that is not one.
    directives_done: bool,
    pub directives: Vec<Directive>,
    pub warnings: Vec<Diagnostic>,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Lexer<'a> {
        Lexer { text, pos: 0, escape: '\\', directives_done: false, directives: Vec::new(), warnings: Vec::new() }
    }

    fn next_physical(&mut self) -> Result<Option<Physical>, Diagnostic> {
        if self.pos >= self.text.len() {
            return Ok(None);
        }
        let start = self.pos;
        let (line_end, next) = match self.text[start..].find('\n') {
            Some(i) => (start + i, start + i + 1),
            None => (self.text.len(), self.text.len()),
        };
        if line_end - start > MAX_LINE_LEN {
            let shown = floor_char_boundary(self.text, start + 40).min(line_end);
            return Err(Diagnostic::error(
                Code::LineTooLong,
                format!("line is {} bytes long; Docker reads lines of at most {MAX_LINE_LEN} bytes", line_end - start),
            )
            .at(Span::new(start, shown), "this line is too long"));
        }
        // Go trims every trailing `\r` and `\n` (`bytes.TrimRight(line, "\r\n")`).
        let mut content_end = line_end;
        while content_end > start && self.text.as_bytes()[content_end - 1] == b'\r' {
            content_end -= 1;
        }
        self.pos = next;
        Ok(Some(Physical { start, content_end }))
    }

    /// The next instruction's logical line, or `None` at the end of the file.
    pub fn next_logical(&mut self) -> Result<Option<LogicalLine<'a>>, Diagnostic> {
        let text = self.text;
        loop {
            let first_line = self.pos == 0;
            let Some(phys) = self.next_physical()? else { return Ok(None) };
            let mut start = phys.start;
            if first_line && text[start..].starts_with(BOM) {
                start += BOM.len();
            }
            let line = &text[start..phys.content_end];
            let trimmed = line.trim_start_matches(golang::is_space);
            let trimmed_start = phys.content_end - trimmed.len();
            if !self.directives_done {
                self.directive(trimmed, trimmed_start)?;
            }
            // Comments (directives included) are dropped whole, even when they end in an escape.
            if trimmed.starts_with('#') {
                continue;
            }
            let (kept, mut continues) = self.trim_continuation(trimmed);
            if !continues && kept.is_empty() {
                continue;
            }

            let mut ranges: Vec<Range<usize>> = Vec::with_capacity(1);
            if !kept.is_empty() {
                ranges.push(trimmed_start..trimmed_start + kept.len());
            }
            let mut end = phys.content_end;
            let mut empty_line: Option<Span> = None;
            while continues {
                let Some(phys) = self.next_physical()? else { break };
                end = phys.content_end;
                let line = &text[phys.start..phys.content_end];
                let trimmed = line.trim_start_matches(golang::is_space);
                if trimmed.starts_with('#') {
                    continue;
                }
                if trimmed.is_empty() {
                    empty_line.get_or_insert(Span::new(phys.start, phys.content_end));
                    continue;
                }
                let (kept, more) = self.trim_continuation(line);
                if !kept.is_empty() {
                    ranges.push(phys.start..phys.start + kept.len());
                }
                continues = more;
            }

            let logical = LogicalLine::join(text, &ranges, end);
            if let Some(span) = empty_line {
                self.warnings.push(
                    Diagnostic::warning(Code::EmptyContinuationLine, "empty continuation line")
                        .at(span, "this blank line continues the instruction above it")
                        .note("Docker ignores it for now, but warns that empty continuation lines will become errors"),
                );
            }
            // BuildKit turns a continuation that never reaches any text (a lone escape line
            // before a blank line or the end of the file) into an instruction with an empty
            // keyword; there is nothing there to build, so rockerc skips it.
            if logical.text.trim_matches(golang::is_space).is_empty() {
                continue;
            }
            return Ok(Some(logical));
        }
    }

    /// BuildKit's continuation rule: the escape character, then only spaces and tabs, at the end
    /// of the line, and not itself escaped (or alone on the line). Returns the line without the
    /// escape and what follows it, and whether the instruction continues.
    fn trim_continuation<'l>(&self, line: &'l str) -> (&'l str, bool) {
        let body = line.trim_end_matches([' ', '\t']);
        let Some(before) = body.strip_suffix(self.escape) else { return (line, false) };
        if before.ends_with(self.escape) {
            // `\\` at the end is an escaped escape, not a continuation.
            return (line, false);
        }
        (before, true)
    }

    /// Reads a parser directive from a line with leading whitespace removed, or marks the end of
    /// the directive block. Mirrors BuildKit's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`,
    /// where `\s` is Go's ASCII class `[\t\n\f\r ]`.
    fn directive(&mut self, line: &str, at: usize) -> Result<(), Diagnostic> {
        let Some(found) = match_directive(line) else {
            self.directives_done = true;
            return Ok(());
        };
        let name = found.name.to_ascii_lowercase();
        if !matches!(name.as_str(), "escape" | "syntax" | "check") {
            self.directives_done = true;
            return Ok(());
        }
        let name_span = Span::new(at + found.name_at, at + found.name_at + found.name.len());
        let value_span = Span::new(at + found.value_at, at + found.value_at + found.value.len());
        if let Some(first) = self.directives.iter().find(|d| d.name.value == name) {
            return Err(Diagnostic::error(Code::DuplicateDirective, format!("only one {name} parser directive can be used"))
                .at(name_span, "repeated here")
                .also(first.name.span, "first set here"));
        }
        if name == "escape" {
            self.escape = match found.value {
                "\\" => '\\',
                "`" => '`',
                other => {
                    return Err(Diagnostic::error(Code::InvalidEscape, format!("invalid escape token '{other}': the escape directive takes '\\' or '`'"))
                        .at(value_span, "expected '\\' or '`'"))
                }
            };
        }
        self.directives.push(Directive { name: Spanned::new(name, name_span), value: Spanned::new(found.value.to_string(), value_span) });
        Ok(())
    }

    /// Reads the body of a heredoc from the lines after the current position, up to a line equal
    /// to `name` (after leading tabs are removed, for `<<-`). Returns the body (terminator line
    /// excluded, line endings kept as written), or `None` when the file ends first.
    pub fn heredoc_body(&mut self, name: &str, chomp: bool) -> Result<Option<Spanned<String>>, Diagnostic> {
        let start = self.pos;
        loop {
            let Some(phys) = self.next_physical()? else { return Ok(None) };
            let mut line = &self.text[phys.start..phys.content_end];
            if chomp {
                line = line.trim_start_matches('\t');
            }
            if line == name {
                let body = &self.text[start..phys.start];
                return Ok(Some(Spanned::new(body.to_string(), Span::new(start, phys.start))));
            }
        }
    }

    /// End of the last physical line consumed (before its terminator).
    pub fn consumed_end(&self) -> usize {
        let mut end = self.pos;
        let bytes = self.text.as_bytes();
        if end > 0 && bytes[end - 1] == b'\n' {
            end -= 1;
        }
        while end > 0 && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        end
    }
}

impl<'a> LogicalLine<'a> {
    fn join(text: &'a str, ranges: &[Range<usize>], end: usize) -> LogicalLine<'a> {
        match ranges {
            [] => LogicalLine { text: Cow::Borrowed(""), pieces: vec![Piece { logical: 0, source: end }], end },
            [only] => LogicalLine { text: Cow::Borrowed(&text[only.clone()]), pieces: vec![Piece { logical: 0, source: only.start }], end },
            _ => {
                let mut joined = String::with_capacity(ranges.iter().map(|r| r.len()).sum());
                let mut pieces = Vec::with_capacity(ranges.len());
                for r in ranges {
                    pieces.push(Piece { logical: joined.len(), source: r.start });
                    joined.push_str(&text[r.clone()]);
                }
                LogicalLine { text: Cow::Owned(joined), pieces, end }
            }
        }
    }
}

struct DirectiveMatch<'l> {
    name: &'l str,
    name_at: usize,
    value: &'l str,
    value_at: usize,
}

fn match_directive(line: &str) -> Option<DirectiveMatch<'_>> {
    let is_go_space = |c: char| matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ');
    let after_hash = line.strip_prefix('#')?;
    let name_part = after_hash.trim_start_matches(is_go_space);
    let name_len = name_part.char_indices().take_while(|&(i, c)| if i == 0 { c.is_ascii_alphabetic() } else { c.is_ascii_alphanumeric() }).count();
    if name_len == 0 {
        return None;
    }
    let name = &name_part[..name_len];
    let after_eq = name_part[name_len..].trim_start_matches(is_go_space).strip_prefix('=')?;
    if after_eq.is_empty() {
        return None;
    }
    let value_part = after_eq.trim_start_matches(is_go_space);
    let value = if value_part.is_empty() {
        // `(.+?)` must take one character, so an all-blank value is its last blank.
        let last = after_eq.chars().next_back()?;
        &after_eq[after_eq.len() - last.len_utf8()..]
    } else {
        value_part.trim_end_matches(is_go_space)
    };
    let offset = |part: &str| part.as_ptr() as usize - line.as_ptr() as usize;
    Some(DirectiveMatch { name, name_at: offset(name), value, value_at: offset(value) })
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        while let Some(line) = lexer.next_logical().unwrap() {
            out.push(line.text.into_owned());
        }
        out
    }

    #[test]
    fn continuation_keeps_indentation_and_inserts_nothing() {
        assert_eq!(lines("RUN echo hello\\\n  world\\\n  goodnight  \\\n  moon\n"), ["RUN echo hello  world  goodnight    moon"]);
        assert_eq!(lines("RUN echo good\\\nbye\\\nfrog"), ["RUN echo goodbyefrog"]);
        assert_eq!(lines("RUN echo hi \\\n \\\n world \\\n\\\n good\\\n\\\nnight"), ["RUN echo hi   world  goodnight"]);
    }

    #[test]
    fn escaped_escape_at_end_is_literal() {
        assert_eq!(lines("ENV C trailing\\\\backslash\\\\\nENV D x"), ["ENV C trailing\\\\backslash\\\\", "ENV D x"]);
        // Only `X\\` is recognised: a third backslash before the continuation does not help.
        assert_eq!(lines("RUN a\\\\\\\nb"), ["RUN a\\\\\\", "b"]);
    }

    #[test]
    fn comments_and_blank_lines_inside_continuations_are_dropped() {
        let mut lexer = Lexer::new("RUN echo hello \\\n# comment\n\n  # indented comment \\\n\t\nthis is more\nFROM x");
        let line = lexer.next_logical().unwrap().unwrap();
        assert_eq!(line.text, "RUN echo hello this is more");
        assert_eq!(lexer.warnings.len(), 1);
        assert_eq!(lexer.warnings[0].code, Code::EmptyContinuationLine);
        assert_eq!(lexer.warnings[0].primary.as_ref().unwrap().span, Span::new(27, 27));
        assert_eq!(lexer.next_logical().unwrap().unwrap().text, "FROM x");
    }

    #[test]
    fn top_level_comment_ending_in_escape_does_not_continue() {
        assert_eq!(lines("# RUN Commands \\\n# linebreak \\\nRUN x"), ["RUN x"]);
    }

    #[test]
    fn continuation_open_at_eof_ends_the_instruction() {
        assert_eq!(lines("FROM a\n\nRUN something \\"), ["FROM a", "RUN something "]);
        assert_eq!(lines("RUN x \\\n\n\n"), ["RUN x "]);
    }

    #[test]
    fn crlf_and_bom() {
        let mut lexer = Lexer::new("\u{feff}FROM a\r\nRUN b \\\r\n  c\r\n");
        let first = lexer.next_logical().unwrap().unwrap();
        assert_eq!((first.text.as_ref(), first.span(0..4)), ("FROM a", Span::new(3, 7)));
        let second = lexer.next_logical().unwrap().unwrap();
        assert_eq!(second.text, "RUN b   c");
        // `c` is on the next physical line, after two spaces.
        assert_eq!(second.offset(8), 22);
        assert_eq!(second.span(4..9), Span::new(15, 23));
    }

    #[test]
    fn escape_directive_switches_the_continuation_character() {
        let mut lexer = Lexer::new("# escape = `\n\nFROM image\nENV GOPATH `\n\\go\n");
        assert_eq!(lexer.next_logical().unwrap().unwrap().text, "FROM image");
        assert_eq!(lexer.next_logical().unwrap().unwrap().text, "ENV GOPATH \\go");
        assert_eq!(lexer.escape, '`');
        assert_eq!(lexer.directives[0].name.value, "escape");
        assert_eq!(lexer.directives[0].value.span, Span::new(11, 12));
    }

    #[test]
    fn directives_only_at_the_top() {
        let mut lexer = Lexer::new("# comment\n# escape = `\nFROM a `\nRUN b");
        assert_eq!(lexer.next_logical().unwrap().unwrap().text, "FROM a `");
        assert_eq!(lexer.escape, '\\');
        // A well-formed but unknown name ends the block too.
        let mut lexer = Lexer::new("# key = value\n# escape=`\nFROM a");
        lexer.next_logical().unwrap();
        assert!(lexer.directives.is_empty());
    }

    #[test]
    fn directive_errors() {
        let err = Lexer::new("# escape=`\n# Escape=\\\nFROM a").next_logical().unwrap_err();
        assert_eq!(err.code, Code::DuplicateDirective);
        assert_eq!(err.message, "only one escape parser directive can be used");
        let err = Lexer::new("# escape=``\nFROM a").next_logical().unwrap_err();
        assert_eq!(err.code, Code::InvalidEscape);
        assert_eq!(err.message, "invalid escape token '``': the escape directive takes '\\' or '`'");
    }

    #[test]
    fn directive_regexp_edges() {
        let m = match_directive("#  syntax =  docker/dockerfile:1  ").unwrap();
        assert_eq!((m.name, m.value), ("syntax", "docker/dockerfile:1"));
        assert_eq!(match_directive("# escape =   ").unwrap().value, " ");
        assert!(match_directive("# escape=").is_none());
        assert!(match_directive("# 1escape=x").is_none());
        assert!(match_directive("# check-x=x").is_none());
    }

    #[test]
    fn line_length_limit() {
        let ok = format!("RUN {}", "x".repeat(MAX_LINE_LEN - 4));
        assert_eq!(lines(&ok).len(), 1);
        let long = format!("FROM a\nRUN {}\n", "x".repeat(MAX_LINE_LEN - 3));
        let mut lexer = Lexer::new(&long);
        lexer.next_logical().unwrap();
        let err = lexer.next_logical().unwrap_err();
        assert_eq!(err.code, Code::LineTooLong);
        assert_eq!(err.message, "line is 65536 bytes long; Docker reads lines of at most 65535 bytes");
    }

    #[test]
    fn heredoc_bodies() {
        let mut lexer = Lexer::new("RUN <<EOF\nhello\n# not a comment\n\tEOF\nEOF\nFROM x");
        lexer.next_logical().unwrap();
        let body = lexer.heredoc_body("EOF", false).unwrap().unwrap();
        assert_eq!(body.value, "hello\n# not a comment\n\tEOF\n");
        assert_eq!(body.span, Span::new(10, 37));
        assert_eq!(lexer.consumed_end(), 40);
        assert_eq!(lexer.next_logical().unwrap().unwrap().text, "FROM x");

        let mut lexer = Lexer::new("RUN <<-EOF\n\tx\n\t\tEOF\r\n");
        lexer.next_logical().unwrap();
        assert_eq!(lexer.heredoc_body("EOF", true).unwrap().unwrap().value, "\tx\n");
        assert_eq!(lexer.consumed_end(), 19);

        let mut lexer = Lexer::new("RUN <<EOF\nx\n");
        lexer.next_logical().unwrap();
        assert!(lexer.heredoc_body("EOF", false).unwrap().is_none());
    }
}
