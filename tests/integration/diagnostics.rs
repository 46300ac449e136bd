//! Every diagnostic rockerc can print, pinned verbatim as the user reads it on stderr.
//!
//! Each case is one file `tests/fixtures/diagnostics/<case>.rockerfile`: an optional header of
//! lines starting with `#> `, then the Rockerfile. The test writes the Rockerfile as
//! `./Rockerfile` in a fresh temporary directory, runs the real `rockerc` binary there, and
//! snapshots the exit code, whether stdout is empty, which files the run left behind (an `-o DIR`
//! that failed must leave nothing) and stderr, in
//! `tests/fixtures/diagnostics/snapshots/<case>.snap`. The header is not part of the Rockerfile,
//! so line numbers in the snapshot count from the first line after it.
//!
//! Header lines:
//!
//! - `#> args: ARG...`: rockerc's command-line arguments, split at blanks (no quoting); with none,
//!   rockerc runs without arguments and reads `./Rockerfile`.
//! - `#> file NAME: TEXT`: writes TEXT to NAME beside the Rockerfile (vars files, a file where
//!   `-o` wants a directory, ...).
//! - `#> stdin: TEXT`: standard input (empty by default).
//! - `#> no Rockerfile`: the run has no `./Rockerfile` (nothing may follow the header).
//! - `#> note: TEXT`: what the case shows, for the reader; not part of the run.
//!
//! In `args`, `file` and `stdin`, `\n` stands for a newline, `\\` for a backslash and `\xHH` for a
//! byte (`\x00` for a NUL; in `args`, an ASCII character only). The Rockerfile is taken byte for
//! byte, so a case may hold bytes that are not UTF-8.
//!
//! "files written" lists every path the run created or changed (contents or mode). The temporary
//! directory's path is masked as `[TMP]`; nothing else is.
//!
//! `every_diagnostic_code_is_pinned` then goes through the type `rockerc::diagnostic::Code` and
//! fails naming each code that no snapshot here (nor a verbatim pin in tests/integration/cli.rs,
//! expansion.rs or subcommands.rs) shows.
//!
//! Add a case: write the fixture, add its name to the `fixtures!` list below (a test checks that
//! every fixture is listed), run `INSTA_UPDATE=always cargo test --test integration diagnostics::`
//! (or `cargo insta test --accept`), and read the new snapshot. Each fixture is a test of its own.

use crate::common::{Dir, Test};
use rockerc::diagnostic::Code;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn fixture_dir() -> PathBuf {
    root().join("tests/fixtures/diagnostics")
}

fn fixtures() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> =
        std::fs::read_dir(fixture_dir()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "rockerfile")).collect();
    all.sort();
    assert!(!all.is_empty(), "no tests/fixtures/diagnostics/*.rockerfile");
    all
}

/// One fixture, split into its header and the Rockerfile.
struct Case {
    /// The `args:` header as written, for the snapshot's description.
    args_line: String,
    args: Vec<String>,
    files: Vec<(String, Vec<u8>)>,
    stdin: Vec<u8>,
    /// `None` with `#> no Rockerfile`.
    rockerfile: Option<Vec<u8>>,
}

fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push(b'\n'),
                Some('\\') => out.push(b'\\'),
                Some('x') => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(u8::from_str_radix(&hex, 16).unwrap_or_else(|_| panic!("`\\x{hex}` in a fixture header: two hex digits")));
                }
                other => panic!("unknown escape `\\{}` in a fixture header", other.map(String::from).unwrap_or_default()),
            },
            (c, false) => out.extend(c.to_string().as_bytes()),
        }
    }
    out
}

fn parse_case(path: &Path) -> Case {
    let text = std::fs::read(path).unwrap();
    let mut case = Case { args_line: String::new(), args: Vec::new(), files: Vec::new(), stdin: Vec::new(), rockerfile: None };
    let mut rest = text.as_slice();
    let mut no_rockerfile = false;
    while let Some(line) = rest.strip_prefix(b"#> ") {
        let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
        rest = line.get(end + 1..).unwrap_or_default();
        let line = std::str::from_utf8(&line[..end]).unwrap_or_else(|_| panic!("{}: a header line that is not UTF-8", path.display()));
        if let Some(args) = line.strip_prefix("args:") {
            case.args_line = args.trim().to_string();
            case.args = args.split_whitespace().map(|a| String::from_utf8(unescape(a)).expect("args are UTF-8")).collect();
        } else if line == "no Rockerfile" {
            no_rockerfile = true;
        } else if line.starts_with("note: ") {
            // For the reader.
        } else if let Some(stdin) = line.strip_prefix("stdin: ") {
            case.stdin = unescape(stdin);
        } else if let Some((name, contents)) = line.strip_prefix("file ").and_then(|l| l.split_once(": ")) {
            case.files.push((name.to_string(), unescape(contents)));
        } else {
            panic!("{}: unknown header line `#> {line}`", path.display());
        }
    }
    if no_rockerfile {
        assert!(rest.is_empty(), "{}: `#> no Rockerfile`, but a Rockerfile follows the header", path.display());
    } else {
        case.rockerfile = Some(rest.to_vec());
    }
    case
}

/// Runs the case and describes what the user saw.
fn run(case: &Case) -> String {
    let sandbox = Dir::new();
    if let Some(rockerfile) = &case.rockerfile {
        sandbox.write("Rockerfile", rockerfile);
    }
    for (name, contents) in &case.files {
        sandbox.write(name, contents);
    }
    let before = sandbox.snapshot();
    let out = Test::in_dir(&sandbox).args(&case.args).stdin(&case.stdin).run();
    let after = sandbox.snapshot();
    let written: Vec<&String> = after.iter().filter(|(path, entry)| before.get(*path) != Some(entry)).map(|(path, _)| path).collect();
    let removed: BTreeMap<&String, _> = before.iter().filter(|(path, _)| !after.contains_key(*path)).collect();
    assert!(removed.is_empty(), "the run removed {:?}", removed.keys());

    let mut stderr = out.stderr;
    for shown in [sandbox.root().canonicalize().unwrap(), sandbox.root().to_path_buf()] {
        stderr = stderr.replace(&shown.display().to_string(), "[TMP]");
    }
    format!(
        "exit code: {}\nstdout: {}\nfiles written: {}\nstderr:\n{stderr}",
        out.code,
        if out.stdout.is_empty() { "empty" } else { "not empty" },
        if written.is_empty() { "none".to_string() } else { written.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ") },
    )
}

/// Runs one fixture and compares what the user saw with its snapshot.
fn check(name: &str) {
    let path = fixture_dir().join(format!("{name}.rockerfile"));
    let case = parse_case(&path);
    let shown = run(&case);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(fixture_dir().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&path);
    settings.set_description(format!("rockerc {}", case.args_line).trim_end().to_string());
    settings.bind(|| insta::assert_snapshot!(name, shown));
}

/// One test per fixture, named as the file is (`-` as `_`): `cargo test --test integration
/// diagnostics::fixture::NAME` runs one case.
macro_rules! fixtures {
    ($($case:ident),* $(,)?) => {
        mod fixture {
            $(
                #[test]
                fn $case() {
                    super::check(&stringify!($case).replace('_', "-"));
                }
            )*
        }
        /// Every fixture's name, as [`fixtures!`] lists them.
        const LISTED: &[&str] = &[$(stringify!($case)),*];
    };
}

fixtures!(
    a_build_arg_without_a_name_is_a_usage_error,
    a_build_arg_without_equals_is_a_usage_error_before_anything_is_read,
    a_context_that_is_a_file_exits_1,
    a_directory_given_as_the_rockerfile_exits_1,
    a_missing_context_directory_exits_1,
    a_missing_default_rockerfile_says_how_to_name_one,
    a_missing_rockerfile_exits_1,
    a_rockerfile_that_is_not_utf8_exits_1_naming_the_byte,
    a_template_range_repeating_a_bad_line_reports_it_once,
    add_unpack_needs_buildkit,
    bad_image_name_from_arg,
    bad_image_name_option,
    bad_image_name_registry,
    bad_image_name_uppercase,
    bad_stage_name,
    binary_file,
    blank_name_arg,
    blank_name_env,
    blank_name_label,
    buildkit_export_mount,
    buildkit_host_write,
    buildkit_import_mount,
    buildkit_mount_path,
    buildkit_path,
    buildkit_secret_shell,
    buildkit_store,
    buildkit_workdir,
    copy_chmod_needs_buildkit,
    copy_from_an_unknown_stage_index,
    copy_heredoc_needs_buildkit,
    copy_with_one_argument_lacks_a_destination,
    copy_without_arguments,
    duplicate_directive,
    duplicate_stage_name,
    empty_continuation_line,
    empty_file,
    error_after_template_lines_points_at_the_line_written,
    error_in_a_template_block_points_at_the_line_written,
    error_in_a_value_a_template_wrote_points_at_the_action,
    every_error_is_reported_separated_by_a_blank_line,
    expansion_bad_modifier,
    expansion_unclosed_quote,
    export_outside_the_store,
    expose_of_an_invalid_port,
    flag_duplicate,
    flag_ignored,
    flag_missing_value,
    flag_missing_value_from,
    from_with_a_misspelt_as,
    from_with_two_words_suggests_as,
    from_without_an_image,
    healthcheck_cmd_empty,
    healthcheck_of_an_unknown_type,
    healthcheck_retries_range,
    healthcheck_with_a_bad_interval,
    import_before_any_export,
    import_of_a_path_nothing_exported,
    import_of_the_builder_path_suggests_the_store_name,
    include_cycle,
    include_fragment_template_error,
    include_in_fragment_error,
    include_no_value,
    include_open_line,
    include_outside_context,
    include_too_deep,
    include_unreadable,
    include_usage,
    instruction_before_the_first_from,
    invalid_escape,
    json_invalid,
    json_invalid_quotes,
    json_trailing_text,
    line_too_long,
    missing_equals,
    missing_value,
    mount_of_a_relative_volume_path,
    mount_outside_context,
    mount_outside_context_allowed,
    mount_with_a_relative_destination,
    mount_with_an_empty_source,
    mount_with_an_unknown_option,
    mount_without_arguments,
    multiline_arg,
    nested_json_array,
    no_from_at_all,
    no_image,
    no_image_under_every_backend,
    nul_byte,
    onbuild_too_deep,
    output_dir_that_is_a_file_is_refused,
    output_dir_that_is_not_an_earlier_output_is_refused,
    output_failed,
    push_with_an_upper_case_name,
    require_bad_name,
    require_names_the_unset_variable_and_how_to_set_it,
    require_unset,
    reserved_image_name,
    reserved_stage_name,
    rocker_0_2_var,
    rocker_instruction_as_onbuild_trigger,
    rocker_lints,
    rocker_v0_variable,
    run_heredoc_needs_buildkit,
    run_mount_needs_buildkit,
    secret_in_exec_form,
    secret_in_exec_form_under_every_backend,
    secret_outside_run,
    secret_value_given,
    standard_input_that_is_not_utf8_exits_1,
    stopsignal_forms,
    stopsignal_invalid,
    strict_unknown_variable_suggests_the_closest,
    syntax_directive_is_a_warning,
    tag_with_a_rocker_0_2_variable,
    tag_with_two_names,
    template_action_runs_on,
    template_assert_failed,
    template_call_failed,
    template_compare,
    template_error,
    template_error_called,
    template_image_not_found,
    template_include_function,
    template_index,
    template_nil_command,
    template_no_such_template,
    template_no_value,
    template_no_value_argument,
    template_no_value_env,
    template_no_value_jinja,
    template_no_value_warning,
    template_not_a_function,
    template_syntax,
    template_too_deep,
    template_too_large,
    template_too_large_in_all,
    template_too_large_memory,
    template_too_large_result,
    template_type,
    template_unclosed_action,
    template_unclosed_jinja_block,
    template_unclosed_jinja_comment,
    template_unclosed_jinja_string,
    template_unclosed_jinja_tag,
    template_undefined_variable,
    template_unknown_function,
    template_wrong_arg_count,
    template_wrong_type,
    too_many_instructions,
    unknown_copy_flag_suggests_the_closest,
    unknown_instruction_suggests_the_closest,
    unknown_word_on_its_own_line_asks_about_a_lost_backslash,
    unreadable_vars_file,
    unterminated_heredoc,
    usage_dot_output,
    usage_explain_ast,
    usage_explain_dot,
    user_without_arguments,
    var_empty_name,
    var_env_shadowed,
    var_file_unreadable,
    var_without_equals,
    vars_file_binary,
    vars_file_extension,
    vars_file_invalid_json,
    vars_file_invalid_yaml,
    vars_file_not_a_map,
    vars_file_not_a_map_json,
    vars_file_too_large,
    vars_glob_empty,
    vars_glob_invalid,
    volume_empty_string,
);

/// A fixture without a test would never run: the list above is the directory's.
#[test]
fn every_fixture_has_a_test() {
    let mut on_disk: Vec<String> = fixtures().iter().map(|p| p.file_stem().unwrap().to_string_lossy().replace('-', "_")).collect();
    on_disk.sort();
    let mut listed: Vec<String> = LISTED.iter().map(|n| n.to_string()).collect();
    listed.sort();
    assert_eq!(listed, on_disk, "tests/fixtures/diagnostics/*.rockerfile and the fixtures! list in diagnostics.rs differ: add the new case's name there");
}

/// Codes that no input from outside can produce, each with the reason.
const UNREACHABLE: &[(Code, &str)] = &[
    (Code::InvalidHeredoc, "BuildKit's check that a delimiter the line lexer accepted also lexes alone; no input is known to fail it (a search of every delimiter of up to 6 characters from `<E'\"\\${}:- /` found none), so it is kept as BuildKit keeps it"),
    (Code::StageCycle, "every edge of the stage graph goes from an earlier stage to a later one (FROM, COPY --from and IMPORT resolve backwards only); the check guards that invariant"),
    (Code::ParserBug, "an internal invariant: the line splitters it guards cannot fail on a trimmed, non-empty line"),
];

/// Every code the type `Code` has is shown by a snapshot (or one of the verbatim pins), unless
/// UNREACHABLE says why no input can produce it.
#[test]
fn every_diagnostic_code_is_pinned() {
    let mut pinned = String::new();
    for entry in std::fs::read_dir(fixture_dir().join("snapshots")).unwrap() {
        pinned += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    // Older tests that compare the whole of stderr with a literal.
    for file in ["tests/integration/cli.rs", "tests/integration/expansion.rs", "tests/integration/subcommands.rs"] {
        pinned += &std::fs::read_to_string(root().join(file)).unwrap();
    }
    let shown = |code: &Code| pinned.contains(&format!("error[{code}]: ")) || pinned.contains(&format!("warning[{code}]: "));
    for (code, _) in UNREACHABLE {
        assert!(!shown(code), "`{code}` is listed as unreachable, but a snapshot shows it: take it off the list");
    }
    let missing: Vec<String> =
        Code::ALL.iter().filter(|c| !UNREACHABLE.iter().any(|(u, _)| u == *c)).filter(|c| !shown(c)).map(|c| format!("{c} ({})", c.summary())).collect();
    assert!(missing.is_empty(), "diagnostic codes with no fixture in tests/fixtures/diagnostics/ whose snapshot shows them: {missing:?}");
}

/// docs/diagnostics.md lists every code with its summary, as `Code` has them; with
/// `ROCKERC_UPDATE_DOCS=1` the test writes the list instead.
#[test]
fn the_list_of_codes_in_the_docs_is_the_type() {
    let mut text = String::from(
        "# Diagnostic codes\n\n\
         Every error and warning rockerc prints names its class in brackets (`error[unknown-instruction]`), and\n\
         `--error-format json` carries it as `code`. The names are stable. This list is generated from\n\
         `src/diagnostic/code.rs` (`ROCKERC_UPDATE_DOCS=1 cargo test --test integration diagnostics::`); each\n\
         code's fixtures in `tests/fixtures/diagnostics/` show the full text.\n\n\
         | code | what it reports |\n|---|---|\n",
    );
    for code in Code::ALL {
        text += &format!("| `{code}` | {} |\n", code.summary().replace('|', "\\|"));
    }
    let path = root().join("docs/diagnostics.md");
    if std::env::var_os("ROCKERC_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(on_disk == text, "docs/diagnostics.md is not the list of codes in src/diagnostic/code.rs: run `ROCKERC_UPDATE_DOCS=1 cargo test --test integration diagnostics::` and review it");
}
