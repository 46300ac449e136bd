//! YAML in and out, the way Rocker's go-yaml v2 did it.
//!
//! In: yaml-rust2's event parser, with plain scalars resolved by YAML 1.1 rules as go-yaml v2
//! does (`yes`/`no`/`on`/`off` are booleans, `0755` is octal, `~` is null), anchors, aliases
//! and `<<` merge keys. Map keys become strings.
//!
//! Out (the `yaml` helper): go-yaml v2's `Marshal` as Rocker vendored it (revision 7ad95dd, June
//! 2015): its encoder's choice of style per value, and a port of the part of its libyaml
//! emitter that writes block mappings, block sequences and scalars (indentation, `? ` keys,
//! line folding at 80 columns, quoting and escapes). A string is double-quoted exactly when
//! go-yaml's `resolve` reads it back as something else, or it looks like a YAML 1.1 base-60
//! number (`1:30`); the emitter then picks single or double quotes where a plain scalar would
//! not read back. Floats are printed as go-yaml did then, with float32 precision.

use super::value::{as_float, kind, list_items, map_entries, GoKind};
use minijinja::value::Value;
use std::collections::{BTreeMap, HashMap};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A YAML error with its 1-based line and column.
#[derive(Debug)]
pub struct YamlError {
    pub message: String,
    pub line: usize,
    pub col: usize,
    /// The text is valid YAML, but its aliases expand to more than [`MAX_EXPANDED_BYTES`].
    pub too_large: bool,
}

/// How large a document may be with every alias expanded, counted as its JSON text would be.
/// An alias shares its anchor's value rather than copying it, but helpers that print the value
/// (`json`, `yaml`, `printf "%v"`) walk every copy: ten nested levels of ten aliases each are a
/// billion values ("billion laughs"), from a file of a few hundred bytes.
pub const MAX_EXPANDED_BYTES: u64 = super::MAX_RENDERED_BYTES as u64;

/// Parses the first document of `text` (an empty document is `none`).
pub fn parse(text: &str) -> Result<Value, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| YamlError {
        message: e.info().to_string(),
        line: e.marker().line(),
        col: e.marker().col() + 1,
        too_large: false,
    })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.root.unwrap_or(Value::from(())))
}

/// A collection being read: its items, its anchor, and its size with aliases expanded.
enum Frame {
    Seq(Vec<Value>, usize, u64),
    Map(BTreeMap<String, Value>, Option<(Value, bool)>, usize, u64),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Each anchor's value and its expanded size.
    anchors: HashMap<usize, (Value, u64)>,
    root: Option<Value>,
    error: Option<YamlError>,
}

impl Builder {
    /// Adds `value` (of expanded size `size`) to the collection being read.
    fn insert(&mut self, value: Value, size: u64, anchor: usize, is_merge_key: bool, mark: Marker) {
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), size));
        }
        let total = match self.stack.last_mut() {
            None => size,
            Some(Frame::Seq(_, _, total) | Frame::Map(_, _, _, total)) => {
                // A separator, and a key's quotes and colon.
                *total = total.saturating_add(size).saturating_add(2);
                *total
            }
        };
        if total > MAX_EXPANDED_BYTES {
            self.error = Some(YamlError {
                message: format!("with its aliases expanded, the document would hold more than {} MiB", MAX_EXPANDED_BYTES >> 20),
                line: mark.line(),
                col: mark.col() + 1,
                too_large: true,
            });
            return;
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
            }
            Some(Frame::Seq(items, _, _)) => items.push(value),
            Some(Frame::Map(map, key, _, _)) => match key.take() {
                None => *key = Some((value, is_merge_key)),
                Some((_, true)) => {
                    // `<<: *base` or `<<: [*a, *b]`: copy entries not set explicitly.
                    let sources = if kind(&value) == GoKind::List { list_items(&value) } else { vec![value] };
                    for source in sources {
                        for (k, v) in map_entries(&source) {
                            map.entry(key_string(&k)).or_insert(v);
                        }
                    }
                }
                Some((k, false)) => {
                    map.insert(key_string(&k), value);
                }
            },
        }
    }
}

fn key_string(k: &Value) -> String {
    match kind(k) {
        GoKind::String => k.as_str().unwrap_or("").to_string(),
        GoKind::Nil => "null".to_string(),
        _ => super::value::to_go_string(k),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let is_key = matches!(self.stack.last(), Some(Frame::Map(_, None, _, _)));
                let is_merge = is_key && style == TScalarStyle::Plain && text == "<<";
                // Keys stay text: `y: 1` names "y", though YAML 1.1 would read a boolean.
                let size = text.len() as u64 + 2;
                let value = if is_key { Value::from(text) } else { resolve_scalar(&text, style, tag.as_ref()) };
                self.insert(value, size, anchor, is_merge, mark);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(Vec::new(), anchor, 2)),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map(BTreeMap::new(), None, anchor, 2)),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(items, anchor, size)) => self.insert(Value::from(items), size, anchor, false, mark),
                Some(Frame::Map(map, _, anchor, size)) => self.insert(Value::from(map), size, anchor, false, mark),
                None => {}
            },
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some((v, size)) => self.insert(v, size, 0, false, mark),
                None => self.error = Some(YamlError { message: "unknown anchor".into(), line: mark.line(), col: mark.col() + 1, too_large: false }),
            },
            _ => {}
        }
    }
}

/// What a plain scalar means to go-yaml v2 (its `resolve` with no tag).
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str,
}

/// go-yaml v2's `resolve("", text)`, as vendored by Rocker, on a current Go `strconv`: the first
/// byte hints at the type (`yYnNtTfFoO~` a word of the table below, a digit or sign a number, `.`
/// a float); a number is what `ParseInt(s, 0, 64)`, `ParseUint` or `ParseFloat` accept after
/// dropping underscores, or `0b`/`-0b` binary. Timestamps and base-60 numbers stay strings.
pub fn resolve(text: &str) -> Resolved {
    let hint = match text.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => return Resolved::Str,
    };
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Resolved::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return Resolved::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match hint {
        b'.' => {
            if let Some(f) = go_parse_float(text) {
                return Resolved::Float(f);
            }
        }
        b'D' | b'S' => {
            let plain = text.replace('_', "");
            if let Some(i) = go_parse_int(&plain) {
                return Resolved::Int(i);
            }
            if let Some(u) = go_parse_uint(&plain) {
                return Resolved::Uint(u);
            }
            if let Some(f) = go_parse_float(&plain) {
                return Resolved::Float(f);
            }
            // A current ParseInt takes `0b101` and `-0b101` itself; what is left overflows.
        }
        _ => {}
    }
    Resolved::Str
}

/// The digits of an integer in Go's base-0 syntax (`0x`, `0o`, `0b`, a leading `0` for octal):
/// the radix and the digits, or `None`.
fn go_int_digits(body: &str) -> Option<(u32, &str)> {
    let b = body.as_bytes();
    let (radix, digits) = if b.len() >= 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => (16, &body[2..]),
            b'o' | b'O' => (8, &body[2..]),
            b'b' | b'B' => (2, &body[2..]),
            _ => (8, &body[1..]),
        }
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some((radix, digits))
}

/// `strconv.ParseInt(s, 0, 64)` (no underscores left).
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = go_int_digits(body)?;
    let v = u128::from_str_radix(digits, radix).ok()?;
    let v = i128::try_from(v).ok()?;
    i64::try_from(if neg { -v } else { v }).ok()
}

/// `strconv.ParseUint(s, 0, 64)`: no sign.
fn go_parse_uint(s: &str) -> Option<u64> {
    let (radix, digits) = go_int_digits(s)?;
    u64::try_from(u128::from_str_radix(digits, radix).ok()?).ok()
}

/// Go's `underscoreOK`: underscores only between digits, or between a base prefix and a digit.
fn underscore_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseFloat(s, 64)`: `None` where Go returns an error (bad syntax, or out of range).
pub fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    // Infinity and NaN, spelled as Go spells them, and only as the whole string.
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let negative = s.starts_with('-');
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return Some(if negative { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if s.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let hex = i + 2 < b.len() && b[i] == b'0' && b[i + 1].eq_ignore_ascii_case(&b'x');
    if hex {
        i += 2;
    }
    let (mut digits, mut dot, mut underscores) = (0, false, false);
    while i < b.len() {
        match b[i] {
            b'_' => underscores = true,
            b'.' if !dot => dot = true,
            c if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() => digits += 1,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let exp_char = if hex { b'p' } else { b'e' };
    if i < b.len() && b[i].to_ascii_lowercase() == exp_char {
        i += 1;
        if i < b.len() && matches!(b[i], b'+' | b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            underscores |= b[i] == b'_';
            i += 1;
        }
        if i == start {
            return None;
        }
    } else if hex {
        return None;
    }
    if i != b.len() || underscores && !underscore_ok(s) {
        return None;
    }
    let clean = s.replace('_', "");
    let value = if hex { hex_float(&clean)? } else { clean.parse::<f64>().ok()? };
    // Go: out of range is an error (ErrRange), not infinity.
    value.is_finite().then_some(value)
}

/// The value of a hexadecimal float (`0x1.8p3`), already checked by [`go_parse_float`].
fn hex_float(s: &str) -> Option<f64> {
    let negative = s.starts_with('-');
    let s = s.trim_start_matches(['+', '-']);
    let (mantissa, exp) = s[2..].split_once(['p', 'P'])?;
    let mut value = 0f64;
    let mut scale = 0i32;
    let mut after_dot = false;
    for c in mantissa.chars() {
        if c == '.' {
            after_dot = true;
            continue;
        }
        value = value * 16.0 + f64::from(c.to_digit(16)?);
        if after_dot {
            scale -= 4;
        }
    }
    let exp: i32 = exp.parse().ok()?;
    let v = value * 2f64.powi(exp.saturating_add(scale));
    Some(if negative { -v } else { v })
}

/// go-yaml v2's `resolve` for one scalar of a vars file.
fn resolve_scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag {
        match tag.suffix.as_str() {
            "str" => return Value::from(text),
            "int" | "float" | "bool" | "null" => {}
            _ => return Value::from(text),
        }
    }
    if style != TScalarStyle::Plain && tag.is_none() {
        return Value::from(text);
    }
    match resolve(text) {
        Resolved::Null => Value::from(()),
        Resolved::Bool(b) => Value::from(b),
        Resolved::Int(i) => Value::from(i),
        Resolved::Uint(u) => Value::from(u),
        Resolved::Float(f) => Value::from(f),
        Resolved::Str => Value::from(text),
    }
}

/// go-yaml's `isBase60Float`: strings YAML 1.1 reads as numbers in base 60 (`1:30`, `-1:30`,
/// `190:20:30.15`). go-yaml reads them as strings but quotes them on the way out, for other
/// parsers. `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
pub fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // `[0-5]?[0-9]`: one digit, or two with the first 0-5.
        match (b.get(i), b.get(i + 1)) {
            (Some(b'0'..=b'5'), Some(d)) if d.is_ascii_digit() => i += 2,
            (Some(d), _) if d.is_ascii_digit() => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// The `yaml` helper: go-yaml v2's `Marshal`, ending in a newline; `None` when the text would be
/// longer than `limit` bytes. The value is copied into nodes first, and a value may share one
/// large string many times over: the copy stops once its text alone is over the limit.
pub fn to_yaml(v: &Value, limit: usize) -> Option<String> {
    let mut room = limit;
    let node = Node::of(v, &mut room)?;
    let mut e =
        Emitter { out: String::new(), column: 0, indent: -1, indents: Vec::new(), whitespace: true, indention: true, flow_level: 0, cx: Context::default() };
    e.node(&node, Context::default());
    // DOCUMENT-END (implicit): a line break after the content.
    e.write_indent();
    (e.out.len() <= limit).then_some(e.out)
}

/// A value as go-yaml's encoder hands it to the emitter.
enum Node {
    Scalar { text: String, style: Style },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

impl Node {
    /// The node of `v`, each scalar's text taken from `room` (at least a byte each, for the line
    /// it takes); `None` once there is no room left.
    fn of(v: &Value, room: &mut usize) -> Option<Node> {
        let plain = |text: String| Node::Scalar { text, style: Style::Plain };
        *room = room.checked_sub(1)?;
        if let Some(text) = v.as_str() {
            *room = room.checked_sub(text.len())?;
        }
        Some(match kind(v) {
            GoKind::Missing | GoKind::Nil => plain("null".into()),
            GoKind::Bool => plain(if v.is_true() { "true" } else { "false" }.into()),
            GoKind::Int => plain(v.to_string()),
            GoKind::Float => plain(match as_float(v).unwrap_or(0.0) {
                f if f.is_nan() => ".nan".into(),
                f if f.is_infinite() => if f > 0.0 { ".inf" } else { "-.inf" }.into(),
                // go-yaml's encoder then: `FormatFloat(f, 'g', -1, 32)`, float32 precision.
                f => match super::gofmt::format_float_g32(f) {
                    s if s == "+Inf" => ".inf".into(),
                    s if s == "-Inf" => "-.inf".into(),
                    s => s,
                },
            }),
            GoKind::List => Node::Seq(list_items(v).iter().map(|item| Node::of(item, room)).collect::<Option<_>>()?),
            GoKind::Map => {
                let mut entries = map_entries(v);
                entries.sort_by(|(a, _), (b, _)| key_order(a, b));
                Node::Map(entries.iter().map(|(k, val)| Some((Node::of(k, room)?, Node::of(val, room)?))).collect::<Option<_>>()?)
            }
            GoKind::String | GoKind::Other => {
                let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                // go-yaml's `stringv`: double quotes where a plain scalar would read back as
                // something else, a literal block for several lines, else plain.
                let style = if resolve(&text) != Resolved::Str || is_base60_float(&text) {
                    Style::DoubleQuoted
                } else if text.contains('\n') {
                    Style::Literal
                } else {
                    Style::Plain
                };
                Node::Scalar { text, style }
            }
        })
    }
}

/// go-yaml's `keyList.Less`: numbers (and bools) first, by value; strings in "natural" order, a
/// run of digits compared as a number and a letter after anything else.
fn key_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let number = |v: &Value| match kind(v) {
        GoKind::Int | GoKind::Float => as_float(v),
        GoKind::Bool => Some(if v.is_true() { 1.0 } else { 0.0 }),
        _ => None,
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => return x.total_cmp(&y),
        (Some(_), None) => return Ordering::Less,
        (None, Some(_)) => return Ordering::Greater,
        _ => {}
    }
    let (Some(a), Some(b)) = (a.as_str(), b.as_str()) else { return a.to_string().cmp(&b.to_string()) };
    let less = |x: &[char], y: &[char]| -> bool {
        for i in 0..x.len().min(y.len()) {
            if x[i] == y[i] {
                continue;
            }
            let (xl, yl) = (is_letter(x[i]), is_letter(y[i]));
            if xl && yl {
                return x[i] < y[i];
            }
            if xl || yl {
                return yl;
            }
            let run = |z: &[char]| {
                let mut n: i64 = 0;
                let mut j = i;
                while j < z.len() && is_digit(z[j]) {
                    n = n.wrapping_mul(10).wrapping_add(i64::from(z[j].to_digit(10).unwrap_or(0)));
                    j += 1;
                }
                (n, j)
            };
            let ((xn, xi), (yn, yi)) = (run(x), run(y));
            if xn != yn {
                return xn < yn;
            }
            if xi != yi {
                return xi < yi;
            }
            return x[i] < y[i];
        }
        x.len() < y.len()
    };
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if less(&x, &y) {
        Ordering::Less
    } else if less(&y, &x) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn is_letter(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory as Gc};
    matches!(get_general_category(c), Gc::UppercaseLetter | Gc::LowercaseLetter | Gc::TitlecaseLetter | Gc::ModifierLetter | Gc::OtherLetter)
}

fn is_digit(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory};
    get_general_category(c) == GeneralCategory::DecimalNumber
}

const BEST_INDENT: i32 = 2;
const BEST_WIDTH: usize = 80;

/// Where a node is written: libyaml's context flags.
#[derive(Clone, Copy, Default)]
struct Context {
    mapping: bool,
    simple_key: bool,
}

/// libyaml's emitter, as go-yaml ported it, for the events go-yaml's encoder sends: block
/// mappings and sequences (empty ones in flow style) and untagged scalars.
struct Emitter {
    out: String,
    /// Characters on the current line.
    column: usize,
    indent: i32,
    indents: Vec<i32>,
    /// The last character written was whitespace (or nothing was written on the line).
    whitespace: bool,
    /// Only indentation so far on the line.
    indention: bool,
    flow_level: usize,
    cx: Context,
}

/// What libyaml's `analyze_scalar` finds out about a scalar.
struct ScalarData {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// Byte `i` of `v`, or 0 past its end (libyaml's strings end in NUL).
fn at(v: &[u8], i: usize) -> u8 {
    v.get(i).copied().unwrap_or(0)
}

fn width(b: u8) -> usize {
    if b & 0x80 == 0 {
        1
    } else if b & 0xE0 == 0xC0 {
        2
    } else if b & 0xF0 == 0xE0 {
        3
    } else if b & 0xF8 == 0xF0 {
        4
    } else {
        0
    }
}

fn is_space(v: &[u8], i: usize) -> bool {
    at(v, i) == b' '
}

fn is_blank(v: &[u8], i: usize) -> bool {
    matches!(at(v, i), b' ' | b'\t')
}

fn is_break(v: &[u8], i: usize) -> bool {
    let c = at(v, i);
    c == b'\r' || c == b'\n' || c == 0xC2 && at(v, i + 1) == 0x85 || c == 0xE2 && at(v, i + 1) == 0x80 && matches!(at(v, i + 2), 0xA8 | 0xA9)
}

fn is_blankz(v: &[u8], i: usize) -> bool {
    is_blank(v, i) || is_break(v, i) || at(v, i) == 0
}

fn is_bom(v: &[u8], i: usize) -> bool {
    at(v, i) == 0xEF && at(v, i + 1) == 0xBB && at(v, i + 2) == 0xBF
}

/// libyaml's `is_printable`, byte by byte: characters outside the Basic Multilingual Plane
/// (emoji) are not, and neither is a tab.
fn is_printable(v: &[u8], i: usize) -> bool {
    let (c, n, n2) = (at(v, i), at(v, i + 1), at(v, i + 2));
    c == 0x0A
        || (0x20..=0x7E).contains(&c)
        || c == 0xC2 && n >= 0xA0
        || c > 0xC2 && c < 0xED
        || c == 0xED && n < 0xA0
        || c == 0xEE
        || c == 0xEF && !(n == 0xBB && n2 == 0xBF) && !(n == 0xBF && matches!(n2, 0xBE | 0xBF))
}

fn analyze(value: &str) -> ScalarData {
    let v = value.as_bytes();
    if v.is_empty() {
        return ScalarData { multiline: false, flow_plain_allowed: false, block_plain_allowed: true, single_quoted_allowed: true, block_allowed: false };
    }
    let (mut block_indicators, mut flow_indicators, mut line_breaks, mut special_characters) = (false, false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break, mut previous_space, mut previous_break) = (false, false, false, false);
    if v.starts_with(b"---") || v.starts_with(b"...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    // go-yaml's port steps by the width of the *first* character throughout (fixed upstream in
    // 2016, after Rocker's revision): after an ASCII first character, the bytes inside a
    // multi-byte character are looked at one by one and are not printable, so such a string is
    // double-quoted.
    let w = width(v[0]).max(1);
    let mut i = 0;
    while i < v.len() {
        let followed_by_whitespace = i + w >= v.len() || is_blank(v, i + w);
        if i == 0 {
            match v[i] {
                b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                b'?' | b':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                b'-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match v[i] {
                b',' | b'?' | b'[' | b']' | b'{' | b'}' => flow_indicators = true,
                b':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                b'#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(v, i) {
            special_characters = true;
        }
        if is_space(v, i) {
            if i == 0 {
                leading_space = true;
            }
            if i + width(v[i]) == v.len() {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(v, i) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + width(v[i]) == v.len() {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blankz(v, i);
        i += w;
    }
    let mut d = ScalarData { multiline: line_breaks, flow_plain_allowed: true, block_plain_allowed: true, single_quoted_allowed: true, block_allowed: true };
    if leading_space || leading_break || trailing_space || trailing_break {
        d.flow_plain_allowed = false;
        d.block_plain_allowed = false;
    }
    if trailing_space {
        d.block_allowed = false;
    }
    if break_space {
        d.flow_plain_allowed = false;
        d.block_plain_allowed = false;
        d.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        d.flow_plain_allowed = false;
        d.block_plain_allowed = false;
        d.single_quoted_allowed = false;
        d.block_allowed = false;
    }
    if line_breaks {
        d.flow_plain_allowed = false;
        d.block_plain_allowed = false;
    }
    if flow_indicators {
        d.flow_plain_allowed = false;
    }
    if block_indicators {
        d.block_plain_allowed = false;
    }
    d
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Copies the character at byte `i` of `v` (libyaml's `write`) and returns its width.
    fn write(&mut self, v: &str, i: usize) -> usize {
        let w = width(v.as_bytes()[i]).max(1);
        self.out.push_str(&v[i..i + w]);
        self.column += 1;
        w
    }

    /// Copies the line break at byte `i` (libyaml's `write_break`).
    fn write_break(&mut self, v: &str, i: usize) -> usize {
        if v.as_bytes()[i] == b'\n' {
            self.put_break();
            1
        } else {
            let w = self.write(v, i);
            self.column = 0;
            w
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || self.column == indent && !self.whitespace {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, indicator: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.out.push_str(indicator);
        self.column += indicator.chars().count();
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn node(&mut self, node: &Node, cx: Context) {
        self.cx = cx;
        match node {
            Node::Scalar { text, style } => self.scalar(text, *style),
            Node::Seq(items) if items.is_empty() || self.flow_level > 0 => self.flow_empty("[", "]"),
            Node::Map(pairs) if pairs.is_empty() || self.flow_level > 0 => self.flow_empty("{", "}"),
            Node::Seq(items) => {
                let indentless = self.cx.mapping && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, Context::default());
                }
                self.pop_indent();
            }
            Node::Map(pairs) => {
                self.increase_indent(false, false);
                let value_cx = Context { mapping: true, simple_key: false };
                for (key, value) in pairs {
                    self.write_indent();
                    if is_simple_key(key) {
                        self.node(key, Context { mapping: true, simple_key: true });
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.node(key, value_cx);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(value, value_cx);
                }
                self.pop_indent();
            }
        }
    }

    /// An empty sequence or mapping: `[]`, `{}`.
    fn flow_empty(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    fn scalar(&mut self, text: &str, requested: Style) {
        let d = analyze(text);
        // libyaml's `select_scalar_style`.
        let mut style = requested;
        if self.cx.simple_key && d.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain
            && (self.flow_level > 0 && !d.flow_plain_allowed
                || self.flow_level == 0 && !d.block_plain_allowed
                || text.is_empty() && (self.flow_level > 0 || self.cx.simple_key))
        {
            style = Style::SingleQuoted;
        }
        if style == Style::SingleQuoted && !d.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!d.block_allowed || self.flow_level > 0 || self.cx.simple_key) {
            style = Style::DoubleQuoted;
        }
        self.increase_indent(true, false);
        let allow_breaks = !self.cx.simple_key;
        match style {
            Style::Plain => self.plain(text, allow_breaks),
            Style::SingleQuoted => self.single_quoted(text, allow_breaks),
            Style::DoubleQuoted => self.double_quoted(text, allow_breaks),
            Style::Literal => self.literal(text),
        }
        self.pop_indent();
    }

    fn plain(&mut self, text: &str, allow_breaks: bool) {
        let v = text.as_bytes();
        if !self.whitespace {
            self.put(' ');
        }
        let (mut spaces, mut breaks) = (false, false);
        let mut i = 0;
        while i < v.len() {
            if is_space(v, i) {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !is_space(v, i + 1) {
                    self.write_indent();
                    i += 1;
                } else {
                    i += self.write(text, i);
                }
                spaces = true;
            } else if is_break(v, i) {
                if !breaks && v[i] == b'\n' {
                    self.put_break();
                }
                i += self.write_break(text, i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                i += self.write(text, i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn single_quoted(&mut self, text: &str, allow_breaks: bool) {
        let v = text.as_bytes();
        self.write_indicator("'", true, false, false);
        let (mut spaces, mut breaks) = (false, false);
        let mut i = 0;
        while i < v.len() {
            if is_space(v, i) {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i < v.len() - 1 && !is_space(v, i + 1) {
                    self.write_indent();
                    i += 1;
                } else {
                    i += self.write(text, i);
                }
                spaces = true;
            } else if is_break(v, i) {
                if !breaks && v[i] == b'\n' {
                    self.put_break();
                }
                i += self.write_break(text, i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if v[i] == b'\'' {
                    self.put('\'');
                }
                i += self.write(text, i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn double_quoted(&mut self, text: &str, allow_breaks: bool) {
        let v = text.as_bytes();
        self.write_indicator("\"", true, false, false);
        let mut spaces = false;
        let mut i = 0;
        while i < v.len() {
            if !is_printable(v, i) || is_bom(v, i) || is_break(v, i) || v[i] == b'"' || v[i] == b'\\' {
                let c = text[i..].chars().next().unwrap_or('\0');
                i += c.len_utf8();
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\x07' => self.put('a'),
                    '\x08' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\x0b' => self.put('v'),
                    '\x0c' => self.put('f'),
                    '\r' => self.put('r'),
                    '\x1b' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{A0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    c => {
                        let n = u32::from(c);
                        let (letter, digits) = if n <= 0xFF {
                            ('x', 2)
                        } else if n <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for ch in format!("{n:0digits$X}").chars() {
                            self.put(ch);
                        }
                    }
                }
                spaces = false;
            } else if is_space(v, i) {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i < v.len() - 1 {
                    self.write_indent();
                    if is_space(v, i + 1) {
                        self.put('\\');
                    }
                    i += 1;
                } else {
                    i += self.write(text, i);
                }
                spaces = true;
            } else {
                i += self.write(text, i);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn literal(&mut self, text: &str) {
        let v = text.as_bytes();
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation indicator when the text starts with a space or a
        // line break, and the chomping: `-` without a final line break, `+` with two or more.
        if is_space(v, 0) || is_break(v, 0) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let chomp = if v.is_empty() {
            Some("-")
        } else {
            let mut i = v.len() - 1;
            while i > 0 && v[i] & 0xC0 == 0x80 {
                i -= 1;
            }
            if !is_break(v, i) {
                Some("-")
            } else if i == 0 {
                Some("+")
            } else {
                i -= 1;
                while i > 0 && v[i] & 0xC0 == 0x80 {
                    i -= 1;
                }
                is_break(v, i).then_some("+")
            }
        };
        if let Some(c) = chomp {
            self.write_indicator(c, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        let mut i = 0;
        while i < v.len() {
            if is_break(v, i) {
                i += self.write_break(text, i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                i += self.write(text, i);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// libyaml's `check_simple_key` for a mapping key: a scalar on one line of at most 128 bytes, or
/// an empty collection; otherwise the key is written after `? `.
fn is_simple_key(key: &Node) -> bool {
    match key {
        Node::Scalar { text, .. } => !analyze(text).multiline && text.len() <= 128,
        Node::Seq(items) => items.is_empty(),
        Node::Map(pairs) => pairs.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::value::as_int;
    use super::*;

    fn to_yaml(v: &Value) -> String {
        super::to_yaml(v, usize::MAX).unwrap()
    }

    #[test]
    fn resolves_yaml_1_1_scalars() {
        let v = parse("a: yes\nb: 0755\nc: '0755'\nd: ~\ne: 1.5\nf: 1e3\ng: [1, two]\nh: on\ni: 0x1F\n").unwrap();
        let get = |k: &str| super::super::value::map_get(&v, k).unwrap();
        assert!(get("a").is_true() && kind(&get("a")) == GoKind::Bool);
        assert_eq!(as_int(&get("b")), Some(493));
        assert_eq!(get("c").as_str(), Some("0755"));
        assert!(get("d").is_none());
        assert_eq!(kind(&get("e")), GoKind::Float);
        assert_eq!(kind(&get("f")), GoKind::Float);
        assert_eq!(list_items(&get("g")).len(), 2);
        assert_eq!(kind(&get("h")), GoKind::Bool);
        assert_eq!(as_int(&get("i")), Some(31));
    }

    #[test]
    fn merge_keys_and_aliases() {
        let v = parse("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n").unwrap();
        let d = super::super::value::map_get(&v, "d").unwrap();
        assert_eq!(super::super::value::to_go_string(&d), "map[x:1 y:3]");
    }

    /// Every YAML 1.1 implicit type, as go-yaml v2 (Rocker's revision) marshals the string:
    /// double-quoted exactly where its `resolve` reads something else back or the string is a
    /// base-60 number, plain otherwise (timestamps included: that go-yaml did not resolve them).
    #[test]
    fn strings_are_quoted_exactly_where_go_yaml_v2_quotes_them() {
        let quoted = [
            // sexagesimal ints and floats
            "22:22",
            "00:30",
            "1:30",
            "-1:30",
            "+1:30",
            "190:20:30",
            "190:20:30.15",
            "1:5",
            "1_0:30",
            "1:30.",
            // bools, every spelling
            "y",
            "Y",
            "yes",
            "Yes",
            "YES",
            "n",
            "N",
            "no",
            "No",
            "NO",
            "true",
            "True",
            "TRUE",
            "false",
            "False",
            "FALSE",
            "on",
            "On",
            "ON",
            "off",
            "Off",
            "OFF",
            // nulls
            "",
            "~",
            "null",
            "Null",
            "NULL",
            // ints: decimal, octal, hex, binary, underscores, sign, beyond int64
            "0",
            "12",
            "-12",
            "+12",
            "0755",
            "0o17",
            "0x1F",
            "0X1f",
            "0b101",
            "-0b101",
            "1_000",
            "1_",
            "18446744073709551615",
            "99999999999999999999",
            // floats
            "1.5",
            "-1.5",
            ".5",
            "-.5",
            "1.",
            "1e3",
            "1E3",
            "6.8523015e+5",
            "685.230_15e+03",
            "08",
            "1e-400",
            "0x1p4",
            ".inf",
            ".Inf",
            ".INF",
            "+.inf",
            "-.inf",
            "-.Inf",
            ".nan",
            ".NaN",
            ".NAN",
            "+inf",
            "-Infinity",
        ];
        for s in quoted {
            assert_eq!(to_yaml(&Value::from(s)), format!("{}\n", super::super::gofmt::quote(s, false)), "{s:?} must be double-quoted");
        }
        let plain = [
            // not base 60 (a group is 0-59), not a number
            "80:80",
            "1:60",
            "12:345",
            ":30",
            "a:1",
            // only these spellings are words of YAML 1.1's tables
            "yEs",
            "nO",
            "TRue",
            "nil",
            "None",
            "nan",
            "inf",
            "Infinity",
            "-nan",
            "+.nan",
            "<<",
            "=",
            // timestamps: this go-yaml read them as strings
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
            // not numbers to Go either
            "1e400",
            "0x",
            "0b2",
            "._5",
            "0x1.8",
            "1.2.3",
            "12abc",
            "+",
            ".",
            "v1.2",
        ];
        for s in plain {
            assert_eq!(to_yaml(&Value::from(s)), format!("{s}\n"), "{s:?} must stay plain");
        }
    }

    #[test]
    fn the_emitter_picks_libyamls_style() {
        assert_eq!(to_yaml(&Value::from("a: b")), "'a: b'\n");
        assert_eq!(to_yaml(&Value::from("it's: x")), "'it''s: x'\n");
        assert_eq!(to_yaml(&Value::from(" lead")), "' lead'\n");
        assert_eq!(to_yaml(&Value::from("tab\there")), "\"tab\\there\"\n");
        // Outside the Basic Multilingual Plane libyaml escapes; after an ASCII first character,
        // this go-yaml saw the bytes of a multi-byte character as unprintable.
        assert_eq!(to_yaml(&Value::from("\u{1F600}")), "\"\\U0001F600\"\n");
        assert_eq!(to_yaml(&Value::from("a\u{e9}")), "\"a\u{e9}\"\n");
        assert_eq!(to_yaml(&Value::from("\u{e9}a")), "\u{e9}a\n");
        assert_eq!(to_yaml(&Value::from("1:30:")), "'1:30:'\n");
        assert_eq!(to_yaml(&Value::from("-")), "'-'\n");
        // Long plain text folds at the first space past column 80 (and reads back as one line).
        let long = "word ".repeat(20).trim_end().to_string();
        assert_eq!(to_yaml(&Value::from(long.as_str())), format!("{}\n  {}\n", "word ".repeat(17).trim_end(), "word ".repeat(3).trim_end()));
        // Keys longer than 128 bytes are written after `? `.
        let mut m = BTreeMap::new();
        m.insert("k".repeat(129), Value::from(1));
        assert_eq!(to_yaml(&Value::from(m)), format!("? {}\n: 1\n", "k".repeat(129)));
        // Natural key order, as go-yaml's sorter.
        let mut m = BTreeMap::new();
        for k in ["item10", "item9", "Zeta", "alpha", "_x"] {
            m.insert(k.to_string(), Value::from(true));
        }
        assert_eq!(to_yaml(&Value::from(m)), "_x: true\nZeta: true\nalpha: true\nitem9: true\nitem10: true\n");
        // Floats with float32 precision, as this go-yaml printed them.
        assert_eq!(to_yaml(&Value::from(std::f64::consts::PI)), "3.1415927\n");
        assert_eq!(to_yaml(&Value::from(1e6)), "1e+06\n");
        assert_eq!(to_yaml(&Value::from(0.1)), "0.1\n");
        assert_eq!(to_yaml(&Value::from(1e300)), ".inf\n");
    }

    #[test]
    fn emits_like_go_yaml() {
        let mut m = BTreeMap::new();
        m.insert("foo".to_string(), Value::from("bar"));
        assert_eq!(to_yaml(&Value::from(m)), "foo: bar\n");
        assert_eq!(to_yaml(&Value::from("myval")), "myval\n");
        assert_eq!(to_yaml(&Value::from("hello\nworld")), "|-\n  hello\n  world\n");
        assert_eq!(to_yaml(&Value::from("true")), "\"true\"\n");
        assert_eq!(to_yaml(&Value::from("a: b")), "'a: b'\n");
        let v = parse("a:\n- 1\n- x: 2\n  y: [3]\nb: {}\n").unwrap();
        assert_eq!(to_yaml(&v), "a:\n- 1\n- x: 2\n  \"y\":\n  - 3\nb: {}\n");
    }
}
