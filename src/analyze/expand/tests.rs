//! One test per rule. Where BuildKit's `envVarTest`, `wordsTest` or `lex_test.go` cover a rule,
//! the expected values are theirs; the rest follow BuildKit's lexer and were checked against it.

use super::*;
use crate::golang as unicode;

/// Enough for [`MAX_DEPTH`] levels in a debug build (about 8 KiB a level), well under a test thread's 2 MiB.
const STACK: usize = 1024 * 1024;
const NONE: &[(&str, &str)] = &[];
const ENV: &[(&str, &str)] = &[("PWD", "/home"), ("SHELL", "bash"), ("KOREAN", "한국어"), ("NULL", "")];

fn expand_in(env: &[(&str, &str)], word: &str) -> Result<String, ExpandError> {
    Lexer::default().expand_word(word, env).map(|e| e.value)
}

fn expand(word: &str) -> String {
    expand_in(ENV, word).unwrap_or_else(|e| panic!("{word:?}: {e:?}"))
}

fn error(word: &str) -> (String, usize) {
    let e = expand_in(ENV, word).expect_err(word);
    (e.message, e.offset)
}

fn words_in(env: &[(&str, &str)], word: &str) -> Vec<String> {
    Lexer::default().expand_words(word, env).unwrap_or_else(|e| panic!("{word:?}: {e:?}"))
}

fn backtick(env: &[(&str, &str)], word: &str) -> Result<String, ExpandError> {
    Lexer::new('`').expand_word(word, env).map(|e| e.value)
}

#[test]
fn escapes_outside_quotes_take_the_next_character() {
    assert_eq!(expand(r"abc\tdef"), "abctdef");
    assert_eq!(expand(r"he\'llo"), "he'llo");
    assert_eq!(expand(r"hello\\"), r"hello\");
    assert_eq!(expand(r"he\$PWD"), "he$PWD");
    assert_eq!(expand(r"he\\$PWD"), r"he\/home");
    assert_eq!(expand(r"\${}aaa"), "${}aaa");
}

#[test]
fn a_trailing_lone_escape_is_dropped() {
    assert_eq!(expand(r"hello\"), "hello");
    assert_eq!(expand(r"안녕하세요\"), "안녕하세요");
}

#[test]
fn single_quotes_are_literal() {
    assert_eq!(expand("he'll'o"), "hello");
    assert_eq!(expand(r"'abc\tdef'"), r"abc\tdef");
    assert_eq!(expand(r"'hello\'"), r"hello\");
    assert_eq!(expand("'$PWD'"), "$PWD");
    assert_eq!(expand(r#"'"hello"'"#), r#""hello""#);
}

#[test]
fn double_quotes_escape_only_quote_dollar_and_escape() {
    assert_eq!(expand(r#""abc\tdef""#), r"abc\tdef");
    assert_eq!(expand(r#""abc\\tdef""#), r"abc\tdef");
    assert_eq!(expand(r#""he\$PWD""#), "he$PWD");
    assert_eq!(expand(r#""he\\$PWD""#), r"he\/home");
    assert_eq!(expand(r#""a\"b""#), r#"a"b"#);
    assert_eq!(expand(r#""hel'lo""#), "hel'lo");
    assert_eq!(expand(r#""''""#), "''");
    assert_eq!(expand(r#""he'$PWD'""#), "he'/home'");
}

#[test]
fn unclosed_quotes_are_errors_at_the_opening_quote() {
    let single = "unexpected end of statement while looking for matching single-quote";
    let double = "unexpected end of statement while looking for matching double-quote";
    assert_eq!(error("he'llo"), (single.to_owned(), 2));
    assert_eq!(error(r"he\\'llo"), (single.to_owned(), 4));
    assert_eq!(error("\"hello"), (double.to_owned(), 0));
    assert_eq!(error(r#""hello\""#), (double.to_owned(), 0));
    assert_eq!(error(r#"안"녕"#), (double.to_owned(), 3));
}

#[test]
fn variables_expand_by_name() {
    assert_eq!(expand("he$PWD"), "he/home");
    assert_eq!(expand("he${PWD}"), "he/home");
    assert_eq!(expand("he$pwd."), "he.");
    assert_eq!(expand("he${hi}xx"), "hexx");
    assert_eq!(expand("안녕$KOREAN"), "안녕한국어");
    assert_eq!(expand("$PWD.x"), "/home.x");
    assert_eq!(expand("${aaa}}"), "}");
}

#[test]
fn names_are_go_letters_digits_and_underscore() {
    let env: &[(&str, &str)] = &[("x", "X"), ("x_1", "X1"), ("한국", "K"), ("ª", "A")];
    assert_eq!(expand_in(env, "$x_1-").unwrap(), "X1-");
    assert_eq!(expand_in(env, "$한국어").unwrap(), "");
    assert_eq!(expand_in(env, "$한국.").unwrap(), "K.");
    assert_eq!(expand_in(env, "$ª").unwrap(), "A");
    // `²` is a number to Rust but not a digit to Go, so the name stops before it.
    assert_eq!(expand_in(env, "$x²").unwrap(), "X²");
    // A combining mark is Alphabetic to Rust but not a letter to Go.
    assert_eq!(expand_in(env, "$x\u{0902}").unwrap(), "X\u{0902}");
}

#[test]
fn name_letters_are_go_letters_category_l_only() {
    for c in ['a', 'Z', 'ª', 'µ', 'ˆ', '한', 'ß', 'Ж', '\u{1E4D0}'] {
        assert!(unicode::is_letter(c), "{c:?}");
    }
    // Combining marks, letter numbers, digits and `_` are not letters.
    for c in ['\u{0902}', '\u{0301}', 'Ⅻ', '1', '٣', '_', ' ', '\u{FEFF}'] {
        assert!(!unicode::is_letter(c), "{c:?}");
    }
}

#[test]
fn name_digits_are_go_digits_category_nd_only() {
    for c in ['0', '9', '٣', '१', '０', '\u{11F50}', '\u{1FBF9}'] {
        assert!(unicode::is_digit(c), "{c:?}");
    }
    for c in ['²', '½', 'Ⅻ', 'a', '\u{1FBFA}'] {
        assert!(!unicode::is_digit(c), "{c:?}");
    }
}

#[test]
fn a_dollar_before_a_non_name_character_stays() {
    assert_eq!(expand("$."), "$.");
    assert_eq!(expand("he$.x"), "he$.x");
    assert_eq!(expand("a$"), "a$");
    assert_eq!(expand("$ x"), "$ x");
    assert_eq!(expand("\"$\""), "$");
}

#[test]
fn positional_and_special_parameters_are_empty() {
    for word in ["$1", "${1}", "$999", "$001", "${001}", "$@", "${@}", "$*", "$#", "$?", "$-", "$$", "$!", "$0", "${0}"] {
        assert_eq!(expand(word), "", "{word}");
    }
    assert_eq!(expand("he$1x"), "hex");
    assert_eq!(expand("$999aaa"), "aaa");
    assert_eq!(expand("$@@@"), "@@");
    assert_eq!(expand("${999:-bbb}aaa"), "bbbaaa");
    assert_eq!(expand("${@:+bbb}aaa"), "aaa");
    // Arabic-Indic digits are a digit run too.
    assert_eq!(expand("$١٢x"), "x");
}

#[test]
fn positional_names_are_still_looked_up() {
    // BuildKit doesn't special-case them: an environment that has them expands them.
    assert_eq!(expand_in(&[("1", "one"), ("@", "at")], "$1-${@}").unwrap(), "one-at");
}

#[test]
fn default_and_alternative_values_follow_posix() {
    assert_eq!(expand("he${XXX:-000}xx"), "he000xx");
    assert_eq!(expand("he${PWD:-000}xx"), "he/homexx");
    assert_eq!(expand("${NULL:-d}"), "d");
    assert_eq!(expand("${NULL-d}"), "");
    assert_eq!(expand("${XXX-d}"), "d");
    assert_eq!(expand("he${XXX:+000}xx"), "hexx");
    assert_eq!(expand("he${PWD:+000}xx"), "he000xx");
    assert_eq!(expand("${NULL:+a}"), "");
    assert_eq!(expand("${NULL+a}"), "a");
    assert_eq!(expand("${XXX+a}"), "");
}

#[test]
fn modifier_words_nest_and_are_expanded() {
    assert_eq!(expand("he${XXX:-$PWD}xx"), "he/homexx");
    assert_eq!(expand("he${XXX:-${PWD:-yyy}}xx"), "he/homexx");
    assert_eq!(expand("he${XXX:-${YYY:-yyy}}xx"), "heyyyxx");
    assert_eq!(expand("he${PWD:+${SHELL}}xx"), "hebashxx");
    assert_eq!(expand("he${PWD:+${PWD}:}xx"), "he/home:xx");
    assert_eq!(expand(r"he${XXX:-\$PWD:}xx"), "he$PWD:xx");
    assert_eq!(expand(r"he${XXX:-\${PWD}z}xx"), "he${PWDz}xx");
    assert_eq!(expand("${aaa:-bbb {foo}"), "bbb {foo");
    assert_eq!(expand("${aaa:-bbb}}"), "bbb}");
    assert_eq!(expand(r"${aaa:-\}}"), "}");
    assert_eq!(expand("${aaa:-'}'}"), "}");
    assert_eq!(expand(r#"${aaa:-"a b"}"#), "a b");
}

#[test]
fn required_values_fail_with_the_given_message() {
    let env: &[(&str, &str)] = &[("VAR", "plain"), ("ARG", "x")];
    let empty: &[(&str, &str)] = &[("VAR", ""), ("ARG", "x")];
    let unset: &[(&str, &str)] = &[("ARG", "x")];
    let required = |env, word| {
        let e = expand_in(env, word).unwrap_err();
        (e.kind, e.message, e.offset)
    };
    let var = || ExpandErrorKind::Required { name: "VAR".to_owned() };

    assert_eq!(expand_in(env, "${VAR:?message here$ARG}").unwrap(), "plain");
    assert_eq!(required(empty, "${VAR:?message here$ARG}"), (var(), "VAR: message herex".to_owned(), 0));
    assert_eq!(required(unset, "a ${VAR:?message here$ARG}"), (var(), "VAR: message herex".to_owned(), 2));
    assert_eq!(expand_in(env, "${VAR?message here$ARG}").unwrap(), "plain");
    assert_eq!(expand_in(empty, "${VAR?message here$ARG}").unwrap(), "");
    assert_eq!(required(unset, "${VAR?message here$ARG}"), (var(), "VAR: message herex".to_owned(), 0));

    assert_eq!(required(unset, "${VAR?}"), (var(), "VAR: is not allowed to be unset".to_owned(), 0));
    assert_eq!(required(unset, "${VAR:?}"), (var(), "VAR: is not allowed to be unset".to_owned(), 0));
    assert_eq!(required(empty, "${VAR:?}"), (var(), "VAR: is not allowed to be empty".to_owned(), 0));
    assert_eq!(expand("he${PWD?}"), "he/home");
    assert_eq!(expand("he${NULL?}"), "he");
}

#[test]
fn malformed_substitutions_are_errors() {
    let bad = "syntax error: bad substitution";
    let missing = "syntax error: missing '}'";
    assert_eq!(error("${}"), (bad.to_owned(), 2));
    assert_eq!(error("he${}xx"), (bad.to_owned(), 4));
    assert_eq!(error("${:}"), (bad.to_owned(), 2));
    assert_eq!(error("${:-bbb}"), (bad.to_owned(), 2));
    assert_eq!(error("${{aaa}"), (bad.to_owned(), 2));
    assert_eq!(error("${"), (missing.to_owned(), 0));
    assert_eq!(error("he${PWD"), (missing.to_owned(), 2));
    assert_eq!(error("${aaa:-bbb"), (missing.to_owned(), 0));
    assert_eq!(error("${aaa:-bbb ${foo}"), (missing.to_owned(), 0));
    assert_eq!(error("${aaa:"), (missing.to_owned(), 0));
    assert_eq!(error(r"${aaa:-\"), (missing.to_owned(), 0));
    // Whatever fails inside an unterminated `${` is reported as the unterminated `${`.
    assert_eq!(error("x${a:-${b?}"), (missing.to_owned(), 1));
    assert_eq!(error("${a/b"), ("syntax error: missing '/' in ${}".to_owned(), 0));
    assert_eq!(error("${a/b/c"), (missing.to_owned(), 0));
    assert_eq!(error("${a//}"), ("syntax error: missing '/' in ${}".to_owned(), 0));
}

#[test]
fn unsupported_modifiers_are_errors_at_the_modifier() {
    let unsupported = |m: &str| format!("unsupported modifier ({m}) in substitution");
    assert_eq!(error("he${XXX:YYY}"), (unsupported(":Y"), 7));
    assert_eq!(error("he${PWD:=000}xx"), (unsupported(":="), 7));
    assert_eq!(error("${PWD=000}"), (unsupported("="), 5));
    assert_eq!(error("he${.}"), (unsupported("."), 4));
    assert_eq!(error("${ }"), (unsupported(" "), 2));
    assert_eq!(error("${x:#a}"), (unsupported(":#"), 3));
    assert_eq!(error("${x:%a}"), (unsupported(":%"), 3));
    assert_eq!(error("${x:}y}"), (unsupported(":}"), 3));
    // The word is expanded first, so its own errors come first.
    assert_eq!(error("${PWD:=${}}"), ("syntax error: bad substitution".to_owned(), 9));
}

#[test]
fn odd_names_in_braces_behave_like_buildkit() {
    // `+`, `%` and `/` are not name characters, so these use the empty name.
    assert_eq!(expand("${+x}a"), "a");
    assert_eq!(expand("${%x}a"), "a");
    assert_eq!(expand("${/x/y}a"), "a");
    assert_eq!(expand("${-}${#}${?}"), "");
    assert_eq!(error("${-x}").0, "unsupported modifier (x) in substitution");
}

#[test]
fn prefix_and_suffix_patterns() {
    let env = |foo: &str| vec![("FOO", foo.to_owned())];
    let run = |foo: &str, word: &str| {
        let env = env(foo);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        expand_in(&pairs, word).unwrap()
    };
    assert_eq!(run(r"()[]{}^$.*?|\x", r"${FOO#()[]{\}^$.\*\?|\\}"), "x");
    assert_eq!(run("xx**", r"${FOO%%\**}"), "xx");
    assert_eq!(run("xxyy", "${FOO#*x*y}"), "y");
    assert_eq!(run("xxyy", "${FOO#*}"), "xxyy");
    assert_eq!(run("xxyy", "${FOO#}"), "xxyy");
    assert_eq!(run("xxyy", "${FOO##*x}"), "yy");
    assert_eq!(run("xxyy", "${FOO##}"), "xxyy");
    assert_eq!(run("???y", r"${FOO#?\?}"), "?y");
    assert_eq!(run("xxyy", "${ABC:-.}${FOO%x}${ABC:-.}"), ".xxyy.");
    assert_eq!(run("a***yy*", r"${FOO%%\**\*}"), "a");
    assert_eq!(run("xxyy", "${FOO%}"), "xxyy");
    assert_eq!(run("xxyy", "${FOO%y}"), "xxy");
    assert_eq!(run("a/b/c.tar.gz", "${FOO##*/}"), "c.tar.gz");
    assert_eq!(run("a/b/c.tar.gz", "${FOO%%.*}"), "a/b/c");
    assert_eq!(run("a/b/c.tar.gz", "${FOO%/*}"), "a/b");
    // No bracket expressions: `[` is literal, as in BuildKit.
    assert_eq!(run("[ab]c", "${FOO#[ab]}"), "c");
    assert_eq!(run("abc", "${FOO#[ab]}"), "abc");
    // Quotes in the pattern are removed and protect `}`.
    assert_eq!(run("}x", "${FOO#'}'}"), "x");
}

#[test]
fn patterns_come_from_the_expanded_word() {
    let env: &[(&str, &str)] = &[("FOO", "xxyy"), ("BAR", "x"), ("EMPTY", ""), ("HASH", "#x"), ("STAR", "*")];
    assert_eq!(expand_in(env, "${FOO#$BAR}").unwrap(), "xyy");
    assert_eq!(expand_in(env, "${FOO#$EMPTY}").unwrap(), "xxyy");
    assert_eq!(expand_in(env, "${FOO%%$EMPTY}").unwrap(), "xxyy");
    // A variable's `*` is a wildcard, and a leading `#` in its value makes it `##`.
    assert_eq!(expand_in(env, "${FOO#$STAR}").unwrap(), "xxyy");
    assert_eq!(expand_in(env, "${FOO#$HASH}").unwrap(), "xyy");
    assert_eq!(expand_in(env, "${FOO%%$STAR}").unwrap(), "");
}

#[test]
fn bad_patterns_are_errors() {
    let env: &[(&str, &str)] = &[("FOO", "xxyy")];
    let e = expand_in(env, r"${FOO#a\b}").unwrap_err();
    assert_eq!((e.kind, e.message.as_str(), e.offset), (ExpandErrorKind::Syntax, r"invalid pattern (a\b) in substitution: invalid escape '\b'", 6));
    let e = expand_in(env, r"${FOO%%a\b}").unwrap_err();
    assert_eq!(e.message, r"invalid pattern (a\b) in substitution: invalid escape '\b'");
    let e = expand_in(env, r"${FOO/\x/y}").unwrap_err();
    assert_eq!((e.message.as_str(), e.offset), (r"invalid pattern (\x) in substitution: invalid escape '\x'", 6));
}

#[test]
fn replacements() {
    let run = |env: &[(&str, &str)], word: &str| expand_in(env, word).unwrap();
    let glob: &[(&str, &str)] = &[("FOO", "/foo*/*/*.txt"), ("NEEDLE", r"\*/")];
    assert_eq!(run(glob, "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}"), "/foo.*/*.txt - /foo..*.txt");
    let tmp: &[(&str, &str)] = &[("FOO", "/tmp/tmp/bar.txt"), ("NEEDLE", "/tmp")];
    assert_eq!(run(tmp, "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}"), "/tmp/bar.txt - /bar.txt");
    let dirs: &[(&str, &str)] = &[("FOO", "/a/foo/b/c.txt"), ("NEEDLE", "/?/"), ("REPLACEMENT", "/")];
    assert_eq!(run(dirs, "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}"), "/foo/b/c.txt - /foo/c.txt");
    let url: &[(&str, &str)] = &[("FOO", "http://google.de"), ("NEEDLE", "http://"), ("REPLACEMENT", "https://")];
    assert_eq!(run(url, "${FOO/$NEEDLE/$REPLACEMENT}"), "https://google.de");
    let path: &[(&str, &str)] = &[("FOO", "/tmp/foo.txt")];
    assert_eq!(run(path, r"${FOO//\//\/}"), r"\/tmp\/foo.txt");
    let short: &[(&str, &str)] = &[("FOO", "xxyy"), ("BAR", "")];
    assert_eq!(run(short, "${FOO/$BAR/ww}"), "wwxxyy");
    assert_eq!(run(short, "${FOO///}"), "xxyy");
    assert_eq!(run(NONE, "${FOO///}"), "");
    // Replace-all reads Go's template syntax; `\$0` keeps the backslash, `$0` is the match.
    let v: &[(&str, &str)] = &[("V", "ab"), ("T", "<$0>")];
    assert_eq!(run(v, "${V//?/$T}"), "<a><b>");
    assert_eq!(run(v, "${V/?/$T}"), "<$0>b");
    assert_eq!(run(v, r"${V//?/\$0}"), r"\a\b");
}

#[test]
fn raw_escapes_in_patterns_keep_quoted_backslashes_twice() {
    // In a pattern, BuildKit keeps the escape character before an ordinary character inside
    // double quotes *and* keeps it again as the character itself.
    // So `"\a"` is the pattern `\\a`, a literal `\a`, where `\a` alone would be a bad escape.
    let v: &[(&str, &str)] = &[("V", r"\a")];
    assert_eq!(expand_in(v, r#"${V#"\a"}"#).unwrap(), "");
    assert!(expand_in(v, r"${V#\a}").is_err());
}

#[test]
fn words_split_on_unquoted_whitespace() {
    let env: &[(&str, &str)] = &[("hi", "hi"), ("space", "abc  def"), ("leading", "  ab c"), ("trailing", "ab c   ")];
    let w = |word: &str| words_in(env, word);
    assert_eq!(w("hello${hi}bye"), ["hellohibye"]);
    assert_eq!(w("hello${space}bye"), ["helloabc", "defbye"]);
    assert_eq!(w("hello\"${space}\"bye"), ["helloabc  defbye"]);
    assert_eq!(w("hello \"${space}\"bye"), ["hello", "abc  defbye"]);
    assert_eq!(w("hello${leading}def"), ["hello", "ab", "cdef"]);
    assert_eq!(w("hello${trailing}d"), ["helloab", "c", "d"]);
    assert_eq!(w("hello\" there  \""), ["hello there  "]);
    assert_eq!(w("hello there     "), ["hello", "there"]);
    assert_eq!(w(r"hello\ there"), ["hello there"]);
    assert_eq!(w(r#"hello\" there"#), ["hello\"", "there"]);
    assert_eq!(w("hello'$there'"), ["hello$there"]);
    assert_eq!(w("  a\tb\n"), ["a", "b"]);
}

#[test]
fn empty_quotes_make_no_word() {
    assert_eq!(words_in(NONE, "'' \"\" a ''"), ["a"]);
    assert!(words_in(NONE, "\"\"").is_empty());
    assert!(words_in(NONE, "").is_empty());
    assert_eq!(words_in(NONE, "a'' b"), ["a", "b"]);
}

#[test]
fn modifier_words_split_after_expansion() {
    // The whole value of `${…}` is split, quotes in its word notwithstanding.
    assert_eq!(words_in(NONE, r#"${x:-"a b"}"#), ["a", "b"]);
    assert_eq!(words_in(NONE, r#""${x:-a b}""#), ["a b"]);
    // Unlike recent BuildKit, text before a nested word stays in its word.
    assert_eq!(words_in(NONE, "80/${PROTO:-tcp} 443"), ["80/tcp", "443"]);
}

#[test]
fn expand_word_keeps_whitespace() {
    let env: &[(&str, &str)] = &[("space", "abc  def")];
    let e = Lexer::default().expand_word("  a ${space} ", env).unwrap();
    assert_eq!(e.value, "  a abc  def ");
    assert_eq!(e.words, ["a", "abc", "def"]);
}

#[test]
fn records_used_and_unset_variables_once_in_order() {
    let env: &[(&str, &str)] = &[("FOO", "xxx"), ("BAR", "")];
    let e = Lexer::default().expand_word("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc} $FOO ${QUX:+$FOO} ${+x}", env).unwrap();
    assert_eq!(e.value, "xxx  ccc xxx  ");
    assert_eq!(e.used, ["FOO", "BAR"]);
    assert_eq!(e.unset, ["BAZ", "QUX"]);
    // Words in unused branches are still expanded, so their variables count.
    let e = Lexer::default().expand_word("${FOO:-$NOPE}", env).unwrap();
    assert_eq!((e.used, e.unset), (vec!["FOO".to_owned()], vec!["NOPE".to_owned()]));
    // BuildKit's TestProcessWithMatchesPlatform.
    let platform: &[(&str, &str)] = &[("VERSION", "v1.2.3"), ("TARGETOS", "linux"), ("TARGETARCH", "arm"), ("TARGETVARIANT", "v7")];
    let release = "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz";
    let e = Lexer::default().expand_word(release, platform).unwrap();
    assert_eq!(e.value, "something-v1.2.3.linux-arm-v7.tar.gz");
    assert_eq!(e.used, ["VERSION", "TARGETOS", "TARGETARCH", "TARGETVARIANT"]);
    let e = Lexer::default().expand_word(release, &platform[..3]).unwrap();
    assert_eq!(e.value, "something-v1.2.3.linux-arm.tar.gz");
    assert_eq!(e.unset, ["TARGETVARIANT"]);
}

#[test]
fn envs_distinguish_unset_from_empty_and_last_duplicate_wins() {
    let pairs: &[(&str, &str)] = &[("car", "hat"), ("car", "bike"), ("e", "")];
    assert_eq!(expand_in(pairs, "$car ${e-x} ${u-x}").unwrap(), "bike  x");
    let map: HashMap<String, String> = [("A".to_owned(), "1".to_owned())].into();
    assert_eq!(Lexer::default().expand_word("$A$B", &map).unwrap().value, "1");
    let tree: BTreeMap<String, String> = [("A".to_owned(), "".to_owned())].into();
    assert_eq!(Lexer::default().expand_word("${A?}${A:-d}", &tree).unwrap().value, "d");
}

#[test]
fn backtick_escape_replaces_backslash() {
    let env: &[(&str, &str)] = &[("PWD", "/home")];
    // Backslashes are ordinary: Windows paths survive.
    assert_eq!(backtick(env, r"C:\foo\$PWD").unwrap(), r"C:\foo\/home");
    assert_eq!(backtick(env, "a`$PWD `'b").unwrap(), "a$PWD 'b");
    assert_eq!(backtick(env, "hello`").unwrap(), "hello");
    assert_eq!(backtick(env, "hello``").unwrap(), "hello`");
    // In double quotes the backtick escapes `"`, `$` and itself; a backslash is literal.
    assert_eq!(backtick(env, r#""a`"b`$c``d`e\f""#).unwrap(), r#"a"b$c`d`e\f"#);
    assert_eq!(backtick(env, r#""a\"b"#).unwrap(), r"a\b");
    assert_eq!(backtick(env, r#"${X:-`}}"#).unwrap(), "}");
    // The pattern escape stays `\`, and the backtick is kept in patterns like any escape.
    let v: &[(&str, &str)] = &[("V", "a*b")];
    assert_eq!(backtick(v, r"${V#a\*}").unwrap(), "b");
    assert_eq!(backtick(v, "${V#a`*}").unwrap(), "a*b");
    assert_eq!(Lexer::new('`').expand_words(r"a` b c\ d", NONE).unwrap(), ["a b", r"c\", "d"]);
}

#[test]
fn a_leading_byte_order_mark_is_skipped() {
    assert_eq!(expand("\u{FEFF}$PWD"), "/home");
    assert_eq!(expand("a\u{FEFF}"), "a\u{FEFF}");
}

#[test]
fn nesting_is_limited_without_overflowing_the_stack() {
    let nested = |depth: usize| format!("{}x{}", "${a:-\"".repeat(depth), "\"}".repeat(depth));
    assert_eq!(expand(&nested(MAX_DEPTH)), "x");
    let e = expand_in(ENV, &nested(MAX_DEPTH + 1)).unwrap_err();
    assert_eq!((e.kind, e.message.as_str()), (ExpandErrorKind::Limit, "more than 64 levels of ${…} inside one another"));
    assert_eq!(e.offset, MAX_DEPTH * "${a:-\"".len());
    // Deep nesting in a thread with a small stack: an error, not a crash.
    let deep = nested(100_000);
    let handle = std::thread::Builder::new().stack_size(STACK).spawn(move || expand_in(ENV, &deep).is_err());
    assert!(handle.unwrap().join().unwrap());
}

#[test]
fn never_panics_on_arbitrary_text() {
    // A small deterministic fuzz over the characters that matter.
    let alphabet: Vec<char> = "$${}{}:-+?#%/\\`'\" aZ_1@*\n한\u{FEFF}".chars().collect();
    let env: &[(&str, &str)] = &[("a", "x y*"), ("Z", ""), ("_1", "\\*/"), ("한", "$0")];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..20_000 {
        let mut word = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 24) as usize;
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            word.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        for lexer in [Lexer::default(), Lexer::new('`')] {
            match lexer.expand_word(&word, env) {
                Ok(e) => assert!(e.words.iter().all(|w| !w.is_empty())),
                Err(e) => assert!(e.offset <= word.len(), "{word:?}: {e:?}"),
            }
        }
    }
}

#[test]
fn long_inputs_take_linear_time() {
    let long = "a$PWD'b'\"c$SHELL\"\\d${NULL:-e}".repeat(20_000);
    let started = std::time::Instant::now();
    let e = Lexer::default().expand_word(&long, ENV).unwrap();
    assert_eq!(e.value.len(), "a/homebcbashde".len() * 20_000);
    assert_eq!(e.words.len(), 1);
    let value = "ab".repeat(50_000);
    let env: &[(&str, &str)] = &[("V", &value)];
    assert_eq!(expand_in(env, "${V//a/}").unwrap().len(), 50_000);
    assert_eq!(expand_in(env, "${V%%a*}").unwrap(), "");
    assert_eq!(expand_in(env, "${V##*a}").unwrap(), "b");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn references_go_by_the_lexers_names() {
    let found: Vec<(&str, &str)> =
        references("a $X ${Y:-${Z}}b $$W $1x ${} $ $é_1 \\$V").map(|r| (r.name, &"a $X ${Y:-${Z}}b $$W $1x ${} $ $é_1 \\$V"[r.at..r.end])).collect();
    // A reference inside another's modifier is one of its own (Docker expands the word); `$$` is
    // the special parameter `$`, so `W` after it is text.
    assert_eq!(found, [("X", "$X"), ("Y", "${Y:-${Z}}"), ("Z", "${Z}"), ("$", "$$"), ("1", "$1"), ("é_1", "$é_1"), ("V", "$V")]);
}
