//! Go's `fmt` as far as templates use it: `print`, `println`, `printf` with the common verbs,
//! flags, width and precision, and Go's error strings for bad verbs (`%!d(string=x)`).

use super::budget::Capped;
use super::value::{as_float, as_int, kind, list_items, map_entries, type_name, GoKind};
use minijinja::value::Value;
use std::fmt::Write as _;

#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub plus: bool,
    pub minus: bool,
    pub sharp: bool,
    pub space: bool,
    pub zero: bool,
    pub width: Option<usize>,
    pub prec: Option<usize>,
}

// Every writer here writes into a [`Capped`] text and stops walking a value once the text is
// over its limit: a list that shares one large string a million times is never printed whole.

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub fn sprint(out: &mut Capped, args: &[Value]) {
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = kind(a) == GoKind::String;
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_value(out, a, 'v', &Flags::default(), true);
        prev_string = is_string;
    }
}

/// `fmt.Sprintln`: always spaces, and a newline.
pub fn sprintln(out: &mut Capped, args: &[Value]) {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(out, a, 'v', &Flags::default(), true);
    }
    out.push('\n');
}

/// `fmt.Sprintf`.
pub fn sprintf(out: &mut Capped, format: &str, args: &[Value]) {
    let mut argi = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if out.over() {
            return;
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = Flags::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '+' => flags.plus = true,
                '-' => flags.minus = true,
                '#' => flags.sharp = true,
                ' ' => flags.space = true,
                '0' => flags.zero = true,
                _ => break,
            }
            chars.next();
        }
        // Width.
        if let Some(&(_, '*')) = chars.peek() {
            chars.next();
            match args.get(argi).and_then(as_int) {
                Some(w) if w.unsigned_abs() <= GO_MAX_NUM as u64 => {
                    if w < 0 {
                        flags.minus = true;
                    }
                    flags.width = Some(w.unsigned_abs() as usize);
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            match read_num(&mut chars) {
                Ok(w) => flags.width = w,
                Err(()) => {
                    out.push_str("%!(NOVERB)");
                    break;
                }
            }
        }
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            if let Some(&(_, '*')) = chars.peek() {
                chars.next();
                match args.get(argi).and_then(as_int) {
                    Some(p) if p >= 0 && p as u64 <= GO_MAX_NUM as u64 => flags.prec = Some(p as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                match read_num(&mut chars) {
                    Ok(p) => flags.prec = Some(p.unwrap_or(0)),
                    Err(()) => {
                        out.push_str("%!(NOVERB)");
                        break;
                    }
                }
            }
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(argi) {
            None => {
                let _ = write!(out, "%!{verb}(MISSING)");
            }
            Some(a) => write_arg(out, a, verb, &flags),
        }
        argi += 1;
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if matches!(kind(a), GoKind::Nil | GoKind::Missing) {
                out.push_str("<nil>");
            } else {
                let _ = write!(out, "{}=", type_name(a));
                write_value(out, a, 'v', &Flags::default(), true);
            }
        }
        out.push(')');
    }
}

/// Go's `parsenum`: a width or precision above a million is "too large", and Go then gives up on
/// the rest of the format (`%!(NOVERB)`); `Err` says so, with the format consumed.
fn read_num(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Result<Option<usize>, ()> {
    let mut n: Option<usize> = None;
    while let Some(&(_, d)) = chars.peek() {
        if let Some(v) = d.to_digit(10) {
            if n.unwrap_or(0) > GO_MAX_NUM {
                chars.by_ref().for_each(drop);
                return Err(());
            }
            n = Some(n.unwrap_or(0) * 10 + v as usize);
            chars.next();
        } else {
            break;
        }
    }
    Ok(n)
}

/// Go's `tooLarge` bound on widths and precisions.
const GO_MAX_NUM: usize = 1_000_000;

/// One `printf` operand with width padding applied.
fn write_arg(out: &mut Capped, v: &Value, verb: char, flags: &Flags) {
    if verb == 'T' {
        pad(out, type_name(v), flags, false);
        return;
    }
    let mut s = Capped::new(out.room());
    write_value(&mut s, v, verb, flags, true);
    if s.over() {
        out.set_over();
        return;
    }
    let numeric = matches!(kind(v), GoKind::Int | GoKind::Float) && verb != 'c' && verb != 'q';
    pad(out, s.as_str(), flags, numeric);
}

fn pad(out: &mut Capped, s: &str, flags: &Flags, numeric: bool) {
    let len = s.chars().count();
    let width = flags.width.unwrap_or(0);
    if len >= width {
        out.push_str(s);
        return;
    }
    let fill = width - len;
    if flags.minus {
        out.push_str(s);
        out.fill(' ', fill);
    } else if flags.zero && numeric {
        // Zero padding goes after the sign.
        let (sign, digits) = match s.chars().next() {
            Some(c @ ('+' | '-' | ' ')) => (Some(c), &s[1..]),
            _ => (None, s),
        };
        if let Some(c) = sign {
            out.push(c);
        }
        out.fill('0', fill);
        out.push_str(digits);
    } else {
        out.fill(' ', fill);
        out.push_str(s);
    }
}

fn bad_verb(out: &mut Capped, v: &Value, verb: char) {
    if matches!(kind(v), GoKind::Nil | GoKind::Missing) {
        let _ = write!(out, "%!{verb}(<nil>)");
        return;
    }
    let _ = write!(out, "%!{verb}({}=", type_name(v));
    write_value(out, v, 'v', &Flags::default(), true);
    out.push(')');
}

/// Formats `v` with `verb` (no width padding at this level; precision applies).
pub fn write_value(out: &mut Capped, v: &Value, verb: char, flags: &Flags, top: bool) {
    match kind(v) {
        GoKind::Missing | GoKind::Nil => {
            if !top || verb == 'v' {
                out.push_str("<nil>")
            } else {
                bad_verb(out, v, verb)
            }
        }
        GoKind::Bool => match verb {
            'v' | 't' => out.push_str(if v.is_true() { "true" } else { "false" }),
            _ => bad_verb(out, v, verb),
        },
        GoKind::Int => write_int(out, v, as_int(v).unwrap_or(0), verb, flags),
        GoKind::Float => write_float_verb(out, v, as_float(v).unwrap_or(0.0), verb, flags),
        GoKind::String => write_string(out, v, v.as_str().unwrap_or(""), verb, flags),
        GoKind::List => {
            if verb == 'v' && flags.sharp {
                out.push_str("[]interface {}{");
                for (i, item) in list_items(v).iter().enumerate() {
                    if out.over() {
                        return;
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_value(out, item, 'v', flags, false);
                }
                out.push('}');
                return;
            }
            out.push('[');
            for (i, item) in list_items(v).iter().enumerate() {
                if out.over() {
                    return;
                }
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item, verb, flags, false);
            }
            out.push(']');
        }
        GoKind::Map => {
            if verb == 'v' && flags.sharp {
                out.push_str("map[string]interface {}{");
                for (i, (k, item)) in map_entries(v).iter().enumerate() {
                    if out.over() {
                        return;
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_value(out, k, 'v', flags, false);
                    out.push(':');
                    write_value(out, item, 'v', flags, false);
                }
                out.push('}');
                return;
            }
            out.push_str("map[");
            for (i, (k, item)) in map_entries(v).iter().enumerate() {
                if out.over() {
                    return;
                }
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, k, verb, flags, false);
                out.push(':');
                write_value(out, item, verb, flags, false);
            }
            out.push(']');
        }
        GoKind::Other => out.push_str(&v.to_string()),
    }
}

fn write_string(out: &mut Capped, v: &Value, s: &str, verb: char, flags: &Flags) {
    let truncated: String;
    let s = match flags.prec {
        Some(p) if matches!(verb, 'v' | 's' | 'q') => {
            truncated = s.chars().take(p).collect();
            truncated.as_str()
        }
        _ => s,
    };
    match verb {
        'v' if flags.sharp => write_quoted(out, s, false),
        'v' | 's' => out.push_str(s),
        'q' => {
            if flags.sharp && can_backquote(s) {
                out.push('`');
                out.push_str(s);
                out.push('`');
            } else {
                write_quoted(out, s, flags.plus);
            }
        }
        'x' | 'X' => {
            let bytes = s.as_bytes();
            for (i, b) in bytes.iter().enumerate() {
                if out.over() {
                    return;
                }
                if flags.space && i > 0 {
                    out.push(' ');
                }
                if flags.sharp && (flags.space || i == 0) {
                    out.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    let _ = write!(out, "{b:02x}");
                } else {
                    let _ = write!(out, "{b:02X}");
                }
            }
        }
        _ => bad_verb(out, v, verb),
    }
}

fn write_int(out: &mut Capped, v: &Value, n: i64, verb: char, flags: &Flags) {
    let sign = if n < 0 {
        "-"
    } else if flags.plus {
        "+"
    } else if flags.space {
        " "
    } else {
        ""
    };
    let mag = n.unsigned_abs();
    let (prefix, digits) = match verb {
        'v' | 'd' => ("", mag.to_string()),
        'b' => ("", format!("{mag:b}")),
        'o' => (if flags.sharp { "0" } else { "" }, format!("{mag:o}")),
        'O' => ("0o", format!("{mag:o}")),
        'x' => (if flags.sharp { "0x" } else { "" }, format!("{mag:x}")),
        'X' => (if flags.sharp { "0X" } else { "" }, format!("{mag:X}")),
        'c' => {
            out.push(char::from_u32(n as u32).unwrap_or('\u{FFFD}'));
            return;
        }
        'q' => {
            let c = char::from_u32(n as u32).unwrap_or('\u{FFFD}');
            out.push_str(&quote_rune(c, flags.plus));
            return;
        }
        'U' => {
            let _ = write!(out, "U+{:04X}", n);
            return;
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            bad_verb(out, v, verb);
            return;
        }
        _ => {
            bad_verb(out, v, verb);
            return;
        }
    };
    let digits = match flags.prec {
        Some(p) if digits.len() < p => format!("{}{}", "0".repeat(clamp_prec(p) - digits.len()), digits),
        Some(0) if mag == 0 => String::new(),
        _ => digits,
    };
    out.push_str(sign);
    out.push_str(prefix);
    out.push_str(&digits);
}

fn write_float_verb(out: &mut Capped, v: &Value, f: f64, verb: char, flags: &Flags) {
    let s = match verb {
        'v' => format_float(f, 'g', flags.prec),
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => format_float(f, verb, flags.prec.or(if matches!(verb, 'g' | 'G') { None } else { Some(6) })),
        _ => {
            bad_verb(out, v, verb);
            return;
        }
    };
    if !s.starts_with('-') && !s.starts_with('+') {
        if flags.plus {
            out.push('+');
        } else if flags.space {
            out.push(' ');
        }
    }
    out.push_str(&s);
}

/// `strconv.FormatFloat(f, verb, prec, 64)`, with `None` for the shortest representation.
pub fn format_float(f: f64, verb: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let upper = verb.is_ascii_uppercase();
    let s = match verb.to_ascii_lowercase() {
        'f' => match prec {
            Some(p) => fixed_exact(f, p),
            None => {
                let (digits, exp) = shortest_digits(f);
                fixed_from_digits(f < 0.0, &digits, exp, None)
            }
        },
        'e' => match prec {
            Some(p) => go_exponent(&exponent_exact(f, p)),
            None => go_exponent(&format!("{f:e}")),
        },
        _ => {
            // %g: %e when the exponent is < -4 or >= the precision (6 for the shortest form).
            let (neg, digits, exp) = match prec {
                None => {
                    let (d, e) = shortest_digits(f);
                    (f < 0.0, d, e)
                }
                Some(p) => {
                    let p = p.max(1);
                    let s = exponent_exact(f.abs(), p - 1);
                    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                    let mut d: String = m.chars().filter(|c| c.is_ascii_digit()).collect();
                    while d.len() > 1 && d.ends_with('0') {
                        d.pop();
                    }
                    (f < 0.0, d, e.parse::<i32>().unwrap_or(0))
                }
            };
            let eprec = match prec {
                None => 6,
                Some(p) => {
                    let p = p.max(1) as i32;
                    let nd = digits.len() as i32;
                    if p > nd && nd > exp {
                        nd
                    } else {
                        p
                    }
                }
            };
            g_from_digits(neg, &digits, exp, eprec)
        }
    };
    if upper {
        s.to_uppercase()
    } else {
        s
    }
}

/// Rust's formatter takes a precision up to 65535 and panics above; Go's goes to a million. An
/// f64's exact decimal expansion has at most 1074 digits after the point and 767 significant
/// ones, so past [`EXACT_DIGITS`] every digit is a zero: formatted with that many, then padded.
const EXACT_DIGITS: usize = 1100;

/// A precision past the largest result a template may make only makes a result that is refused:
/// no more zeros than that are ever written.
fn clamp_prec(p: usize) -> usize {
    p.min(super::budget::MAX_RESULT_BYTES + 1)
}

/// `{f:.p$}` for any precision.
fn fixed_exact(f: f64, p: usize) -> String {
    let p = clamp_prec(p);
    if p <= EXACT_DIGITS {
        return format!("{f:.p$}");
    }
    let mut s = format!("{f:.EXACT_DIGITS$}");
    s.push_str(&"0".repeat(p - EXACT_DIGITS));
    s
}

/// `{f:.p$e}` for any precision.
fn exponent_exact(f: f64, p: usize) -> String {
    let p = clamp_prec(p);
    if p <= EXACT_DIGITS {
        return format!("{f:.p$e}");
    }
    let s = format!("{f:.EXACT_DIGITS$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    format!("{m}{}e{e}", "0".repeat(p - EXACT_DIGITS))
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`: `f` rounded to float32, its shortest digits, `%e` form
/// when the exponent is below -4 or at least 6 (go-yaml's encoder printed floats so).
pub fn format_float_g32(f: f64) -> String {
    let x = f as f32;
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let s = format!("{:e}", x.abs());
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = m.chars().filter(|c| c.is_ascii_digit()).collect();
    let exp: i32 = e.parse().unwrap_or(0);
    g_from_digits(x.is_sign_negative(), &digits, exp, 6)
}

/// `%g` from the digits and decimal exponent: `%e` when the exponent is below -4 or at least
/// `eprec`, `%f` otherwise.
fn g_from_digits(neg: bool, digits: &str, exp: i32, eprec: i32) -> String {
    if exp < -4 || exp >= eprec {
        let mut m = String::new();
        if neg {
            m.push('-');
        }
        m.push_str(&digits[..1]);
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let _ = write!(m, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
        m
    } else {
        fixed_from_digits(neg, digits, exp, None)
    }
}

/// The shortest round-tripping decimal digits of |f| and its decimal exponent.
fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = m.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, e.parse().unwrap_or(0))
}

fn fixed_from_digits(neg: bool, digits: &str, exp: i32, _prec: Option<usize>) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if exp < 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat('0').take((-exp - 1) as usize));
        s.push_str(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            s.push_str(digits);
            s.extend(std::iter::repeat('0').take(int_len - digits.len()));
        } else {
            s.push_str(&digits[..int_len]);
            s.push('.');
            s.push_str(&digits[int_len..]);
        }
    }
    s
}

/// Rust's `1.5e6` to Go's `1.5e+06`.
fn go_exponent(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) => {
            let n: i32 = e.parse().unwrap_or(0);
            format!("{m}e{}{:02}", if n < 0 { '-' } else { '+' }, n.abs())
        }
        None => s.to_string(),
    }
}

/// `strconv.Quote` (or `QuoteToASCII` with `ascii_only`), for messages: a long string is cut
/// after a few kilobytes, with `...`.
pub fn quote(s: &str, ascii_only: bool) -> String {
    let mut out = Capped::new(4096);
    write_quoted(&mut out, s, ascii_only);
    let over = out.over();
    let mut text = out.into_string();
    if over {
        text.push_str("...");
    }
    text
}

/// [`quote`] into `out`, a character at a time: the quoted text may be several times `s`.
pub fn write_quoted(out: &mut Capped, s: &str, ascii_only: bool) {
    out.push('"');
    let mut rune = String::new();
    for c in s.chars() {
        if out.over() {
            return;
        }
        rune.clear();
        crate::golang::escape_rune(&mut rune, c, '"', ascii_only);
        out.push_str(&rune);
    }
    out.push('"');
}

fn quote_rune(c: char, ascii_only: bool) -> String {
    let mut out = String::from("'");
    crate::golang::escape_rune(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

fn can_backquote(s: &str) -> bool {
    s.chars().all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(format_float(1.5, 'g', None), "1.5");
        assert_eq!(format_float(1000000.0, 'g', None), "1e+06");
        assert_eq!(format_float(123456.0, 'g', None), "123456");
        assert_eq!(format_float(0.0001, 'g', None), "0.0001");
        assert_eq!(format_float(0.00001, 'g', None), "1e-05");
        assert_eq!(format_float(3.0, 'g', None), "3");
        assert_eq!(format_float(-2.5, 'g', None), "-2.5");
        assert_eq!(format_float(1.23456, 'f', Some(2)), "1.23");
        assert_eq!(format_float(1234.5678, 'e', Some(2)), "1.23e+03");
        assert_eq!(format_float(1234.5678, 'g', Some(3)), "1.23e+03");
        assert_eq!(format_float(0.0, 'g', None), "0");
    }

    /// `%q` quotes as Go's `strconv` does, with Go's idea of printable: private-use, unassigned
    /// and format characters are escaped, `%+q` escapes everything outside ASCII.
    #[test]
    fn q_quotes_as_go_does() {
        let q = |s: &str, ascii_only: bool| quote(s, ascii_only);
        assert_eq!(q("\u{e000}\u{ad}\u{378}é", false), r#""\ue000\u00ad\u0378é""#);
        assert_eq!(q("é\u{1F600}", true), r#""\u00e9\U0001f600""#);
        assert_eq!(quote_rune('\'', false), r"'\''");
        assert_eq!(quote_rune('"', false), "'\"'");
    }

    #[test]
    fn printf_verbs() {
        let sprintf = |format: &str, args: &[Value]| {
            let mut out = Capped::unlimited();
            super::sprintf(&mut out, format, args);
            out.into_string()
        };
        let s = |x: &str| Value::from(x);
        assert_eq!(sprintf("%s-%d", &[s("a"), Value::from(3)]), "a-3");
        assert_eq!(sprintf("%q", &[s("a\"b\n")]), "\"a\\\"b\\n\"");
        assert_eq!(sprintf("%d", &[s("x")]), "%!d(string=x)");
        assert_eq!(sprintf("%s %s", &[s("x")]), "x %!s(MISSING)");
        assert_eq!(sprintf("%s", &[s("x"), Value::from(1)]), "x%!(EXTRA int=1)");
        assert_eq!(sprintf("%5s|%-5s|%05d", &[s("ab"), s("cd"), Value::from(-42)]), "   ab|cd   |-0042");
        assert_eq!(sprintf("%x %X %o %b", &[Value::from(255), Value::from(255), Value::from(8), Value::from(5)]), "ff FF 10 101");
        assert_eq!(sprintf("%v", &[Value::from(vec![Value::from(1), Value::from("a")])]), "[1 a]");
        assert_eq!(sprintf("%.2f%%", &[Value::from(12.345)]), "12.35%");
        assert_eq!(sprintf("%t", &[Value::from(true)]), "true");
        assert_eq!(sprintf("%v", &[Value::from(())]), "<nil>");
        assert_eq!(sprintf("%s", &[Value::from(())]), "%!s(<nil>)");
        assert_eq!(sprintf("%c%q", &[Value::from(65), Value::from(66)]), "A'B'");
        assert_eq!(sprintf("%T %T", &[Value::from(1), s("")]), "int string");
    }

    #[test]
    fn widths_and_precisions_up_to_go_s_million_never_panic() {
        let sprintf = |format: &str, args: &[Value]| {
            let mut out = Capped::unlimited();
            super::sprintf(&mut out, format, args);
            out.into_string()
        };
        let x = Value::from(1.5);
        // Past 65535 Rust's own formatter panics; Go prints every digit (zeros past the exact ones).
        let f = sprintf("%.65536f", std::slice::from_ref(&x));
        assert_eq!(f.len(), 2 + 65536);
        assert!(f.starts_with("1.5000") && f.ends_with("000"));
        for verb in ['e', 'E', 'g', 'G', 'v', 'F'] {
            let out = sprintf(&format!("%.65536{verb}"), std::slice::from_ref(&x));
            assert!(out.starts_with("1.5"), "{verb}: {}", &out[..20.min(out.len())]);
        }
        let e = sprintf("%.70000e", &[Value::from(0.1)]);
        assert!(e.starts_with("1.000000000000000055511151231257827") && e.ends_with("e-01") && e.len() == 2 + 70000 + 4, "{}", e.len());
        assert_eq!(sprintf("%.3000g", &[Value::from(0.5)]), "0.5");
        assert_eq!(sprintf("%70000d|", &[Value::from(1)]).len(), 70001);
        assert_eq!(sprintf("%.70000d", &[Value::from(7)]).len(), 70000);
        assert_eq!(sprintf("%.70000s|", &[s_("ab")]), "ab|");
        // A number that passes a million before its last digit: Go gives up on the format.
        assert_eq!(sprintf("a%.100000000fb", std::slice::from_ref(&x)), "a%!(NOVERB)%!(EXTRA float64=1.5)");
        assert_eq!(sprintf("a%100000000d", &[Value::from(1)]), "a%!(NOVERB)%!(EXTRA int=1)");
        assert_eq!(sprintf("%*d", &[Value::from(2_000_000), Value::from(1)]), "%!(BADWIDTH)1");
        assert_eq!(sprintf("%.*f", &[Value::from(2_000_000), Value::from(1.5)]), "%!(BADPREC)1.500000");
    }

    fn s_(x: &str) -> Value {
        Value::from(x)
    }

    #[test]
    fn sprint_spaces_only_between_non_strings() {
        let sprint = |args: &[Value]| {
            let mut out = Capped::unlimited();
            super::sprint(&mut out, args);
            out.into_string()
        };
        let sprintln = |args: &[Value]| {
            let mut out = Capped::unlimited();
            super::sprintln(&mut out, args);
            out.into_string()
        };
        assert_eq!(sprint(&[Value::from(1), Value::from(2)]), "1 2");
        assert_eq!(sprint(&[Value::from("a"), Value::from(1), Value::from("b")]), "a1b");
        assert_eq!(sprintln(&[Value::from("a"), Value::from("b")]), "a b\n");
    }
}
