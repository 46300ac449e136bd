//! Logical lines -> instructions, with nom.
//!
//! Each logical line is split the way BuildKit's `splitCommand` splits it (keyword, `--flags`,
//! the trimmed rest) and the rest is parsed by the form its instruction takes (BuildKit's
//! dispatch table, plus Rocker's instructions). Every node is a slice of the logical line, so
//! its span comes from the line's map back to the file.

use super::ast::{Args, Ast, Flag, Heredoc, Instruction, Keyword, Pair};
use super::json_array::{self, JsonArray};
use super::lexer::{Lexer, LogicalLine};
use super::{heredoc, Parsed};
use crate::diagnostic::{Code, Diagnostic};
use crate::golang;
use crate::source::{Span, Spanned};
use nom::branch::alt;
use nom::bytes::complete::{take_till, take_till1, take_while, take_while1};
use nom::character::complete::{anychar, char, satisfy};
use nom::combinator::{consumed, eof, opt, value};
use nom::multi::{fold_many0, fold_many1, many0, separated_list0};
use nom::sequence::{preceded, terminated};
use nom::{IResult, Parser};

type Res<'a, T> = IResult<&'a str, T, ()>;

/// BuildKit nests `ONBUILD ONBUILD ...` without limit (Docker rejects it later); rockerc stops
/// early so that no input can exhaust the stack.
const MAX_ONBUILD_DEPTH: usize = 32;

/// Every instruction costs time and memory in every later stage (a few hundred bytes of script
/// each, more for a stage), and a short template can write millions of them. The benchmark's
/// generated file (1000 stages, about 110,000 instructions, 6 MB) is far below both; a file over
/// them is an error, not minutes of work and gigabytes of memory.
pub const MAX_INSTRUCTIONS: usize = 500_000;
pub const MAX_STAGES: usize = 50_000;

pub fn parse(text: &str) -> Result<Parsed, Diagnostic> {
    // Checked once, before any line is read: every instruction's text may end up in a generated
    // Dockerfile or in the script's arguments, and neither can hold a NUL.
    if let Some(at) = text.find('\0') {
        return Err(Diagnostic::error(Code::NulByte, "the Rockerfile contains a NUL character")
            .at(Span::new(at, at + 1), "a NUL here")
            .help("neither a Dockerfile nor a shell script can hold a NUL; remove it (a template that writes one is the likely source)"));
    }
    let mut lexer = Lexer::new(text);
    let mut warnings = Vec::new();
    let mut instructions = Vec::new();
    let mut stages = 0;
    while let Some(line) = lexer.next_logical()? {
        let mut cx = Cx { line: &line, escape: lexer.escape, warnings: &mut warnings };
        let mut instruction = cx.instruction(&line.text, 0)?;
        if can_contain_heredoc(&instruction) {
            let declarations = heredoc::declarations(&line.text)
                .map_err(|e| Diagnostic::error(Code::InvalidHeredoc, e.message).at(line.span(e.word), "this heredoc delimiter"))?;
            for decl in declarations {
                let Some(body) = lexer.heredoc_body(&decl.name, decl.chomp)? else {
                    return Err(unterminated_heredoc(&decl, line.span(decl.word.clone())));
                };
                instruction.heredocs.push(Heredoc { name: decl.name, expand: decl.expand, chomp: decl.chomp, fd: decl.fd, body });
            }
            if !instruction.heredocs.is_empty() {
                instruction.span.end = lexer.consumed_end();
            }
        }
        if instruction.kind == Keyword::From {
            stages += 1;
            if stages > MAX_STAGES {
                return Err(too_many(&instruction, format!("more than {MAX_STAGES} stages (FROM instructions)")));
            }
        }
        if instructions.len() == MAX_INSTRUCTIONS {
            return Err(too_many(&instruction, format!("more than {MAX_INSTRUCTIONS} instructions")));
        }
        instructions.push(instruction);
    }
    if instructions.is_empty() {
        // The whole file is the problem: no position to point at.
        return Err(Diagnostic::error(Code::EmptyFile, "file with no instructions").help("a Rockerfile starts with a FROM instruction"));
    }
    warnings.extend(lexer.warnings);
    warnings.sort_by_key(|w| w.primary.as_ref().map(|l| l.span.start));
    Ok(Parsed { ast: Ast { directives: lexer.directives, escape: lexer.escape, instructions }, warnings })
}

/// BuildKit reads heredoc bodies after RUN, ADD and COPY (also as ONBUILD triggers), except in
/// their JSON form.
fn can_contain_heredoc(instruction: &Instruction) -> bool {
    let target = match &instruction.args {
        Args::Onbuild(trigger) => trigger,
        _ => instruction,
    };
    matches!(target.kind, Keyword::Run | Keyword::Add | Keyword::Copy) && !matches!(target.args, Args::Json(_))
}

fn too_many(at: &Instruction, what: String) -> Diagnostic {
    Diagnostic::error(Code::TooManyInstructions, format!("the Rockerfile has {what}"))
        .at(at.keyword.span, "the limit is reached here")
        .help("a template that loops over a large range is the likely cause; `rockerc --print` shows what it wrote")
}

fn unterminated_heredoc(decl: &heredoc::Declaration, word: Span) -> Diagnostic {
    let tabs = if decl.chomp { " (leading tabs allowed)" } else { "" };
    Diagnostic::error(Code::UnterminatedHeredoc, format!("unterminated heredoc `{}`", decl.name))
        .at(word, "the file ends before this heredoc is closed")
        .help(format!("end the body with a line that is exactly `{}`{tabs}", decl.name))
}

/// What parsing one logical line needs besides the text.
struct Cx<'l, 'a> {
    line: &'l LogicalLine<'a>,
    escape: char,
    warnings: &'l mut Vec<Diagnostic>,
}

impl Cx<'_, '_> {
    fn spanned(&self, part: &str) -> Spanned<String> {
        Spanned::new(part.to_string(), self.line.span_of(part))
    }

    /// Keyword, flags and arguments of `input`, a slice of the logical line (the whole line, or
    /// an ONBUILD trigger).
    fn instruction(&mut self, input: &str, depth: usize) -> Result<Instruction, Diagnostic> {
        let input = input.trim_matches(golang::is_space);
        let (after_keyword, keyword) = keyword(input).map_err(|_| self.internal(input))?;
        let kind = Keyword::from_word(&golang::to_lower(keyword));
        let (after_space, space) = token_space(after_keyword).map_err(|_| self.internal(input))?;
        // Only a blank after the keyword separates arguments (`[\t\v\f\r ]`, as BuildKit splits).
        let (flags, rest) = if space.is_empty() { (Vec::new(), after_keyword) } else { self.flags(after_space) };
        let rest = rest.trim_matches(golang::is_space);
        let keyword = self.spanned(keyword);
        let args = if kind == Keyword::Onbuild && !rest.is_empty() {
            if depth + 1 >= MAX_ONBUILD_DEPTH {
                return Err(Diagnostic::error(Code::OnbuildTooDeep, format!("ONBUILD triggers are nested more than {MAX_ONBUILD_DEPTH} deep"))
                    .at(keyword.span, "too deep")
                    .note("Docker does not allow `ONBUILD ONBUILD` at all"));
            }
            Args::Onbuild(Box::new(self.instruction(rest, depth + 1)?))
        } else {
            self.args(kind, rest)?
        };
        Ok(Instruction { span: Span::new(keyword.span.start, self.line.end), keyword, kind, flags, args, rest: self.spanned(rest), heredocs: Vec::new() })
    }

    /// BuildKit's `extractBuilderFlags`: leading words that start with `--`, with quotes removed
    /// and `\` escapes resolved (always `\`, whatever the escape directive says). A bare `--`
    /// ends the flags. Returns the flags and the text after them.
    fn flags<'i>(&self, mut input: &'i str) -> (Vec<Flag>, &'i str) {
        let mut flags = Vec::new();
        loop {
            let word = input.trim_start_matches(golang::is_space);
            if !word.starts_with("--") {
                return (flags, word);
            }
            let Ok((rest, (raw, value))) = consumed(flag_word).parse(word) else { return (flags, word) };
            input = rest;
            if value == "--" {
                return (flags, rest);
            }
            flags.push(Flag::new(Spanned::new(value, self.line.span_of(raw))));
        }
    }

    /// The argument nodes of `rest` (already trimmed), by the form `kind` takes.
    fn args(&mut self, kind: Keyword, rest: &str) -> Result<Args, Diagnostic> {
        use Keyword::*;
        if rest.is_empty() && kind != Unknown {
            return Ok(Args::None);
        }
        Ok(match kind {
            From | Expose => Args::List(self.list(rest)),
            Add | Copy | Volume | Mount | Export | Import | Require => match self.json(kind, rest)? {
                Some(elements) => Args::Json(elements),
                None => Args::List(self.list(rest)),
            },
            Run | Cmd | Entrypoint | Shell | Attach => self.maybe_json(kind, rest)?,
            Maintainer | User | Workdir | Stopsignal | Tag | Push | Unknown => Args::String(self.spanned(rest)),
            // Rocker 0.2 read the whole rest as the path; a JSON array of one path is accepted too.
            Include => match self.json(kind, rest)? {
                Some(elements) => Args::Json(elements),
                None => Args::String(self.spanned(rest)),
            },
            Env | Label => self.pairs(kind, rest)?,
            Arg => Args::Words(words(rest, self.escape).into_iter().map(|w| self.spanned(w)).collect()),
            Healthcheck => {
                let (tail, kind_word) = take_till1::<_, _, ()>(golang::is_space)(rest).map_err(|_| self.internal(rest))?;
                let tail = tail.trim_start_matches(golang::is_space);
                let command = if tail.is_empty() { Args::None } else { self.maybe_json(Healthcheck, tail)? };
                Args::Healthcheck { kind: self.spanned(kind_word), command: Box::new(command) }
            }
            // Only reached with an empty trigger, which is handled above.
            Onbuild => Args::None,
        })
    }

    /// FROM/EXPOSE: split on blanks, quotes not special.
    fn list(&self, rest: &str) -> Vec<Spanned<String>> {
        token_list(rest).map(|(_, parts)| parts).unwrap_or_default().into_iter().map(|p| self.spanned(p)).collect()
    }

    /// RUN/CMD/...: the JSON form, or the whole rest as one node.
    fn maybe_json(&mut self, kind: Keyword, rest: &str) -> Result<Args, Diagnostic> {
        Ok(match self.json(kind, rest)? {
            Some(elements) => Args::Json(elements),
            None => Args::String(self.spanned(rest)),
        })
    }

    /// The JSON form of `rest`, if it is one.
    fn json(&mut self, kind: Keyword, rest: &str) -> Result<Option<Vec<Spanned<String>>>, Diagnostic> {
        match json_array::parse(rest) {
            JsonArray::NotJson => {
                if let Some(miss) = json_array::near_miss(rest) {
                    self.warn_near_miss(kind, rest, miss);
                }
                Ok(None)
            }
            JsonArray::Strings(elements) => Ok(Some(elements.into_iter().map(|(value, literal)| Spanned::new(value, self.line.span_of(literal))).collect())),
            JsonArray::NotString { element, what } => {
                Err(Diagnostic::error(Code::JsonNotStrings, format!("JSON array in {} must contain only strings", kind.as_str()))
                    .at(self.line.span_of(element), format!("this is {what}, not a string")))
            }
            JsonArray::Trailing { array_end } => {
                let extra = &rest[array_end..];
                self.warnings.push(
                    Diagnostic::warning(
                        Code::JsonTrailingText,
                        format!("text after the JSON array in {}: rockerc reads the line as the shell form", kind.as_str()),
                    )
                    .at(self.line.span_of(extra), "Docker ignores this text and uses the JSON form")
                    .help("remove the text after `]`, or write the shell form without brackets"),
                );
                Ok(None)
            }
        }
    }

    /// An argument meant as the JSON form that is not JSON: Docker runs it as a shell command,
    /// which fails only when the image is built.
    fn warn_near_miss(&mut self, kind: Keyword, rest: &str, miss: json_array::NearMiss) {
        let span = self.line.span_of(&rest[miss.at..miss.at + miss.len]);
        let keyword = kind.as_str();
        let help = match json_array::repaired(rest) {
            Some(fixed) => format!("did you mean `{keyword} {fixed}`? (or write the shell form, without brackets)"),
            None => "write the JSON form as an array of double-quoted strings separated by commas, or the shell form without brackets".to_string(),
        };
        self.warnings.push(
            Diagnostic::warning(
                Code::JsonInvalid,
                format!("the JSON form of {keyword} is not valid JSON: rockerc reads the line as the shell form, as Docker does"),
            )
            .at(span, miss.problem)
            .note(match kind {
                Keyword::Run | Keyword::Cmd | Keyword::Entrypoint | Keyword::Healthcheck => format!("the shell would run `{}` as a command", rest.trim()),
                _ => format!("Docker would read the words {}", rest.split_whitespace().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(" ")),
            })
            .help(help),
        );
    }

    /// ENV/LABEL: `name=value ...` (every word must have `=`), or the legacy `name the value`.
    fn pairs(&self, kind: Keyword, rest: &str) -> Result<Args, Diagnostic> {
        let words = words(rest, self.escape);
        let Some(first) = words.first() else { return Ok(Args::None) };
        if !first.contains('=') {
            let (value, (key, space)) =
                (take_till1::<_, _, ()>(golang::is_token_space), take_while(golang::is_token_space)).parse(rest).map_err(|_| self.internal(rest))?;
            if space.is_empty() {
                return Err(Diagnostic::error(Code::MissingValue, format!("`{} {key}` has no value", kind.as_str()))
                    .at(self.line.span_of(key), format!("expected a value after `{key}`"))
                    .help(format!("write `{} {key}=value` (`{key}=\"\"` for an empty value)", kind.as_str())));
            }
            let pair = Pair { key: self.spanned(key), value: self.spanned(value), equals: false };
            return Ok(Args::Pairs(vec![pair]));
        }
        let mut pairs = Vec::with_capacity(words.len());
        for word in words {
            let Some(eq) = word.find('=') else {
                return Err(Diagnostic::error(Code::MissingEquals, format!("`{word}` in {} is not of the form name=value", kind.as_str()))
                    .at(self.line.span_of(word), "expected `name=value`")
                    .note(format!("once the first word of {} has `=`, every word must have one", kind.as_str())));
            };
            pairs.push(Pair { key: self.spanned(&word[..eq]), value: self.spanned(&word[eq + 1..]), equals: true });
        }
        Ok(Args::Pairs(pairs))
    }

    /// The parsers above cannot fail on a trimmed, non-empty line; if one does, say so rather
    /// than panic.
    fn internal(&self, input: &str) -> Diagnostic {
        Diagnostic::error(Code::ParserBug, "rockerc's parser could not split this line (this is a bug in rockerc)").at(self.line.span_of(input), "")
    }
}

fn keyword(input: &str) -> Res<'_, &str> {
    take_till1(golang::is_token_space)(input)
}

fn token_space(input: &str) -> Res<'_, &str> {
    take_while(golang::is_token_space)(input)
}

/// Blank-separated tokens, as BuildKit's `[\t\v\f\r ]+` split.
fn token_list(input: &str) -> Res<'_, Vec<&str>> {
    separated_list0(take_while1(golang::is_token_space), take_till1(golang::is_token_space)).parse(input)
}

/// One flag word, decoded: quotes removed (unterminated ones run to the end), `\x` -> `x` inside
/// and outside quotes, a `\` at the very end dropped.
fn flag_word(input: &str) -> Res<'_, String> {
    fn quoted<'a>(quote: char) -> impl Parser<&'a str, Output = String, Error = ()> {
        let inside = fold_many0(
            alt((preceded(char('\\'), anychar).map(Some), value(None, terminated(char('\\'), eof)), satisfy(move |c| c != quote && c != '\\').map(Some))),
            String::new,
            |mut s, c| {
                s.extend(c);
                s
            },
        );
        (char(quote), inside, opt(char(quote))).map(|(_, s, _)| s)
    }
    fold_many1(
        alt((
            quoted('\''),
            quoted('"'),
            preceded(char('\\'), anychar).map(String::from),
            value(String::new(), terminated(char('\\'), eof)),
            satisfy(|c| !golang::is_space(c) && !matches!(c, '\'' | '"' | '\\')).map(String::from),
        )),
        String::new,
        |mut word, piece| {
            word.push_str(&piece);
            word
        },
    )
    .parse(input)
}

/// BuildKit's `parseWords` (ENV, LABEL, ARG): blank-separated words in which quotes group and
/// the escape character protects the next character; quotes and escapes are kept. Each word is
/// a slice of `input`; only a lone escape at the very end is left out.
fn words(input: &str, escape: char) -> Vec<&str> {
    let word = |input| word(input, escape);
    many0(preceded(take_while(golang::is_space), word))
        .parse(input)
        .map(|(_, words)| words.into_iter().filter(|w: &&str| !w.is_empty()).collect())
        .unwrap_or_default()
}

fn word(input: &str, escape: char) -> Res<'_, &str> {
    // Each piece says whether it ends in an escape that is dropped (only possible at the end).
    let single = (char('\''), take_till(|c| c == '\''), opt(char('\''))).map(|_| false);
    let double = (
        char('"'),
        fold_many0(alt(((char(escape), anychar).map(|_| ()), satisfy(|c| c != '"' && c != escape).map(|_| ()))), || (), |_, _| ()),
        alt((value(false, char('"')), value(true, terminated(char(escape), eof)), value(false, eof))),
    )
        .map(|(_, _, dropped)| dropped);
    let escaped = (char(escape), anychar).map(|_| false);
    let lone_escape = value(true, terminated(char(escape), eof));
    let plain = satisfy(|c| !golang::is_space(c) && c != '\'' && c != '"' && c != escape).map(|_| false);
    let (rest, (raw, dropped)) = consumed(fold_many1(alt((single, double, escaped, lone_escape, plain)), || false, |_, d| d)).parse(input)?;
    let kept = if dropped { &raw[..raw.len() - escape.len_utf8()] } else { raw };
    Ok((rest, kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::dump::dump;

    fn dumped(text: &str) -> String {
        dump(&parse(text).unwrap().ast)
    }

    fn error(text: &str) -> Diagnostic {
        parse(text).unwrap_err()
    }

    #[test]
    fn keyword_flags_and_rest() {
        let ast = parse("copy --from=build --chown='1:1' -- a b\n").unwrap().ast;
        let i = &ast.instructions[0];
        assert_eq!((i.keyword.value.as_str(), i.kind), ("copy", Keyword::Copy));
        assert_eq!(i.flags.iter().map(|f| f.as_str()).collect::<Vec<_>>(), ["--from=build", "--chown=1:1"]);
        assert_eq!(i.flags[1].span(), Span::new(18, 31));
        assert_eq!((i.flags[0].name(), i.flags[0].value()), ("from", Some("build")));
        assert_eq!((i.flags[1].name(), i.flags[1].value()), ("chown", Some("1:1")));
        assert_eq!((i.rest.as_str(), i.rest.span), ("a b", Span::new(35, 38)));
        assert_eq!(i.span, Span::new(0, 38));
    }

    #[test]
    fn flag_words_decode_quotes_and_backslashes() {
        assert_eq!(dumped("RUN --a=\"x y\" --b='c\\'d' --c=e\\ f --d=\"open end\n"), "(run [\"--a=x y\" \"--b=c'd\" \"--c=e f\" \"--d=open end\"])\n");
        assert_eq!(dumped("RUN --x=1 --\n"), "(run [\"--x=1\"])\n");
        assert_eq!(dumped("RUN --x=1 -y --z\n"), "(run [\"--x=1\"] \"-y --z\")\n");
    }

    #[test]
    fn rocker_instructions() {
        let text = "FROM a\nMOUNT /src:/src\nMOUNT [\"/a b\", \"/c\"]\nEXPORT app /out/\nIMPORT app\nTAG repo/app:{{ x }}\nPUSH repo/app:1\nATTACH\nATTACH [\"sh\"]\nATTACH bash -l\nfrobnicate it\n";
        assert_eq!(
            dumped(text),
            "(from \"a\")\n(mount \"/src:/src\")\n(mount \"/a b\" \"/c\")\n(export \"app\" \"/out/\")\n(import \"app\")\n\
             (tag \"repo/app:{{ x }}\")\n(push \"repo/app:1\")\n(attach)\n(attach \"sh\")\n(attach \"bash -l\")\n(frobnicate \"\")\n"
        );
        let ast = parse(text).unwrap().ast;
        assert_eq!(ast.instructions[10].kind, Keyword::Unknown);
        assert!(matches!(&ast.instructions[10].args, Args::String(s) if s.value == "it"));
        assert!(matches!(ast.instructions[7].args, Args::None));
    }

    #[test]
    fn json_fallback_and_errors() {
        assert_eq!(dumped("CMD ['a']\n"), "(cmd \"['a']\")\n");
        assert_eq!(dumped("COPY [\"a\" /b\n"), "(copy \"[\\\"a\\\"\" \"/b\")\n");
        let err = error("FROM a\nCMD [ \"echo\", [ \"nested json\" ] ]\n");
        assert_eq!((err.code, err.message.as_str()), (Code::JsonNotStrings, "JSON array in CMD must contain only strings"));
        let label = err.primary.unwrap();
        assert_eq!((label.span, label.message.as_str()), (Span::new(21, 38), "this is an array, not a string"));
        assert_eq!(error("HEALTHCHECK CMD [1]").message, "JSON array in HEALTHCHECK must contain only strings");
    }

    #[test]
    fn json_with_trailing_text_is_shell_form_with_a_warning() {
        let parsed = parse("RUN [\"ls\"],\n").unwrap();
        assert_eq!(dump(&parsed.ast), "(run \"[\\\"ls\\\"],\")\n");
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(parsed.warnings[0].code, Code::JsonTrailingText);
        assert_eq!(parsed.warnings[0].message, "text after the JSON array in RUN: rockerc reads the line as the shell form");
        assert_eq!(parsed.warnings[0].primary.as_ref().unwrap().span, Span::new(10, 11));
    }

    #[test]
    fn env_forms_and_errors() {
        assert_eq!(dumped("ENV a=1 b=\"x y\" c=\n"), "(env \"a\" \"1\" \"=\" \"b\" \"\\\"x y\\\"\" \"=\" \"c\" \"\" \"=\")\n");
        assert_eq!(dumped("LABEL k the  rest\n"), "(label \"k\" \"the  rest\" \"\")\n");
        let err = error("FROM busybox\n\nENV PATH\n");
        assert_eq!((err.code, err.message.as_str()), (Code::MissingValue, "`ENV PATH` has no value"));
        assert_eq!(err.primary.unwrap().span, Span::new(18, 22));
        assert_eq!(err.help.as_deref(), Some("write `ENV PATH=value` (`PATH=\"\"` for an empty value)"));
        let err = error("ENV a=1 b\n");
        assert_eq!((err.code, err.message.as_str()), (Code::MissingEquals, "`b` in ENV is not of the form name=value"));
        assert_eq!(err.primary.unwrap().span, Span::new(8, 9));
    }

    #[test]
    fn words_keep_quotes_and_escapes() {
        assert_eq!(words(r#"abc="123 456" def"#, '\\'), [r#"abc="123 456""#, "def"]);
        assert_eq!(words(r"a\ b 'c\' d\", '\\'), [r"a\ b", r"'c\'", "d"]);
        assert_eq!(words("x=\"a\\", '\\'), ["x=\"a"]);
        assert_eq!(words("x=`\"y", '`'), ["x=`\"y"]);
        assert_eq!(words("x=\"unterminated  y", '\\'), ["x=\"unterminated  y"]);
    }

    #[test]
    fn healthcheck_and_onbuild() {
        assert_eq!(dumped("HEALTHCHECK\nHEALTHCHECK NONE\nHEALTHCHECK CMD [\"a\"]\n"), "(healthcheck)\n(healthcheck \"NONE\")\n(healthcheck \"CMD\" \"a\")\n");
        assert_eq!(dumped("ONBUILD RUN --mount=x echo hi\nONBUILD\n"), "(onbuild (run [\"--mount=x\"] \"echo hi\"))\n(onbuild)\n");
        assert_eq!(dumped("ONBUILD ONBUILD ADD . /\n"), "(onbuild (onbuild (add \".\" \"/\")))\n");
        let deep = format!("{}RUN x\n", "ONBUILD ".repeat(100));
        assert_eq!(error(&deep).code, Code::OnbuildTooDeep);
    }

    #[test]
    fn spans_cross_continuations() {
        let text = "RUN echo \\\n  hello \\\n# c\n  world\nFROM a";
        let ast = parse(text).unwrap().ast;
        let run = &ast.instructions[0];
        assert_eq!(run.rest.value, "echo   hello   world");
        assert_eq!(run.rest.span, Span::new(4, 32));
        assert_eq!(run.span, Span::new(0, 32));
        let from = &ast.instructions[1];
        assert_eq!(&text[from.span.start..from.span.end], "FROM a");
    }

    #[test]
    fn node_spans() {
        let text = "CMD [ \"a\", \"\\u00e9\" ]\nENV k=\"v w\" x=1\nFROM img AS b\nARG a=1 'b c'\n";
        let ast = parse(text).unwrap().ast;
        let at = |s: &Spanned<String>| &text[s.span.start..s.span.end];
        let Args::Json(cmd) = &ast.instructions[0].args else { panic!() };
        assert_eq!((cmd[1].as_str(), at(&cmd[1])), ("é", "\"\\u00e9\""));
        let Args::Pairs(env) = &ast.instructions[1].args else { panic!() };
        assert_eq!((at(&env[0].key), at(&env[0].value), at(&env[1].value)), ("k", "\"v w\"", "1"));
        let Args::List(from) = &ast.instructions[2].args else { panic!() };
        assert_eq!(from.iter().map(at).collect::<Vec<_>>(), ["img", "AS", "b"]);
        let Args::Words(arg) = &ast.instructions[3].args else { panic!() };
        assert_eq!(arg.iter().map(at).collect::<Vec<_>>(), ["a=1", "'b c'"]);
    }

    #[test]
    fn rendered_error() {
        use crate::source::{SourceFile, SourceMap};
        let text = "FROM busybox\nENV PATH\n";
        let err = error(text);
        assert_eq!(
            err.render(&SourceFile::new("Rockerfile", text), &SourceMap::identity(), false),
            "error[missing-value]: `ENV PATH` has no value\n\
             \x20--> Rockerfile:2:5\n\
             \x20 |\n\
             2 | ENV PATH\n\
             \x20 |     ^^^^ expected a value after `PATH`\n\
             \x20 = help: write `ENV PATH=value` (`PATH=\"\"` for an empty value)\n"
        );
    }

    #[test]
    fn keyword_split_across_lines() {
        let ast = parse("RU\\\nN x").unwrap().ast;
        assert_eq!((ast.instructions[0].keyword.value.as_str(), ast.instructions[0].keyword.span), ("RUN", Span::new(0, 5)));
    }

    #[test]
    fn heredocs() {
        let text = "FROM a\nRUN <<EOF cat\nhello $X\nEOF\nCOPY <<-'A' 3<<B /dst\n\tone\n\tA\ntwo\nB\nUSER <<NOPE\nNOPE\n";
        let ast = parse(text).unwrap().ast;
        let run = &ast.instructions[1];
        assert_eq!(run.heredocs.len(), 1);
        assert_eq!((run.heredocs[0].name.as_str(), run.heredocs[0].expand), ("EOF", true));
        assert_eq!(run.heredocs[0].body.value, "hello $X\n");
        assert_eq!(&text[run.span.start..run.span.end], "RUN <<EOF cat\nhello $X\nEOF");
        let copy = &ast.instructions[2];
        let got: Vec<_> = copy.heredocs.iter().map(|h| (h.name.as_str(), h.expand, h.chomp, h.fd, h.body.value.as_str())).collect();
        assert_eq!(got, [("A", false, true, None, "\tone\n"), ("B", true, false, Some(3), "two\n")]);
        // USER takes no heredoc: the next line is an instruction.
        assert_eq!(ast.instructions[4].keyword.value, "NOPE");
        // JSON form takes none either.
        assert_eq!(parse("RUN [\"<<EOF\"]\nEOF\n").unwrap().ast.instructions.len(), 2);
        // ONBUILD triggers do.
        let ast = parse("ONBUILD RUN <<EOF\nx\nEOF\n").unwrap().ast;
        assert_eq!(ast.instructions[0].heredocs[0].body.value, "x\n");
    }

    #[test]
    fn unterminated_heredoc() {
        let err = error("FROM a\nRUN cat <<EOF\nhello\n");
        assert_eq!((err.code, err.message.as_str()), (Code::UnterminatedHeredoc, "unterminated heredoc `EOF`"));
        assert_eq!(err.primary.unwrap().span, Span::new(15, 20));
    }

    #[test]
    fn empty_files() {
        for text in ["", "# only\n# comments\n\n", "\n\n   \n", "\\\n"] {
            let err = error(text);
            assert_eq!((err.code, err.message.as_str()), (Code::EmptyFile, "file with no instructions"));
        }
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let inputs = [
            "\0\0\0".to_string(),
            "RUN \u{0}\u{85}\u{a0}x".to_string(),
            "\u{a0}RUN\u{a0}x".to_string(),
            "RUN \"".to_string(),
            "ENV \"".to_string(),
            "ENV =".to_string(),
            "ARG \\".to_string(),
            "HEALTHCHECK \u{2003}".to_string(),
            "CMD [\"\\ud800\"]".to_string(),
            format!("CMD {}", "[".repeat(60_000)),
            format!("ENV {}", "a\\\n".repeat(10_000)),
            format!("RUN {}", "<<A ".repeat(1000)),
            "COPY --".to_string(),
            "COPY --\"".to_string(),
            "RUN <<${".to_string(),
            "RUN <<'".to_string(),
            "RUN <<\\".to_string(),
        ];
        for input in inputs {
            let _ = parse(&input);
        }
    }
}
