//! The Jinja dialect, rendered by minijinja itself, with Rocker's helpers as functions.
//!
//! minijinja does not report where output came from, so the source map is recovered with
//! markers: a private-use character sequence naming an original offset is inserted at the start
//! of every stretch of template text (after `-` trimming, so trimming is unchanged) and before
//! every tag. A second render of the marked template yields the text with markers, from which
//! the segments are read. The first, unmarked render is the authoritative output; if the marked
//! one, stripped of its markers, differs (a `{% filter %}` that rewrites text, say), the map
//! falls back to identity.

use super::funcs::{Funcs, ROCKER_HELPERS};
use super::MAX_RENDERED_BYTES;
use crate::diagnostic::{suggest, Code, Diagnostic};
use crate::source::{Segment, Span};
use crate::template::Missing;
use minijinja::value::{Rest, Value};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// minijinja's budget of work for one render: one unit an instruction and one per 64 bytes of data
/// it makes or writes (see `Environment::set_fuel`), checked before the data is made. Under a
/// second in a release build, the same order as the Go dialect's `MAX_STEPS`; real templates take
/// a few thousand.
pub const FUEL: u64 = 5_000_000;

const MARK_TEXT: char = '\u{E000}';
const MARK_TAG: char = '\u{E001}';
const MARK_END: char = '\u{E002}';
/// Written by the marked render where `{{ ... }}` printed an undefined value.
const MARK_UNDEFINED: char = '\u{E003}';
const DIGIT0: u32 = 0xE010;

/// Filters that do not clash with minijinja's own; the piped value goes last, as in Go.
const FILTERS: &[&str] = &["shell", "json", "yaml", "dump"];

/// The environment; while `marking` is set, an undefined value printed by `{{ ... }}` writes
/// [`MARK_UNDEFINED`] (in lenient mode it prints nothing).
fn environment(funcs: Arc<Funcs>, strict: bool, marking: Arc<AtomicBool>) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_formatter(move |out, state, value| {
        if value.is_undefined() && marking.load(Ordering::Relaxed) {
            out.write_str(&MARK_UNDEFINED.to_string()).map_err(|_| minijinja::Error::from(ErrorKind::WriteFailure))?;
            return Ok(());
        }
        minijinja::escape_formatter(out, state, value)
    });
    let syntax = minijinja::syntax::SyntaxConfig::builder().keep_trailing_newline(true).build().expect("default delimiters are valid");
    env.set_syntax(syntax);
    env.set_recursion_limit(100);
    env.set_fuel(Some(FUEL));
    env.set_undefined_behavior(if strict { UndefinedBehavior::Strict } else { UndefinedBehavior::Lenient });
    for &name in ROCKER_HELPERS {
        let f = funcs.clone();
        env.add_function(name, move |args: Rest<Value>| call(&f, name, &args.0));
        if FILTERS.contains(&name) {
            let f = funcs.clone();
            env.add_filter(name, move |value: Value, args: Rest<Value>| {
                let mut all = args.0;
                all.push(value);
                call(&f, name, &all)
            });
        }
    }
    env
}

fn call(funcs: &Funcs, name: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
    let args: Vec<Value> = args.iter().cloned().map(super::value::missing_to_nil).collect();
    funcs.call(name, &args).map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.message.clone()).with_source(e))
}

/// Renders `src` over `data`: the text, the source-map segments, and the tags that printed an
/// undefined value.
pub fn render(src: &str, data: Value, funcs: Funcs, strict: bool) -> Result<(String, Vec<Segment>, Vec<Missing>), Box<Diagnostic>> {
    let marking = Arc::new(AtomicBool::new(false));
    let env = environment(Arc::new(funcs), strict, marking.clone());
    let text = render_capped(&env, src, data.clone()).map_err(|e| Box::new(to_diagnostic(src, &e, &data)))?;
    if src.contains([MARK_TEXT, MARK_TAG, MARK_END, MARK_UNDEFINED]) {
        return Ok((text, Vec::new(), Vec::new()));
    }
    let marked = insert_markers(src);
    marking.store(true, Ordering::Relaxed);
    let (segments, undefined) = match render_capped(&env, &marked, data) {
        Ok(out) => read_markers(&out, &text).unwrap_or_default(),
        Err(_) => Default::default(),
    };
    let missing = undefined
        .into_iter()
        .filter_map(|(at, tag)| {
            let end = find_tag(src, tag)?.end;
            let inner = src[tag + 2..end - 2].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
            Some(Missing { action: Span::new(tag, end), expression: inner.to_string(), rendered: Span::point(at), shown: "", in_fragment: false })
        })
        .collect();
    Ok((text, segments, missing))
}

/// Renders through a writer that refuses to grow past [`MAX_RENDERED_BYTES`], so the output cap
/// holds whatever the fuel allows.
fn render_capped(env: &Environment<'_>, src: &str, data: Value) -> Result<String, minijinja::Error> {
    let template = env.template_from_str(src)?;
    let mut out = CappedWriter(Vec::new());
    template.render_captured_to(data, &mut out)?;
    Ok(String::from_utf8(out.0).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

struct CappedWriter(Vec<u8>);

/// The error [`CappedWriter`] fails with, told apart from other write failures by its type.
#[derive(Debug)]
struct OutputTooLarge;

impl std::fmt::Display for OutputTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rendered text is larger than {} MiB", MAX_RENDERED_BYTES >> 20)
    }
}

impl std::error::Error for OutputTooLarge {}

impl std::io::Write for CappedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_RENDERED_BYTES {
            return Err(std::io::Error::other(OutputTooLarge));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn to_diagnostic(src: &str, e: &minijinja::Error, data: &Value) -> Diagnostic {
    let span = e.range().map(|r| Span::new(r.start.min(src.len()), r.end.min(src.len()))).unwrap_or_else(|| Span::point(0));
    let detail = e.detail().map(str::to_string).unwrap_or_else(|| e.kind().to_string());
    if e.kind() == ErrorKind::SyntaxError {
        if let Some(d) = super::jinja_tags::unclosed(src, span, &detail) {
            return d;
        }
    }
    let helper_error = std::error::Error::source(e).and_then(|s| s.downcast_ref::<super::funcs::FuncError>());
    let too_large = std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .and_then(|io| io.get_ref())
        .is_some_and(|inner| inner.is::<OutputTooLarge>());
    let code = match e.kind() {
        _ if helper_error.is_some() => helper_error.map(|h| h.code).unwrap_or(Code::TemplateError),
        ErrorKind::OutOfFuel => Code::TemplateTooLarge,
        ErrorKind::WriteFailure if too_large => Code::TemplateTooLarge,
        ErrorKind::SyntaxError => Code::TemplateSyntax,
        ErrorKind::UndefinedError => Code::TemplateUnknownVariable,
        ErrorKind::UnknownFunction | ErrorKind::UnknownFilter | ErrorKind::UnknownTest | ErrorKind::UnknownMethod => Code::TemplateUnknownFunction,
        ErrorKind::TooManyArguments | ErrorKind::MissingArgument => Code::TemplateWrongArgCount,
        _ => Code::TemplateError,
    };
    let message = match e.kind() {
        ErrorKind::UndefinedError => {
            let expr = src.get(span.start..span.end).unwrap_or("").trim();
            if expr.is_empty() {
                "undefined value".to_string()
            } else {
                format!("unknown variable `{expr}`")
            }
        }
        ErrorKind::SyntaxError => format!("syntax error: {detail}"),
        ErrorKind::OutOfFuel => {
            format!("template evaluation took more than its budget of {FUEL} steps (a step is an instruction, or 64 bytes of data it makes)")
        }
        ErrorKind::WriteFailure if too_large => OutputTooLarge.to_string(),
        _ => detail,
    };
    let mut d = Diagnostic::error(code, message).at(span, "").in_original();
    if let Some(help) = helper_error.and_then(|h| h.help.clone()) {
        d = d.help(help);
    }
    if e.kind() == ErrorKind::UndefinedError {
        let expr = src.get(span.start..span.end).unwrap_or("");
        let name = expr.rsplit(|c: char| !(c.is_alphanumeric() || c == '_')).find(|w| !w.is_empty()).unwrap_or("");
        let keys = super::value::map_keys(data);
        if let Some(s) = suggest(name, keys.iter().map(String::as_str)) {
            d = d.help(format!("did you mean `{s}`?"));
        }
    }
    d
}

fn push_marker(out: &mut String, kind: char, offset: usize) {
    out.push(kind);
    for digit in format!("{offset:x}").chars() {
        let v = digit.to_digit(16).unwrap_or(0);
        out.push(char::from_u32(DIGIT0 + v).unwrap_or(MARK_END));
    }
    out.push(MARK_END);
}

/// A tag in the template: where it starts and ends, and whether it trims on either side.
struct Tag {
    start: usize,
    end: usize,
    trim_before: bool,
    trim_after: bool,
}

/// The end of a tag starting at `start` (`{{`, `{%` or `{#`), skipping string literals.
fn find_tag(src: &str, start: usize) -> Option<Tag> {
    let b = src.as_bytes();
    let close = match b[start + 1] {
        b'{' => "}}",
        b'%' => "%}",
        _ => "#}",
    };
    let trim_before = b.get(start + 2) == Some(&b'-');
    let mut i = start + 2;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None if close != "#}" && (c == b'"' || c == b'\'') => quote = Some(c),
            // Bytes, not `src[i..]`: `i` walks bytes and may stand inside a multi-byte character.
            None if b[i..].starts_with(close.as_bytes()) => {
                let trim_after = i > start + 2 && b[i - 1] == b'-';
                return Some(Tag { start, end: i + 2, trim_before, trim_after });
            }
            None => {}
        }
        i += 1;
    }
    None
}

fn is_raw(src: &str, tag: &Tag, word: &str) -> bool {
    let inner = src[tag.start + 2..tag.end - 2].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
    src.as_bytes()[tag.start + 1] == b'%' && inner == word
}

/// Inserts markers at the start of each (trimmed) text stretch and before each tag.
fn insert_markers(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + src.len() / 8);
    let mut pos = 0;
    let mut trim_next = false;
    let mut in_raw = false;
    loop {
        // Find the next tag that ends this text stretch.
        let mut search = pos;
        let tag = loop {
            match src[search..].find('{').map(|i| search + i) {
                None => break None,
                Some(i) if i + 1 < src.len() && matches!(src.as_bytes()[i + 1], b'{' | b'%' | b'#') => match find_tag(src, i) {
                    Some(t) if !in_raw || is_raw(src, &t, "endraw") => break Some(t),
                    Some(_) | None => search = i + 1,
                },
                Some(i) => search = i + 1,
            }
        };
        let text_end = tag.as_ref().map(|t| t.start).unwrap_or(src.len());
        let text = &src[pos..text_end];
        let lead = if trim_next { text.len() - text.trim_start().len() } else { 0 };
        let trail = if tag.as_ref().is_some_and(|t| t.trim_before) { text[lead..].len() - text[lead..].trim_end().len() } else { 0 };
        let (ts, te) = (pos + lead, text_end - trail);
        out.push_str(&src[pos..ts]);
        push_marker(&mut out, MARK_TEXT, ts);
        out.push_str(&src[ts..te]);
        let Some(tag) = tag else {
            out.push_str(&src[te..]);
            break;
        };
        push_marker(&mut out, MARK_TAG, tag.start);
        out.push_str(&src[te..tag.end]);
        in_raw = if in_raw { false } else { is_raw(src, &tag, "raw") };
        trim_next = tag.trim_after;
        pos = tag.end;
    }
    out
}

/// Where an undefined value was printed in the rendered text, and the offset of the tag.
type Undefined = (usize, usize);

/// Strips the markers from `marked`, checking it equals `expected`, and builds the segments; also
/// where an undefined value was printed, with the offset of the tag that printed it.
fn read_markers(marked: &str, expected: &str) -> Option<(Vec<Segment>, Vec<Undefined>)> {
    let mut undefined = Vec::new();
    let mut text = String::with_capacity(expected.len());
    let mut segments: Vec<Segment> = Vec::new();
    let mut chars = marked.chars();
    let mut current: Option<(bool, usize)> = None;
    let mut run_start = 0;
    let flush = |segments: &mut Vec<Segment>, current: Option<(bool, usize)>, run_start: usize, now: usize| {
        if let Some((verbatim, original_start)) = current {
            if now > run_start {
                segments.push(Segment { rendered_start: run_start, len: now - run_start, original_start, verbatim });
            }
        }
    };
    while let Some(c) = chars.next() {
        if c == MARK_TEXT || c == MARK_TAG {
            let mut offset = 0usize;
            for d in chars.by_ref() {
                if d == MARK_END {
                    break;
                }
                offset = offset.checked_mul(16)? + (d as u32).checked_sub(DIGIT0).filter(|v| *v < 16)? as usize;
            }
            flush(&mut segments, current, run_start, text.len());
            current = Some((c == MARK_TEXT, offset));
            run_start = text.len();
        } else if c == MARK_UNDEFINED {
            if let Some((false, tag)) = current {
                undefined.push((text.len(), tag));
            }
        } else {
            text.push(c);
        }
    }
    flush(&mut segments, current, run_start, text.len());
    (text == expected).then_some((segments, undefined))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;

    #[test]
    fn markers_preserve_output_and_map_back() {
        let funcs = Funcs { image: Default::default(), budget: Default::default() };
        let src = "FROM {{ base }}\n{%- if x %}\nRUN a\n{%- endif %}\nTAG t\n";
        let mut data = std::collections::BTreeMap::new();
        data.insert("base".to_string(), Value::from("alpine"));
        data.insert("x".to_string(), Value::from(true));
        let (text, segments, _) = render(src, Value::from(data), funcs, false).unwrap();
        assert_eq!(text, "FROM alpine\nRUN a\nTAG t\n");
        let map = SourceMap::from_segments(segments);
        let tag = text.find("TAG").unwrap();
        assert_eq!(map.to_original(tag), src.find("TAG").unwrap());
        assert_eq!(map.to_original(text.find("alpine").unwrap()), src.find("{{").unwrap());
        assert_eq!(map.to_original(text.find("RUN").unwrap()), src.find("RUN").unwrap());
    }
}
