//! Go's definitions of the few character classes and the quoting that BuildKit's parser output
//! and the templates' `%q` depend on. Rust's own classes differ at the edges (`char::is_alphabetic`
//! is wider than Go's `unicode.IsLetter`; `str::to_lowercase` turns `İ` into two characters), and
//! the conformance files are compared byte for byte, so these follow Go exactly. Shared by
//! `template` and `syntax`, so it sits beside them.

use unicode_general_category::{get_general_category, GeneralCategory as Gc};

/// Go's `unicode.IsSpace`: exactly Unicode's White_Space property, which `char::is_whitespace`
/// implements too. Named so call sites say which language's rule they follow.
pub fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// The separators of BuildKit's `[\t\v\f\r ]+` regexp (keyword split, FROM/EXPOSE lists, the
/// legacy ENV split). Narrower than [`is_space`]: no newline, no non-ASCII spaces.
pub fn is_token_space(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Go's `unicode.IsLetter`: general categories Lu, Ll, Lt, Lm, Lo.
pub fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    matches!(get_general_category(c), Gc::UppercaseLetter | Gc::LowercaseLetter | Gc::TitlecaseLetter | Gc::ModifierLetter | Gc::OtherLetter)
}

/// Go's `unicode.IsDigit`: general category Nd.
pub fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    get_general_category(c) == Gc::DecimalNumber
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
pub fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    !matches!(
        get_general_category(c),
        Gc::Control | Gc::Format | Gc::Surrogate | Gc::PrivateUse | Gc::Unassigned | Gc::SpaceSeparator | Gc::LineSeparator | Gc::ParagraphSeparator
    )
}

/// Go's `strings.ToLower`: one rune to one rune. Rust maps `İ` to `i` plus a combining dot and
/// lower-cases a final `Σ` to `ς`; Go does neither.
pub fn to_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .map(|c| {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ if c == '\u{130}' => 'i',
                _ => c,
            }
        })
        .collect()
}

/// Go's `strconv.Quote`, which BuildKit's dump applies to every node.
#[cfg(test)]
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(&mut out, s);
    out
}

/// [`quote`], appended to `out`.
pub fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        escape_rune(out, c, '"', false);
    }
    out.push('"');
}

/// One character of a Go string (`quote` `"`) or rune (`'`) literal, as `strconv` writes it
/// (`appendEscapedRune`): the quote and `\` escaped, printable characters as they are (only
/// ASCII ones with `ascii_only`, as `QuoteToASCII`), the rest as `\a`..`\v`, `\xNN`, `\uNNNN`
/// or `\UNNNNNNNN`. The one Go quoter: BuildKit's parser dump and the templates' `%q` use it.
pub fn escape_rune(out: &mut String, c: char, quote: char, ascii_only: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match c {
        _ if c == quote || c == '\\' => {
            out.push('\\');
            out.push(c);
        }
        _ if is_print(c) && (c.is_ascii() || !ascii_only) => out.push(c),
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        _ => {
            let n = c as u32;
            let (prefix, digits) = if n < 0x20 || n == 0x7f {
                ("\\x", 2)
            } else if n < 0x10000 {
                ("\\u", 4)
            } else {
                ("\\U", 8)
            };
            out.push_str(prefix);
            for shift in (0..digits).rev() {
                out.push(HEX[((n >> (shift * 4)) & 0xf) as usize] as char);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_go_strconv_quote() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("\u{0}\x07\x08\x0c\n\r\t\x0b\x7f"), r#""\x00\a\b\f\n\r\t\v\x7f""#);
        assert_eq!(quote("♥ ☃ é"), "\"♥ ☃ é\"");
        // Non-ASCII spaces and format characters are not printable in Go.
        assert_eq!(quote("\u{a0}\u{ad}\u{200b}\u{feff}"), r#""\u00a0\u00ad\u200b\ufeff""#);
        assert_eq!(quote("\u{e000}\u{10ffff}"), r#""\ue000\U0010ffff""#);
        assert_eq!(quote("\u{1F600}"), "\"\u{1F600}\"");
    }

    #[test]
    fn lower_is_rune_by_rune() {
        assert_eq!(to_lower("RUN"), "run");
        assert_eq!(to_lower("ONBUİLD"), "onbuild");
        assert_eq!(to_lower("\u{212a}EEP"), "keep");
        assert_eq!(to_lower("ΣΑΣ"), "σασ");
    }

    #[test]
    fn classes() {
        assert!(is_letter('é') && is_letter('한') && !is_letter('٣') && !is_letter('_'));
        assert!(is_digit('٣') && is_digit('7') && !is_digit('Ⅷ'));
        assert!(is_space('\u{85}') && is_space('\u{a0}') && !is_token_space('\u{a0}') && !is_token_space('\n'));
    }
}
