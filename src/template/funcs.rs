//! The functions templates can call: Go's builtins (`len`, `index`, `eq`, `printf`, ...) and the
//! helpers Rocker registered (`seq dump assert error json yaml shell image` and the `strings`
//! functions under their Rocker names). `and`/`or` short-circuit, so the evaluator handles them
//! itself; everything else is an ordinary call on evaluated arguments, shared by both dialects.

use super::budget::{Budget, Capped, SLOT_BYTES};
use super::gofmt::{self, quote};
use super::image::ImageResolver;
use super::value::{as_float, as_int, kind, list_items, map_entries, map_get, truth, type_name, GoKind};
use crate::diagnostic::Code;
use minijinja::value::Value;

/// A failed call. `arg` is the index of the argument to point at, when one is to blame.
#[derive(Clone, Debug)]
pub struct FuncError {
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
    pub arg: Option<usize>,
}

impl FuncError {
    pub fn new(code: Code, message: impl Into<String>) -> FuncError {
        FuncError { code, message: message.into(), help: None, arg: None }
    }

    fn help(mut self, help: impl Into<String>) -> FuncError {
        self.help = Some(help.into());
        self
    }

    fn arg(mut self, i: usize) -> FuncError {
        self.arg = Some(i);
        self
    }
}

impl std::fmt::Display for FuncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FuncError {}

pub type FuncResult = Result<Value, FuncError>;

/// Go's builtins. `and` and `or` are evaluated lazily by the Go evaluator.
pub const GO_BUILTINS: &[&str] =
    &["and", "or", "not", "len", "index", "slice", "print", "printf", "println", "html", "js", "urlquery", "call", "eq", "ne", "lt", "le", "gt", "ge"];

/// Rocker's helpers (template.go), with the `strings` functions under the names Rocker gave them.
pub const ROCKER_HELPERS: &[&str] = &[
    "seq",
    "dump",
    "assert",
    "error",
    "json",
    "shell",
    "yaml",
    "image",
    "compare",
    "contains",
    "containsAny",
    "count",
    "equalFold",
    "hasPrefix",
    "hasSuffix",
    "indexOf",
    "indexAny",
    "join",
    "lastIndex",
    "lastIndexAny",
    "repeat",
    "replace",
    "split",
    "splitAfter",
    "splitAfterN",
    "splitN",
    "title",
    "toLower",
    "toTitle",
    "toUpper",
    "trim",
    "trimLeft",
    "trimPrefix",
    "trimRight",
    "trimSpace",
    "trimSuffix",
];

const MAX_SEQ_LEN: i64 = 1_000_000;

pub struct Funcs {
    pub image: ImageResolver,
    /// What the helpers of this render have made so far (see [`Budget`]).
    pub budget: Budget,
}

impl Funcs {
    pub fn has(name: &str) -> bool {
        GO_BUILTINS.contains(&name) || ROCKER_HELPERS.contains(&name)
    }

    pub fn names() -> Vec<&'static str> {
        GO_BUILTINS.iter().chain(ROCKER_HELPERS).copied().collect()
    }

    /// Calls `name` on evaluated arguments (missing values already turned into nil). `and` and
    /// `or` are not here: they must see their arguments unevaluated.
    pub fn call(&self, name: &str, args: &[Value]) -> FuncResult {
        match name {
            "not" => {
                exactly(name, args, 1)?;
                Ok(Value::from(!truth(&args[0])))
            }
            "len" => {
                exactly(name, args, 1)?;
                length(&args[0])
            }
            "index" => {
                at_least(name, args, 1)?;
                index(&args[0], &args[1..])
            }
            "slice" => {
                at_least(name, args, 1)?;
                slice(&self.budget, &args[0], &args[1..])
            }
            "print" => self.written(name, |out| gofmt::sprint(out, args)),
            "println" => self.written(name, |out| gofmt::sprintln(out, args)),
            "printf" => {
                at_least(name, args, 1)?;
                let format = string_arg(name, args, 0)?;
                self.written(name, |out| gofmt::sprintf(out, format, &args[1..]))
            }
            "html" | "js" | "urlquery" => {
                // The operands are printed first, then escaped: both within the budget.
                let mut text = Capped::new(self.budget.limit());
                gofmt::sprint(&mut text, args);
                let text = self.budget.finish(name, text)?;
                let escape = match name {
                    "html" => html_escape,
                    "js" => js_escape,
                    _ => url_query_escape,
                };
                self.written(name, |out| escape(out, &text))
            }
            "call" => {
                at_least(name, args, 1)?;
                Err(FuncError::new(Code::TemplateCallFailed, format!("error calling call: can't call a value of type {}", type_name(&args[0]))).arg(0))
            }
            "eq" => {
                at_least(name, args, 1)?;
                if args.len() == 1 {
                    return Err(FuncError::new(Code::TemplateCompare, "error calling eq: missing argument for comparison"));
                }
                for (i, b) in args[1..].iter().enumerate() {
                    if equal(&args[0], b).map_err(|e| e.arg(i + 1))? {
                        return Ok(Value::from(true));
                    }
                }
                Ok(Value::from(false))
            }
            "ne" => {
                exactly(name, args, 2)?;
                Ok(Value::from(!equal(&args[0], &args[1]).map_err(|e| e.arg(1))?))
            }
            "lt" | "le" | "gt" | "ge" => {
                exactly(name, args, 2)?;
                let lt = less(&args[0], &args[1], name)?;
                let r = match name {
                    "lt" => lt,
                    "ge" => !lt,
                    _ => {
                        let le = lt || equal(&args[0], &args[1]).map_err(|e| e.arg(1))?;
                        if name == "le" {
                            le
                        } else {
                            !le
                        }
                    }
                };
                Ok(Value::from(r))
            }
            _ => self.call_helper(name, args),
        }
    }

    fn call_helper(&self, name: &str, args: &[Value]) -> FuncResult {
        let s = |i: usize| string_arg(name, args, i);
        let n = |i: usize| int_arg(name, args, i);
        let count = |k: usize| exactly(name, args, k);
        match name {
            "seq" => seq(&self.budget, args),
            "dump" => {
                count(1)?;
                let flags = gofmt::Flags { sharp: true, ..Default::default() };
                self.written(name, |out| gofmt::write_value(out, &args[0], 'v', &flags, true))
            }
            "assert" => {
                count(1)?;
                if truth(&args[0]) {
                    Ok(Value::from(""))
                } else {
                    Err(FuncError::new(Code::TemplateAssertFailed, "error calling assert: Assertion failed").arg(0))
                }
            }
            "error" => {
                count(1)?;
                let mut message = Capped::new(self.budget.limit());
                gofmt::sprintf(&mut message, "%s", &args[..1]);
                let message = self.budget.finish(name, message)?;
                Err(FuncError::new(Code::TemplateErrorCalled, message))
            }
            "json" => {
                count(1)?;
                let mut out = Capped::new(self.budget.limit());
                json_encode(&mut out, &args[0]).map_err(|m| FuncError::new(Code::TemplateCallFailed, format!("error calling json: {m}")).arg(0))?;
                Ok(Value::from(self.budget.finish(name, out)?))
            }
            "yaml" => {
                let (indent, v) = match args.len() {
                    1 => (0, &args[0]),
                    2 => (to_int(&args[0]).map_err(|m| FuncError::new(Code::TemplateWrongType, format!("error calling yaml: {m}")).arg(0))?, &args[1]),
                    k => return Err(FuncError::new(Code::TemplateWrongArgCount, format!("yaml helper expects from 1 to 2 arguments, {k} given"))),
                };
                let limit = self.budget.limit();
                let Some(text) = super::yaml::to_yaml(v, limit) else { return Err(self.budget.refuse(name, limit)) };
                self.budget.charge(text.len());
                if indent <= 0 {
                    return Ok(Value::from(text));
                }
                let prefix = "  ".repeat(indent.min(1000) as usize);
                self.written(name, |out| indent_lines(out, &prefix, &text))
            }
            "shell" => {
                count(1)?;
                let text = s(0)?;
                // At most `'\''` for every character, and the `"$(printf ...)"` around it.
                self.budget.check(name, text.len() as u128 * 4 + 32)?;
                let quoted = shell_quote(text);
                self.budget.charge(quoted.len());
                Ok(Value::from(quoted))
            }
            "image" => {
                if args.is_empty() || args.len() > 2 {
                    return Err(FuncError::new(Code::TemplateWrongArgCount, format!("wrong number of args for image: want 1 or 2 got {}", args.len())));
                }
                let tag = if args.len() == 2 { Some(s(1)?) } else { None };
                self.image.resolve(s(0)?, tag).map(Value::from).map_err(|m| FuncError::new(Code::TemplateImageNotFound, m).arg(0))
            }
            "compare" => {
                count(2)?;
                Ok(Value::from(s(0)?.cmp(s(1)?) as i64))
            }
            "contains" => {
                count(2)?;
                Ok(Value::from(s(0)?.contains(s(1)?)))
            }
            "containsAny" => {
                count(2)?;
                let chars = s(1)?;
                Ok(Value::from(s(0)?.chars().any(|c| chars.contains(c))))
            }
            "count" => {
                count(2)?;
                let (a, b) = (s(0)?, s(1)?);
                Ok(Value::from(if b.is_empty() { a.chars().count() as i64 + 1 } else { a.matches(b).count() as i64 }))
            }
            "equalFold" => {
                count(2)?;
                let fold = |x: &str| x.chars().flat_map(char::to_lowercase).collect::<String>();
                Ok(Value::from(fold(s(0)?) == fold(s(1)?)))
            }
            "hasPrefix" => {
                count(2)?;
                Ok(Value::from(s(0)?.starts_with(s(1)?)))
            }
            "hasSuffix" => {
                count(2)?;
                Ok(Value::from(s(0)?.ends_with(s(1)?)))
            }
            "indexOf" => {
                count(2)?;
                Ok(byte_index(s(0)?.find(s(1)?)))
            }
            "indexAny" => {
                count(2)?;
                let chars = s(1)?;
                Ok(byte_index(s(0)?.find(|c| chars.contains(c))))
            }
            "lastIndex" => {
                count(2)?;
                Ok(byte_index(s(0)?.rfind(s(1)?)))
            }
            "lastIndexAny" => {
                count(2)?;
                let chars = s(1)?;
                Ok(byte_index(s(0)?.rfind(|c| chars.contains(c))))
            }
            "join" => {
                count(2)?;
                if kind(&args[0]) != GoKind::List {
                    return Err(wrong_type(name, 0, "[]string", &args[0]));
                }
                let mut parts = Vec::new();
                let items = list_items(&args[0]);
                let sep = s(1)?;
                let mut size = (sep.len() as u128) * (items.len().saturating_sub(1) as u128);
                for item in &items {
                    size += item.as_str().map_or(0, str::len) as u128;
                }
                self.budget.take(name, size)?;
                for item in items {
                    match item.as_str() {
                        Some(p) if kind(&item) == GoKind::String => parts.push(p.to_string()),
                        _ => {
                            return Err(FuncError::new(
                                Code::TemplateWrongType,
                                format!("error calling join: list element is {}, not a string", type_name(&item)),
                            )
                            .arg(0))
                        }
                    }
                }
                Ok(Value::from(parts.join(sep)))
            }
            "repeat" => {
                count(2)?;
                let (text, times) = (s(0)?, n(1)?);
                if times < 0 {
                    return Err(FuncError::new(Code::TemplateCallFailed, "error calling repeat: strings: negative Repeat count").arg(1));
                }
                self.budget.take(name, (text.len() as u128) * (times as u128))?;
                Ok(Value::from(text.repeat(times as usize)))
            }
            "replace" => {
                count(4)?;
                let (text, old, new, limit) = (s(0)?, s(1)?, s(2)?, n(3)?);
                self.budget.take(name, replaced_len(text, old, new, limit))?;
                Ok(Value::from(go_replace(text, old, new, limit)))
            }
            "split" | "splitAfter" | "splitN" | "splitAfterN" => {
                let with_n = name.ends_with('N');
                count(if with_n { 3 } else { 2 })?;
                let (text, sep) = (s(0)?, s(1)?);
                let limit = if with_n { n(2)? } else { -1 };
                // Every part is a value of its own: charge them before they are made.
                self.budget.take(name, split_count(text, sep, limit) as u128 * SLOT_BYTES as u128 + text.len() as u128)?;
                Ok(strings(go_split(text, sep, name.starts_with("splitAfter"), limit)))
            }
            "title" | "toLower" | "toUpper" | "toTitle" => {
                count(1)?;
                let text = s(0)?;
                // A character's other case takes at most three times its bytes (`ΐ` -> `Ϊ́`).
                self.budget.check(name, text.len() as u128 * 3)?;
                let changed = match name {
                    "title" => go_title(text),
                    "toLower" => text.to_lowercase(),
                    _ => text.to_uppercase(),
                };
                self.budget.charge(changed.len());
                Ok(Value::from(changed))
            }
            "trim" => {
                count(2)?;
                let cut = s(1)?;
                self.text(name, s(0)?.trim_matches(|c| cut.contains(c)))
            }
            "trimLeft" => {
                count(2)?;
                let cut = s(1)?;
                self.text(name, s(0)?.trim_start_matches(|c| cut.contains(c)))
            }
            "trimRight" => {
                count(2)?;
                let cut = s(1)?;
                self.text(name, s(0)?.trim_end_matches(|c| cut.contains(c)))
            }
            "trimPrefix" => {
                count(2)?;
                let (a, p) = (s(0)?, s(1)?);
                self.text(name, a.strip_prefix(p).unwrap_or(a))
            }
            "trimSuffix" => {
                count(2)?;
                let (a, p) = (s(0)?, s(1)?);
                self.text(name, a.strip_suffix(p).unwrap_or(a))
            }
            "trimSpace" => {
                count(1)?;
                self.text(name, s(0)?.trim())
            }
            _ => Err(FuncError::new(Code::TemplateUnknownFunction, format!("function `{name}` is not defined"))),
        }
    }

    /// The text `write` makes, within the budget.
    fn written(&self, name: &str, write: impl FnOnce(&mut Capped)) -> FuncResult {
        let mut out = Capped::new(self.budget.limit());
        write(&mut out);
        Ok(Value::from(self.budget.finish(name, out)?))
    }

    /// A copy of `text` as a value, charged to the budget.
    fn text(&self, name: &str, text: &str) -> FuncResult {
        self.budget.take(name, text.len() as u128)?;
        Ok(Value::from(text))
    }
}

/// The length of `go_replace(s, old, new, n)`, computed without making it.
fn replaced_len(s: &str, old: &str, new: &str, n: i64) -> u128 {
    if n == 0 || old == new {
        return s.len() as u128;
    }
    let limit = if n < 0 { u128::MAX } else { n as u128 };
    // An empty `old` matches before every character and at the end.
    let matches = if old.is_empty() { s.chars().count() as u128 + 1 } else { s.matches(old).count() as u128 };
    let replaced = matches.min(limit);
    s.len() as u128 - replaced * old.len() as u128 + replaced * new.len() as u128
}

/// How many parts `go_split(s, sep, _, n)` makes, counted without making them.
fn split_count(s: &str, sep: &str, n: i64) -> usize {
    if n == 0 {
        return 0;
    }
    let all = if sep.is_empty() { s.chars().count() } else { s.matches(sep).count() + 1 };
    if n < 0 {
        all
    } else {
        all.min(n as usize)
    }
}

fn exactly(name: &str, args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() != n {
        return Err(FuncError::new(Code::TemplateWrongArgCount, format!("wrong number of args for {name}: want {n} got {}", args.len())));
    }
    Ok(())
}

fn at_least(name: &str, args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() < n {
        return Err(FuncError::new(Code::TemplateWrongArgCount, format!("wrong number of args for {name}: want at least {n} got {}", args.len())));
    }
    Ok(())
}

fn wrong_type(name: &str, i: usize, want: &str, got: &Value) -> FuncError {
    let got_name = type_name(got);
    let message = if matches!(kind(got), GoKind::Nil | GoKind::Missing) {
        format!("error calling {name}: invalid value for argument {}; expected {want}", i + 1)
    } else {
        format!("error calling {name}: wrong type for argument {}; expected {want}; got {got_name}", i + 1)
    };
    let mut e = FuncError::new(Code::TemplateWrongType, message).arg(i);
    if want == "int" && kind(got) == GoKind::String {
        e = e.help("`-var` values are always strings; write the number literally, or pass it in a `--vars` YAML file");
    }
    e
}

fn string_arg<'a>(name: &str, args: &'a [Value], i: usize) -> Result<&'a str, FuncError> {
    let v = &args[i];
    match v.as_str() {
        Some(s) if kind(v) == GoKind::String => Ok(s),
        _ => Err(wrong_type(name, i, "string", v)),
    }
}

fn int_arg(name: &str, args: &[Value], i: usize) -> Result<i64, FuncError> {
    as_int(&args[i]).ok_or_else(|| wrong_type(name, i, "int", &args[i]))
}

fn byte_index(i: Option<usize>) -> Value {
    Value::from(i.map(|i| i as i64).unwrap_or(-1))
}

fn strings(parts: Vec<String>) -> Value {
    Value::from(parts.into_iter().map(Value::from).collect::<Vec<_>>())
}

/// Rocker's `interfaceToInt`: an int, or a string holding a decimal integer.
fn to_int(v: &Value) -> Result<i64, String> {
    if let Some(n) = as_int(v) {
        return Ok(n);
    }
    if let (GoKind::String, Some(s)) = (kind(v), v.as_str()) {
        return s.parse::<i64>().map_err(|_| format!("strconv.ParseInt: parsing {}: invalid syntax", quote(s, false)));
    }
    // Only what a message can show of it.
    let mut shown = Capped::new(4096);
    gofmt::write_value(&mut shown, v, 'v', &gofmt::Flags { sharp: true, ..Default::default() }, true);
    let cut = if shown.over() { "..." } else { "" };
    Err(format!("Cannot receive {}{cut}, int or string is expected", shown.as_str()))
}

/// Rocker's `seq`: `seq N`, `seq FROM TO`, `seq FROM TO STEP`.
fn seq(budget: &Budget, args: &[Value]) -> FuncResult {
    if args.is_empty() || args.len() > 3 {
        return Err(FuncError::new(Code::TemplateWrongArgCount, format!("seq helper expects from 1 to 3 arguments, {} given", args.len())));
    }
    let mut n = Vec::new();
    for (i, a) in args.iter().enumerate() {
        n.push(to_int(a).map_err(|m| FuncError::new(Code::TemplateWrongType, format!("error calling seq: {m}")).arg(i))?);
    }
    let (from, to, step) = match n.len() {
        1 if n[0] == 0 => return Ok(Value::from(Vec::<Value>::new())),
        1 if n[0] > 0 => (1, n[0], 1),
        1 => (-1, n[0], 1),
        2 => (n[0], n[1], 1),
        _ => (n[0], n[1], n[2]),
    };
    if step <= 0 {
        return Err(FuncError::new(Code::TemplateCallFailed, format!("error calling seq: step should be a positive integer, `{step}` given")).arg(2));
    }
    let len = (from as i128 - to as i128).abs() / step as i128 + 1;
    if len > MAX_SEQ_LEN as i128 {
        return Err(FuncError::new(Code::TemplateTooLarge, format!("error calling seq: {len} numbers is more than the {MAX_SEQ_LEN} allowed")));
    }
    budget.take("seq", len as u128 * SLOT_BYTES as u128)?;
    let mut out = Vec::with_capacity(len as usize);
    let mut k = from as i128;
    for _ in 0..len {
        out.push(Value::from(k as i64));
        if from > to {
            k -= step as i128;
        } else {
            k += step as i128;
        }
    }
    Ok(Value::from(out))
}

fn length(v: &Value) -> FuncResult {
    match kind(v) {
        GoKind::String => Ok(Value::from(v.as_str().unwrap_or("").len() as i64)),
        GoKind::List | GoKind::Map => Ok(Value::from(v.len().unwrap_or(0) as i64)),
        GoKind::Nil | GoKind::Missing => Err(FuncError::new(Code::TemplateWrongType, "error calling len: len of nil pointer").arg(0)),
        _ => Err(FuncError::new(Code::TemplateWrongType, format!("error calling len: len of type {}", type_name(v))).arg(0)),
    }
}

fn index_arg(v: &Value, len: usize, i: usize, what: &str) -> Result<usize, FuncError> {
    match as_int(v) {
        Some(x) if x >= 0 && (x as u64) < len as u64 => Ok(x as usize),
        Some(x) => Err(FuncError::new(Code::TemplateIndex, format!("error calling {what}: index out of range: {x}")).arg(i)),
        None if matches!(kind(v), GoKind::Nil | GoKind::Missing) => {
            Err(FuncError::new(Code::TemplateIndex, format!("error calling {what}: cannot index slice/array with nil")).arg(i))
        }
        None => Err(FuncError::new(Code::TemplateIndex, format!("error calling {what}: cannot index slice/array with type {}", type_name(v))).arg(i)),
    }
}

/// Go's `index`: `index x 1 2` is `x[1][2]`; a missing map key yields nil.
fn index(item: &Value, keys: &[Value]) -> FuncResult {
    let mut cur = item.clone();
    if matches!(kind(&cur), GoKind::Nil | GoKind::Missing) {
        return Err(FuncError::new(Code::TemplateIndex, "error calling index: index of untyped nil").arg(0));
    }
    for (n, key) in keys.iter().enumerate() {
        let i = n + 1;
        cur = match kind(&cur) {
            GoKind::Nil | GoKind::Missing => return Err(FuncError::new(Code::TemplateIndex, "error calling index: index of nil pointer").arg(i)),
            GoKind::List => {
                let items = list_items(&cur);
                let x = index_arg(key, items.len(), i, "index")?;
                items[x].clone()
            }
            GoKind::String => {
                let bytes = cur.as_str().unwrap_or("").as_bytes();
                let x = index_arg(key, bytes.len(), i, "index")?;
                Value::from(bytes[x] as i64)
            }
            GoKind::Map => match (kind(key), key.as_str()) {
                (GoKind::String, Some(k)) => map_get(&cur, k).unwrap_or(Value::from(())),
                (GoKind::Nil | GoKind::Missing, _) => {
                    return Err(FuncError::new(Code::TemplateIndex, "error calling index: value is nil; should be of type string").arg(i))
                }
                _ => {
                    return Err(FuncError::new(Code::TemplateIndex, format!("error calling index: value has type {}; should be string", type_name(key))).arg(i))
                }
            },
            _ => return Err(FuncError::new(Code::TemplateIndex, format!("error calling index: can't index item of type {}", type_name(&cur))).arg(i - 1)),
        };
    }
    Ok(cur)
}

/// Go's `slice`: `slice x 1 2` is `x[1:2]`.
fn slice(budget: &Budget, item: &Value, idx: &[Value]) -> FuncResult {
    if idx.len() > 3 {
        return Err(FuncError::new(Code::TemplateWrongArgCount, format!("error calling slice: too many slice indexes: {}", idx.len())));
    }
    let len = match kind(item) {
        GoKind::String => item.as_str().unwrap_or("").len(),
        GoKind::List => list_items(item).len(),
        GoKind::Nil | GoKind::Missing => return Err(FuncError::new(Code::TemplateIndex, "error calling slice: slice of untyped nil").arg(0)),
        _ => return Err(FuncError::new(Code::TemplateIndex, format!("error calling slice: can't slice item of type {}", type_name(item))).arg(0)),
    };
    if kind(item) == GoKind::String && idx.len() == 3 {
        return Err(FuncError::new(Code::TemplateIndex, "error calling slice: cannot 3-index slice a string"));
    }
    let mut bounds = [0usize, len, len];
    for (i, v) in idx.iter().enumerate() {
        bounds[i] = index_arg(v, len + 1, i + 1, "slice")?;
    }
    if bounds[0] > bounds[1] {
        return Err(FuncError::new(Code::TemplateIndex, format!("error calling slice: invalid slice index: {} > {}", bounds[0], bounds[1])));
    }
    if kind(item) == GoKind::String {
        let s = item.as_str().unwrap_or("");
        return match s.get(bounds[0]..bounds[1]) {
            Some(sub) => {
                budget.take("slice", sub.len() as u128)?;
                Ok(Value::from(sub))
            }
            None => Err(FuncError::new(Code::TemplateIndex, "error calling slice: the bounds split a UTF-8 character")),
        };
    }
    budget.take("slice", (bounds[1] - bounds[0]) as u128 * SLOT_BYTES as u128)?;
    Ok(Value::from(list_items(item)[bounds[0]..bounds[1]].to_vec()))
}

#[derive(PartialEq)]
enum Basic {
    Bool,
    Int,
    Float,
    String,
    Nil,
    Other,
}

fn basic(v: &Value) -> Basic {
    match kind(v) {
        GoKind::Bool => Basic::Bool,
        GoKind::Int => Basic::Int,
        GoKind::Float => Basic::Float,
        GoKind::String => Basic::String,
        GoKind::Nil | GoKind::Missing => Basic::Nil,
        _ => Basic::Other,
    }
}

fn incompatible(a: &Value, b: &Value) -> FuncError {
    let mut e = FuncError::new(Code::TemplateCompare, format!("error calling eq: incompatible types for comparison ({} and {})", type_name(a), type_name(b)));
    let ints_and_strings = matches!((basic(a), basic(b)), (Basic::String, Basic::Int | Basic::Float) | (Basic::Int | Basic::Float, Basic::String));
    if ints_and_strings {
        e = e.help("`-var` values are always strings: compare with a quoted value, e.g. `eq .Port \"80\"`");
    }
    e
}

/// Go's `eq` for one pair: basic kinds compare by value; nil equals only nil; other kinds fail.
fn equal(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (ka, kb) = (basic(a), basic(b));
    if ka != kb {
        if ka == Basic::Nil || kb == Basic::Nil {
            return Ok(false);
        }
        return Err(incompatible(a, b));
    }
    Ok(match ka {
        Basic::Bool => a.is_true() == b.is_true(),
        Basic::Int => as_int(a) == as_int(b),
        Basic::Float => as_float(a) == as_float(b),
        Basic::String => a.as_str() == b.as_str(),
        Basic::Nil => true,
        Basic::Other => {
            return Err(FuncError::new(Code::TemplateCompare, format!("error calling eq: non-comparable type {}", type_name(a))));
        }
    })
}

fn less(a: &Value, b: &Value, name: &str) -> Result<bool, FuncError> {
    let bad_type =
        |i: usize, v: &Value| FuncError::new(Code::TemplateCompare, format!("error calling {name}: invalid type for comparison ({})", type_name(v))).arg(i);
    let (ka, kb) = (basic(a), basic(b));
    if matches!(ka, Basic::Nil | Basic::Other | Basic::Bool) {
        return Err(bad_type(0, a));
    }
    if matches!(kb, Basic::Nil | Basic::Other | Basic::Bool) {
        return Err(bad_type(1, b));
    }
    if ka != kb {
        let mut e = incompatible(a, b);
        e.message = e.message.replacen("eq", name, 1);
        return Err(e.arg(1));
    }
    Ok(match ka {
        Basic::Int => as_int(a) < as_int(b),
        Basic::Float => as_float(a).unwrap_or(0.0) < as_float(b).unwrap_or(0.0),
        _ => a.as_str().unwrap_or("") < b.as_str().unwrap_or(""),
    })
}

/// Go's `strings.Replace`.
fn go_replace(s: &str, old: &str, new: &str, n: i64) -> String {
    if n == 0 || old == new {
        return s.to_string();
    }
    if old.is_empty() {
        let mut out = String::new();
        let mut done = 0;
        let limit = if n < 0 { i64::MAX } else { n };
        if done < limit {
            out.push_str(new);
            done += 1;
        }
        for c in s.chars() {
            out.push(c);
            if done < limit {
                out.push_str(new);
                done += 1;
            }
        }
        return out;
    }
    if n < 0 {
        s.replace(old, new)
    } else {
        s.replacen(old, new, n as usize)
    }
}

/// Go's `strings.Split`/`SplitN`/`SplitAfter`/`SplitAfterN`.
fn go_split(s: &str, sep: &str, after: bool, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<char> = s.chars().collect();
        let limit = if n < 0 { chars.len() } else { (n as usize).min(chars.len()) };
        let mut out: Vec<String> = chars.iter().take(limit.saturating_sub(1)).map(|c| c.to_string()).collect();
        if limit > 0 {
            out.push(chars[limit - 1..].iter().collect());
        }
        return out;
    }
    let mut out = Vec::new();
    let mut rest = s;
    while n < 0 || (out.len() as i64) < n - 1 {
        let Some(i) = rest.find(sep) else { break };
        let cut = if after { i + sep.len() } else { i };
        out.push(rest[..cut].to_string());
        rest = &rest[i + sep.len()..];
    }
    out.push(rest.to_string());
    out
}

/// Go's `strings.Title`: upper-cases the first letter of every word.
fn go_title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut out = String::with_capacity(s.len());
    let mut prev = ' ';
    for c in s.chars() {
        if is_separator(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn html_escape(out: &mut Capped, s: &str) {
    for c in s.chars() {
        if out.over() {
            return;
        }
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

fn js_escape(out: &mut Capped, s: &str) {
    for c in s.chars() {
        if out.over() {
            return;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
}

fn url_query_escape(out: &mut Capped, s: &str) {
    for b in s.bytes() {
        if out.over() {
            return;
        }
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// Quotes `s` for POSIX sh: unchanged if it only holds `[A-Za-z0-9_/:=-]`, else single-quoted
/// with `'` written as `'\''`.
///
/// Unlike Rocker, a value with newlines stays in single quotes with the newlines kept literally:
/// Rocker emitted bash's `$'a\nb'`, which `dash` and other POSIX shells do not understand.
pub fn shell_quote(s: &str) -> String {
    if s.contains('\n') {
        // A newline would end the Rockerfile instruction the value is spliced into, and Rocker's
        // `$'a\nb'` is bash only. One POSIX word on one line: printf puts the newlines back.
        // Command substitution drops trailing newlines, so `a\n` comes out as `a`.
        let parts: Vec<String> = s.split('\n').map(|p| format!("'{}'", p.replace('\'', "'\\''"))).collect();
        return format!("\"$(printf '%s\\n' {})\"", parts.join(" "));
    }
    if s.is_empty() {
        return "''".to_string();
    }
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/' | b':' | b'=' | b'-')) {
        return s.to_string();
    }
    let quoted = format!("'{}'", s.replace('\'', "'\\''"));
    // As Rocker did: drop the empty `''` a leading or trailing quote leaves behind.
    let quoted = quoted.strip_prefix("''").map(str::to_string).unwrap_or(quoted);
    match quoted.strip_suffix("\\'''") {
        Some(head) => format!("{head}\\'"),
        None => quoted,
    }
}

fn indent_lines(out: &mut Capped, prefix: &str, s: &str) {
    for (i, line) in s.split('\n').enumerate() {
        if out.over() {
            return;
        }
        if i > 0 {
            out.push('\n');
        }
        if !line.is_empty() {
            out.push_str(prefix);
            out.push_str(line);
        }
    }
}

/// Go's `json.Marshal` for template data: sorted keys, HTML-safe escapes, Go's float format.
pub fn json_encode(out: &mut Capped, v: &Value) -> Result<(), String> {
    match kind(v) {
        GoKind::Missing | GoKind::Nil => out.push_str("null"),
        GoKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        GoKind::Int => out.push_str(&as_int(v).unwrap_or(0).to_string()),
        GoKind::Float => {
            let f = as_float(v).unwrap_or(0.0);
            if !f.is_finite() {
                return Err(format!("json: unsupported value: {}", gofmt::format_float(f, 'g', None)));
            }
            let a = f.abs();
            if a != 0.0 && !(1e-6..1e21).contains(&a) {
                let s = gofmt::format_float(f, 'e', None);
                // Go writes e-07 as e-7.
                let s = match s.find("e-0").or_else(|| s.find("e+0")) {
                    Some(i) => format!("{}{}", &s[..i + 2], &s[i + 3..]),
                    None => s,
                };
                out.push_str(&s);
            } else {
                out.push_str(&gofmt::format_float(f, 'f', None));
            }
        }
        GoKind::String => json_string(out, v.as_str().unwrap_or("")),
        GoKind::List => {
            out.push('[');
            for (i, item) in list_items(v).iter().enumerate() {
                if out.over() {
                    return Ok(());
                }
                if i > 0 {
                    out.push(',');
                }
                json_encode(out, item)?;
            }
            out.push(']');
        }
        GoKind::Map => {
            out.push('{');
            for (i, (k, item)) in map_entries(v).iter().enumerate() {
                if out.over() {
                    return Ok(());
                }
                if i > 0 {
                    out.push(',');
                }
                json_string(out, &k.as_str().map(str::to_string).unwrap_or_else(|| k.to_string()));
                out.push(':');
                json_encode(out, item)?;
            }
            out.push('}');
        }
        GoKind::Other => json_string(out, &v.to_string()),
    }
    Ok(())
}

fn json_string(out: &mut Capped, s: &str) {
    out.push('"');
    for c in s.chars() {
        if out.over() {
            return;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_is_posix() {
        assert_eq!(shell_quote("abc/d:e=f-g_1"), "abc/d:e=f-g_1");
        assert_eq!(shell_quote("hello world"), "'hello world'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("'a"), "\\''a'");
        assert_eq!(shell_quote("a'"), "'a'\\'");
        assert_eq!(shell_quote("a\nb"), "\"$(printf '%s\\n' 'a' 'b')\"");
        assert_eq!(shell_quote("it's\n\n$x"), "\"$(printf '%s\\n' 'it'\\''s' '' '$x')\"");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn strings_functions_follow_go() {
        assert_eq!(go_replace("url.com.", ".", "-", -1), "url-com-");
        assert_eq!(go_replace("ab", "", "-", -1), "-a-b-");
        assert_eq!(go_split("a,b,c", ",", false, 2), vec!["a", "b,c"]);
        assert_eq!(go_split("a,b", ",", true, -1), vec!["a,", "b"]);
        assert_eq!(go_split("abc", "", false, -1), vec!["a", "b", "c"]);
        assert_eq!(go_split("", ",", false, -1), vec![""]);
        assert_eq!(go_title("hello wORLD-foo_bar"), "Hello WORLD-Foo_bar");
    }
}
