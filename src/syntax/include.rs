//! INCLUDE: fragments spliced into the rendered text before it is parsed for good.
//!
//! INCLUDE is resolved *after* templating, fragment by fragment: the including file is rendered,
//! its INCLUDE lines are found by the parser (so an INCLUDE inside `{{ if }}` counts only when
//! the condition holds, and its path may itself come from a variable), and each fragment is
//! rendered on its own with the same variables (its `{{ $x := ... }}` are its own, as a Go
//! template's are) and put in the INCLUDE's place. Rocker 0.2 spliced the fragment without
//! templating and forbade nesting; rockerc templates it and allows nesting up to
//! [`MAX_INCLUDE_DEPTH`], and refuses cycles.
//!
//! The result is one rendered text, as if the user had written it in one file, and a
//! [`SourceMap`] that knows which stretches came from which fragment and through which INCLUDE
//! lines, so a diagnostic points into the fragment and shows the chain, and generated comments
//! cite `fragment:line via Rockerfile:line`. Reading a fragment (the path rules, the context, the
//! template) is the caller's: [`splice`] is handed a loader.

use super::{parse, Args, Instruction, Keyword};
use crate::diagnostic::{Code, Coords, Diagnostic};
use crate::source::{Inclusion, Segment, SourceFile, SourceMap, Span};
use crate::template::{Missing, Rendered};
use std::path::PathBuf;
use std::sync::Arc;

/// How deep INCLUDEs may nest (a Rockerfile including a fragment is depth 1).
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// A fragment the loader read and rendered.
pub struct Loaded {
    /// What identifies the file (its physical path): the same file reached twice along one chain
    /// of INCLUDEs is a cycle.
    pub key: PathBuf,
    /// The fragment as written, named as diagnostics and generated comments show it.
    pub file: Arc<SourceFile>,
    /// The rendered fragment, or its template errors (pointing into `file` as written).
    pub rendered: Result<Rendered, Vec<Diagnostic>>,
}

/// Reads the fragment `path` (as the INCLUDE wrote it) for the file whose key is `from`
/// (`None`: a Rockerfile with no path, read from a pipe). An `Err` is the message and help of a diagnostic that
/// [`splice`] points at the INCLUDE's argument.
pub type Loader<'a> = dyn FnMut(Option<&PathBuf>, &str) -> Result<Loaded, Diagnostic> + 'a;

/// A failed splice: the diagnostics, in the offsets of the text being built, and the map that
/// takes them to the files.
pub struct Failed {
    pub diagnostics: Vec<Diagnostic>,
    pub map: SourceMap,
}

/// The rendered Rockerfile with every INCLUDE replaced by its fragment (recursively). A file
/// without INCLUDE comes back as it went in. A file that does not parse is left to the parse
/// that follows, which reports it.
pub fn splice(root: &SourceFile, root_key: Option<PathBuf>, rendered: Rendered, load: &mut Loader<'_>) -> Result<Rendered, Failed> {
    let mut chain = Vec::new();
    expand(root, rendered, root_key, &mut chain, load, true)
}

/// One file of the chain: its key and name, and the INCLUDE (in its own text as written) that
/// brought in the next one.
struct Link {
    key: Option<PathBuf>,
    name: String,
}

fn expand(file: &SourceFile, rendered: Rendered, key: Option<PathBuf>, chain: &mut Vec<Link>, load: &mut Loader<'_>, root: bool) -> Result<Rendered, Failed> {
    if !has_include_word(&rendered.text) {
        return Ok(rendered);
    }
    let includes: Vec<Instruction> = match parse(&rendered.text) {
        Ok(parsed) => parsed.ast.instructions.into_iter().filter(|i| i.kind == Keyword::Include).collect(),
        // The Rockerfile's own parse error is reported by the parse after this one.
        Err(_) if root => return Ok(rendered),
        Err(d) => return Err(Failed { diagnostics: vec![d], map: rendered.map }),
    };
    if includes.is_empty() {
        return Ok(rendered);
    }
    chain.push(Link { key: key.clone(), name: file.name.clone() });
    let result = splice_all(rendered, &includes, chain, load);
    chain.pop();
    result
}

/// Whether the text may hold an INCLUDE at all (a cheap test before a parse).
fn has_include_word(text: &str) -> bool {
    text.lines().any(|l| l.trim_start().get(..7).is_some_and(|w| w.eq_ignore_ascii_case("include")))
}

fn splice_all(rendered: Rendered, includes: &[Instruction], chain: &mut Vec<Link>, load: &mut Loader<'_>) -> Result<Rendered, Failed> {
    let mut out = String::new();
    let mut segments: Vec<Segment> = Vec::new();
    let mut inclusions: Vec<Inclusion> = Vec::new();
    let mut missing: Vec<Missing> = Vec::new();
    let mut cursor = 0;
    // The including file's own text from `cursor` to `to`, with its map, goes to `out`.
    let copy_own = |out: &mut String, segments: &mut Vec<Segment>, from: usize, to: usize| {
        let at = out.len();
        out.push_str(&rendered.text[from..to]);
        segments.extend(cut_segments(&rendered.map, rendered.text.len(), from, to, at));
    };
    for inst in includes {
        let own_at = out.len();
        copy_own(&mut out, &mut segments, cursor, inst.span.start);
        missing.extend(own_missing(&rendered.missing, cursor, inst.span.start, own_at));
        cursor = inst.span.end;
        let via = rendered.map.span_to_original(inst.span);
        let at = out.len();
        // Everything found so far, for a failure here: a diagnostic's map must reach it.
        let fail = |diagnostics: Vec<Diagnostic>, segments: &[Segment], inclusions: &[Inclusion], extra: Option<Inclusion>| {
            let mut incs = inclusions.to_vec();
            incs.extend(extra);
            // The rest of the including file, from the INCLUDE on, as if it followed here.
            let mut segs = segments.to_vec();
            segs.extend(cut_segments(&rendered.map, rendered.text.len(), inst.span.start, rendered.text.len(), at));
            Failed { diagnostics, map: SourceMap::with_includes(segs, incs) }
        };
        let path = match include_path(inst) {
            Ok(path) => path,
            Err(d) => {
                let d = shift(d, at, inst.span.start);
                return Err(fail(vec![d], &segments, &inclusions, None));
            }
        };
        // The INCLUDE, in the text being built (the file's own text up to it is in place).
        let here = |span: Span| Span::new(span.start - inst.span.start + at, span.end - inst.span.start + at);
        if chain.len() > MAX_INCLUDE_DEPTH {
            let d = Diagnostic::error(Code::IncludeTooDeep, format!("INCLUDEs are nested more than {MAX_INCLUDE_DEPTH} deep"))
                .at(here(path.1), "one INCLUDE too many")
                .help("a fragment that includes itself through others is reported as a cycle; this chain is merely long: flatten it");
            return Err(fail(vec![d], &segments, &inclusions, None));
        }
        let loaded = match load(chain.last().and_then(|l| l.key.as_ref()), &path.0) {
            Ok(loaded) => loaded,
            Err(d) => {
                let d = Diagnostic { primary: None, ..d }.at(here(path.1), "this fragment");
                return Err(fail(vec![d], &segments, &inclusions, None));
            }
        };
        if let Some(start) = chain.iter().position(|l| l.key.as_ref() == Some(&loaded.key)) {
            let cycle: Vec<String> = chain[start..].iter().map(|l| l.name.clone()).chain([loaded.file.name.clone()]).collect();
            let d = Diagnostic::error(Code::IncludeCycle, format!("INCLUDE cycle: {}", cycle.join(" -> ")))
                .at(here(path.1), format!("`{}` is already being included", loaded.file.name))
                .note("each INCLUDE below brought in the file that holds the next; a fragment cannot include itself, directly or through others")
                .help("move what the files share into a fragment that neither of them includes back");
            return Err(fail(vec![d], &segments, &inclusions, None));
        }
        let fragment = loaded.file;
        let child = match loaded.rendered {
            Ok(r) => r,
            Err(diagnostics) => {
                // Template errors point into the fragment as written: place it, unrendered, here.
                let diagnostics = diagnostics.into_iter().map(|d| if d.coords == Coords::Original { shift(d, at, 0) } else { d }).collect();
                let inc = Inclusion { start: at, len: usize::MAX / 4, via, file: fragment.clone(), map: SourceMap::identity() };
                return Err(fail(diagnostics, &segments, &inclusions, Some(inc)));
            }
        };
        let child = match expand(&fragment, child, Some(loaded.key), chain, load, false) {
            Ok(child) => child,
            Err(f) => {
                let diagnostics = f.diagnostics.into_iter().map(|d| shift(d, at, 0)).collect();
                let inc = Inclusion { start: at, len: usize::MAX / 4, via, file: fragment.clone(), map: f.map };
                return Err(fail(diagnostics, &segments, &inclusions, Some(inc)));
            }
        };
        let body = child.text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&child.text);
        let inc = Inclusion { start: at, len: body.len(), via, file: fragment.clone(), map: child.map.clone() };
        if let Some(d) = ends_open(&fragment, body, at) {
            return Err(fail(vec![d], &segments, &inclusions, Some(inc)));
        }
        out.push_str(body);
        missing.extend(child.missing.into_iter().filter(|m| m.rendered.start < body.len()).map(|m| Missing {
            rendered: Span::new(m.rendered.start + at, m.rendered.end + at),
            in_fragment: true,
            ..m
        }));
        inclusions.push(inc);
    }
    let tail_at = out.len();
    copy_own(&mut out, &mut segments, cursor, rendered.text.len());
    missing.extend(own_missing(&rendered.missing, cursor, usize::MAX, tail_at));
    Ok(Rendered { text: out, map: SourceMap::with_includes(segments, inclusions), warnings: rendered.warnings, missing })
}

/// The INCLUDE's path and where it is written. INCLUDE takes one path, as in Rocker 0.2 (a JSON
/// array of one string too).
fn include_path(inst: &Instruction) -> Result<(String, Span), Diagnostic> {
    let usage = "write `INCLUDE path/to/fragment`, relative to the file that includes it";
    if let Some(flag) = inst.flags.first() {
        return Err(Diagnostic::error(Code::IncludeUsage, format!("INCLUDE takes no flags, found `{}`", flag.as_str())).at(flag.span(), "").help(usage));
    }
    match &inst.args {
        Args::String(s) if s.value.split_whitespace().count() == 1 => Ok((s.value.clone(), s.span)),
        Args::String(s) => Err(Diagnostic::error(Code::IncludeUsage, "INCLUDE takes exactly one path").at(s.span, "more than one word").help(usage)),
        Args::Json(v) if v.len() == 1 && !v[0].value.is_empty() => Ok((v[0].value.clone(), v[0].span)),
        Args::Json(v) => {
            Err(Diagnostic::error(Code::IncludeUsage, "INCLUDE takes exactly one path").at(inst.rest.span, format!("{} paths", v.len())).help(usage))
        }
        _ => Err(Diagnostic::error(Code::IncludeUsage, "INCLUDE requires a path").at(inst.keyword.span, "no path after INCLUDE").help(usage)),
    }
}

/// A fragment whose last line continues (ends with the escape character): spliced in, it would
/// swallow the line after the INCLUDE.
fn ends_open(fragment: &SourceFile, body: &str, at: usize) -> Option<Diagnostic> {
    let last = body.lines().rev().find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    let trimmed = last.trim_end();
    if !(trimmed.ends_with('\\') || trimmed.ends_with('`')) {
        return None;
    }
    // Only a real continuation: parse the fragment's text alone and see if its last instruction
    // ends on that line with the escape character.
    let parsed = parse(body).ok()?;
    let escape = parsed.ast.escape;
    if !trimmed.ends_with(escape) {
        return None;
    }
    let end = body.rfind(trimmed)? + trimmed.len();
    Some(
        Diagnostic::error(Code::IncludeOpenLine, format!("the fragment `{}` ends inside a continued line", fragment.name))
            .at(Span::new(at + end - 1, at + end), "the last line continues into the file that includes it")
            .help(format!("remove the trailing `{escape}`: a fragment's instructions must end in the fragment")),
    )
}

/// The missing values of the including file's own text `from..to`, moved to start at `at`.
fn own_missing(missing: &[Missing], from: usize, to: usize, at: usize) -> impl Iterator<Item = Missing> + '_ {
    missing
        .iter()
        .filter(move |m| m.rendered.start >= from && m.rendered.start < to)
        .map(move |m| Missing { rendered: Span::new(m.rendered.start - from + at, m.rendered.end - from + at), ..m.clone() })
}

/// `d` moved: spans at offsets `from..` of one text, to offsets from `to` in another (and
/// pointing into the rendered text).
fn shift(mut d: Diagnostic, to: usize, from: usize) -> Diagnostic {
    let mv = |s: Span| Span::new(s.start - from.min(s.start) + to, s.end - from.min(s.end) + to);
    if let Some(p) = &mut d.primary {
        p.span = mv(p.span);
    }
    for l in &mut d.secondary {
        l.span = mv(l.span);
    }
    d.coords = Coords::Rendered;
    d
}

/// The segments of `map` (over a text of `len` bytes) for its stretch `from..to`, moved to start
/// at `at`.
fn cut_segments(map: &SourceMap, len: usize, from: usize, to: usize, at: usize) -> Vec<Segment> {
    if from >= to {
        return Vec::new();
    }
    let identity = [Segment { rendered_start: 0, len, original_start: 0, verbatim: true }];
    let segments = if map.segments().is_empty() { &identity[..] } else { map.segments() };
    segments
        .iter()
        .filter(|s| s.rendered_start < to && s.rendered_start + s.len > from)
        .map(|s| {
            let start = s.rendered_start.max(from);
            let end = (s.rendered_start + s.len).min(to);
            let cut = start - s.rendered_start;
            Segment {
                rendered_start: start - from + at,
                len: end - start,
                original_start: if s.verbatim { s.original_start + cut } else { s.original_start },
                verbatim: s.verbatim,
            }
        })
        .collect()
}
