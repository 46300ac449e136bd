//! Go's view of minijinja values: the kinds `text/template` distinguishes, truthiness, type
//! names for messages, and `fmt`'s `%v` printing.
//!
//! Template data is held as [`minijinja::Value`] in both dialects. A missing map key is
//! `Value::UNDEFINED` (Go's invalid `reflect.Value`, printed `<no value>`); YAML `null` and the
//! literal `nil` are `none` (Go's nil interface, printed `<nil>` by `print`).

use crate::template::budget::Capped;
use minijinja::value::{Value, ValueKind};

/// The kinds of value Go templates tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoKind {
    /// A missing map key or unset variable (Go: invalid `reflect.Value`).
    Missing,
    Nil,
    Bool,
    Int,
    Float,
    String,
    List,
    Map,
    Other,
}

pub fn kind(v: &Value) -> GoKind {
    match v.kind() {
        ValueKind::Undefined => GoKind::Missing,
        ValueKind::None => GoKind::Nil,
        ValueKind::Bool => GoKind::Bool,
        ValueKind::Number if v.is_integer() => GoKind::Int,
        ValueKind::Number => GoKind::Float,
        ValueKind::String | ValueKind::Bytes => GoKind::String,
        ValueKind::Seq | ValueKind::Iterable => GoKind::List,
        ValueKind::Map => GoKind::Map,
        _ => GoKind::Other,
    }
}

/// Go's type name, as `text/template` prints it in messages and `%T` does.
pub fn type_name(v: &Value) -> &'static str {
    match kind(v) {
        GoKind::Missing | GoKind::Nil => "<nil>",
        GoKind::Bool => "bool",
        GoKind::Int => "int",
        GoKind::Float => "float64",
        GoKind::String => "string",
        GoKind::List => "[]interface {}",
        GoKind::Map => "map[string]interface {}",
        GoKind::Other => "interface {}",
    }
}

/// Go's `truth`: false for missing, nil, false, 0, "", and empty lists and maps.
pub fn truth(v: &Value) -> bool {
    match kind(v) {
        GoKind::Missing | GoKind::Nil => false,
        GoKind::List | GoKind::Map => v.len().unwrap_or(0) > 0,
        GoKind::Other => true,
        _ => v.is_true(),
    }
}

pub fn as_int(v: &Value) -> Option<i64> {
    if kind(v) == GoKind::Int {
        v.as_i64()
    } else {
        None
    }
}

pub fn as_float(v: &Value) -> Option<f64> {
    match kind(v) {
        GoKind::Float | GoKind::Int => f64::try_from(v.clone()).ok(),
        _ => None,
    }
}

/// The elements of a list.
pub fn list_items(v: &Value) -> Vec<Value> {
    match v.try_iter() {
        Ok(it) => it.collect(),
        Err(_) => Vec::new(),
    }
}

/// A map's entries in Go's printing and `range` order: keys sorted (numbers before strings,
/// numbers numerically, strings bytewise).
pub fn map_entries(v: &Value) -> Vec<(Value, Value)> {
    let mut keys: Vec<Value> = match v.try_iter() {
        Ok(it) => it.collect(),
        Err(_) => Vec::new(),
    };
    keys.sort_by(|a, b| match (kind(a), kind(b)) {
        (GoKind::String, GoKind::String) => a.as_str().unwrap_or("").cmp(b.as_str().unwrap_or("")),
        (GoKind::Int | GoKind::Float, GoKind::Int | GoKind::Float) => as_float(a).unwrap_or(0.0).total_cmp(&as_float(b).unwrap_or(0.0)),
        (GoKind::String, _) => std::cmp::Ordering::Greater,
        (_, GoKind::String) => std::cmp::Ordering::Less,
        _ => a.to_string().cmp(&b.to_string()),
    });
    keys.into_iter()
        .map(|k| {
            let val = v.get_item(&k).unwrap_or(Value::UNDEFINED);
            (k, val)
        })
        .collect()
}

/// Looks a key up in a map: `None` when the key is absent.
pub fn map_get(v: &Value, key: &str) -> Option<Value> {
    let found = v.get_item(&Value::from(key)).ok()?;
    if found.is_undefined() {
        None
    } else {
        Some(found)
    }
}

/// The keys of a map, as strings (for "did you mean" suggestions).
pub fn map_keys(v: &Value) -> Vec<String> {
    match v.try_iter() {
        Ok(it) => it.map(|k| k.as_str().map(str::to_string).unwrap_or_else(|| k.to_string())).collect(),
        Err(_) => Vec::new(),
    }
}

/// A missing value passed to a function becomes nil, as Go's `validateType` does.
pub fn missing_to_nil(v: Value) -> Value {
    if v.is_undefined() {
        Value::from(())
    } else {
        v
    }
}

/// `fmt.Sprint(v)`: Go's `%v`, for messages and map keys: cut after a few kilobytes (with `...`),
/// since a value may share one large string many times over.
pub fn to_go_string(v: &Value) -> String {
    const SHOWN: usize = 4096;
    let mut out = Capped::new(SHOWN);
    crate::template::gofmt::write_value(&mut out, v, 'v', &crate::template::gofmt::Flags::default(), true);
    let over = out.over();
    let mut text = out.into_string();
    if over {
        text.push_str("...");
    }
    text
}

/// How `{{ pipeline }}` prints its value: missing and nil print `<no value>`. `None` when the
/// text would be longer than `limit`.
pub fn to_output(v: &Value, limit: usize) -> Option<String> {
    let mut out = Capped::new(limit);
    match kind(v) {
        GoKind::Missing | GoKind::Nil => out.push_str(NO_VALUE),
        GoKind::String => out.push_str(v.as_str().unwrap_or("")),
        _ => crate::template::gofmt::write_value(&mut out, v, 'v', &crate::template::gofmt::Flags::default(), true),
    }
    (!out.over()).then(|| out.into_string())
}

/// What Go prints for a missing value.
pub const NO_VALUE: &str = "<no value>";
