//! Where a Jinja syntax error comes from. minijinja reports where its parser stopped; for a tag,
//! string or block that is not closed that is far from the cause (the next line that does not
//! parse as an expression, or the end of the file), so a syntax error is checked against the tags
//! of the file first: an opener without its closer, a string without its quote, a block tag
//! without its end tag are reported where they open.

use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;

/// The block tags and the tag that ends each.
const BLOCKS: &[(&str, &str)] = &[
    ("if", "endif"),
    ("for", "endfor"),
    ("with", "endwith"),
    ("macro", "endmacro"),
    ("call", "endcall"),
    ("filter", "endfilter"),
    ("block", "endblock"),
    ("autoescape", "endautoescape"),
    ("set", "endset"),
];

/// A better diagnostic for the syntax error `detail` at `at`, when it comes from something not
/// closed before it.
pub fn unclosed(src: &str, at: Span, detail: &str) -> Option<Diagnostic> {
    let mut blocks: Vec<(&'static str, Span)> = Vec::new();
    let mut pos = 0;
    let mut in_raw = false;
    while let Some(open) = next_opener(src, pos) {
        if open > at.start {
            break;
        }
        let closer = match &src[open..open + 2] {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        let opener = Span::new(open, open + 2);
        match scan_tag(src, open, closer) {
            Scan::Closed(end) => {
                if end > at.start {
                    // The error is inside a tag that is closed: minijinja's message stands.
                    return None;
                }
                let inner = src[open + 2..end - 2].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
                let word = inner.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("");
                if in_raw {
                    in_raw = !(closer == "%}" && word == "endraw");
                } else if closer == "%}" {
                    in_raw = word == "raw";
                    track_block(&mut blocks, word, inner, Span::new(open, end));
                }
                pos = end;
            }
            Scan::RunsOn if !in_raw => {
                let what = if closer == "#}" { "comment" } else { "tag" };
                let mut d = Diagnostic::error(Code::TemplateSyntax, format!("unclosed {what}: `{}` is not closed by `{closer}`", &src[open..open + 2]))
                    .at(opener, format!("this `{}` has no matching `{closer}`", &src[open..open + 2]))
                    .in_original();
                if at.start >= opener.end && at.start < src.len() {
                    let end = if at.end > at.start { at.end } else { at.start + src[at.start..].chars().next().map_or(0, char::len_utf8) };
                    d = d.also(Span::new(at.start, end), format!("the {what} runs on to here: {detail}"));
                }
                return Some(d.help(format!("close the {what} with `{closer}`")));
            }
            Scan::String(quote) if !in_raw => {
                return Some(
                    Diagnostic::error(Code::TemplateSyntax, "unterminated string")
                        .at(Span::new(quote, quote + 1), "string starts here")
                        .in_original()
                        .help(format!("close it with `{}`", &src[quote..quote + 1])),
                );
            }
            Scan::RunsOn | Scan::String(_) => pos = open + 2,
        }
    }
    // Every tag is closed; at the end of the file, a block may still be open.
    if detail.contains("end of input") {
        if let Some((word, span)) = blocks.pop() {
            let end = BLOCKS.iter().find(|(w, _)| *w == word).map_or("end", |(_, e)| e);
            return Some(
                Diagnostic::error(Code::TemplateSyntax, format!("unexpected end of input: {{% {word} %}} has no {{% {end} %}}"))
                    .at(span, "opened here")
                    .in_original()
                    .help(format!("close it with `{{% {end} %}}`")),
            );
        }
    }
    None
}

fn track_block(blocks: &mut Vec<(&'static str, Span)>, word: &str, inner: &str, span: Span) {
    if let Some((open, _)) = BLOCKS.iter().find(|(w, _)| *w == word) {
        // `{% set x = 1 %}` is a statement; only `{% set x %}...{% endset %}` is a block.
        if *open == "set" && inner.contains('=') {
            return;
        }
        blocks.push((open, span));
    } else if let Some(last) = blocks.iter().rposition(|(w, _)| BLOCKS.iter().any(|(o, e)| o == w && *e == word)) {
        blocks.truncate(last);
    }
}

/// The next `{{`, `{%` or `{#` at or after `from`.
fn next_opener(src: &str, from: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = from;
    while let Some(at) = src.get(i..)?.find('{').map(|k| i + k) {
        if matches!(b.get(at + 1), Some(b'{' | b'%' | b'#')) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

enum Scan {
    /// Closed; the offset after the closer.
    Closed(usize),
    /// No closer before the next opener (or the end of the file).
    RunsOn,
    /// A string that the file ends in; its opening quote.
    String(usize),
}

fn scan_tag(src: &str, open: usize, closer: &str) -> Scan {
    let b = src.as_bytes();
    let mut i = open + 2;
    let mut quote: Option<(u8, usize)> = None;
    // A string that ran over a line end is the likely culprit when the tag does not close.
    let mut multiline: Option<usize> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some((q, at)) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                } else if c == b'\n' {
                    multiline.get_or_insert(at);
                }
            }
            None if closer != "#}" && (c == b'"' || c == b'\'') => quote = Some((c, i)),
            None if b[i..].starts_with(closer.as_bytes()) => return Scan::Closed(i + 2),
            None if closer != "#}" && c == b'{' && matches!(b.get(i + 1), Some(b'{' | b'%' | b'#')) => return Scan::RunsOn,
            None => {}
        }
        i += 1;
    }
    match quote {
        Some((_, at)) => Scan::String(multiline.unwrap_or(at)),
        None => Scan::RunsOn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_label(src: &str, at: usize, detail: &str) -> Option<(String, usize)> {
        unclosed(src, Span::point(at), detail).map(|d| (d.message, d.primary.unwrap().span.start))
    }

    #[test]
    fn finds_what_is_not_closed() {
        let src = "A {{ x }}\nB {{ y \nC {{ z }}\n";
        assert_eq!(first_label(src, src.find('C').unwrap(), "unexpected identifier"), Some(("unclosed tag: `{{` is not closed by `}}`".into(), 12)));
        // A closer inside a string does not close the tag; the string is the culprit.
        let src = "{{ \"a }}\n b\n";
        assert_eq!(first_label(src, src.len(), "unexpected end of string"), Some(("unterminated string".into(), 3)));
        // A block statement and a set block.
        let src = "{% set a = 1 %}{% set b %}x{% endset %}{% for i in a %}{% if i %}{% endif %}";
        let (message, at) = first_label(src, src.len(), "unexpected end of input").unwrap();
        assert_eq!((message.as_str(), at), ("unexpected end of input: {% for %} has no {% endfor %}", src.find("{% for").unwrap()));
    }

    #[test]
    fn leaves_errors_inside_closed_tags_and_raw_blocks_alone() {
        let src = "{{ x + }}\n";
        assert_eq!(first_label(src, 7, "unexpected `}}`"), None);
        let src = "{% raw %}{{ not a tag{% endraw %}\n{{ 1 + }}";
        assert_eq!(first_label(src, src.len() - 2, "unexpected `}}`"), None);
        let src = "{{ '{%' }}{{ \"}}\" }}{{ 1 + }}";
        assert_eq!(first_label(src, src.len() - 2, "unexpected `}}`"), None);
    }
}
