//! The syntax tree: BuildKit's parser layer (keyword, flags, argument nodes), extended with
//! Rocker's instructions. Values here are raw text as written; quote removal, variable
//! expansion and validation belong to `analyze`.

use crate::source::{Span, Spanned};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ast {
    /// Parser directives from the top of the file (`# escape=\``, `# syntax=...`, `# check=...`).
    pub directives: Vec<Directive>,
    /// The escape character in effect: `\` unless a directive changed it to `` ` ``.
    pub escape: char,
    pub instructions: Vec<Instruction>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// Lower-cased name: `escape`, `syntax` or `check`.
    pub name: Spanned<String>,
    pub value: Spanned<String>,
}

/// Instruction keywords rockerc knows. Anything else parses as [`Keyword::Unknown`] (BuildKit's
/// parser accepts unknown keywords too; `analyze` rejects them with a suggestion).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Keyword {
    From,
    Run,
    Cmd,
    Entrypoint,
    Shell,
    Env,
    Label,
    Arg,
    Workdir,
    User,
    Expose,
    Volume,
    Copy,
    Add,
    Onbuild,
    Stopsignal,
    Healthcheck,
    Maintainer,
    // Rocker's extensions.
    Mount,
    Export,
    Import,
    Tag,
    Push,
    Attach,
    // Rocker 0.2's, resolved before the analysis: INCLUDE splices a fragment in, REQUIRE checks
    // that template variables are set.
    Include,
    Require,
    Unknown,
}

impl Keyword {
    pub const ALL: [Keyword; 26] = [
        Keyword::From,
        Keyword::Run,
        Keyword::Cmd,
        Keyword::Entrypoint,
        Keyword::Shell,
        Keyword::Env,
        Keyword::Label,
        Keyword::Arg,
        Keyword::Workdir,
        Keyword::User,
        Keyword::Expose,
        Keyword::Volume,
        Keyword::Copy,
        Keyword::Add,
        Keyword::Onbuild,
        Keyword::Stopsignal,
        Keyword::Healthcheck,
        Keyword::Maintainer,
        Keyword::Mount,
        Keyword::Export,
        Keyword::Import,
        Keyword::Tag,
        Keyword::Push,
        Keyword::Attach,
        Keyword::Include,
        Keyword::Require,
    ];

    /// The canonical upper-case spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::From => "FROM",
            Keyword::Run => "RUN",
            Keyword::Cmd => "CMD",
            Keyword::Entrypoint => "ENTRYPOINT",
            Keyword::Shell => "SHELL",
            Keyword::Env => "ENV",
            Keyword::Label => "LABEL",
            Keyword::Arg => "ARG",
            Keyword::Workdir => "WORKDIR",
            Keyword::User => "USER",
            Keyword::Expose => "EXPOSE",
            Keyword::Volume => "VOLUME",
            Keyword::Copy => "COPY",
            Keyword::Add => "ADD",
            Keyword::Onbuild => "ONBUILD",
            Keyword::Stopsignal => "STOPSIGNAL",
            Keyword::Healthcheck => "HEALTHCHECK",
            Keyword::Maintainer => "MAINTAINER",
            Keyword::Mount => "MOUNT",
            Keyword::Export => "EXPORT",
            Keyword::Import => "IMPORT",
            Keyword::Tag => "TAG",
            Keyword::Push => "PUSH",
            Keyword::Attach => "ATTACH",
            Keyword::Include => "INCLUDE",
            Keyword::Require => "REQUIRE",
            Keyword::Unknown => "UNKNOWN",
        }
    }

    /// Case-insensitive lookup; `Unknown` for anything else.
    pub fn from_word(word: &str) -> Keyword {
        Keyword::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(word)).unwrap_or(Keyword::Unknown)
    }

    /// Rocker's own instructions, which only rockerc (not Docker) understands.
    pub fn is_rocker(self) -> bool {
        matches!(
            self,
            Keyword::Mount | Keyword::Export | Keyword::Import | Keyword::Tag | Keyword::Push | Keyword::Attach | Keyword::Include | Keyword::Require
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// The keyword as written (`run`, `RUN`, `PUSh`).
    pub keyword: Spanned<String>,
    pub kind: Keyword,
    /// Leading `--flag` words, BuildKit-style, each split into its name and value once here
    /// (`--from=build`, `--chown=1:1`). A bare `--` ends the flags and is not kept.
    pub flags: Vec<Flag>,
    pub args: Args,
    /// The logical line after the keyword and the flags, trimmed, continuation lines joined as
    /// Docker joins them. Shell-form commands run exactly this text; ONBUILD keeps it.
    pub rest: Spanned<String>,
    /// Heredoc bodies that followed this instruction (`RUN <<EOF`), in order.
    pub heredocs: Vec<Heredoc>,
    /// From the first character of the keyword to the end of the last physical line consumed
    /// (comment and blank lines inside a continuation, and heredoc bodies, included).
    pub span: Span,
}

/// One leading `--flag` word of an instruction, as BuildKit's flag parser reads it: the word
/// after its two dashes is the name, up to the first `=`; what follows that `=` is the value.
/// Every later stage asks a flag its name and value here instead of splitting the word again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    /// The whole word with quotes removed and escapes resolved (`--from=build`): what a dump
    /// and a message show, and where it is written.
    pub word: Spanned<String>,
    /// Where `=` is in the word, if anywhere.
    eq: Option<usize>,
}

impl Flag {
    /// `word` starts with `--` (the parser takes nothing else for a flag).
    pub fn new(word: Spanned<String>) -> Flag {
        let eq = word.value.find('=');
        Flag { word, eq }
    }

    /// The name: after the two leading dashes, up to the first `=` (`from`; `-from` for
    /// `---from`, which no instruction accepts, as in BuildKit).
    pub fn name(&self) -> &str {
        let end = self.eq.unwrap_or(self.word.value.len());
        self.word.value.get(2..end).unwrap_or_default()
    }

    /// The text after the first `=`; `None` for a flag written without one (`--link`).
    pub fn value(&self) -> Option<&str> {
        self.eq.map(|eq| &self.word.value[eq + 1..])
    }

    /// The word as parsed.
    pub fn as_str(&self) -> &str {
        &self.word.value
    }

    pub fn span(&self) -> Span {
        self.word.span
    }
}

/// Argument nodes, by the form the instruction takes (BuildKit's dispatch table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Args {
    /// Nothing after the keyword (`CMD` alone, bare `HEALTHCHECK`, `ATTACH`).
    None,
    /// A JSON array of strings (exec form of RUN/CMD/ENTRYPOINT/SHELL/ATTACH, JSON form of
    /// ADD/COPY/VOLUME/MOUNT/EXPORT/IMPORT). Elements are decoded JSON strings.
    Json(Vec<Spanned<String>>),
    /// The rest of the line as one node: shell form of RUN/CMD/ENTRYPOINT/SHELL/ATTACH, and
    /// MAINTAINER, USER, WORKDIR, STOPSIGNAL, TAG, PUSH, and unknown instructions.
    String(Spanned<String>),
    /// The rest split on blanks, quotes not special: FROM, EXPOSE, and the non-JSON form of
    /// ADD/COPY/VOLUME/MOUNT/EXPORT/IMPORT.
    List(Vec<Spanned<String>>),
    /// ENV and LABEL.
    Pairs(Vec<Pair>),
    /// ARG: quote-aware words, each kept verbatim (quotes and escapes stay).
    Words(Vec<Spanned<String>>),
    /// HEALTHCHECK with arguments: its first word (`CMD`, `NONE`, unvalidated) and, for anything
    /// after it, the tail parsed like CMD.
    Healthcheck { kind: Spanned<String>, command: Box<Args> },
    /// ONBUILD: the trigger, parsed as a complete instruction.
    Onbuild(Box<Instruction>),
}

/// One ENV/LABEL entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub key: Spanned<String>,
    /// Raw value: quotes and escapes are still in it (`"a b"`); the legacy form `ENV K the rest`
    /// gives the rest of the line verbatim.
    pub value: Spanned<String>,
    /// `true` for `K=V`, `false` for the legacy `K V` form (BuildKit prints the separator node as
    /// `"="` or `""`).
    pub equals: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word with quotes removed (`EOF`).
    pub name: String,
    /// `false` when any part of the delimiter was quoted (`<<'EOF'`): no expansion in the body.
    pub expand: bool,
    /// `<<-EOF`: leading tabs are stripped from the terminator line (and, in the instruction
    /// layer, from body lines).
    pub chomp: bool,
    /// `3<<EOF`.
    pub fd: Option<u32>,
    /// The body, every line with its `\n`, the terminator line excluded.
    pub body: Spanned<String>,
}

impl Instruction {
    /// All argument strings in order, whatever the form (for messages and simple checks).
    pub fn arg_strings(&self) -> Vec<&Spanned<String>> {
        fn collect<'a>(args: &'a Args, out: &mut Vec<&'a Spanned<String>>) {
            match args {
                Args::None | Args::Onbuild(_) => {}
                Args::Json(v) | Args::List(v) | Args::Words(v) => out.extend(v.iter()),
                Args::String(s) => out.push(s),
                Args::Pairs(pairs) => {
                    for p in pairs {
                        out.push(&p.key);
                        out.push(&p.value);
                    }
                }
                Args::Healthcheck { kind, command } => {
                    out.push(kind);
                    collect(command, out);
                }
            }
        }
        let mut out = Vec::new();
        collect(&self.args, &mut out);
        out
    }
}
