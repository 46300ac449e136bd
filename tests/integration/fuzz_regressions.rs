//! Bad input never panics: every crash the fuzzers found (`fuzz/`, run by `fuzz/run.sh`), replayed
//! through the same checks the fuzz targets make, and the hostile inputs the issue names, each
//! ending in a result or a diagnostic with a known code, within a stated time and heap.
//!
//! A crash input lives in `tests/fixtures/fuzz/TARGET/NAME` and has a test here that replays it
//! through `fuzz/src/lib.rs` (included below as `checks`).
//!
//! Time bounds are for an unoptimised `cargo test` build on a loaded 2-core machine, so they are
//! generous: they catch quadratic blow-ups and hangs, not slowdowns. Memory is the peak heap the
//! work allocated on its own thread, counted by the allocator below.

#[allow(dead_code)]
#[path = "../../fuzz/src/lib.rs"]
mod checks;

use rockerc::source::SourceFile;
use rockerc::template::Dialect;
use rockerc::{Compiled, Failure, Options};
use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Measuring: wall time, and the peak of live heap bytes allocated by one thread.

struct CountingAllocator;

thread_local! {
    // Const-initialised `Cell`s have no destructor, so touching them from the allocator never
    // allocates or registers anything.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static CAP: Cell<isize> = const { Cell::new(isize::MAX) };
}

/// Whether this thread may allocate `size` more bytes (see [`bounded`]).
fn allowed(size: usize) -> bool {
    LIVE.try_with(|live| CAP.try_with(|cap| live.get().saturating_add(size as isize) <= cap.get()).unwrap_or(true)).unwrap_or(true)
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counting only reads
// and writes thread-local integers.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        if !allowed(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: AllocLayout) -> *mut u8 {
        if !allowed(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() && !allowed(new_size - layout.size()) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const MB: usize = 1 << 20;

/// The stack the CLI's main thread and libFuzzer's get on Linux; test threads get 2 MiB.
const STACK: usize = 8 * MB;

/// Runs `work` on a fresh thread with the CLI's stack, and fails unless it ends within `seconds`
/// with at most `heap_mb` of heap at its peak. A runaway allocation is stopped at four times the
/// bound (the allocation fails and the test process aborts: better than the machine running out),
/// and a hang is reported after `seconds` (its thread is left behind until the tests end).
fn bounded<T: Send + 'static>(what: &str, seconds: u64, heap_mb: usize, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    let cap = 4 * heap_mb * MB;
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let base = LIVE.with(Cell::get);
            PEAK.with(|p| p.set(base));
            CAP.with(|c| c.set(base.saturating_add(cap as isize)));
            let start = Instant::now();
            let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let elapsed = start.elapsed();
            let peak = (PEAK.with(Cell::get) - base).max(0) as usize;
            let _ = done.send((value, elapsed, peak));
        })
        .expect("spawn");
    let (value, elapsed, peak) = match result.recv_timeout(Duration::from_secs(seconds)) {
        Ok(r) => r,
        Err(_) => panic!("{what} did not end within {seconds} s"),
    };
    let value = value.unwrap_or_else(|e| std::panic::resume_unwind(e));
    eprintln!("{what}: {elapsed:.2?}, peak heap {:.1} MB", peak as f64 / MB as f64);
    assert!(peak <= heap_mb * MB, "{what} used {} MB of heap, over {heap_mb} MB", peak / MB);
    value
}

// ---------------------------------------------------------------------------------------------
// Running the stages.

fn options(dialect: Option<Dialect>) -> Options {
    Options { template: checks::template_options(dialect, false), ..Options::default() }
}

fn compile(name: &str, text: String, dialect: Option<Dialect>) -> Result<Compiled, Failure> {
    rockerc::compile(&SourceFile::new(name, text), &options(dialect))
}

/// The codes of a failure's errors, checked as the fuzz targets check them.
fn error_codes(text: &str, failure: &Failure) -> Vec<&'static str> {
    checks::check_failure(&SourceFile::new("Rockerfile", text), failure);
    failure.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code.as_str()).collect()
}

/// Compiles `text` and expects it to fail with `code` within the bounds.
fn compile_fails_with(what: &str, text: String, dialect: Option<Dialect>, code: &'static str, seconds: u64, heap_mb: usize) {
    let value = bounded(what, seconds, heap_mb, move || {
        let result = compile("Rockerfile", text.clone(), dialect);
        result.map(|c| c.output.script_text().len()).map_err(|f| error_codes(&text, &f))
    });
    match value {
        Ok(len) => panic!("{what} compiled (a {len}-byte script); expected error[{code}]"),
        Err(codes) => assert!(codes.contains(&code), "{what}: expected error[{code}], got {codes:?}"),
    }
}

/// Renders `text` and expects it to fail with `code` within the bounds.
fn render_fails_with(what: &str, text: String, dialect: Option<Dialect>, code: &'static str, seconds: u64, heap_mb: usize) {
    let value = bounded(what, seconds, heap_mb, move || {
        let file = SourceFile::new("Rockerfile", text.clone());
        let result = rockerc::render(&file, &checks::template_options(dialect, false));
        result.map(|r| r.text.len()).map_err(|f| error_codes(&text, &f))
    });
    match value {
        Ok(len) => panic!("{what} rendered ({len} bytes); expected error[{code}]"),
        Err(codes) => assert!(codes.contains(&code), "{what}: expected error[{code}], got {codes:?}"),
    }
}

/// xorshift64: the same "random" bytes on every run.
fn garbage(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Crashes the fuzzers found. Each replays its minimised input through the target's checks.

fn fixture(target: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz").join(target).join(name)
}

/// Every crash input, by target; each has its own test below.
const CRASHES: &[(&str, &str)] = &[("template", "jinja-comment-non-ascii"), ("compile", "nul-in-from"), ("compile", "tag-starting-non-ascii")];

fn replay(target: &'static str, name: &str) {
    let data = std::fs::read(fixture(target, name)).unwrap_or_else(|e| panic!("{target}/{name}: {e}"));
    // libFuzzer's limits in fuzz/run.sh, with room for an unoptimised build.
    bounded(&format!("{target}/{name}"), 20, 2048, move || match target {
        "template" => checks::template(&data),
        "parse" => checks::parse(&data),
        "compile" => checks::compile(&data),
        _ => unreachable!("no fuzz target {target}"),
    });
}

#[test]
fn every_crash_fixture_has_a_test() {
    let mut found = Vec::new();
    for target in ["template", "parse", "compile"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz").join(target);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            found.push(format!("{target}/{}", entry.file_name().to_string_lossy()));
        }
    }
    found.sort();
    let mut listed: Vec<String> = CRASHES.iter().map(|(t, n)| format!("{t}/{n}")).collect();
    listed.sort();
    assert_eq!(found, listed, "tests/fixtures/fuzz and CRASHES disagree");
}

/// Minimised: `{#\xe1#}` (the fuzz targets decode bytes lossily, so `\xe1` is U+FFFD; any
/// non-ASCII character does it: `{# é #}`).
#[test]
fn fuzz_template_jinja_comment_non_ascii() {
    replay("template", "jinja-comment-non-ascii");
}

#[test]
fn jinja_comment_with_an_accent_through_the_cli() {
    let run = rockerc_cli(&[], b"# rockerc: dialect=jinja\nFROM alpine {# caf\xc3\xa9 #}\n");
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
}

/// Minimised: `FROM \0`. Also `FROM a\nRUN echo \0x`.
#[test]
fn fuzz_compile_nul_in_from() {
    replay("compile", "nul-in-from");
}

/// Minimised from CI's fuzzing: a tag that starts with a non-ASCII character (`TAG app:éx`);
/// the diagnostic sliced its first byte out of a two-byte character.
#[test]
fn fuzz_compile_tag_starting_non_ascii() {
    replay("compile", "tag-starting-non-ascii");
}

#[test]
fn a_nul_anywhere_is_an_error() {
    let cases = [
        ("FROM \0\n", None, "1:6"),
        ("FROM alpine\nRUN echo \0x\n", None, "2:10"),
        ("FROM alpine\nENV A=\0\n", None, "2:7"),
        ("FROM alpine\nLABEL a=\"\0\"\n", None, "2:10"),
        // Written by a template: the error points at the action that wrote it.
        ("FROM alpine\nRUN echo {{ \"a\\x00\" }}\n", None, "2:10"),
        ("FROM alpine\nRUN echo {{ \"a\\x00\" }}\n", Some(Dialect::Jinja), "2:10"),
    ];
    for (text, dialect, at) in cases {
        let failure = match compile("Rockerfile", text.to_string(), dialect) {
            Ok(c) => panic!("{text:?} compiled; script holds NUL: {}", c.output.script_text().contains('\0')),
            Err(f) => f,
        };
        let codes = error_codes(text, &failure);
        assert_eq!(codes, ["nul-byte"], "{text:?}");
        let shown = failure.render(&SourceFile::new("Rockerfile", text), false);
        assert!(shown.starts_with(&format!("error[nul-byte]: the Rockerfile contains a NUL character\n --> Rockerfile:{at}\n")), "{text:?}:\n{shown}");
    }
}

/// A JSON-form RUN can spell a NUL as `\u0000`: fine in a Dockerfile, not as a MOUNTed RUN's argv.
#[test]
fn a_nul_escaped_in_json_is_an_error_where_the_script_runs_it() {
    let text = "FROM alpine\nMOUNT /cache\nRUN [\"echo\", \"\\u0000\"]\n";
    let failure = compile("Rockerfile", text.to_string(), None).expect_err("a NUL in a MOUNTed RUN's argv");
    assert_eq!(error_codes(text, &failure), ["nul-byte"]);
}

// ---------------------------------------------------------------------------------------------
// A 10 MB line.

const TEN_MB: usize = 10_000_000;

#[test]
fn a_10_mb_line_is_too_long() {
    let long = "a".repeat(TEN_MB);
    compile_fails_with("10 MB RUN line", format!("FROM alpine\nRUN echo {long}\n"), None, "line-too-long", 20, 200);
    compile_fails_with("10 MB line, no newline", format!("FROM alpine\nRUN echo {long}"), None, "line-too-long", 20, 200);
    compile_fails_with("10 MB comment line", format!("FROM alpine\n# {long}\nRUN true\n"), None, "line-too-long", 20, 200);
    compile_fails_with("10 MB first line", long.clone(), None, "line-too-long", 20, 200);
}

#[test]
fn a_10_mb_line_through_a_template_is_too_long() {
    let long = "a".repeat(TEN_MB);
    compile_fails_with("10 MB Go-rendered line", format!("FROM alpine\nRUN echo {{{{ .X }}}}{long}\n"), None, "line-too-long", 30, 400);
    compile_fails_with("10 MB Jinja-rendered line", format!("FROM alpine\nRUN echo {{{{ 1 }}}}{long}\n"), Some(Dialect::Jinja), "line-too-long", 30, 400);
}

#[test]
fn a_10_mb_template_action_is_an_error() {
    // One action 10 MB long: a string literal, and a run of the same field.
    let literal = format!("FROM alpine\nRUN echo {{{{ \"{}\" }}}}\n", "a".repeat(TEN_MB));
    compile_fails_with("10 MB string literal", literal, None, "line-too-long", 30, 400);
    let fields = format!("FROM alpine\nRUN echo {{{{ {} }}}}\n", ".X ".repeat(TEN_MB / 3));
    // Linear but heavy: about 70 bytes of memory per byte of action (3.3M argument nodes).
    render_fails_with("10 MB of arguments to a field", fields, None, "template-not-a-function", 40, 1024);
}

#[test]
fn a_10_mb_line_of_braces_is_an_error() {
    render_fails_with("10 MB of {{", "{{".repeat(TEN_MB / 2), None, "template-syntax", 30, 400);
    render_fails_with("10 MB of {{ (Jinja)", "{{".repeat(TEN_MB / 2), Some(Dialect::Jinja), "template-syntax", 30, 400);
}

#[test]
fn a_10_mb_line_parses_to_a_clear_error() {
    let text = format!("FROM alpine\nRUN {}\n", "x ".repeat(TEN_MB / 2));
    let value = bounded("parse of a 10 MB line", 20, 200, move || rockerc::syntax::parse(&text).map(|_| ()).map_err(|d| d.code.as_str()));
    assert_eq!(value, Err("line-too-long"));
}

// ---------------------------------------------------------------------------------------------
// Deep nesting.

const DEEP: usize = 100_000;

#[test]
fn if_nested_100k_deep_is_too_deep() {
    render_fails_with("100k {{ if }}", format!("FROM a\n{}", "{{ if true }}".repeat(DEEP)), None, "template-too-deep", 20, 256);
    let closed = format!("FROM a\n{}x{}", "{{ if true }}".repeat(DEEP), "{{ end }}".repeat(DEEP));
    render_fails_with("100k closed {{ if }}", closed, None, "template-too-deep", 20, 256);
    let mixed = format!("FROM a\n{}", "{{ range .X }}{{ with 1 }}{{ if 1 }}{{ block \"b\" . }}".repeat(DEEP / 4));
    render_fails_with("100k mixed blocks", mixed, None, "template-too-deep", 20, 256);
}

#[test]
fn end_100k_times_is_an_error() {
    render_fails_with("100k {{ end }}", "{{ end }}".repeat(DEEP), None, "template-syntax", 20, 256);
}

#[test]
fn jinja_if_nested_100k_deep_is_an_error() {
    let open = format!("FROM a\n{}", "{% if true %}".repeat(DEEP));
    render_fails_with("100k {% if %}", open, Some(Dialect::Jinja), "template-syntax", 20, 256);
    let closed = format!("FROM a\n{}x{}", "{% if true %}".repeat(DEEP), "{% endif %}".repeat(DEEP));
    render_fails_with("100k closed {% if %}", closed, Some(Dialect::Jinja), "template-syntax", 20, 256);
}

#[test]
fn parentheses_100k_deep_are_too_deep() {
    let balanced = format!("FROM a\n{{{{ {}1{} }}}}\n", "(".repeat(DEEP), ")".repeat(DEEP));
    render_fails_with("100k balanced (", balanced, None, "template-too-deep", 20, 256);
    render_fails_with("100k open (", format!("{{{{ {} }}}}", "(".repeat(DEEP)), None, "template-too-deep", 20, 256);
    let piped = format!("{{{{ {}1{} }}}}", "(print ".repeat(DEEP), ")".repeat(DEEP));
    render_fails_with("100k (print (print ...", piped, None, "template-too-deep", 20, 256);
}

#[test]
fn jinja_parentheses_100k_deep_are_an_error() {
    let balanced = format!("{{{{ {}1{} }}}}", "(".repeat(DEEP), ")".repeat(DEEP));
    render_fails_with("100k Jinja (", balanced, Some(Dialect::Jinja), "template-syntax", 20, 256);
    let lists = format!("{{{{ {}1{} }}}}", "[".repeat(DEEP), "]".repeat(DEEP));
    render_fails_with("100k Jinja [", lists, Some(Dialect::Jinja), "template-syntax", 20, 256);
}

#[test]
fn json_arrays_and_onbuild_nested_deep_are_errors() {
    // As BuildKit: an array of arrays is an error, but past Go's JSON depth limit (10,000) the
    // text is not JSON at all and the RUN is shell form. 30k keeps the line under 64 KiB.
    let json = |depth: usize| format!("FROM alpine\nRUN {}\"a\"{}\n", "[".repeat(depth), "]".repeat(depth));
    compile_fails_with("5k-deep JSON array", json(5_000), None, "json-not-strings", 20, 256);
    let deeper = json(30_000);
    let value = bounded("30k-deep JSON array", 20, 256, move || {
        compile("Rockerfile", deeper, None).map(|c| c.output.script_text().len()).map_err(|f| f.diagnostics.len())
    });
    let len = value.expect("past the depth limit it is a shell-form RUN");
    // The same script for a short RUN: the runtime and the plan's fixed parts.
    let base = compile("Rockerfile", json(1).replace("[\"a\"]", "a"), None).map(|c| c.output.script_text().len()).unwrap();
    // The 60 kB line is in the step's Dockerfile and in the fused build's, its summary in comments.
    assert!(len < base + 3 * 60_000, "a {len}-byte script for one RUN ({base} for a short one)");
    let onbuild = format!("FROM alpine\n{}RUN true\n", "ONBUILD ".repeat(5_000));
    let value = bounded("5000 ONBUILDs", 20, 256, move || {
        compile("Rockerfile", onbuild, None).map(|_| ()).map_err(|f| f.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>())
    });
    assert!(value.is_err(), "nested ONBUILD compiled");
}

#[test]
fn variables_nested_deep_are_an_error() {
    let text = format!("FROM alpine\nENV A={}x{}\n", "${B:-".repeat(DEEP), "}".repeat(DEEP));
    let value = bounded("100k nested ${B:-", 20, 256, move || {
        compile("Rockerfile", text, None).map(|_| ()).map_err(|f| f.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>())
    });
    assert!(value.is_err(), "100k nested ${{B:-...}} compiled");
}

// ---------------------------------------------------------------------------------------------
// Binary garbage.

#[test]
fn binary_garbage_is_an_error() {
    for seed in 1..=4u64 {
        let bytes = garbage(MB, seed);
        let text = checks::text(&bytes);
        let value = bounded(&format!("1 MB of garbage (seed {seed})"), 20, 256, move || {
            compile("Rockerfile", text.clone(), None).map(|_| ()).map_err(|f| error_codes(&text, &f))
        });
        assert!(value.is_err(), "1 MB of garbage compiled");
    }
}

#[test]
fn binary_garbage_through_every_stage_never_panics() {
    for seed in 5..=8u64 {
        let bytes = garbage(256 << 10, seed);
        bounded(&format!("256 KB of garbage through the fuzz checks (seed {seed})"), 30, 512, move || {
            checks::template(&bytes);
            checks::parse(&bytes);
            checks::compile(&bytes);
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Many stages, many instructions.

fn stages(n: usize) -> String {
    "FROM alpine\nRUN true\n".repeat(n)
}

#[test]
fn too_many_instructions_or_stages_are_an_error() {
    let runs = format!("FROM a\n{}", "RUN a\n".repeat(rockerc::syntax::MAX_INSTRUCTIONS));
    let value = bounded("one instruction over the cap", 60, 512, move || rockerc::syntax::parse(&runs).map(|_| ()).map_err(|d| (d.code.as_str(), d.message)));
    assert_eq!(value, Err(("too-many-instructions", format!("the Rockerfile has more than {} instructions", rockerc::syntax::MAX_INSTRUCTIONS))));
    let value = bounded("one stage over the cap", 60, 512, || {
        rockerc::syntax::parse(&stages(rockerc::syntax::MAX_STAGES + 1)).map(|_| ()).map_err(|d| (d.code.as_str(), d.message))
    });
    assert_eq!(value, Err(("too-many-instructions", format!("the Rockerfile has more than {} stages (FROM instructions)", rockerc::syntax::MAX_STAGES))));
}

/// The benchmark input (`../shared/bench/gen_rockerfile.py --stages 1000`, about 6 MB) is far
/// below every cap; this is its shape, made here so the test needs nothing beside the repository.
#[test]
fn a_file_the_size_of_the_benchmark_is_within_the_caps() {
    let stage = |s: usize| {
        let mut out = format!("FROM debian:bookworm-slim\nLABEL org.example.stage=\"{s}\"\nWORKDIR /src\nMOUNT /var/cache/apt /root/.cache/s{s}\n");
        for i in 0..100 {
            out += &format!("RUN apt-get install -y --no-install-recommends pkg{i}a pkg{i}b\n");
        }
        out + &format!("EXPORT /src/out/ /artifacts/s{s}\nTAG example/s{s}:latest\nCMD [\"/bin/app\"]\n")
    };
    let text: String = (0..1000).map(stage).collect();
    assert!(text.len() > 5_000_000 && text.len() < rockerc::template::MAX_RENDERED_BYTES / 4, "{} bytes", text.len());
    let parsed = bounded("a 6 MB file", 120, 2048, move || rockerc::syntax::parse(&text).map(|p| p.ast.instructions.len()).map_err(|d| d.code.as_str()));
    let n = parsed.expect("the benchmark's shape parses");
    assert!(n > 100_000 && n < rockerc::syntax::MAX_INSTRUCTIONS / 4, "{n} instructions");
}

#[test]
fn a_thousand_stages_compile() {
    let value = bounded("1000 stages", 20, 256, || compile("Rockerfile", stages(1000), None).map(|c| c.output.script_text().len()).map_err(|f| f.diagnostics));
    let len = value.expect("1000 stages compile");
    assert!(len <= 1000 * 1024, "the script of 1000 stages is {len} bytes, over 1 KiB a stage");
}

#[test]
fn a_hundred_thousand_stages_compile_or_fail_clearly_in_bounded_time() {
    let value = bounded("100k stages", 60, 2048, || {
        compile("Rockerfile", stages(100_000), None).map(|c| c.output.script_text().len()).map_err(|f| f.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>())
    });
    if let Ok(len) = value {
        assert!(len <= 100_000 * 1024, "the script of 100k stages is {len} bytes, over 1 KiB a stage");
    }
}

#[test]
fn templates_cannot_multiply_instructions_without_bound() {
    let text = "FROM a\n{{ range seq 3 }}{{ range seq 1000000 }}RUN a\n{{ end }}{{ end }}".to_string();
    compile_fails_with("3M templated RUNs", text, None, "too-many-instructions", 60, 512);
    // Few steps, long lines: the output cap stops it.
    let wide = format!("FROM a\n{{{{ range seq 600 }}}}RUN {}\n{{{{ end }}}}", "a".repeat(60_000));
    render_fails_with("36 MB in 600 steps", wide, None, "template-too-large", 30, 512);
    let wide = format!("FROM a\n{{% for i in range(600) %}}RUN {}\n{{% endfor %}}", "a".repeat(60_000));
    render_fails_with("36 MB in 600 steps (Jinja)", wide, Some(Dialect::Jinja), "template-too-large", 30, 512);
}

// ---------------------------------------------------------------------------------------------
// Template work and output.

#[test]
fn go_step_cap_is_reached_quickly() {
    let text = "{{ range seq 1000 }}{{ range seq 50000 }}{{ end }}{{ end }}".to_string();
    render_fails_with("50M empty range steps", text, None, "template-too-large", 20, 256);
}

#[test]
fn jinja_loops_are_bounded() {
    let text = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}".to_string();
    let value = bounded("10^10 Jinja loop steps", 20, 256, move || {
        rockerc::render(&SourceFile::new("Rockerfile", text), &checks::template_options(Some(Dialect::Jinja), false)).is_err()
    });
    assert!(value, "10^10 Jinja loop steps rendered");
}

#[test]
fn jinja_output_is_bounded() {
    let text = "{% for i in range(100000) %}{{ \"a\" * 10000 }}{% endfor %}".to_string();
    let _ = bounded("1 GB of Jinja output", 20, 512, move || {
        rockerc::render(&SourceFile::new("Rockerfile", text), &checks::template_options(Some(Dialect::Jinja), false)).map(|r| r.text.len())
    });
}

#[test]
fn go_output_is_capped() {
    // `repeat` refuses results over 64 MB.
    render_fails_with("repeat 100M", "{{ repeat \"a\" 100000000 }}".into(), None, "template-too-large", 20, 256);
}

// ---------------------------------------------------------------------------------------------
// Invalid UTF-8 through the CLI.

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
}

/// Runs the real binary on `input` given as standard input.
fn rockerc_cli(args: &[&str], input: &[u8]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rockerc"))
        .args(args)
        .arg("-")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rockerc");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // Write from another thread: rockerc may answer before it has read everything.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for rockerc");
    let _ = writer.join();
    Run { code: out.status.code(), stdout: out.stdout, stderr: String::from_utf8_lossy(&out.stderr).into_owned(), elapsed: start.elapsed() }
}

#[test]
fn invalid_utf8_through_the_cli_is_not_utf8() {
    let cases: &[(&str, Vec<u8>)] = &[
        ("a Latin-1 byte", b"FROM alpine\nLABEL a=Ren\xe9\n".to_vec()),
        ("a lone continuation byte", b"FROM \x80alpine\n".to_vec()),
        ("an overlong NUL", b"FROM alpine\nRUN echo \xc0\x80\n".to_vec()),
        ("a UTF-16 surrogate", b"FROM alpine\nRUN echo \xed\xa0\x80\n".to_vec()),
        ("a sequence cut at the end", b"FROM alpine\nRUN echo \xe2\x82".to_vec()),
        ("a byte order mark of UTF-16", b"\xff\xfeF\0R\0O\0M\0".to_vec()),
        ("bytes past U+10FFFF", b"FROM \xf4\x90\x80\x80\n".to_vec()),
        ("invalid bytes inside a template", b"FROM alpine\n{{ \"\xff\" }}\n".to_vec()),
    ];
    for (what, bytes) in cases {
        for format in ["human", "json"] {
            let run = rockerc_cli(&["--error-format", format], bytes);
            assert_eq!(run.code, Some(1), "{what} ({format}): stderr {}", run.stderr);
            assert!(run.stdout.is_empty(), "{what} ({format}): something on stdout");
            assert!(run.elapsed < Duration::from_secs(10), "{what} ({format}) took {:.2?}", run.elapsed);
            let code = match format {
                "human" => run.stderr.split(']').next().unwrap_or("").to_string(),
                _ => serde_json::from_str::<serde_json::Value>(run.stderr.lines().next().unwrap_or(""))
                    .map(|v| format!("error[{}", v["code"].as_str().unwrap_or("")))
                    .unwrap_or_else(|e| format!("not JSON: {e}: {}", run.stderr)),
            };
            assert_eq!(code, "error[not-utf8", "{what} ({format}): {}", run.stderr);
        }
    }
}

/// A binary file is not an encoding problem: rockerc says what it looks like instead of
/// suggesting iconv.
#[test]
fn binary_input_is_called_binary() {
    let mut tar = vec![0u8; 1024];
    tar[..9].copy_from_slice(b"hello.txt");
    tar[257..263].copy_from_slice(b"ustar\0");
    let cases: &[(&str, Vec<u8>, &str)] = &[
        ("an ELF executable", b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00".to_vec(), "it starts like an ELF executable"),
        ("gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03".to_vec(), "it starts like gzip-compressed data"),
        ("a tar archive", tar, "it starts like a tar archive"),
        ("a zip archive", b"PK\x03\x04\x14\x00\x00\x00".to_vec(), "it starts like a zip archive"),
        ("text with NUL bytes", b"FROM alpine\nRUN x\x00\x00\n".to_vec(), "it has NUL bytes (the first at line 2, column 6)"),
        ("1 MB of binary garbage", garbage(MB, 9), "it "),
    ];
    for (what, bytes, why) in cases {
        let run = rockerc_cli(&[], bytes);
        assert_eq!(run.code, Some(1), "{what}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{what}");
        let expected = format!("error[binary-file]: standard input looks like a binary file, not a Rockerfile: {why}");
        assert!(run.stderr.starts_with(&expected), "{what}: {}", run.stderr);
        assert!(!run.stderr.contains("iconv") && !run.stderr.contains("UTF-8"), "{what}: {}", run.stderr);
    }
}

#[test]
fn utf16_text_is_named_with_its_fix() {
    let run = rockerc_cli(&[], b"\xff\xfeF\0R\0O\0M\0 \0a\0\n\0");
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "error[not-utf8]: standard input is UTF-16 text, not UTF-8\n = help: save the Rockerfile as UTF-8 (for example with `iconv -f UTF-16 -t UTF-8`)\n"
    );
}

#[test]
fn invalid_utf8_names_the_first_bad_byte() {
    let run = rockerc_cli(&[], b"FROM alpine\nRUN echo ok \xff\xfe\n");
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.starts_with("error[not-utf8]: standard input is not UTF-8 text: byte 0xff at line 2, column 13\n"), "{}", run.stderr);
}

#[test]
fn a_10_mb_line_through_the_cli_is_too_long() {
    let mut input = b"FROM alpine\nRUN echo ".to_vec();
    input.extend(vec![b'a'; TEN_MB]);
    let run = rockerc_cli(&["--error-format", "json"], &input);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.elapsed < Duration::from_secs(20), "took {:.2?}", run.elapsed);
    // The message must not echo the 10 MB line back.
    assert!(run.stderr.len() < 4096, "{} bytes of diagnostics for one long line", run.stderr.len());
    let first: serde_json::Value = serde_json::from_str(run.stderr.lines().next().unwrap_or("")).expect("a JSON diagnostic");
    assert_eq!(first["code"], "line-too-long");
}

/// The checks the fuzz targets make are themselves sound: the golden examples pass them.
#[test]
fn the_golden_examples_pass_the_fuzz_checks() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let mut seen = 0;
    for entry in std::fs::read_dir(&golden).expect("golden/").flatten() {
        let Ok(bytes) = std::fs::read(entry.path().join("Rockerfile")) else { continue };
        checks::template(&bytes);
        checks::parse(&bytes);
        checks::compile(&bytes);
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} golden examples");
}
