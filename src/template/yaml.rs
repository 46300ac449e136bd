//! YAML in and out, the way Rocker's go-yaml v2 did it.
//!
//! In: yaml-rust2's event parser, with plain scalars resolved by YAML 1.1 rules as go-yaml v2
//! does (`yes`/`no`/`on`/`off` are booleans, `0755` is octal, `~` is null), anchors, aliases
//! and `<<` merge keys. Map keys become strings.
//!
//! Out (the `yaml` helper): block style, sorted keys, sequences inside mappings not indented,
//! strings quoted only when they would read back as something else, multi-line strings as
//! literal blocks (`|-`). This approximates go-yaml's emitter; exotic strings may be quoted
//! differently, but always read back to the same value.

use super::value::{as_float, as_int, kind, list_items, map_entries, GoKind};
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
}

/// Parses the first document of `text` (an empty document is `none`).
pub fn parse(text: &str) -> Result<Value, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| YamlError { message: e.info().to_string(), line: e.marker().line(), col: e.marker().col() + 1 })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.root.unwrap_or(Value::from(())))
}

enum Frame {
    Seq(Vec<Value>, usize),
    Map(BTreeMap<String, Value>, Option<(Value, bool)>, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    root: Option<Value>,
    error: Option<YamlError>,
}

impl Builder {
    fn insert(&mut self, value: Value, anchor: usize, is_merge_key: bool) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
            }
            Some(Frame::Seq(items, _)) => items.push(value),
            Some(Frame::Map(map, key, _)) => match key.take() {
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
                let is_key = matches!(self.stack.last(), Some(Frame::Map(_, None, _)));
                let is_merge = is_key && style == TScalarStyle::Plain && text == "<<";
                // Keys stay text: `y: 1` names "y", though YAML 1.1 would read a boolean.
                let value = if is_key { Value::from(text) } else { resolve_scalar(&text, style, tag.as_ref()) };
                self.insert(value, anchor, is_merge);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(Vec::new(), anchor)),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map(BTreeMap::new(), None, anchor)),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(items, anchor)) => self.insert(Value::from(items), anchor, false),
                Some(Frame::Map(map, _, anchor)) => self.insert(Value::from(map), anchor, false),
                None => {}
            },
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(v) => self.insert(v, 0, false),
                None => self.error = Some(YamlError { message: "unknown anchor".into(), line: mark.line(), col: mark.col() + 1 }),
            },
            _ => {}
        }
    }
}

/// go-yaml v2's `resolve` for one scalar.
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
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::from(()),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Value::from(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return Value::from(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::from(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::from(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::from(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
        if let Some(n) = parse_int(text) {
            return Value::from(n);
        }
        if is_yaml_float(text) {
            if let Ok(f) = text.replace('_', "").parse::<f64>() {
                return Value::from(f);
            }
        }
    }
    Value::from(text)
}

/// `strconv.ParseInt(s, 0, 64)` after dropping underscores.
fn parse_int(text: &str) -> Option<i64> {
    let clean = text.replace('_', "");
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        (2, d)
    } else if let Some(d) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        (8, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i128::from_str_radix(digits, radix).ok()?;
    i64::try_from(if neg { -v } else { v }).ok()
}

/// go-yaml v2's float pattern: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if i < b.len() && matches!(b[i], b'-' | b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        i += 1;
        if i < b.len() && matches!(b[i], b'-' | b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// The `yaml` helper: go-yaml v2's `Marshal`, ending in a newline.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match kind(v) {
        GoKind::Map if v.len().unwrap_or(0) > 0 => write_map(&mut out, v, 0),
        GoKind::List if v.len().unwrap_or(0) > 0 => write_seq(&mut out, v, 0),
        _ => {
            write_scalar(&mut out, v, 0);
            out.push('\n');
        }
    }
    out
}

fn is_collection(v: &Value) -> bool {
    matches!(kind(v), GoKind::Map | GoKind::List) && v.len().unwrap_or(0) > 0
}

fn write_map(out: &mut String, v: &Value, indent: usize) {
    for (k, item) in map_entries(v) {
        out.push_str(&" ".repeat(indent));
        write_scalar(out, &k, indent);
        out.push(':');
        match kind(&item) {
            GoKind::Map if is_collection(&item) => {
                out.push('\n');
                write_map(out, &item, indent + 2);
            }
            GoKind::List if is_collection(&item) => {
                out.push('\n');
                write_seq(out, &item, indent);
            }
            _ => {
                out.push(' ');
                write_scalar(out, &item, indent + 2);
                out.push('\n');
            }
        }
    }
}

fn write_seq(out: &mut String, v: &Value, indent: usize) {
    for item in list_items(v) {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match kind(&item) {
            GoKind::Map if is_collection(&item) => {
                // The first entry shares the dash's line.
                let mut inner = String::new();
                write_map(&mut inner, &item, indent + 2);
                out.push_str(inner.trim_start());
            }
            GoKind::List if is_collection(&item) => {
                let mut inner = String::new();
                write_seq(&mut inner, &item, indent + 2);
                out.push_str(inner.trim_start());
            }
            _ => {
                write_scalar(out, &item, indent + 2);
                out.push('\n');
            }
        }
    }
}

fn write_scalar(out: &mut String, v: &Value, indent: usize) {
    match kind(v) {
        GoKind::Missing | GoKind::Nil => out.push_str("null"),
        GoKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        GoKind::Int => out.push_str(&as_int(v).unwrap_or(0).to_string()),
        GoKind::Float => {
            let f = as_float(v).unwrap_or(0.0);
            if f.is_nan() {
                out.push_str(".nan");
            } else if f.is_infinite() {
                out.push_str(if f > 0.0 { ".inf" } else { "-.inf" });
            } else {
                out.push_str(&super::gofmt::format_float(f, 'g', None));
            }
        }
        GoKind::Map => out.push_str("{}"),
        GoKind::List => out.push_str("[]"),
        GoKind::String | GoKind::Other => {
            let s = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            write_string(out, &s, indent);
        }
    }
}

fn write_string(out: &mut String, s: &str, indent: usize) {
    if s.contains('\n') {
        let chomp = if s.ends_with('\n') { if s.ends_with("\n\n") { "+" } else { "" } } else { "-" };
        let lead = if s.starts_with(' ') { "2" } else { "" };
        out.push('|');
        out.push_str(lead);
        out.push_str(chomp);
        let body = s.strip_suffix('\n').unwrap_or(s);
        let pad = " ".repeat(indent.max(2));
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
                out.push_str(line);
            }
        }
        return;
    }
    let plain_value = resolve_scalar(s, TScalarStyle::Plain, None);
    if !s.is_empty() && kind(&plain_value) != GoKind::String {
        // Would read back as a number, bool or null.
        out.push_str(&super::gofmt::quote(s, false));
        return;
    }
    if s.is_empty() {
        out.push_str("\"\"");
        return;
    }
    if plain_allowed(s) {
        out.push_str(s);
    } else if s.chars().all(|c| !c.is_control()) {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        out.push_str(&super::gofmt::quote(s, false));
    }
}

fn plain_allowed(s: &str) -> bool {
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) && !(matches!(first, '-' | '?' | ':') && s.len() > 1 && !s[1..].starts_with(' ')) {
        return false;
    }
    if s.starts_with(' ') || s.ends_with(' ') || s.starts_with('\t') || s.ends_with('\t') {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s == "-" || s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    !s.chars().any(|c| c.is_control() || matches!(c, '\u{FEFF}'))
}

#[cfg(test)]
mod tests {
    use super::*;

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
