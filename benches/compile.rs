//! Compile speed (issue: "rockerc's full compile to a script takes no longer than the
//! `parse-dockerfile` crate takes merely to parse the plain variant of the same size").
//!
//! The input is the shared generator's 1000-stage Rockerfile (about 6 MB) and its `--plain`
//! variant. Three benchmarks in one group, so criterion prints them side by side:
//!   - `rockerc_parse`: `rockerc::syntax::parse` of the Rockerfile (no templates, no emit);
//!   - `rockerc_compile`: `rockerc::compile` of the Rockerfile, templates to script, as the CLI
//!     does it (less reading the file and writing the script);
//!   - `parse_dockerfile_plain`: the `parse-dockerfile` crate parsing the plain variant.
//!
//! Environment: `ROCKERC_BENCH_GEN` (the generator, default `../shared/bench/gen_rockerfile.py`),
//! `ROCKERC_BENCH_STAGES` (default 1000). Peak memory is measured in a separate process by
//! `bench/compile_memory.sh`: one process's heap says nothing about another's.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rockerc::source::SourceFile;
use rockerc::Options;

fn generator() -> PathBuf {
    match std::env::var_os("ROCKERC_BENCH_GEN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_rockerfile.py"),
    }
}

fn generate(gen: &PathBuf, stages: &str, plain: bool) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg(gen).args(["--stages", stages]);
    if plain {
        cmd.arg("--plain");
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", gen.display()));
    assert!(out.status.success(), "{} failed: {}", gen.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("the generator writes UTF-8")
}

fn compile_speed(c: &mut Criterion) {
    let gen = generator();
    if !gen.is_file() {
        eprintln!("compile bench: skipped: generator {} not found (set ROCKERC_BENCH_GEN)", gen.display());
        return;
    }
    let stages = std::env::var("ROCKERC_BENCH_STAGES").unwrap_or_else(|_| "1000".into());
    let rockerfile = generate(&gen, &stages, false);
    let plain = generate(&gen, &stages, true);
    eprintln!("compile bench: {stages} stages: Rockerfile {} bytes, plain Dockerfile {} bytes", rockerfile.len(), plain.len());

    // Fail here, not inside a timing loop, if either input does not parse or compile.
    rockerc::syntax::parse(&rockerfile).expect("rockerc parses the generated Rockerfile");
    parse_dockerfile::parse(&plain).expect("parse-dockerfile parses the plain variant");
    let options = Options::default();
    if let Err(f) = rockerc::compile(&SourceFile::new("Rockerfile", rockerfile.clone()), &options) {
        let file = SourceFile::new("Rockerfile", rockerfile.clone());
        panic!("rockerc does not compile the generated Rockerfile:\n{}", f.render(&file, false));
    }

    let mut group = c.benchmark_group(format!("compile_{stages}_stages"));
    // Each iteration takes from milliseconds to seconds; ten samples is criterion's minimum.
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    let secs = std::env::var("ROCKERC_BENCH_MEASURE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    group.measurement_time(Duration::from_secs(secs));

    group.throughput(Throughput::Bytes(rockerfile.len() as u64));
    group.bench_function(BenchmarkId::new("rockerc_parse", "rockerfile"), |b| {
        b.iter(|| rockerc::syntax::parse(std::hint::black_box(&rockerfile)).map(|p| p.ast).ok())
    });
    group.bench_function(BenchmarkId::new("rockerc_compile", "rockerfile"), |b| {
        b.iter(|| {
            let file = SourceFile::new("Rockerfile", std::hint::black_box(rockerfile.as_str()));
            rockerc::compile(&file, &options).map(|c| c.output.write_script(&mut std::io::sink()).is_ok()).ok()
        })
    });
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.bench_function(BenchmarkId::new("parse_dockerfile", "plain"), |b| {
        b.iter(|| parse_dockerfile::parse(std::hint::black_box(&plain)).map(|d| d.instructions.len()).ok())
    });
    group.finish();
}

criterion_group!(benches, compile_speed);
criterion_main!(benches);
