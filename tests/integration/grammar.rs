//! Keeps `grammar/` true.
//!
//! The grammar document (`grammar/README.md`): its EBNF defines every name it uses and uses every
//! name it defines, its keyword list is exactly the parser's (`Keyword::ALL`), and every
//! ```` ```dockerfile ```` example in it parses (or fails) as its info string says.
//!
//! The TextMate grammar (`grammar/Rockerfile.tmLanguage.json`): it has the structure editors
//! expect, every regex compiles with Oniguruma (the engine TextMate and VS Code use), and
//! tokenizing the golden examples, the fixtures and the document's examples gives the scopes the parser implies (keywords
//! where the parser found keywords, comments, flags, JSON strings, heredoc bodies) and the scopes
//! the fixtures assert line by line.
//!
//! The tokenizer below is a small port of vscode-textmate's loop: begin/end and match rules,
//! captures (with patterns), includes, `applyEndPatternLast`, end back-references, `\A` and `\G`.
//! The structure test rejects any other construct, so the tokenizer covers the whole grammar.

use rockerc::syntax::{self, Args, Instruction, Keyword};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// A minimal TextMate tokenizer
// ---------------------------------------------------------------------------------------------

mod textmate {
    use onig::{Regex, RegexOptions, Region, SearchOptions, Syntax};
    use serde_json::Value;
    use std::cell::RefCell;
    use std::collections::{BTreeMap, HashMap};

    /// Keys a rule may have. Anything else (`while`, nested `repository`, `injections`) is a
    /// construct this tokenizer does not implement, so the grammar may not use it.
    const RULE_KEYS: [&str; 12] =
        ["name", "contentName", "match", "begin", "end", "captures", "beginCaptures", "endCaptures", "patterns", "include", "applyEndPatternLast", "comment"];

    type RuleId = usize;

    #[derive(Debug)]
    enum Kind {
        Match {
            regex: String,
            captures: BTreeMap<usize, RuleId>,
        },
        BeginEnd {
            begin: String,
            end: String,
            begin_captures: BTreeMap<usize, RuleId>,
            end_captures: BTreeMap<usize, RuleId>,
            apply_end_last: bool,
            patterns: Vec<RuleId>,
        },
        /// A rule with only `patterns` (also a capture's rule), or an `include`.
        Group {
            patterns: Vec<RuleId>,
        },
        Include(String),
    }

    #[derive(Debug)]
    struct Rule {
        name: Vec<String>,
        content_name: Vec<String>,
        kind: Kind,
    }

    pub struct Grammar {
        rules: Vec<Rule>,
        root: RuleId,
        repository: HashMap<String, RuleId>,
        regexes: RefCell<HashMap<(String, bool, bool), Regex>>,
    }

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Token {
        /// Byte offsets in the line (without its line terminator).
        pub start: usize,
        pub end: usize,
        pub scopes: Vec<String>,
    }

    /// One entry of the rule stack that carries over from line to line.
    #[derive(Clone, Debug)]
    pub struct Frame {
        rule: RuleId,
        /// The end regex with back-references resolved.
        end: Option<String>,
        name_scopes: Vec<String>,
        content_scopes: Vec<String>,
        /// Where in the current line the rule was pushed (-1 when it was pushed on an earlier line).
        enter_pos: isize,
        /// The anchor (`\G`) position to restore when this frame is popped.
        parent_anchor: isize,
    }

    enum Candidate {
        End,
        Rule(RuleId),
    }

    pub fn compile(source: &str) -> Result<Regex, String> {
        Regex::with_options(source, RegexOptions::REGEX_OPTION_CAPTURE_GROUP, Syntax::default()).map_err(|e| format!("{e}"))
    }

    /// vscode-textmate's treatment of `\A` (only on the first line) and `\G` (only where the
    /// last begin match ended): where not allowed they become a character no text contains.
    fn anchored(source: &str, allow_a: bool, allow_g: bool) -> String {
        let mut out = String::with_capacity(source.len());
        let mut chars = source.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('A') if !allow_a => out.push_str("\\x{FFFF}"),
                Some('G') if !allow_g => out.push_str("\\x{FFFF}"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        }
        out
    }

    fn scopes(value: Option<&Value>) -> Vec<String> {
        value.and_then(Value::as_str).map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
    }

    /// Every `\N` in an end pattern, replaced by what group N of the begin match captured,
    /// escaped (vscode-textmate's `getEndWithResolvedBackReferences`).
    fn resolve_back_references(end: &str, text: &str, region: &Region) -> String {
        let mut out = String::new();
        let mut rest = end;
        while let Some(i) = rest.find('\\') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                out.push('\\');
                rest = after;
                continue;
            }
            let group: usize = after[..digits].parse().unwrap();
            if let Some((s, e)) = region.pos(group) {
                for c in text[s..e].chars() {
                    if "-\\{}*+?|^$.,[]()# \t\n".contains(c) {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            rest = &after[digits..];
        }
        out.push_str(rest);
        out
    }

    impl Grammar {
        /// Loads a grammar, checking that it only uses what this tokenizer implements and that
        /// every include resolves.
        pub fn load(json: &Value) -> Result<Grammar, String> {
            let mut g = Grammar { rules: Vec::new(), root: 0, repository: HashMap::new(), regexes: RefCell::new(HashMap::new()) };
            let repository = json.get("repository").and_then(Value::as_object).ok_or("no repository")?;
            for (key, rule) in repository {
                let id = g.load_rule(rule, &format!("repository.{key}"))?;
                g.repository.insert(key.clone(), id);
            }
            let patterns = json.get("patterns").ok_or("no top-level patterns")?;
            let patterns = g.load_patterns(patterns, "patterns")?;
            g.root = g.push(Rule { name: scopes(json.get("scopeName")), content_name: Vec::new(), kind: Kind::Group { patterns } });
            for rule in &g.rules {
                if let Kind::Include(target) = &rule.kind {
                    if target != "$self" && target != "$base" && !target.strip_prefix('#').is_some_and(|t| g.repository.contains_key(t)) {
                        return Err(format!("include `{target}` does not resolve (only #name, $self and $base are supported)"));
                    }
                }
            }
            Ok(g)
        }

        fn push(&mut self, rule: Rule) -> RuleId {
            self.rules.push(rule);
            self.rules.len() - 1
        }

        fn load_patterns(&mut self, value: &Value, at: &str) -> Result<Vec<RuleId>, String> {
            let list = value.as_array().ok_or(format!("{at}: patterns must be an array"))?;
            list.iter().enumerate().map(|(i, r)| self.load_rule(r, &format!("{at}[{i}]"))).collect()
        }

        fn load_captures(&mut self, value: Option<&Value>, at: &str) -> Result<BTreeMap<usize, RuleId>, String> {
            let mut out = BTreeMap::new();
            let Some(value) = value else { return Ok(out) };
            let map = value.as_object().ok_or(format!("{at}: captures must be an object"))?;
            for (k, v) in map {
                let n: usize = k.parse().map_err(|_| format!("{at}: capture key `{k}` is not a number"))?;
                let obj = v.as_object().ok_or(format!("{at}.{k}: a capture must be an object"))?;
                if let Some(bad) = obj.keys().find(|k| !["name", "contentName", "patterns", "comment"].contains(&k.as_str())) {
                    return Err(format!("{at}.{k}: unsupported key `{bad}` in a capture"));
                }
                let patterns = match v.get("patterns") {
                    Some(p) => self.load_patterns(p, &format!("{at}.{k}.patterns"))?,
                    None => Vec::new(),
                };
                let id = self.push(Rule { name: scopes(v.get("name")), content_name: scopes(v.get("contentName")), kind: Kind::Group { patterns } });
                out.insert(n, id);
            }
            Ok(out)
        }

        fn check_regex(&self, source: &str, at: &str) -> Result<String, String> {
            compile(source).map_err(|e| format!("{at}: regex {source:?} does not compile: {e}"))?;
            Ok(source.to_string())
        }

        fn load_rule(&mut self, value: &Value, at: &str) -> Result<RuleId, String> {
            let obj = value.as_object().ok_or(format!("{at}: a rule must be an object"))?;
            if let Some(bad) = obj.keys().find(|k| !RULE_KEYS.contains(&k.as_str())) {
                return Err(format!("{at}: unsupported key `{bad}`"));
            }
            let name = scopes(value.get("name"));
            let content_name = scopes(value.get("contentName"));
            let str_of = |k: &str| value.get(k).map(|v| v.as_str().map(str::to_string).ok_or(format!("{at}.{k} must be a string"))).transpose();
            let kind = if let Some(include) = str_of("include")? {
                if obj.len() > 1 + obj.contains_key("comment") as usize {
                    return Err(format!("{at}: an include rule has nothing else"));
                }
                Kind::Include(include)
            } else if let Some(m) = str_of("match")? {
                for k in ["begin", "end", "patterns", "beginCaptures", "endCaptures", "contentName"] {
                    if obj.contains_key(k) {
                        return Err(format!("{at}: a match rule cannot have `{k}`"));
                    }
                }
                let regex = self.check_regex(&m, &format!("{at}.match"))?;
                Kind::Match { regex, captures: self.load_captures(value.get("captures"), &format!("{at}.captures"))? }
            } else if let Some(b) = str_of("begin")? {
                let e = str_of("end")?.ok_or(format!("{at}: begin without end"))?;
                let begin = self.check_regex(&b, &format!("{at}.begin"))?;
                // An end pattern with back-references is compiled once they are resolved; check
                // it with every reference standing for a plain word, and that the group exists.
                let groups = compile(&b).unwrap().captures_len();
                let mut probe = String::new();
                let mut rest = e.as_str();
                while let Some(i) = rest.find('\\') {
                    probe.push_str(&rest[..i]);
                    let after = &rest[i + 1..];
                    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                    if digits == 0 {
                        probe.push('\\');
                        probe.extend(after.chars().next());
                        rest = &after[after.chars().next().map_or(0, char::len_utf8)..];
                        continue;
                    }
                    if after[..digits].parse::<usize>().unwrap() > groups {
                        return Err(format!("{at}.end: back-reference \\{} but begin has {groups} groups", &after[..digits]));
                    }
                    probe.push_str("word");
                    rest = &after[digits..];
                }
                probe.push_str(rest);
                self.check_regex(&probe, &format!("{at}.end"))?;
                let end = e.clone();
                let (begin_key, end_key) = if obj.contains_key("captures") {
                    if obj.contains_key("beginCaptures") || obj.contains_key("endCaptures") {
                        return Err(format!("{at}: captures together with beginCaptures/endCaptures"));
                    }
                    ("captures", "captures")
                } else {
                    ("beginCaptures", "endCaptures")
                };
                let apply_end_last = match value.get("applyEndPatternLast") {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(Value::Number(n)) => n.as_i64() == Some(1),
                    Some(other) => return Err(format!("{at}.applyEndPatternLast: {other}")),
                };
                let patterns = match value.get("patterns") {
                    Some(p) => self.load_patterns(p, &format!("{at}.patterns"))?,
                    None => Vec::new(),
                };
                Kind::BeginEnd {
                    begin,
                    end,
                    begin_captures: self.load_captures(value.get(begin_key), &format!("{at}.{begin_key}"))?,
                    end_captures: self.load_captures(value.get(end_key), &format!("{at}.{end_key}"))?,
                    apply_end_last,
                    patterns,
                }
            } else if let Some(p) = value.get("patterns") {
                if obj.contains_key("end") || obj.contains_key("captures") {
                    return Err(format!("{at}: end or captures without begin/match"));
                }
                Kind::Group { patterns: self.load_patterns(p, &format!("{at}.patterns"))? }
            } else {
                return Err(format!("{at}: a rule needs match, begin, patterns or include"));
            };
            Ok(self.push(Rule { name, content_name, kind }))
        }

        /// The match and begin rules a frame of `rule` tries, in order, with includes expanded.
        fn candidates(&self, rule: RuleId) -> Vec<Candidate> {
            let patterns = match &self.rules[rule].kind {
                Kind::BeginEnd { patterns, .. } | Kind::Group { patterns } => patterns.clone(),
                _ => Vec::new(),
            };
            let mut out = Vec::new();
            let mut seen = Vec::new();
            for p in patterns {
                self.expand(p, &mut out, &mut seen);
            }
            if let Kind::BeginEnd { apply_end_last, .. } = self.rules[rule].kind {
                if apply_end_last {
                    out.push(Candidate::End);
                } else {
                    out.insert(0, Candidate::End);
                }
            }
            out
        }

        fn expand(&self, id: RuleId, out: &mut Vec<Candidate>, seen: &mut Vec<RuleId>) {
            match &self.rules[id].kind {
                Kind::Match { .. } | Kind::BeginEnd { .. } => out.push(Candidate::Rule(id)),
                Kind::Group { patterns } => {
                    if seen.contains(&id) {
                        return;
                    }
                    seen.push(id);
                    for &p in patterns {
                        self.expand(p, out, seen);
                    }
                }
                Kind::Include(target) => {
                    let target = match target.as_str() {
                        "$self" | "$base" => self.root,
                        t => self.repository[&t[1..]],
                    };
                    self.expand(target, out, seen);
                }
            }
        }

        fn search(&self, source: &str, allow_a: bool, allow_g: bool, text: &str, pos: usize) -> Option<Region> {
            let key = (source.to_string(), allow_a, allow_g);
            let mut cache = self.regexes.borrow_mut();
            let regex = cache.entry(key).or_insert_with(|| compile(&anchored(source, allow_a, allow_g)).expect("checked when loaded"));
            let mut region = Region::new();
            regex.search_with_options(text, pos, text.len(), SearchOptions::SEARCH_OPTION_NONE, Some(&mut region))?;
            Some(region)
        }

        pub fn initial_stack(&self) -> Vec<Frame> {
            let name = self.rules[self.root].name.clone();
            vec![Frame { rule: self.root, end: None, name_scopes: name.clone(), content_scopes: name, enter_pos: -1, parent_anchor: -1 }]
        }

        /// Tokenizes one line (without its terminator), updating `stack` for the next line.
        pub fn tokenize_line(&self, line: &str, first_line: bool, stack: &mut Vec<Frame>) -> Result<Vec<Token>, String> {
            for frame in stack.iter_mut() {
                frame.enter_pos = -1;
                frame.parent_anchor = -1;
            }
            // TextMate and vscode-textmate match against the line with its `\n`.
            let text = format!("{line}\n");
            let mut tokens = Vec::new();
            self.tokenize_range(&text, first_line, 0, stack, &mut tokens)?;
            Ok(tokens
                .into_iter()
                .filter(|t| t.start < line.len())
                .map(|mut t| {
                    t.end = t.end.min(line.len());
                    t
                })
                .collect())
        }

        fn tokenize_range(&self, text: &str, first_line: bool, mut pos: usize, stack: &mut Vec<Frame>, tokens: &mut Vec<Token>) -> Result<(), String> {
            let mut produced = pos;
            let mut anchor: isize = -1;
            let produce = |tokens: &mut Vec<Token>, produced: &mut usize, scopes: &[String], upto: usize| {
                if upto > *produced {
                    tokens.push(Token { start: *produced, end: upto, scopes: scopes.to_vec() });
                    *produced = upto;
                }
            };
            for _ in 0..100_000 {
                let top = stack.last().unwrap().clone();
                let allow_g = pos as isize == anchor;
                let mut best: Option<(usize, Region, Candidate)> = None;
                for candidate in self.candidates(top.rule) {
                    let source = match &candidate {
                        Candidate::End => top.end.clone().unwrap(),
                        Candidate::Rule(id) => match &self.rules[*id].kind {
                            Kind::Match { regex, .. } => regex.clone(),
                            Kind::BeginEnd { begin, .. } => begin.clone(),
                            _ => unreachable!(),
                        },
                    };
                    if let Some(region) = self.search(&source, first_line, allow_g, text, pos) {
                        let start = region.pos(0).unwrap().0;
                        if best.as_ref().map_or(true, |(s, _, _)| start < *s) {
                            best = Some((start, region, candidate));
                        }
                    }
                }
                let Some((start, region, candidate)) = best else {
                    produce(tokens, &mut produced, &top.content_scopes, text.len());
                    return Ok(());
                };
                let end = region.pos(0).unwrap().1;
                produce(tokens, &mut produced, &top.content_scopes, start);
                let advanced = end > pos;
                match candidate {
                    Candidate::End => {
                        let popped = stack.pop().unwrap();
                        let Kind::BeginEnd { end_captures, .. } = &self.rules[popped.rule].kind else { unreachable!() };
                        self.captures(text, first_line, &region, end_captures, &popped.name_scopes, tokens)?;
                        produced = end;
                        anchor = popped.parent_anchor;
                        if !advanced && popped.enter_pos == pos as isize {
                            return Err(format!("a rule was pushed and popped at byte {pos} without advancing: {:?}", self.rules[popped.rule].name));
                        }
                        if stack.is_empty() {
                            return Err("the end of a capture's patterns popped the capture".into());
                        }
                    }
                    Candidate::Rule(id) => {
                        let rule = &self.rules[id];
                        let mut name_scopes = top.content_scopes.clone();
                        name_scopes.extend(rule.name.iter().cloned());
                        match &rule.kind {
                            Kind::Match { captures, .. } => {
                                self.captures(text, first_line, &region, captures, &name_scopes, tokens)?;
                                produced = end;
                                if !advanced {
                                    return Err(format!("match rule {:?} matched the empty string at byte {pos}", rule.name));
                                }
                            }
                            Kind::BeginEnd { end: end_source, begin_captures, .. } => {
                                self.captures(text, first_line, &region, begin_captures, &name_scopes, tokens)?;
                                produced = end;
                                let mut content_scopes = name_scopes.clone();
                                content_scopes.extend(rule.content_name.iter().cloned());
                                let same_rule_again = stack.iter().rev().take_while(|f| f.enter_pos == pos as isize).any(|f| f.rule == id);
                                stack.push(Frame {
                                    rule: id,
                                    end: Some(resolve_back_references(end_source, text, &region)),
                                    name_scopes,
                                    content_scopes,
                                    enter_pos: pos as isize,
                                    parent_anchor: anchor,
                                });
                                anchor = end as isize;
                                if !advanced && same_rule_again {
                                    return Err(format!("rule {:?} pushed itself again at byte {pos} without advancing", rule.name));
                                }
                            }
                            _ => unreachable!(),
                        }
                    }
                }
                pos = end;
            }
            Err("the tokenizer did not finish a line in 100000 steps".into())
        }

        /// Tokens for one match: the base scopes, each capture's scopes on top (capture 0
        /// first, so an inner group nests inside an outer one), and captures with patterns
        /// tokenized again over their own text.
        fn captures(
            &self,
            text: &str,
            first_line: bool,
            region: &Region,
            captures: &BTreeMap<usize, RuleId>,
            base: &[String],
            tokens: &mut Vec<Token>,
        ) -> Result<(), String> {
            let (start, end) = region.pos(0).unwrap();
            let mut layers: Vec<Vec<String>> = vec![base.to_vec(); end - start];
            for (&group, &rule) in captures {
                let Some((s, e)) = region.pos(group) else { continue };
                if s == e {
                    continue;
                }
                let rule = &self.rules[rule];
                let Kind::Group { patterns } = &rule.kind else { unreachable!() };
                if patterns.is_empty() {
                    for layer in &mut layers[s - start..e - start] {
                        layer.extend(rule.name.iter().cloned());
                    }
                    continue;
                }
                let mut scopes = layers[s - start].clone();
                scopes.extend(rule.name.iter().cloned());
                let mut content = scopes.clone();
                content.extend(rule.content_name.iter().cloned());
                let capture_rule = captures[&group];
                let mut stack =
                    vec![Frame { rule: capture_rule, end: None, name_scopes: scopes, content_scopes: content, enter_pos: s as isize, parent_anchor: -1 }];
                let mut inner = Vec::new();
                self.tokenize_range(&text[..e], first_line && s == 0, s, &mut stack, &mut inner)?;
                for t in inner {
                    for layer in &mut layers[t.start - start..t.end - start] {
                        *layer = t.scopes.clone();
                    }
                }
            }
            let mut i = 0;
            while i < layers.len() {
                let mut j = i + 1;
                while j < layers.len() && layers[j] == layers[i] {
                    j += 1;
                }
                tokens.push(Token { start: start + i, end: start + j, scopes: layers[i].clone() });
                i = j;
            }
            Ok(())
        }
    }

    /// A whole file, tokenized: lines split on `\n` with trailing `\r`s removed, as Docker reads
    /// them.
    pub struct Tokenized {
        /// (byte offset of the line in the file, the line's tokens).
        pub lines: Vec<(usize, String, Vec<Token>)>,
    }

    impl Tokenized {
        pub fn new(grammar: &Grammar, text: &str) -> Result<Tokenized, String> {
            let mut stack = grammar.initial_stack();
            let mut lines = Vec::new();
            let mut offset = 0;
            for (i, raw) in text.split('\n').enumerate() {
                let line = raw.trim_end_matches('\r');
                let tokens = grammar.tokenize_line(line, i == 0, &mut stack).map_err(|e| format!("line {}: {e}", i + 1))?;
                lines.push((offset, line.to_string(), tokens));
                offset += raw.len() + 1;
            }
            Ok(Tokenized { lines })
        }

        /// The scopes of the character at byte `at` of the file (empty for a line terminator).
        pub fn scopes_at(&self, at: usize) -> &[String] {
            let i = self.lines.partition_point(|(start, _, _)| *start <= at) - 1;
            let (start, _, tokens) = &self.lines[i];
            tokens.iter().find(|t| t.start <= at - start && at - start < t.end).map(|t| t.scopes.as_slice()).unwrap_or(&[])
        }
    }

    /// `keyword.other` matches `keyword.other.instruction.rockerfile`: a prefix on dot
    /// boundaries, as theme selectors match.
    pub fn has_scope(scopes: &[String], wanted: &str) -> bool {
        scopes.iter().any(|s| s == wanted || (s.starts_with(wanted) && s.as_bytes().get(wanted.len()) == Some(&b'.')))
    }
}

use textmate::{has_scope, Grammar, Tokenized};

fn grammar_json() -> Value {
    serde_json::from_str(&read("grammar/Rockerfile.tmLanguage.json")).expect("grammar/Rockerfile.tmLanguage.json is not valid JSON")
}

fn grammar() -> Grammar {
    Grammar::load(&grammar_json()).unwrap_or_else(|e| panic!("grammar/Rockerfile.tmLanguage.json: {e}"))
}

fn tokenize(grammar: &Grammar, name: &str, text: &str) -> Tokenized {
    Tokenized::new(grammar, text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Short scope names for failure messages: `keyword.other.instruction` for
/// `keyword.other.instruction.rockerfile`, the file's own scope left out.
fn short(scopes: &[String]) -> String {
    scopes.iter().skip(1).map(|s| s.trim_end_matches(".rockerfile")).collect::<Vec<_>>().join(" ")
}

/// Every token of a file, one per line: `line:col "text" scopes` (for failure messages).
fn dump(t: &Tokenized) -> String {
    let mut out = String::new();
    for (i, (_, line, tokens)) in t.lines.iter().enumerate() {
        for tok in tokens {
            out.push_str(&format!("{}:{} {:?} {}\n", i + 1, tok.start + 1, &line[tok.start..tok.end], short(&tok.scopes)));
        }
    }
    out
}

#[test]
#[ignore = "prints the tokens of ROCKERC_GRAMMAR_DUMP, for working on the grammar"]
fn dump_tokens() {
    let path = std::env::var("ROCKERC_GRAMMAR_DUMP").expect("set ROCKERC_GRAMMAR_DUMP to a Rockerfile");
    let text = std::fs::read_to_string(&path).unwrap();
    print!("{}", dump(&tokenize(&grammar(), &path, &text)));
}

// ---------------------------------------------------------------------------------------------
// The parser as the oracle for the TextMate grammar
// ---------------------------------------------------------------------------------------------

/// What the parser says each byte of a file is, as far as highlighting cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Directive,
    Comment,
    /// The keyword of a known instruction (or of an ONBUILD trigger).
    Keyword {
        rocker: bool,
    },
    /// The first word of a line that is not an instruction rockerc knows.
    UnknownKeyword,
    /// A flag's `--name` (its value may hold variables and the like).
    Flag,
    /// A JSON-form argument, quotes included.
    JsonString,
    HeredocBody,
    /// Any other part of an instruction, continuation lines included.
    Instruction,
    /// A second heredoc body on one line: the grammar does not follow it (see grammar/README.md).
    Unchecked,
}

/// The role of every byte of `text` that is not whitespace, from the parse.
fn roles(text: &str) -> Result<BTreeMap<usize, Role>, String> {
    let parsed = syntax::parse(text).map_err(|d| format!("{}: {}", d.code, d.message))?;
    let mut roles = BTreeMap::new();
    let set = |roles: &mut BTreeMap<usize, Role>, start: usize, end: usize, role: Role| {
        for at in start..end {
            if !text.as_bytes()[at].is_ascii_whitespace() {
                roles.insert(at, role);
            }
        }
    };
    fn instruction_roles(i: &Instruction, text: &str, out: &mut Vec<(usize, usize, Role)>) {
        let kw = i.keyword.span;
        // A keyword split by a continuation is not one word on the screen.
        if !text[kw.start..kw.end].contains('\n') {
            let role = match i.kind {
                Keyword::Unknown => Role::UnknownKeyword,
                k => Role::Keyword { rocker: k.is_rocker() },
            };
            out.push((kw.start, kw.end, role));
        }
        let line_end = text[kw.start..].find('\n').map_or(text.len(), |n| kw.start + n);
        for flag in &i.flags {
            // Only flags on the keyword's line: the grammar finds flags in the keyword's match.
            let raw = &text[flag.span().start..flag.span().end];
            if flag.span().end <= line_end && raw.starts_with("--") {
                let name = raw.find('=').unwrap_or(raw.len());
                out.push((flag.span().start, flag.span().start + name, Role::Flag));
            }
        }
        let json = match &i.args {
            Args::Json(v) => Some(v),
            Args::Healthcheck { command, .. } => match command.as_ref() {
                Args::Json(v) => Some(v),
                _ => None,
            },
            _ => None,
        };
        for element in json.into_iter().flatten() {
            out.push((element.span.start, element.span.end, Role::JsonString));
        }
        if let Args::Onbuild(trigger) = &i.args {
            instruction_roles(trigger, text, out);
        }
    }
    // Instructions first, then what is more specific inside them.
    for i in &parsed.ast.instructions {
        set(&mut roles, i.span.start, i.span.end, Role::Instruction);
    }
    // Comment lines: outside heredoc bodies, a line whose first non-blank character is `#`.
    let bodies: Vec<(usize, usize)> = parsed.ast.instructions.iter().flat_map(|i| i.heredocs.iter().map(|h| (h.body.span.start, h.body.span.end))).collect();
    let mut offset = 0;
    for line in text.split('\n') {
        let in_body = bodies.iter().any(|&(s, e)| s <= offset && offset < e);
        if !in_body && line.trim_start().starts_with('#') {
            set(&mut roles, offset, offset + line.len(), Role::Comment);
        }
        offset += line.len() + 1;
    }
    for d in &parsed.ast.directives {
        let line_start = text[..d.name.span.start].rfind('\n').map_or(0, |n| n + 1);
        let line_end = text[d.value.span.end..].find('\n').map_or(text.len(), |n| d.value.span.end + n);
        set(&mut roles, line_start, line_end, Role::Directive);
    }
    for i in &parsed.ast.instructions {
        for (n, h) in i.heredocs.iter().enumerate() {
            // The terminator line belongs to the heredoc too; only the body is checked.
            let role = if n == 0 { Role::HeredocBody } else { Role::Unchecked };
            set(&mut roles, h.body.span.start, h.body.span.end, role);
        }
        let mut parts = Vec::new();
        instruction_roles(i, text, &mut parts);
        for (s, e, role) in parts {
            set(&mut roles, s, e, role);
        }
    }
    Ok(roles)
}

/// The scope each role requires, and the scopes only that role may have.
fn check_role(role: Role, scopes: &[String]) -> Result<(), &'static str> {
    let is = |s: &str| has_scope(scopes, s);
    let ok = match role {
        Role::Directive => is("meta.directive"),
        Role::Comment => is("comment.line.number-sign"),
        Role::Keyword { rocker: false } => is("keyword.other.instruction") && !is("keyword.other.instruction.rocker"),
        Role::Keyword { rocker: true } => is("keyword.other.instruction.rocker"),
        Role::UnknownKeyword => is("invalid.illegal.instruction") || is("invalid.deprecated.instruction"),
        Role::Flag => is("variable.parameter.flag"),
        Role::JsonString => is("string.quoted.double.json"),
        Role::HeredocBody => is("string.unquoted.heredoc"),
        Role::Instruction => is("meta.instruction"),
        Role::Unchecked => return Ok(()),
    };
    if !ok {
        return Err("lacks the scope its role needs");
    }
    let only = [
        ("keyword.other.instruction", matches!(role, Role::Keyword { .. })),
        ("comment.line", role == Role::Comment),
        ("meta.directive", role == Role::Directive),
        ("string.unquoted.heredoc", role == Role::HeredocBody),
        ("variable.parameter.flag", role == Role::Flag),
        ("string.quoted.double.json", role == Role::JsonString),
    ];
    for (scope, allowed) in only {
        if is(scope) && !allowed {
            return Err("has a scope only another role may have");
        }
    }
    Ok(())
}

/// Tokenizes `text` and checks every byte against the parser's view of it. Returns the problems.
fn check_against_parser(grammar: &Grammar, name: &str, text: &str) -> Vec<String> {
    let roles = match roles(text) {
        Ok(r) => r,
        Err(e) => return vec![format!("{name}: does not parse: {e}")],
    };
    let tokens = tokenize(grammar, name, text);
    let mut problems = Vec::new();
    for (&at, &role) in &roles {
        let scopes = tokens.scopes_at(at);
        if let Err(why) = check_role(role, scopes) {
            let line = text[..at].matches('\n').count() + 1;
            let col = at - text[..at].rfind('\n').map_or(0, |n| n + 1) + 1;
            problems.push(format!("{name}:{line}:{col}: {:?} is {role:?} to the parser but {why}: {}", &text[at..].chars().next().unwrap(), short(scopes)));
            if problems.len() > 5 {
                break;
            }
        }
    }
    if !problems.is_empty() {
        problems.push(format!("tokens of {name}:\n{}", dump(&tokens)));
    }
    problems
}

fn golden_rockerfiles() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("golden")).unwrap() {
        let path = entry.unwrap().path().join("Rockerfile");
        if path.exists() {
            let name = path.strip_prefix(root()).unwrap().display().to_string();
            out.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no golden/*/Rockerfile");
    out
}

fn fixtures() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("tests/fixtures/grammar")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rockerfile") {
            let name = path.strip_prefix(root()).unwrap().display().to_string();
            out.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no tests/fixtures/grammar/*.rockerfile");
    out
}

#[test]
fn textmate_scopes_agree_with_the_parser_on_golden_examples_and_fixtures() {
    let grammar = grammar();
    let mut problems = Vec::new();
    for (name, text) in golden_rockerfiles().into_iter().chain(fixtures()) {
        // Template actions are rendered before parsing, so the parse of a file with templates
        // says nothing about its unrendered bytes; those files are checked by their assertions.
        if !text.contains("{{") {
            problems.extend(check_against_parser(&grammar, &name, &text));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Scope assertions in the fixtures
// ---------------------------------------------------------------------------------------------

/// An assertion line, in the style of vscode-tmgrammar-test: a comment under a line of code,
/// whose carets mark columns of that line (`#   ^^^ scope.a scope.b - scope.c`), or whose `<-`
/// marks column 0 and, with more dashes, the columns after it (`# <--- scope`). Every marked
/// character must have each scope before ` - ` (as a prefix on dot boundaries, the way themes
/// match) and none of the scopes after it.
fn assertion(line: &str) -> Option<(std::ops::Range<usize>, Vec<String>, Vec<String>)> {
    let rest = line.strip_prefix('#')?;
    let trimmed = rest.trim_start_matches(' ');
    let (columns, spec) = if let Some(arrow) = trimmed.strip_prefix('<') {
        let dashes = arrow.chars().take_while(|&c| c == '-').count();
        (0..dashes, &arrow[dashes..])
    } else {
        let start = 1 + rest.len() - trimmed.len();
        let carets = trimmed.chars().take_while(|&c| c == '^').count();
        (start..start + carets, &trimmed[carets..])
    };
    if columns.is_empty() || !spec.starts_with(' ') {
        return None;
    }
    let (want, not) = spec.split_once(" - ").unwrap_or((spec, ""));
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    Some((columns, words(want), words(not)))
}

#[test]
fn fixtures_have_the_scopes_they_assert() {
    let grammar = grammar();
    let mut problems = Vec::new();
    let mut count = 0;
    for (name, text) in fixtures() {
        let tokens = tokenize(&grammar, &name, &text);
        let mut target: Option<usize> = None;
        for (n, (_, line, _)) in tokens.lines.iter().enumerate() {
            let Some((columns, want, not)) = assertion(line) else {
                target = Some(n);
                continue;
            };
            count += 1;
            let Some(t) = target else {
                problems.push(format!("{name}:{}: an assertion with no line above it", n + 1));
                continue;
            };
            let (start, code, _) = &tokens.lines[t];
            let chars: Vec<(usize, char)> = code.char_indices().collect();
            for col in columns {
                let Some(&(byte, c)) = chars.get(col) else {
                    problems.push(format!("{name}:{}: column {} is past the end of line {}", n + 1, col + 1, t + 1));
                    break;
                };
                let scopes = tokens.scopes_at(start + byte);
                let missing: Vec<&String> = want.iter().filter(|w| !has_scope(scopes, w)).collect();
                let unwanted: Vec<&String> = not.iter().filter(|w| has_scope(scopes, w)).collect();
                if !missing.is_empty() || !unwanted.is_empty() {
                    problems.push(format!(
                        "{name}:{}:{}: {c:?} has [{}]; missing {missing:?}, unwanted {unwanted:?} (assertion on line {})",
                        t + 1,
                        col + 1,
                        short(scopes),
                        n + 1
                    ));
                    break;
                }
            }
        }
    }
    assert!(count > 0, "the fixtures hold no assertions");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn fixtures_are_rockerfiles() {
    for (name, text) in fixtures() {
        let file = rockerc::source::SourceFile::new(name.clone(), text);
        let options = rockerc::template::TemplateOptions { vars: vec!["Version=1.0".into()], ..Default::default() };
        let rendered = rockerc::render(&file, &options).unwrap_or_else(|f| panic!("{name} does not render:\n{}", f.render(&file, false)));
        if let Err(d) = syntax::parse(&rendered.text) {
            panic!("{name} does not parse after rendering: {}: {}", d.code, d.message);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The TextMate grammar's structure and its keywords
// ---------------------------------------------------------------------------------------------

/// Every string value under `key` anywhere in `value`.
fn strings_under<'a>(value: &'a Value, key: &str, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v.as_str() {
                    Some(s) if k == key => out.push(s),
                    _ => strings_under(v, key, out),
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| strings_under(v, key, out)),
        _ => {}
    }
}

#[test]
fn textmate_grammar_has_the_structure_editors_expect() {
    let json = grammar_json();
    assert_eq!(json["scopeName"], "source.rockerfile");
    assert_eq!(json["name"], "Rockerfile");
    let file_types: Vec<&str> = json["fileTypes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(file_types.contains(&"Rockerfile") && file_types.contains(&"rockerfile"), "fileTypes: {file_types:?}");
    assert!(json["patterns"].as_array().is_some_and(|p| !p.is_empty()));
    // Loading checks every rule's keys, that every regex compiles with Oniguruma and that every
    // include resolves.
    grammar();

    let mut names = Vec::new();
    strings_under(&json["repository"], "name", &mut names);
    strings_under(&json["repository"], "contentName", &mut names);
    for scope in names.iter().flat_map(|n| n.split_whitespace()) {
        assert!(scope.ends_with(".rockerfile"), "scope `{scope}` does not end in .rockerfile");
    }
    let mut includes = Vec::new();
    strings_under(&json, "include", &mut includes);
    for key in json["repository"].as_object().unwrap().keys() {
        assert!(includes.contains(&format!("#{key}").as_str()), "repository entry `{key}` is never included");
    }
}

#[test]
fn textmate_keywords_are_the_parsers_in_any_case() {
    let grammar = grammar();
    let keyword_at_0 = |line: &str| {
        let t = tokenize(&grammar, line, line);
        let scopes = t.scopes_at(0).to_vec();
        (has_scope(&scopes, "keyword.other.instruction"), has_scope(&scopes, "keyword.other.instruction.rocker"))
    };
    for k in Keyword::ALL {
        let upper = k.as_str();
        let mixed: String = upper.chars().enumerate().map(|(i, c)| if i % 2 == 1 { c.to_ascii_lowercase() } else { c }).collect();
        for spelling in [upper.to_string(), upper.to_lowercase(), mixed] {
            assert_eq!(keyword_at_0(&format!("{spelling} x")), (true, k.is_rocker()), "`{spelling}` is not highlighted as a keyword");
            assert_eq!(keyword_at_0(&spelling), (true, k.is_rocker()), "`{spelling}` alone is not highlighted as a keyword");
            assert!(!keyword_at_0(&format!("{spelling}x y")).0, "`{spelling}x` is highlighted as a keyword");
        }
        if k != Keyword::Onbuild {
            let t = tokenize(&grammar, upper, &format!("ONBUILD {upper} x"));
            assert!(has_scope(t.scopes_at(8), "keyword.other.instruction"), "ONBUILD {upper}: the trigger is not a keyword");
        }
    }
    // Every word the grammar's regexes spell out is a keyword exactly when the parser knows it.
    let json = grammar_json();
    let mut regexes = Vec::new();
    for key in ["match", "begin"] {
        strings_under(&json, key, &mut regexes);
    }
    let words: BTreeSet<String> = regexes
        .iter()
        .flat_map(|r| r.split(|c: char| !c.is_ascii_alphabetic()))
        .filter(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_uppercase()))
        .map(str::to_string)
        .collect();
    for word in words {
        let known = Keyword::from_word(&word) != Keyword::Unknown;
        assert_eq!(keyword_at_0(&format!("{word} x")).0, known, "`{word}` at the start of a line");
    }
}

/// The string literals of `const NAME: ... = [...]` in a source file: the template stage keeps
/// its function and keyword lists private, so the test reads them from the source.
fn const_list(path: &str, name: &str) -> Vec<String> {
    let source = read(path);
    let start = source.find(&format!("const {name}")).unwrap_or_else(|| panic!("no `const {name}` in {path}"));
    let list = &source[start..];
    let list = &list[list.find('[').unwrap() + 1..list.find("];").unwrap()];
    list.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

#[test]
fn textmate_template_words_are_the_template_stages() {
    let grammar = grammar();
    let scope_of = |word: &str| {
        let t = tokenize(&grammar, word, &format!("{{{{ {word} }}}}"));
        t.scopes_at(3).to_vec()
    };
    for word in const_list("src/template/gotmpl/lex.rs", "KEYWORDS") {
        assert!(has_scope(&scope_of(&word), "keyword.control.template"), "template keyword `{word}`");
    }
    for word in const_list("src/template/funcs.rs", "GO_BUILTINS") {
        assert!(has_scope(&scope_of(&word), "support.function.builtin.template"), "Go builtin `{word}`");
    }
    for word in const_list("src/template/funcs.rs", "ROCKER_HELPERS") {
        assert!(has_scope(&scope_of(&word), "support.function.template"), "Rocker helper `{word}`");
    }
    assert!(!has_scope(&scope_of("frobnicate"), "support.function"));
    assert!(has_scope(&scope_of(".Env.HOME"), "variable.other.member.template"));
}

// ---------------------------------------------------------------------------------------------
// The grammar document
// ---------------------------------------------------------------------------------------------

/// A fenced code block of grammar/README.md.
struct Block {
    info: String,
    body: String,
    /// 1-based line of the opening fence.
    line: usize,
}

fn blocks() -> Vec<Block> {
    let doc = read("grammar/README.md");
    let mut out = Vec::new();
    let mut open: Option<(String, String, usize, String)> = None;
    for (n, line) in doc.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let indent = line.len() - trimmed.len();
                    open = Some((info.trim().to_string(), String::new(), n + 1, " ".repeat(indent)));
                }
            }
            Some((info, body, start, indent)) => {
                if trimmed == "```" {
                    out.push(Block { info: std::mem::take(info), body: std::mem::take(body), line: *start });
                    open = None;
                } else {
                    body.push_str(line.strip_prefix(indent.as_str()).unwrap_or(line));
                    body.push('\n');
                }
            }
        }
    }
    assert!(open.is_none(), "grammar/README.md: a code block is not closed");
    out
}

/// The productions of the ```ebnf blocks: name -> right-hand side.
fn productions() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for block in blocks().into_iter().filter(|b| b.info == "ebnf") {
        let mut current: Option<String> = None;
        for line in block.body.lines() {
            if let Some((name, rhs)) = line.split_once("::=").filter(|(n, _)| !n.starts_with(' ') && !n.trim().is_empty()) {
                let name = name.trim().to_string();
                assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "production name `{name}` is not lower_snake_case");
                assert!(!out.contains_key(&name), "production `{name}` is defined twice");
                out.insert(name.clone(), rhs.to_string());
                current = Some(name);
            } else if let Some(name) = &current {
                let rhs = out.get_mut(name).unwrap();
                rhs.push('\n');
                rhs.push_str(line);
            }
        }
    }
    out
}

/// The names a right-hand side refers to: words outside literals, character classes, code
/// points and comments.
fn references(rhs: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = rhs;
    while let Some(c) = rest.chars().next() {
        let skip_to = |rest: &str, open: usize, close: &str| rest[open..].find(close).map_or(rest.len(), |i| open + i + close.len());
        let n = match c {
            '/' if rest.starts_with("/*") => skip_to(rest, 2, "*/"),
            '[' => skip_to(rest, 1, "]"),
            '"' => skip_to(rest, 1, "\""),
            '\'' => skip_to(rest, 1, "'"),
            '#' => 1 + rest[1..].chars().take_while(|c| c.is_ascii_alphanumeric()).count(),
            c if c.is_ascii_lowercase() || c == '_' => {
                let word: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                let n = word.len();
                out.push(word);
                n
            }
            c => c.len_utf8(),
        };
        rest = &rest[n..];
    }
    out
}

/// What the document names as where a reader starts (see its §1).
const START_SYMBOLS: [&str; 4] = ["template_source", "rockerfile", "instruction", "heredoc_word"];

#[test]
fn ebnf_defines_every_name_it_uses_and_uses_every_name_it_defines() {
    let productions = productions();
    assert!(productions.len() > 40, "only {} productions found in grammar/README.md", productions.len());
    let mut used = BTreeSet::new();
    for (name, rhs) in &productions {
        for r in references(rhs) {
            assert!(productions.contains_key(&r), "production `{name}` uses `{r}`, which is not defined");
            used.insert(r);
        }
    }
    for name in productions.keys() {
        assert!(used.contains(name) || START_SYMBOLS.contains(&name.as_str()), "production `{name}` is defined but never used");
    }
    for start in START_SYMBOLS {
        assert!(productions.contains_key(start), "start symbol `{start}` is not defined");
    }
}

#[test]
fn ebnf_keywords_are_exactly_the_parsers() {
    let productions = productions();
    let literals = |name: &str| -> BTreeSet<String> {
        let rhs = productions.get(name).unwrap_or_else(|| panic!("no production `{name}`"));
        let without_comments: String =
            rhs.split("/*").enumerate().map(|(i, part)| if i == 0 { part } else { part.split_once("*/").map_or("", |p| p.1) }).collect();
        without_comments.split('"').skip(1).step_by(2).map(str::to_string).collect()
    };
    let docker = literals("docker_keyword");
    let rocker = literals("rocker_keyword");
    let parser_docker: BTreeSet<String> = Keyword::ALL.iter().filter(|k| !k.is_rocker()).map(|k| k.as_str().to_string()).collect();
    let parser_rocker: BTreeSet<String> = Keyword::ALL.iter().filter(|k| k.is_rocker()).map(|k| k.as_str().to_string()).collect();
    assert_eq!(docker, parser_docker, "docker_keyword in grammar/README.md against the parser's Keyword::ALL");
    assert_eq!(rocker, parser_rocker, "rocker_keyword in grammar/README.md against the parser's Keyword::ALL");
}

/// The info string of an example block: `dockerfile expect=RUN,CMD args=Json compiles`.
#[derive(Default, Debug)]
struct Example {
    expect: Vec<String>,
    args: Vec<String>,
    reject: Option<String>,
    compiles: bool,
    render: bool,
}

fn example(info: &str) -> Option<Example> {
    let mut words = info.split_whitespace();
    if words.next() != Some("dockerfile") {
        return None;
    }
    let mut ex = Example::default();
    for word in words {
        let list = |v: &str| v.split(',').map(str::to_string).collect::<Vec<_>>();
        match word.split_once('=') {
            Some(("expect", v)) => ex.expect = list(v),
            Some(("args", v)) => ex.args = list(v),
            Some(("reject", v)) => ex.reject = Some(v.to_string()),
            None if word == "compiles" => ex.compiles = true,
            None if word == "render" => ex.render = true,
            _ => panic!("unknown word `{word}` in the info string `{info}`"),
        }
    }
    Some(ex)
}

fn form(args: &Args) -> &'static str {
    match args {
        Args::None => "None",
        Args::Json(_) => "Json",
        Args::String(_) => "String",
        Args::List(_) => "List",
        Args::Pairs(_) => "Pairs",
        Args::Words(_) => "Words",
        Args::Healthcheck { .. } => "Healthcheck",
        Args::Onbuild(_) => "Onbuild",
    }
}

/// `expect` and `args` give one value for every instruction, or one for each in order.
fn per_instruction(values: &[String], count: usize) -> Option<Vec<&str>> {
    match values.len() {
        0 => None,
        1 => Some(vec![values[0].as_str(); count]),
        _ => Some(values.iter().map(String::as_str).collect()),
    }
}

/// Checks one example block; returns what is wrong with it.
fn check_example(grammar: &Grammar, block: &Block, ex: &Example) -> Result<(), String> {
    if ex.expect.is_empty() && ex.reject.is_none() {
        return Err("says neither expect= nor reject=: every example must be checked".into());
    }
    let text = if ex.render {
        let file = rockerc::source::SourceFile::new("example", block.body.clone());
        rockerc::render(&file, &rockerc::template::TemplateOptions::default()).map_err(|f| f.render(&file, false))?.text
    } else {
        block.body.clone()
    };
    let parsed = syntax::parse(&text);
    if let Some(kinds) = parsed.as_ref().ok().and_then(|p| per_instruction(&ex.expect, p.ast.instructions.len())) {
        let instructions = &parsed.as_ref().unwrap().ast.instructions;
        let got: Vec<&str> = instructions.iter().map(|i| i.keyword.value.as_str()).collect();
        if kinds.len() != instructions.len() {
            return Err(format!("expects {} instructions, parses into {got:?}", kinds.len()));
        }
        for (i, want) in instructions.iter().zip(kinds) {
            let kind = Keyword::from_word(want);
            if i.kind != kind || (kind == Keyword::Unknown && !i.keyword.value.eq_ignore_ascii_case(want)) {
                return Err(format!("expects {want}, parses into {got:?}"));
            }
        }
        if let Some(forms) = per_instruction(&ex.args, instructions.len()) {
            let got: Vec<&str> = instructions.iter().map(|i| form(&i.args)).collect();
            if forms != got {
                return Err(format!("expects the argument forms {forms:?}, parses into {got:?}"));
            }
        }
    }
    let analyzed = parsed.as_ref().ok().map(|p| rockerc::analyze::analyze(&p.ast, &text));
    match (&ex.reject, &parsed, &analyzed) {
        (None, Err(d), _) => return Err(format!("does not parse: {}: {}", d.code, d.message)),
        (Some(code), Err(d), _) if d.code.as_str() != code => return Err(format!("fails with {}, not {code}: {}", d.code.as_str(), d.message)),
        (Some(code), Ok(_), Some(Ok(_))) => return Err(format!("parses and compiles, but should fail with {code}")),
        (Some(code), Ok(_), Some(Err(ds))) if !ds.0.iter().any(|d| d.code.as_str() == code) => {
            let codes: Vec<&str> = ds.0.iter().map(|d| d.code.as_str()).collect();
            return Err(format!("fails with {codes:?}, not {code}"));
        }
        (None, Ok(_), Some(Err(ds))) if ex.compiles => {
            let msgs: Vec<String> = ds.0.iter().map(|d| format!("{}: {}", d.code, d.message)).collect();
            return Err(format!("is said to compile but does not: {msgs:?}"));
        }
        _ => {}
    }
    // The TextMate grammar agrees with every example that parses, except where it does not try
    // to (templates, the backtick escape; see §8 of the document).
    if let Ok(p) = &parsed {
        if !ex.render && p.ast.escape == '\\' {
            let problems = check_against_parser(grammar, "example", &text);
            if !problems.is_empty() {
                return Err(problems.join("\n"));
            }
        }
    }
    Ok(())
}

#[test]
fn every_example_in_the_grammar_document_is_what_it_says() {
    let grammar = grammar();
    let mut problems = Vec::new();
    let mut expected_kinds = BTreeSet::new();
    let mut count = 0;
    for block in blocks() {
        let Some(ex) = example(&block.info) else { continue };
        count += 1;
        if ex.reject.is_none() {
            expected_kinds.extend(ex.expect.iter().map(|k| Keyword::from_word(k)));
        }
        if let Err(e) = check_example(&grammar, &block, &ex) {
            problems.push(format!("grammar/README.md:{}: the example `{}` {e}", block.line, block.info));
        }
    }
    assert!(count > 20, "only {count} examples found");
    for k in Keyword::ALL {
        if !expected_kinds.contains(&k) {
            problems.push(format!("grammar/README.md has no example that parses into {}", k.as_str()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The real-world Rockerfiles of `ROCKERC_CORPUS_DIR` (shared/corpus; `.ci/run` sets it and runs
/// the `#[ignore]`d tests): the ones without templates are checked against the parser like the
/// golden examples, and in all of them every `{{` opens a template action.
#[test]
#[ignore = "needs ../shared: set ROCKERC_CORPUS_DIR to shared/corpus and run with --ignored (.ci/run does)"]
fn textmate_grammar_reads_the_real_world_corpus() {
    let dir = std::env::var("ROCKERC_CORPUS_DIR").expect("needs ../shared: set ROCKERC_CORPUS_DIR to shared/corpus");
    let grammar = grammar();
    let mut problems = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".md") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        files += 1;
        if text.contains("{{") {
            let tokens = tokenize(&grammar, &name, &text);
            for (at, _) in text.match_indices("{{") {
                let scopes = tokens.scopes_at(at);
                if !has_scope(scopes, "meta.embedded.template") && !has_scope(scopes, "comment.block.template") {
                    problems.push(format!("{name}: the `{{{{` at byte {at} is not a template action: {}", short(scopes)));
                }
            }
        } else {
            // A corpus file the parser rejects says nothing about the grammar.
            if syntax::parse(&text).is_ok() {
                problems.extend(check_against_parser(&grammar, &name, &text));
            }
        }
    }
    assert!(files > 0, "no Rockerfiles in {dir}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
