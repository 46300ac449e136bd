//! Source text, byte spans, the line table, and the map from rendered text back to the file the
//! user wrote.
//!
//! Every later stage works on the *rendered* text (the Rockerfile after template expansion), and
//! every AST node carries a [`Span`] into it. Diagnostics are rendered once, at the edge, through
//! a [`SourceMap`] that turns a rendered offset into an offset of the original file, so an error
//! in a line produced by `{{ if }}` still points at the line the user typed.

use std::fmt;

/// A half-open byte range `start..end` into one text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// An empty span at `at`, for "expected something here" errors.
    pub const fn point(at: usize) -> Span {
        Span { start: at, end: at }
    }

    pub fn len(self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Spanned<U> {
        Spanned { value: f(self.value), span: self.span }
    }

    pub fn as_ref(&self) -> Spanned<&T> {
        Spanned { value: &self.value, span: self.span }
    }
}

impl Spanned<String> {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// Byte offset <-> line/column for one text (typst's `Lines`, cut down).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineTable {
    /// Byte offset at which each line starts; `starts[0] == 0`.
    starts: Vec<usize>,
    len: usize,
}

impl LineTable {
    pub fn new(text: &str) -> LineTable {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1));
        LineTable { starts, len: text.len() }
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 0-based line index of a byte offset (offsets past the end land on the last line).
    pub fn line_index(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset.min(self.len)) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// Byte range of a 0-based line, without its line terminator.
    pub fn line_range(&self, index: usize, text: &str) -> std::ops::Range<usize> {
        let start = self.starts[index];
        let mut end = self.starts.get(index + 1).copied().unwrap_or(self.len);
        let bytes = text.as_bytes();
        while end > start && (bytes[end - 1] == b'\n' || bytes[end - 1] == b'\r') {
            end -= 1;
        }
        start..end
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize, text: &str) -> (usize, usize) {
        let offset = offset.min(self.len);
        let index = self.line_index(offset);
        let start = self.starts[index];
        let col = text.get(start..offset).map(|s| s.chars().count()).unwrap_or(offset - start);
        (index + 1, col + 1)
    }
}

/// A stretch of 1-based lines of a file, as generated output cites them (`5`, `5-8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lines {
    pub first: usize,
    pub last: usize,
}

impl fmt::Display for Lines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Why `bytes` look like a binary file rather than text (an executable, an archive, NUL bytes),
/// or `None`. Text in some other encoding than UTF-8 is not binary: that is a different mistake,
/// with a different fix.
pub fn binary_reason(bytes: &[u8]) -> Option<String> {
    const MAGIC: &[(usize, &[u8], &str)] = &[
        (0, b"\x7fELF", "an ELF executable"),
        (0, b"\x1f\x8b", "gzip-compressed data"),
        (257, b"ustar", "a tar archive"),
        (0, b"PK\x03\x04", "a zip archive"),
        (0, b"PK\x05\x06", "a zip archive"),
        (0, b"BZh", "bzip2-compressed data"),
        (0, b"\xfd7zXZ\x00", "xz-compressed data"),
        (0, b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
        (0, b"7z\xbc\xaf\x27\x1c", "a 7-zip archive"),
        (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (0, b"\xff\xd8\xff", "a JPEG image"),
        (0, b"GIF8", "a GIF image"),
        (0, b"%PDF-", "a PDF document"),
        (0, b"SQLite format 3\x00", "an SQLite database"),
        (0, b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
        (0, b"\xce\xfa\xed\xfe", "a Mach-O executable"),
        (0, b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
        (0, b"\x00asm", "a WebAssembly module"),
    ];
    // `BZh` and `GIF8` are also the start of words: a header counts only with a byte no text has.
    let head = &bytes[..bytes.len().min(8192)];
    let has_control = head.iter().any(|&b| b == 0 || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)));
    for (at, magic, what) in MAGIC {
        if bytes.get(*at..at + magic.len()) == Some(*magic) && (has_control || magic.iter().any(|b| !b.is_ascii_graphic())) {
            return Some(format!("it starts like {what}"));
        }
    }
    // UTF-16 text has NUL bytes too, but is text: not UTF-8 says what to do about it.
    if bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff") {
        return None;
    }
    // git's rule: a NUL in the first 8000 bytes makes a file binary.
    if let Some(at) = bytes[..bytes.len().min(8000)].iter().position(|&b| b == 0) {
        let before = String::from_utf8_lossy(&bytes[..at]);
        let (line, column) = LineTable::new(&before).line_col(before.len(), &before);
        return Some(format!("it has NUL bytes (the first at line {line}, column {column})"));
    }
    None
}

/// A file as the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The name diagnostics print, as the user gave it (`Rockerfile`, `ci/Rockerfile`, `<stdin>`).
    pub name: String,
    pub text: String,
    pub lines: LineTable,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let lines = LineTable::new(&text);
        SourceFile { name: name.into(), text, lines }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        self.lines.line_col(offset, &self.text)
    }

    /// The 1-based lines a span of this file covers (an empty span: its line), from the line
    /// table alone: no column is counted.
    pub fn lines_of(&self, span: Span) -> Lines {
        let first = self.lines.line_index(span.start) + 1;
        let last = self.lines.line_index(span.end.saturating_sub(1).max(span.start)) + 1;
        Lines { first, last: last.max(first) }
    }

    /// The text of a 1-based line, without its terminator.
    pub fn line_text(&self, line: usize) -> &str {
        &self.text[self.lines.line_range(line - 1, &self.text)]
    }
}

/// One stretch of rendered text and where it came from in the original.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub rendered_start: usize,
    pub len: usize,
    pub original_start: usize,
    /// Text copied verbatim from the template maps offset for offset. Text produced by an action
    /// (`{{ .Version }}`) maps every offset to `original_start`, the start of the action.
    pub verbatim: bool,
}

/// Maps offsets in rendered text back to offsets in the original file.
///
/// Segments are sorted by `rendered_start` and cover the rendered text without gaps. The identity
/// map (a file without templates) is a single verbatim segment, or no segments at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMap {
    segments: Vec<Segment>,
    /// Fragments spliced in by INCLUDE, in order; their text is part of the rendered text, but
    /// not of this file.
    includes: Vec<Inclusion>,
}

/// A fragment an INCLUDE spliced into the rendered text: where it sits there, the file it came
/// from (as written) with its own map, and the INCLUDE that brought it in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inclusion {
    /// Where the fragment's rendered text starts in the rendered text, and its length.
    pub start: usize,
    pub len: usize,
    /// The INCLUDE instruction, in the including file as written.
    pub via: Span,
    /// The fragment as written (its name relative to the context, or as the INCLUDE wrote it).
    pub file: std::sync::Arc<SourceFile>,
    /// The fragment's rendered text (offsets from `start`) back to `file`, its own INCLUDEs
    /// included.
    pub map: SourceMap,
}

/// A place in a file as written, and the INCLUDEs that brought that file in, innermost first:
/// `(fragment, span)`, then `(includer, INCLUDE span)`, ..., ending in the Rockerfile.
pub type Located<'a> = Vec<(&'a SourceFile, Span)>;

impl SourceMap {
    pub fn identity() -> SourceMap {
        SourceMap::default()
    }

    pub fn from_segments(mut segments: Vec<Segment>) -> SourceMap {
        segments.sort_by_key(|s| s.rendered_start);
        SourceMap { segments, includes: Vec::new() }
    }

    /// A map with fragments spliced in: `segments` cover the including file's own text (in the
    /// rendered text's offsets, fragments left out), `includes` the fragments.
    pub fn with_includes(segments: Vec<Segment>, mut includes: Vec<Inclusion>) -> SourceMap {
        includes.sort_by_key(|i| i.start);
        SourceMap { includes, ..SourceMap::from_segments(segments) }
    }

    /// Whether a rendered span starts in text an INCLUDE spliced in.
    pub fn is_included(&self, span: Span) -> bool {
        self.inclusion_at(span.start).is_some()
    }

    pub fn includes(&self) -> &[Inclusion] {
        &self.includes
    }

    /// The fragment a rendered offset lies in, if any (an empty fragment holds no offset).
    fn inclusion_at(&self, rendered: usize) -> Option<&Inclusion> {
        if self.includes.is_empty() {
            return None;
        }
        let i = self.includes.partition_point(|inc| inc.start <= rendered);
        let inc = self.includes.get(i.checked_sub(1)?)?;
        (rendered < inc.start + inc.len).then_some(inc)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The original offset for a rendered offset: in this map's file. Text an INCLUDE spliced
    /// in maps to the INCLUDE instruction (see [`SourceMap::locate`] for the place in the fragment).
    pub fn to_original(&self, rendered: usize) -> usize {
        if let Some(inc) = self.inclusion_at(rendered) {
            return inc.via.start;
        }
        if self.segments.is_empty() {
            return rendered;
        }
        let i = match self.segments.binary_search_by_key(&rendered, |s| s.rendered_start) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        };
        let seg = self.segments[i];
        if seg.verbatim {
            seg.original_start + rendered.saturating_sub(seg.rendered_start).min(seg.len)
        } else {
            seg.original_start
        }
    }

    pub fn span_to_original(&self, span: Span) -> Span {
        if let Some(inc) = self.inclusion_at(span.start) {
            // A span that starts in a fragment stands, in this file, for the INCLUDE.
            return inc.via;
        }
        let start = self.to_original(span.start);
        let end = if span.is_empty() { start } else { self.to_original(span.end - 1) + 1 };
        Span::new(start, end.max(start))
    }

    /// Where a rendered span was written: in `root` (the file this map renders), or in the
    /// fragment an INCLUDE brought in, followed by the INCLUDE chain back to `root`. A span that
    /// starts in a fragment is cut at the fragment's end.
    pub fn locate<'a>(&'a self, span: Span, root: &'a SourceFile) -> Located<'a> {
        match self.inclusion_at(span.start) {
            Some(inc) => {
                let end = span.end.min(inc.start + inc.len).max(span.start);
                let inner = Span::new(span.start - inc.start, end - inc.start);
                let mut chain = inc.map.locate(inner, &inc.file);
                chain.push((root, inc.via));
                chain
            }
            None => vec![(root, self.span_to_original(span))],
        }
    }

    /// How generated output cites a rendered span's lines: `NAME:5` (or `NAME:5-8`, with `lines`
    /// already computed in `root`), and for a span from a fragment `base.inc:3 via NAME:5`,
    /// nested INCLUDEs in order.
    pub fn cite(&self, span: Span, root: &SourceFile, name: &str, lines: impl fmt::Display) -> String {
        let chain = self.locate(span, root);
        if chain.len() == 1 {
            return format!("{name}:{lines}");
        }
        let mut parts: Vec<String> = Vec::new();
        for (i, (file, at)) in chain.iter().enumerate() {
            let is_root = i + 1 == chain.len();
            let shown = if is_root { name.to_string() } else { file.name.clone() };
            let lines = file.lines_of(*at);
            parts.push(if i > 0 { format!("{shown}:{}", lines.first) } else { format!("{shown}:{lines}") });
        }
        parts.join(" via ")
    }

    /// Every fragment this map splices in, nested ones included, in order.
    pub fn fragments(&self) -> Vec<&SourceFile> {
        let mut out = Vec::new();
        for inc in &self.includes {
            out.push(&*inc.file);
            out.extend(inc.map.fragments());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let file = SourceFile::new("Rockerfile", "FROM a\nRUN é x\n\nTAG t");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(7), (2, 1));
        // `x` is after a two-byte character: byte 14, column 7.
        assert_eq!(file.line_col(14), (2, 7));
        assert_eq!(file.line_col(file.text.len()), (4, 6));
        assert_eq!(file.line_text(2), "RUN é x");
        assert_eq!(file.line_text(3), "");
    }

    #[test]
    fn crlf_is_not_part_of_the_line() {
        let file = SourceFile::new("f", "FROM a\r\nRUN b\r\n");
        assert_eq!(file.line_text(1), "FROM a");
        assert_eq!(file.line_col(8), (2, 1));
    }

    #[test]
    fn source_map_maps_verbatim_text_and_points_actions_at_their_start() {
        // original: "TAG {{ .V }}!" rendered: "TAG 1.0!"
        let map = SourceMap::from_segments(vec![
            Segment { rendered_start: 0, len: 4, original_start: 0, verbatim: true },
            Segment { rendered_start: 4, len: 3, original_start: 4, verbatim: false },
            Segment { rendered_start: 7, len: 1, original_start: 12, verbatim: true },
        ]);
        assert_eq!(map.to_original(2), 2);
        assert_eq!(map.to_original(5), 4);
        assert_eq!(map.to_original(7), 12);
        assert_eq!(map.span_to_original(Span::new(4, 8)), Span::new(4, 13));
        assert_eq!(SourceMap::identity().to_original(42), 42);
    }
}
