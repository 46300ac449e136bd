//! The lexer of Go's `text/template`: text between actions (already trimmed by `{{-` / `-}}`),
//! and the tokens inside `{{ ... }}`. Comments (`{{/* */}}`) leave nothing but their trimming.

use super::BoxedDiagnostic as _;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;

#[derive(Clone, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// Text outside actions; the item's span is the text after trimming.
    Text,
    /// `{{` (or `{{- `).
    Open,
    /// `}}` (or ` -}}`).
    Close,
    /// `.Name` (the name without the dot).
    Field(String),
    Dot,
    /// `$name`, or `$` alone (the name includes the `$`).
    Var(String),
    Ident(String),
    Keyword(&'static str),
    Bool(bool),
    Nil,
    Str(String),
    Num(Number),
    /// `'a'`: an int in Go.
    Char(i64),
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
}

#[derive(Clone, Debug)]
pub struct Item {
    pub tok: Tok,
    pub span: Span,
    /// Whitespace came right before this token inside the action (Go separates operands by it).
    pub space_before: bool,
}

const KEYWORDS: &[&str] = &["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"];

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn syntax_error(span: Span, message: impl Into<String>, label: &str) -> Box<Diagnostic> {
    Box::new(Diagnostic::error(Code::TemplateSyntax, message).at(span, label).in_original())
}

pub fn lex(src: &str) -> Result<Vec<Item>, Box<Diagnostic>> {
    let mut open = None;
    lex_items(src, &mut open).map_err(|e| match open {
        Some(open) => unclosed(src, open, e),
        None => e,
    })
}

/// A lexing error inside the action opened at `open` whose `}}` is missing (there is none before
/// the next `{{`, or none at all): the lexer read on into the text after it and failed there, far
/// from the cause. Report the `{{` instead, and where the lexer gave up as the consequence.
fn unclosed(src: &str, open: Span, e: Box<Diagnostic>) -> Box<Diagnostic> {
    let rest = &src[open.end..];
    let closed = match (rest.find("}}"), rest.find("{{")) {
        (Some(close), Some(next)) => close < next,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let Some(stopped) = e.primary.as_ref().map(|p| p.span) else { return e };
    if closed || stopped.start < open.start {
        return e;
    }
    let mut d = syntax_error(open, UNCLOSED, "this `{{` has no matching `}}`");
    if stopped != open {
        let why = e.message.strip_prefix("unrecognized character in action: ").map_or(e.message.clone(), |c| format!("{c} is not valid inside `{{{{ }}}}`"));
        d = d.also(stopped, format!("the action runs on to here, where {why}"));
    }
    d.help(CLOSE_IT)
}

const UNCLOSED: &str = "unclosed action: `{{` is not closed by `}}`";
const CLOSE_IT: &str = "close the action with `}}`";

fn lex_items(src: &str, open_action: &mut Option<Span>) -> Result<Vec<Item>, Box<Diagnostic>> {
    let bytes = src.as_bytes();
    let mut items: Vec<Item> = Vec::new();
    let mut pos = 0;
    let mut trim_next_text = false;
    while pos < src.len() {
        let open = src[pos..].find("{{").map(|i| pos + i);
        let text_end = open.unwrap_or(src.len());
        // Text up to the next action.
        let mut start = pos;
        if trim_next_text {
            while start < text_end && is_space(bytes[start]) {
                start += 1;
            }
        }
        let mut end = text_end;
        let Some(open) = open else {
            if start < end {
                items.push(Item { tok: Tok::Text, span: Span::new(start, end), space_before: false });
            }
            break;
        };
        let trim_left = bytes.get(open + 2) == Some(&b'-') && bytes.get(open + 3).is_some_and(|&b| is_space(b));
        if trim_left {
            while end > start && is_space(bytes[end - 1]) {
                end -= 1;
            }
        }
        if start < end {
            items.push(Item { tok: Tok::Text, span: Span::new(start, end), space_before: false });
        }
        let mut p = open + 2 + if trim_left { 2 } else { 0 };
        let open_span = Span::new(open, p);
        // A comment must follow the delimiter directly and end at the closing one.
        if src[p..].starts_with("/*") {
            let Some(close) = src[p + 2..].find("*/").map(|i| p + 2 + i + 2) else {
                return Err(syntax_error(Span::new(open, p + 2), "unclosed comment", "comment starts here").help("close it with `*/}}`"));
            };
            let (next, trim_right) = if src[close..].starts_with("}}") {
                (close + 2, false)
            } else if src[close..].len() >= 4 && is_space(bytes[close]) && src[close + 1..].starts_with("-}}") {
                (close + 4, true)
            } else {
                return Err(syntax_error(Span::new(open, close), "comment ends before closing delimiter", "a comment must be the whole action")
                    .help("write `{{/* comment */}}` with nothing between `*/` and `}}`"));
            };
            trim_next_text = trim_right;
            pos = next;
            continue;
        }
        items.push(Item { tok: Tok::Open, span: open_span, space_before: false });
        *open_action = Some(open_span);
        let mut space = false;
        loop {
            let Some(&b) = bytes.get(p) else {
                return Err(syntax_error(open_span, UNCLOSED, "this `{{` has no matching `}}`").help(CLOSE_IT));
            };
            if is_space(b) {
                if src[p + 1..].starts_with("-}}") {
                    items.push(Item { tok: Tok::Close, span: Span::new(p, p + 4), space_before: true });
                    trim_next_text = true;
                    p += 4;
                    break;
                }
                space = true;
                p += 1;
                continue;
            }
            if src[p..].starts_with("}}") {
                items.push(Item { tok: Tok::Close, span: Span::new(p, p + 2), space_before: space });
                trim_next_text = false;
                p += 2;
                break;
            }
            let start = p;
            let push = |items: &mut Vec<Item>, tok: Tok, end: usize| {
                items.push(Item { tok, span: Span::new(start, end), space_before: space });
            };
            match b {
                b'"' => {
                    let (s, end) = lex_quoted(src, p)?;
                    push(&mut items, Tok::Str(s), end);
                    p = end;
                }
                b'`' => {
                    let Some(close) = src[p + 1..].find('`') else {
                        return Err(syntax_error(Span::new(p, p + 1), "unterminated raw quoted string", "string starts here"));
                    };
                    let end = p + 1 + close + 1;
                    push(&mut items, Tok::Str(src[p + 1..end - 1].to_string()), end);
                    p = end;
                }
                b'\'' => {
                    let (c, end) = lex_char(src, p)?;
                    push(&mut items, Tok::Char(c), end);
                    p = end;
                }
                b'0'..=b'9' => {
                    let (n, end) = lex_number(src, p)?;
                    push(&mut items, Tok::Num(n), end);
                    p = end;
                }
                b'+' | b'-' if bytes.get(p + 1).is_some_and(|c| c.is_ascii_digit() || *c == b'.') => {
                    let (n, end) = lex_number(src, p)?;
                    push(&mut items, Tok::Num(n), end);
                    p = end;
                }
                b'.' => {
                    if bytes.get(p + 1).is_some_and(u8::is_ascii_digit) {
                        let (n, end) = lex_number(src, p)?;
                        push(&mut items, Tok::Num(n), end);
                        p = end;
                    } else {
                        let end = ident_end(src, p + 1);
                        if end == p + 1 {
                            push(&mut items, Tok::Dot, end);
                        } else {
                            push(&mut items, Tok::Field(src[p + 1..end].to_string()), end);
                        }
                        p = end;
                    }
                }
                b'$' => {
                    let end = ident_end(src, p + 1);
                    push(&mut items, Tok::Var(src[p..end].to_string()), end);
                    p = end;
                }
                b':' if bytes.get(p + 1) == Some(&b'=') => {
                    push(&mut items, Tok::Declare, p + 2);
                    p += 2;
                }
                b'=' => {
                    push(&mut items, Tok::Assign, p + 1);
                    p += 1;
                }
                b'|' => {
                    push(&mut items, Tok::Pipe, p + 1);
                    p += 1;
                }
                b'(' => {
                    push(&mut items, Tok::LParen, p + 1);
                    p += 1;
                }
                b')' => {
                    push(&mut items, Tok::RParen, p + 1);
                    p += 1;
                }
                b',' => {
                    push(&mut items, Tok::Comma, p + 1);
                    p += 1;
                }
                _ => {
                    let c = src[p..].chars().next().unwrap_or('?');
                    if c.is_alphabetic() || c == '_' {
                        let end = ident_end(src, p);
                        let word = &src[p..end];
                        let tok = match word {
                            "true" => Tok::Bool(true),
                            "false" => Tok::Bool(false),
                            "nil" => Tok::Nil,
                            w => match KEYWORDS.iter().find(|k| **k == w) {
                                Some(k) => Tok::Keyword(k),
                                None => Tok::Ident(w.to_string()),
                            },
                        };
                        push(&mut items, tok, end);
                        p = end;
                    } else {
                        let end = p + c.len_utf8();
                        let mut e = syntax_error(Span::new(p, end), format!("unrecognized character in action: {c:?}"), "not valid inside `{{ }}`");
                        if let (Some(Item { tok: Tok::Field(name), span, .. }), false) = (items.last(), space) {
                            if span.end == p {
                                // `.a.my-var`: suggest `index .a "my-var"`.
                                let mut first = items.len() - 1;
                                while first > 0 && !items[first].space_before && matches!(items[first - 1].tok, Tok::Field(_)) {
                                    first -= 1;
                                }
                                let parents: String = items[first..items.len() - 1]
                                    .iter()
                                    .filter_map(|i| if let Tok::Field(f) = &i.tok { Some(format!(".{f}")) } else { None })
                                    .collect();
                                let receiver = if parents.is_empty() { ".".to_string() } else { parents };
                                let rest = &src[p..ident_end(src, p + c.len_utf8())];
                                e = e.help(format!("a field name cannot contain {c:?}; write `index {receiver} \"{name}{rest}\"`"));
                            }
                        }
                        return Err(e);
                    }
                }
            }
            space = false;
        }
        *open_action = None;
        pos = p;
    }
    Ok(items)
}

fn ident_end(src: &str, from: usize) -> usize {
    src[from..].char_indices().find(|&(_, c)| !(c.is_alphanumeric() || c == '_')).map(|(i, _)| from + i).unwrap_or(src.len())
}

fn lex_quoted(src: &str, start: usize) -> Result<(String, usize), Box<Diagnostic>> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    let unterminated = || syntax_error(Span::new(start, start + 1), "unterminated quoted string", "string starts here");
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, start + 1 + i + 1)),
            '\n' => return Err(unterminated()),
            '\\' => {
                let Some((j, e)) = chars.next() else { return Err(unterminated()) };
                let at = start + 1 + i;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let from = start + 1 + j + 1;
                        let hex = src.get(from..from + n).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                        let value = hex.and_then(|h| u32::from_str_radix(h, 16).ok());
                        match value.and_then(char::from_u32) {
                            Some(c) => out.push(c),
                            None => return Err(syntax_error(Span::new(at, (from + n).min(src.len())), "invalid escape in quoted string", "")),
                        }
                        for _ in 0..n {
                            chars.next();
                        }
                    }
                    '0'..='7' => {
                        let from = start + 1 + j;
                        let oct = src.get(from..from + 3).filter(|h| h.bytes().all(|b| (b'0'..=b'7').contains(&b)));
                        match oct.and_then(|o| u32::from_str_radix(o, 8).ok()).filter(|v| *v < 256) {
                            Some(v) => out.push(char::from_u32(v).unwrap_or('\u{FFFD}')),
                            None => return Err(syntax_error(Span::new(at, from + 1), "invalid escape in quoted string", "")),
                        }
                        chars.next();
                        chars.next();
                    }
                    '\n' => return Err(unterminated()),
                    other => {
                        return Err(syntax_error(Span::new(at, at + 1 + other.len_utf8()), format!("invalid escape `\\{other}` in quoted string"), "")
                            .help("use a raw string (`...`) for literal backslashes"))
                    }
                }
            }
            c => out.push(c),
        }
    }
    Err(unterminated())
}

fn lex_char(src: &str, start: usize) -> Result<(i64, usize), Box<Diagnostic>> {
    let rest = &src[start + 1..];
    let err = || syntax_error(Span::new(start, start + 1), "unterminated character constant", "");
    let mut chars = rest.char_indices();
    let (_, c) = chars.next().ok_or_else(err)?;
    let value = if c == '\\' {
        let close = rest.find('\'').ok_or_else(err)?;
        let quoted = format!("\"{}\"", &rest[..close]);
        let (s, _) = lex_quoted(&quoted, 0).map_err(|_| err())?;
        let mut cs = s.chars();
        match (cs.next(), cs.next()) {
            (Some(c), None) => return Ok((c as i64, start + 1 + close + 1)),
            _ => return Err(err()),
        }
    } else {
        c as i64
    };
    match chars.next() {
        Some((i, '\'')) => Ok((value, start + 1 + i + 1)),
        _ => Err(err()),
    }
}

fn lex_number(src: &str, start: usize) -> Result<(Number, usize), Box<Diagnostic>> {
    let bytes = src.as_bytes();
    let mut p = start;
    if matches!(bytes[p], b'+' | b'-') {
        p += 1;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut hex = false;
    if bytes.get(p) == Some(&b'0') {
        match bytes.get(p + 1).map(u8::to_ascii_lowercase) {
            Some(b'x') => {
                p += 2;
                digits = b"0123456789abcdefABCDEF_";
                hex = true;
            }
            Some(b'o') => {
                p += 2;
                digits = b"01234567_";
            }
            Some(b'b') => {
                p += 2;
                digits = b"01_";
            }
            _ => {}
        }
    }
    while p < bytes.len() && digits.contains(&bytes[p]) {
        p += 1;
    }
    if bytes.get(p) == Some(&b'.') {
        p += 1;
        while p < bytes.len() && digits.contains(&bytes[p]) {
            p += 1;
        }
    }
    let exp = if hex { b"pP" } else { b"eE" };
    if p < bytes.len() && exp.contains(&bytes[p]) {
        p += 1;
        if p < bytes.len() && matches!(bytes[p], b'+' | b'-') {
            p += 1;
        }
        while p < bytes.len() && bytes[p].is_ascii_digit() {
            p += 1;
        }
    }
    let end = p;
    let text = &src[start..end];
    let bad = |end: usize| syntax_error(Span::new(start, end), format!("bad number syntax: {:?}", &src[start..end]), "not a number");
    if src[end..].chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
        let e = ident_end(src, end);
        return Err(bad(e.max(end + 1).min(src.len())));
    }
    parse_number(text).map(|n| (n, end)).ok_or_else(|| bad(end))
}

fn parse_number(text: &str) -> Option<Number> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let is_hex = lower.starts_with("0x");
    let float_like = if is_hex { lower.contains(['.', 'p']) } else { lower.contains(['.', 'e']) };
    if !float_like {
        let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
            (16, d)
        } else if let Some(d) = lower.strip_prefix("0o") {
            (8, d)
        } else if let Some(d) = lower.strip_prefix("0b") {
            (2, d)
        } else if lower.len() > 1 && lower.starts_with('0') {
            (8, &lower[1..])
        } else {
            (10, lower.as_str())
        };
        let v = i128::from_str_radix(digits, radix).ok()?;
        let v = if neg { -v } else { v };
        return i64::try_from(v).ok().map(Number::Int);
    }
    if is_hex {
        return None;
    }
    let v: f64 = clean.parse().ok()?;
    Some(Number::Float(if neg { -v } else { v }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|i| i.tok).collect()
    }

    #[test]
    fn trims_whitespace_around_trim_markers() {
        let src = "a  \n{{- .X -}}\n  b";
        let items = lex(src).unwrap();
        assert_eq!(&src[items[0].span.start..items[0].span.end], "a");
        assert_eq!(&src[items.last().unwrap().span.start..items.last().unwrap().span.end], "b");
    }

    #[test]
    fn numbers_and_minus() {
        assert_eq!(toks("{{-3}}"), vec![Tok::Open, Tok::Num(Number::Int(-3)), Tok::Close]);
        assert_eq!(
            toks("{{ 0x1F 1.5 1e3 'a' }}")[1..5],
            [Tok::Num(Number::Int(31)), Tok::Num(Number::Float(1.5)), Tok::Num(Number::Float(1000.0)), Tok::Char(97)]
        );
    }

    #[test]
    fn comments_vanish() {
        assert_eq!(toks("a{{/* x */}}b"), vec![Tok::Text, Tok::Text]);
        assert!(lex("{{/* x */ .X }}").is_err());
        assert!(lex("{{/* x ").is_err());
    }
}
