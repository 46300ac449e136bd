//! The JSON form of RUN/CMD/ADD/... (`["a", "b"]`), read as BuildKit reads it with Go's
//! `encoding/json`: strings decoded exactly (`\u` escapes, surrogate pairs, a lone surrogate
//! becoming U+FFFD), JSON's four whitespace characters only, and nesting limited to 10000 levels.
//!
//! The outcome has three cases because BuildKit has three: a syntax error means "not JSON" and the
//! instruction silently takes its other form; valid JSON holding anything but strings is an
//! error; otherwise the strings are the arguments.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while_m_n};
use nom::character::complete::{char, digit0, digit1, one_of};
use nom::combinator::{opt, recognize, value};
use nom::multi::fold_many0;
use nom::sequence::preceded;
use nom::{IResult, Parser};

type Res<'a, T> = IResult<&'a str, T, ()>;

/// Go's `encoding/json` refuses to nest deeper than this.
const MAX_DEPTH: usize = 10_000;

#[derive(Debug, PartialEq, Eq)]
pub enum JsonArray<'a> {
    /// Not a JSON array (or not one BuildKit can decode): use the other form.
    NotJson,
    /// The elements: each decoded string and its literal in the input, quotes included.
    Strings(Vec<(String, &'a str)>),
    /// Valid JSON, but this element is not a string.
    NotString { element: &'a str, what: &'static str },
    /// A valid array of strings followed by more text. BuildKit (Go's `json.Decoder`) stops at
    /// the `]` and ignores the rest; rockerc requires the array to be the whole argument.
    Trailing { array_end: usize },
}

/// Reads `input` (already trimmed) as a JSON array of strings.
pub fn parse(input: &str) -> JsonArray<'_> {
    if !input.starts_with('[') {
        return JsonArray::NotJson;
    }
    let Ok((rest, elements)) = array(input) else { return JsonArray::NotJson };
    if !rest.trim_start_matches(is_json_space).is_empty() {
        return JsonArray::Trailing { array_end: input.len() - rest.len() };
    }
    let mut strings = Vec::with_capacity(elements.len());
    let mut first_other = None;
    for element in elements {
        match element {
            Element::String(value, literal) => strings.push((value, literal)),
            Element::Other { literal, what, overflow } => {
                // Go reports a number too large for float64 as an unmarshalling error, which
                // BuildKit treats like a syntax error.
                if overflow {
                    return JsonArray::NotJson;
                }
                first_other.get_or_insert((literal, what));
            }
        }
    }
    match first_other {
        Some((element, what)) => JsonArray::NotString { element, what },
        None => JsonArray::Strings(strings),
    }
}

/// Where an argument that is not JSON stops being the JSON form it was meant to be.
#[derive(Debug, PartialEq, Eq)]
pub struct NearMiss {
    /// Byte offset in the argument, and the length to underline (at least one character).
    pub at: usize,
    pub len: usize,
    pub problem: &'static str,
}

/// For an argument [`parse`] found not to be JSON: whether it was meant as the JSON form, and
/// where it goes wrong. BuildKit runs such a line as a shell command (`/bin/sh -c '["a", "b"'`),
/// which fails only when the image is built. A shell command may start with `[` too (`[ -f x ]`,
/// `[ "$a" = b ]`), so it counts only when it reads as an array: a quote right after the `[`
/// (no shell command starts so), or strings separated by commas, or a string the line ends in.
pub fn near_miss(input: &str) -> Option<NearMiss> {
    let b = input.as_bytes();
    if b.first() != Some(&b'[') {
        return None;
    }
    let is_quote = |c: char| matches!(c, '"' | '\'' | '\u{201c}' | '\u{201d}' | '\u{2018}' | '\u{2019}');
    let tight = input[1..].starts_with(is_quote);
    let mut meant = tight;
    let miss = |at: usize, problem: &'static str| {
        let len = input[at..].chars().next().map_or(0, char::len_utf8);
        Some(NearMiss { at, len, problem })
    };
    let mut i = 1;
    let mut after_comma = false;
    loop {
        i = skip_space(input, i);
        let Some(c) = input[i..].chars().next() else {
            return if meant || after_comma { miss(i.saturating_sub(1), "the array is not closed: `]` is missing at the end") } else { None };
        };
        match c {
            '"' => {
                if let Some((at, problem)) = json_string_problem(input, i) {
                    return if meant || after_comma { miss(at, problem) } else { None };
                }
                i = string_end(input, i);
            }
            '\'' if meant || after_comma || input[i..].contains("',") => return miss(i, "JSON strings are in double quotes (`\"`), not single quotes"),
            '\u{201c}' | '\u{201d}' | '\u{2018}' | '\u{2019}' if meant || after_comma => return miss(i, "typographic quotes are not JSON quotes: write `\"`"),
            ']' if after_comma => return miss(i, "a comma before `]` is not JSON"),
            _ => return None,
        }
        // After a string: a comma, the closing bracket, or the end of the line.
        i = skip_space(input, i);
        match b.get(i) {
            Some(b',') => {
                meant = true;
                after_comma = true;
                i += 1;
            }
            // Valid up to here and closed: the problem is elsewhere (text after it, a non-string).
            Some(b']') => return None,
            None => return miss(i.saturating_sub(1), "the array is not closed: `]` is missing at the end"),
            Some(_) if meant => return miss(i, "expected `,` between the strings, or `]`"),
            Some(_) => return None,
        }
    }
}

/// What [`near_miss`] suggests instead, when a simple repair is valid JSON: quotes made
/// straight and double, a comma before `]` dropped, the missing `]` added.
pub fn repaired(input: &str) -> Option<String> {
    let mut text: String = input.chars().map(|c| if matches!(c, '\u{201c}' | '\u{201d}') { '"' } else { c }).collect();
    if !text.contains('"') {
        text = text.chars().map(|c| if matches!(c, '\'' | '\u{2018}' | '\u{2019}') { '"' } else { c }).collect();
    }
    let mut text = text.trim_end().to_string();
    if !text.ends_with(']') {
        text.push(']');
    }
    let body = text[..text.len() - 1].trim_end();
    let text = match body.strip_suffix(',') {
        Some(body) => format!("{body}]"),
        None => text,
    };
    matches!(parse(&text), JsonArray::Strings(_)).then_some(text)
}

fn skip_space(input: &str, mut i: usize) -> usize {
    while input.as_bytes().get(i).is_some_and(|&c| is_json_space(c as char)) {
        i += 1;
    }
    i
}

/// The end of the JSON string literal at `start` (after its closing quote), or the end of input.
fn string_end(input: &str, start: usize) -> usize {
    match string(&input[start..]) {
        Ok((rest, _)) => input.len() - rest.len(),
        Err(_) => input.len(),
    }
}

/// The first problem in the string literal at `start`: where and what.
fn json_string_problem(input: &str, start: usize) -> Option<(usize, &'static str)> {
    if string(&input[start..]).is_ok() {
        return None;
    }
    let b = input.as_bytes();
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return None,
            b'\\' => {
                if escape(&input[i..]).is_err() {
                    return Some((i, "not a JSON escape: JSON has `\\\"`, `\\\\`, `\\/`, `\\b`, `\\f`, `\\n`, `\\r`, `\\t` and `\\uXXXX`"));
                }
                i += 2;
            }
            c if c < b' ' => return Some((i, "a control character (a tab, say) must be escaped in a JSON string")),
            _ => i += 1,
        }
    }
    Some((start, "the string is not closed"))
}

enum Element<'a> {
    String(String, &'a str),
    Other { literal: &'a str, what: &'static str, overflow: bool },
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn ws(input: &str) -> Res<'_, &str> {
    take_while(is_json_space)(input)
}

fn array(input: &str) -> Res<'_, Vec<Element<'_>>> {
    let (input, _) = (char('['), ws).parse(input)?;
    if let Ok((input, _)) = char::<_, ()>(']').parse(input) {
        return Ok((input, Vec::new()));
    }
    let (input, first) = element(input)?;
    let (input, mut elements) = fold_many0(preceded((ws, char(','), ws), element), Vec::new, |mut acc, e| {
        acc.push(e);
        acc
    })
    .parse(input)?;
    elements.insert(0, first);
    let (input, _) = (ws, char(']')).parse(input)?;
    Ok((input, elements))
}

fn element(input: &str) -> Res<'_, Element<'_>> {
    if let Ok((rest, value)) = string(input) {
        let literal = &input[..input.len() - rest.len()];
        return Ok((rest, Element::String(value, literal)));
    }
    let (rest, overflow) = skip_value(input, 1)?;
    let literal = &input[..input.len() - rest.len()];
    let what = match literal.as_bytes()[0] {
        b'[' => "an array",
        b'{' => "an object",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    };
    Ok((rest, Element::Other { literal, what, overflow }))
}

/// A JSON string literal, decoded.
pub fn string(input: &str) -> Res<'_, String> {
    let (mut input, _) = char('"').parse(input)?;
    let mut out = String::new();
    loop {
        let (rest, plain) = take_while(|c: char| c != '"' && c != '\\' && c >= ' ')(input)?;
        out.push_str(plain);
        input = rest;
        match input.as_bytes().first() {
            Some(b'"') => return Ok((&input[1..], out)),
            Some(b'\\') => {
                let (rest, c) = escape(input)?;
                out.push(c);
                input = rest;
            }
            // A control character, or the end of the input.
            _ => return Err(nom::Err::Error(())),
        }
    }
}

fn simple_escape(input: &str) -> Res<'_, char> {
    alt((
        value('"', char('"')),
        value('\\', char('\\')),
        value('/', char('/')),
        value('\x08', char('b')),
        value('\x0c', char('f')),
        value('\n', char('n')),
        value('\r', char('r')),
        value('\t', char('t')),
    ))
    .parse(input)
}

fn escape(input: &str) -> Res<'_, char> {
    if let Ok(done) = preceded(char('\\'), simple_escape).parse(input) {
        return Ok(done);
    }
    let (rest, unit) = u4(input)?;
    if !(0xD800..0xE000).contains(&unit) {
        return Ok((rest, char::from_u32(unit).unwrap_or('\u{fffd}')));
    }
    // A high surrogate followed by an escaped low one is one character; anything else is U+FFFD,
    // and the second escape, if any, is read on its own.
    if (0xD800..0xDC00).contains(&unit) {
        if let Ok((after, low)) = u4(rest) {
            if (0xDC00..0xE000).contains(&low) {
                let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return Ok((after, char::from_u32(c).unwrap_or('\u{fffd}')));
            }
        }
    }
    Ok((rest, '\u{fffd}'))
}

fn u4(input: &str) -> Res<'_, u32> {
    let (rest, hex) = preceded(tag("\\u"), take_while_m_n(4, 4, |c: char| c.is_ascii_hexdigit())).parse(input)?;
    Ok((rest, u32::from_str_radix(hex, 16).map_err(|_| nom::Err::Error(()))?))
}

fn number(input: &str) -> Res<'_, bool> {
    let (rest, literal) = recognize((
        opt(char('-')),
        alt((tag("0"), recognize((one_of("123456789"), digit0)))),
        opt((char('.'), digit1)),
        opt((one_of("eE"), opt(one_of("+-")), digit1)),
    ))
    .parse(input)?;
    let overflow = literal.parse::<f64>().map_or(true, |f| f.is_infinite());
    Ok((rest, overflow))
}

fn scalar(input: &str) -> Res<'_, bool> {
    alt((value(false, tag("true")), value(false, tag("false")), value(false, tag("null")), value(false, string), number)).parse(input)
}

/// Skips one JSON value of any kind, iteratively so that deep nesting cannot overflow the stack.
/// Returns whether a number in it is too large for a float64.
fn skip_value(input: &str, depth: usize) -> Res<'_, bool> {
    // Open containers; `true` for an object. After an opening bracket or a comma we expect a
    // value (or a key), after a value a comma or a closing bracket.
    let mut open: Vec<bool> = Vec::new();
    let mut overflow = false;
    let mut input = input;
    loop {
        // Read a value.
        let (rest, _) = ws(input)?;
        input = rest;
        match input.as_bytes().first() {
            Some(&b @ (b'[' | b'{')) => {
                if depth + open.len() >= MAX_DEPTH {
                    return Err(nom::Err::Error(()));
                }
                let (rest, _) = ws(&input[1..])?;
                input = rest;
                let close = if b == b'[' { b']' } else { b'}' };
                if input.as_bytes().first() == Some(&close) {
                    input = &input[1..];
                } else {
                    open.push(b == b'{');
                    if b == b'{' {
                        input = key(input)?.0;
                    }
                    continue;
                }
            }
            _ => {
                let (rest, big) = scalar(input)?;
                overflow |= big;
                input = rest;
            }
        }
        // After a value: commas and closing brackets until another value is due.
        loop {
            let Some(&in_object) = open.last() else { return Ok((input, overflow)) };
            let (rest, _) = ws(input)?;
            input = rest;
            match (input.as_bytes().first(), in_object) {
                (Some(b','), _) => {
                    input = &input[1..];
                    if in_object {
                        input = key(input)?.0;
                    }
                    break;
                }
                (Some(b']'), false) | (Some(b'}'), true) => {
                    input = &input[1..];
                    open.pop();
                }
                _ => return Err(nom::Err::Error(())),
            }
        }
    }
}

/// An object key and its colon.
fn key(input: &str) -> Res<'_, ()> {
    value((), (ws, string, ws, char(':'))).parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(input: &str) -> Vec<String> {
        match parse(input) {
            JsonArray::Strings(v) => v.into_iter().map(|(s, _)| s).collect(),
            other => panic!("not strings: {other:?}"),
        }
    }

    #[test]
    fn decodes_strings_like_go() {
        assert_eq!(strings("[]"), Vec::<String>::new());
        assert_eq!(strings("[ \t\"a\",\t\"b\"\t]"), ["a", "b"]);
        assert_eq!(strings(r#"["\" \\ \/ \b \f \n \r \t \u0000"]"#), ["\" \\ / \x08 \x0c \n \r \t \0"]);
        assert_eq!(strings(r#"["\ud83d\ude00", "\ud83d", "\ude00x", "\ud83d\u0041"]"#), ["😀", "\u{fffd}", "\u{fffd}x", "\u{fffd}A"]);
        assert_eq!(strings("[\"♥\"]"), ["♥"]);
    }

    #[test]
    fn syntax_errors_are_not_json() {
        for input in [
            "['a']",
            "[\"a\"",
            "[\"a]",
            "[\"a\",]",
            "[\"a\" \"b\"]",
            "[\"\\x\"]",
            "[\"tab\there\"]",
            "[\x0b\"a\"]",
            "[01]",
            "[1e400]",
            "[[1e999], [\"x\"]]",
            "[{\"a\" 1}]",
            "[tru]",
        ] {
            assert_eq!(parse(input), JsonArray::NotJson, "{input}");
        }
        let deep = format!("[{}{}]", "[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(parse(&deep), JsonArray::NotJson);
    }

    #[test]
    fn non_strings_are_reported() {
        let input = r#"[ "echo", [ "nested json" ] ]"#;
        assert_eq!(parse(input), JsonArray::NotString { element: "[ \"nested json\" ]", what: "an array" });
        assert!(matches!(parse("[\"a\", 1.5e3]"), JsonArray::NotString { element: "1.5e3", what: "a number" }));
        assert!(matches!(parse("[{\"k\": [true, null]}]"), JsonArray::NotString { what: "an object", .. }));
        assert!(matches!(parse("[null]"), JsonArray::NotString { what: "null", .. }));
        let nested = format!("[{}{}]", "[".repeat(5_000), "]".repeat(5_000));
        assert!(matches!(parse(&nested), JsonArray::NotString { what: "an array", .. }));
    }

    #[test]
    fn near_misses_are_found_and_shell_commands_left_alone() {
        let at = |input: &str| near_miss(input).map(|m| (m.at, m.problem));
        assert_eq!(at("[\"a\", \"b\""), Some((8, "the array is not closed: `]` is missing at the end")));
        assert_eq!(at("['a', 'b']").map(|m| m.0), Some(1));
        assert_eq!(at("[ 'a', 'b' ]").map(|m| m.0), Some(2));
        assert_eq!(at("[\"a\" \"b\"]").map(|m| m.0), Some(5));
        assert_eq!(at("[\"a\",]").map(|m| m.0), Some(5));
        assert_eq!(at("[\"a\\q\"]").map(|m| m.0), Some(3));
        assert_eq!(at("[\u{201c}a\u{201d}]").map(|m| m.0), Some(1));
        for shell in ["[ -f /x ] && echo yes", "[ \"$a\" = \"b\" ] && echo", "[ 'x' ] && echo", "[[ -f x ]]", "[ \"$(uname -m)\" = x86_64 ]", "[", "[ ]x"] {
            assert_eq!(near_miss(shell), None, "{shell}");
        }
        assert_eq!(repaired("['a', 'b'").as_deref(), Some("[\"a\", \"b\"]"));
        assert_eq!(repaired("[\"a\",  ]").as_deref(), Some("[\"a\"]"));
        assert_eq!(repaired("[\"a\" \"b\"]"), None);
    }

    #[test]
    fn trailing_text_is_reported() {
        assert_eq!(parse("[\"a\"] b"), JsonArray::Trailing { array_end: 5 });
        assert_eq!(parse("[\"a\"]  \t"), JsonArray::Strings(vec![("a".into(), "\"a\"")]));
    }
}
