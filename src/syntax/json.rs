//! The syntax tree as JSON, for `rockerc --emit ast` and for tools.
//!
//! # Schema (version 1)
//!
//! ```text
//! Ast = {
//!   "version": 1,
//!   "escape": "\\" | "`",
//!   "directives": [ { "name": Str, "value": Str } ],      // name lower-cased: escape, syntax, check
//!   "instructions": [ Instruction ]
//! }
//! Instruction = {
//!   "keyword": Str,            // as written: "run", "RUN", "Run"
//!   "kind": "RUN" | ... | "ATTACH" | null,   // canonical upper case; null for an unknown keyword
//!   "rocker": bool,            // MOUNT, EXPORT, IMPORT, TAG, PUSH, ATTACH
//!   "flags": [ Str ],          // "--from=build": whole word, quotes removed, escapes resolved
//!   "rest": Str,               // the text after keyword and flags, trimmed, continuations joined
//!   "args": Args,
//!   "heredocs": [ Heredoc ],
//!   "span": Span,              // keyword to the end of the last line consumed
//!   "origin": Origin           // only for an instruction an INCLUDE brought in
//! }
//! Origin = {                   // where it was written, and the INCLUDE lines that led there
//!   "file": string, "line": int, "column": int,
//!   "via": [ { "file": string, "line": int, "column": int } ]   // innermost first
//! }
//! Args =
//!   { "form": "none" }                                   // nothing after the keyword
//! | { "form": "json",   "values": [ Str ] }              // exec/JSON form, strings decoded
//! | { "form": "string", "value": Str }                   // shell form, USER, TAG, unknown, ...
//! | { "form": "list",   "values": [ Str ] }              // FROM, EXPOSE, plain ADD/COPY/MOUNT/...
//! | { "form": "pairs",  "pairs": [ { "key": Str, "value": Str, "equals": bool } ] }  // ENV, LABEL
//! | { "form": "words",  "values": [ Str ] }              // ARG, quotes kept
//! | { "form": "healthcheck", "kind": Str, "command": Args }
//! | { "form": "onbuild", "trigger": Instruction }
//! Heredoc = { "name": string, "expand": bool, "chomp": bool, "fd": int | null, "body": Str }
//! Str  = { "value": string, "span": Span }
//! Span = {
//!   "start": int, "end": int,            // byte offsets, half-open, into the parsed text
//!   "line": int, "column": int,          // 1-based position of `start` (column in characters)
//!   "end_line": int, "end_column": int   // 1-based position of `end`
//! }
//! ```
//!
//! Values are raw as in the tree: ENV values keep their quotes, shell-form commands are not
//! split. Fields are only ever added to this schema; a change to an existing one bumps
//! `version`.

use super::ast::{Args, Ast, Heredoc, Instruction, Keyword};
use crate::source::{LineTable, SourceFile, SourceMap, Span, Spanned};
use serde_json::{json, Value};

/// The tree as JSON. `text` is the text that was parsed (spans are offsets into it); it is
/// needed to turn offsets into lines and columns.
pub fn to_json(ast: &Ast, text: &str) -> Value {
    to_json_with_origins(ast, text, None)
}

/// [`to_json`], where `origins` (the map of the rendered text, and the Rockerfile) says which
/// instructions came from INCLUDEd fragments: those get an `origin`.
pub fn to_json_with_origins(ast: &Ast, text: &str, origins: Option<(&SourceMap, &SourceFile)>) -> Value {
    let cx = Cx { text, lines: LineTable::new(text), origins };
    json!({
        "version": 1,
        "escape": ast.escape.to_string(),
        "directives": ast.directives.iter().map(|d| json!({
            "name": cx.str(&d.name),
            "value": cx.str(&d.value),
        })).collect::<Vec<_>>(),
        "instructions": ast.instructions.iter().map(|i| cx.instruction(i)).collect::<Vec<_>>(),
    })
}

struct Cx<'t> {
    text: &'t str,
    lines: LineTable,
    origins: Option<(&'t SourceMap, &'t SourceFile)>,
}

impl Cx<'_> {
    fn span(&self, span: Span) -> Value {
        let (line, column) = self.lines.line_col(span.start, self.text);
        let (end_line, end_column) = self.lines.line_col(span.end, self.text);
        json!({
            "start": span.start, "end": span.end,
            "line": line, "column": column, "end_line": end_line, "end_column": end_column,
        })
    }

    fn str(&self, s: &Spanned<String>) -> Value {
        json!({ "value": s.value, "span": self.span(s.span) })
    }

    fn strs(&self, values: &[Spanned<String>]) -> Value {
        Value::Array(values.iter().map(|v| self.str(v)).collect())
    }

    fn instruction(&self, i: &Instruction) -> Value {
        let mut v = self.instruction_fields(i);
        if let Some((map, root)) = self.origins {
            let chain = map.locate(i.span, root);
            if chain.len() > 1 {
                let at = |(f, span): &(&SourceFile, Span)| {
                    let (line, column) = f.line_col(span.start);
                    json!({ "file": f.name, "line": line, "column": column })
                };
                let mut origin = at(&chain[0]);
                origin["via"] = chain[1..].iter().map(at).collect();
                v["origin"] = origin;
            }
        }
        v
    }

    fn instruction_fields(&self, i: &Instruction) -> Value {
        json!({
            "keyword": self.str(&i.keyword),
            "kind": if i.kind == Keyword::Unknown { Value::Null } else { i.kind.as_str().into() },
            "rocker": i.kind.is_rocker(),
            "flags": i.flags.iter().map(|f| self.str(&f.word)).collect::<Vec<_>>(),
            "rest": self.str(&i.rest),
            "args": self.args(&i.args),
            "heredocs": i.heredocs.iter().map(|h| self.heredoc(h)).collect::<Vec<_>>(),
            "span": self.span(i.span),
        })
    }

    fn args(&self, args: &Args) -> Value {
        match args {
            Args::None => json!({ "form": "none" }),
            Args::Json(values) => json!({ "form": "json", "values": self.strs(values) }),
            Args::String(value) => json!({ "form": "string", "value": self.str(value) }),
            Args::List(values) => json!({ "form": "list", "values": self.strs(values) }),
            Args::Words(values) => json!({ "form": "words", "values": self.strs(values) }),
            Args::Pairs(pairs) => json!({
                "form": "pairs",
                "pairs": pairs.iter().map(|p| json!({
                    "key": self.str(&p.key), "value": self.str(&p.value), "equals": p.equals,
                })).collect::<Vec<_>>(),
            }),
            Args::Healthcheck { kind, command } => {
                json!({ "form": "healthcheck", "kind": self.str(kind), "command": self.args(command) })
            }
            Args::Onbuild(trigger) => json!({ "form": "onbuild", "trigger": self.instruction(trigger) }),
        }
    }

    fn heredoc(&self, h: &Heredoc) -> Value {
        json!({ "name": h.name, "expand": h.expand, "chomp": h.chomp, "fd": h.fd, "body": self.str(&h.body) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    #[test]
    fn schema_by_example() {
        let text = "# escape=\\\nFROM a\nrun --mount=x \\\n  echo hi\nENV K=v\nONBUILD COPY <<EOF /x\nbody\nEOF\nTAG r:1\nFOO bar\n";
        let ast = parse(text).unwrap().ast;
        let v = to_json(&ast, text);
        assert_eq!(v["version"], 1);
        assert_eq!(v["escape"], "\\");
        assert_eq!(v["directives"][0]["name"]["value"], "escape");

        let run = &v["instructions"][1];
        assert_eq!(run["keyword"]["value"], "run");
        assert_eq!(run["kind"], "RUN");
        assert_eq!(run["flags"][0]["value"], "--mount=x");
        assert_eq!(run["args"], json!({ "form": "string", "value": run["rest"].clone() }));
        assert_eq!(run["rest"]["value"], "echo hi");
        assert_eq!(run["span"], json!({ "start": 18, "end": 43, "line": 3, "column": 1, "end_line": 4, "end_column": 10 }));

        assert_eq!(v["instructions"][2]["args"]["pairs"][0]["equals"], true);
        let onbuild = &v["instructions"][3];
        assert_eq!(onbuild["args"]["form"], "onbuild");
        assert_eq!(onbuild["args"]["trigger"]["args"]["form"], "list");
        assert_eq!(onbuild["heredocs"][0]["body"]["value"], "body\n");
        assert_eq!(onbuild["heredocs"][0]["fd"], Value::Null);
        assert_eq!(v["instructions"][4]["rocker"], true);
        assert_eq!(v["instructions"][5]["kind"], Value::Null);
        assert_eq!(v["instructions"][5]["args"]["value"]["value"], "bar");
    }
}
