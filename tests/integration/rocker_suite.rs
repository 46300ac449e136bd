//! Rocker's own integration suite (grammarly/rocker `test/*.go`), translated: each test runs the
//! same Rockerfile through `rockerc build` with the same flags, the way Rocker's helpers ran
//! `rocker build` (the Rockerfile in a temporary file under /tmp, `build -f FILE PARAMS...`, only
//! stdout read), and asserts what the Go test asserts. Issue 20's bar: every test that needs
//! no network and does not read Rocker's own wording passes.
//!
//! Not here: TestPullSimple and TestPushAndPull pull `alpine` and push to Docker Hub (network);
//! TestExportMultipleFrom is empty in Rocker. The rest: 28 tests below.
//!
//! Rocker's tests build FROM `alpine`; no registry is reachable here, so `alpine` stands for a
//! small image made from the BusyBox test image with the two files the tests EXPORT
//! (`/etc/issue`, `/etc/hostname`). Image names are the tests' own, with a suffix of this run.

use crate::common::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

const ALPINE: &str = "rockerc-test/alpine:latest";

/// Builds the stand-in for `alpine` once (content fixed: the same image id every time).
fn alpine_ready() -> bool {
    static READY: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if !engine_or_skip("rocker_suite") {
        return false;
    }
    READY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("issue"), "Welcome to Alpine Linux 3.4\n").unwrap();
        std::fs::write(dir.path().join("hostname"), "localhost\n").unwrap();
        std::fs::write(dir.path().join("Dockerfile"), format!("FROM {BUSYBOX}\nCOPY issue hostname /etc/\n")).unwrap();
        run_ok(Command::new("docker").args(["build", "-q", "-t", ALPINE]).arg(dir.path()).env("DOCKER_BUILDKIT", "0"));
    });
    true
}

/// The Rockerfile with `FROM alpine[:latest]` on the stand-in.
fn on_alpine(rockerfile: &str) -> String {
    rockerfile
        .lines()
        .map(|l| {
            let t = l.trim();
            if t == "FROM alpine" || t == "FROM alpine:latest" {
                l.replace(t, &format!("FROM {ALPINE}"))
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Default)]
struct Opts<'a> {
    content: Option<&'a str>,
    file: Option<&'a Path>,
    params: &'a [&'a str],
    workdir: Option<&'a Path>,
    /// Lines stdout must contain, whole (Rocker's `testLines`).
    lines: &'a [&'a str],
}

/// `rocker build -f FILE PARAMS...` as Rocker's runRockerBuildWithOptions ran it: Ok(stdout) or
/// Err(everything it printed).
fn rocker_build(o: Opts) -> Result<String, String> {
    let tmp;
    let file: PathBuf = match (o.content, o.file) {
        (Some(text), None) => {
            let mut f = tempfile::Builder::new().prefix("rocker_integration_test_").tempfile_in("/tmp").unwrap();
            f.write_all(on_alpine(text).as_bytes()).unwrap();
            tmp = f.into_temp_path();
            tmp.to_path_buf()
        }
        (None, Some(f)) => f.to_path_buf(),
        (None, None) => o.workdir.unwrap().join("Rockerfile"),
        _ => unreachable!(),
    };
    let mut cmd = rockerc();
    cmd.args(["build", "-f"]).arg(&file).args(o.params);
    if let Some(wd) = o.workdir {
        cmd.current_dir(wd);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("{}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    for l in o.lines {
        if !stdout.lines().any(|x| x == *l) {
            return Err(format!("expected the output line {l:?}:\n{stdout}"));
        }
    }
    Ok(stdout)
}

fn build(content: &str, params: &[&str]) -> Result<String, String> {
    rocker_build(Opts { content: Some(content), params, ..Opts::default() })
}

fn build_file(file: &Path, params: &[&str]) -> Result<String, String> {
    let text = std::fs::read_to_string(file).unwrap();
    std::fs::write(file, on_alpine(&text)).unwrap();
    rocker_build(Opts { file: Some(file), params, ..Opts::default() })
}

/// Rocker's outputShaRe: `Successfully built (sha256:[a-f0-9]+)`.
fn built_sha(stdout: &str) -> String {
    let at = stdout.find("Successfully built sha256:").unwrap_or_else(|| panic!("no image sha in the output:\n{stdout}"));
    let rest = &stdout[at + "Successfully built ".len()..];
    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == ':').collect()
}

/// Rocker's getImageShaByName: `docker images -q NAME`.
fn image_sha(name: &str) -> String {
    let sha = docker_str(&["images", "-q", name]);
    assert!(sha.len() >= 12, "no image {name}: {sha:?}");
    sha
}

fn rmi(name: &str) {
    let _ = Command::new("docker").args(["rmi", name]).output();
}

fn ok(r: Result<String, String>) -> String {
    r.unwrap_or_else(|e| panic!("rocker build failed: {e}"))
}

fn random() -> String {
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 100_000_001).to_string()
}

fn tmp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir_in("/tmp").unwrap()
}

// ---- buildarg_test.go ----

#[test]
fn build_arg_simple() {
    if !alpine_ready() {
        return;
    }
    ok(rocker_build(Opts {
        content: Some("\nFROM alpine\nRUN export | grep proxy"),
        params: &["--build-arg", "http_proxy=http://host:3128", "--no-cache", "--no-garbage"],
        lines: &["export http_proxy='http://host:3128'"],
        ..Opts::default()
    }));
}

fn build_arg_pair(port2: &str) -> (String, String) {
    let content = format!("\nFROM alpine\nENV test_cache={}\nRUN export | grep proxy", random());
    let sha1 = built_sha(&ok(build(&content, &["--build-arg", "http_proxy=http://host:3128"])));
    let sha2 = built_sha(&ok(build(&content, &["--build-arg", &format!("http_proxy=http://host:{port2}")])));
    rmi(&sha1);
    rmi(&sha2);
    (sha1, sha2)
}

#[test]
fn build_arg_cache_hit() {
    if !alpine_ready() {
        return;
    }
    let (sha1, sha2) = build_arg_pair("3128");
    assert_eq!(sha1, sha2, "same build-arg should not invalidate cache");
}

/// TestBuildArg_CacheInvalidate asserts Rocker's rule: another proxy, another image. rockerc
/// follows Docker's instead (issue 20, item 3; README, Migrating from Rocker): the proxy
/// variables reach every RUN without an ARG but stay out of the cache key, and so out of the
/// image's history, where a proxy URL's credentials would otherwise be kept; an ARG that
/// declares one puts it back in the key. So here the Go test's assertion is turned around, and
/// the declared case shows the way to Rocker's behaviour.
#[test]
fn build_arg_another_proxy_keeps_the_cache_unless_an_arg_declares_it() {
    if !alpine_ready() {
        return;
    }
    let (sha1, sha2) = build_arg_pair("3129");
    assert_eq!(sha1, sha2, "an undeclared proxy build-arg is not part of the cache key (Docker's rule)");
    let content = format!("\nFROM alpine\nENV test_cache={}\nARG http_proxy\nRUN export | grep proxy", random());
    let sha1 = built_sha(&ok(build(&content, &["--build-arg", "http_proxy=http://host:3128"])));
    let sha2 = built_sha(&ok(build(&content, &["--build-arg", "http_proxy=http://host:3129"])));
    rmi(&sha1);
    rmi(&sha2);
    assert_ne!(sha1, sha2, "a proxy declared with ARG is part of the cache key");
}

#[test]
fn build_arg_env_substitute() {
    if !alpine_ready() {
        return;
    }
    let content = "\nFROM alpine\nARG deployenv=development\nENV DEPLOY_ENVIRONMENT=$deployenv\nRUN env";
    ok(rocker_build(Opts { content: Some(content), params: &["--no-cache", "--no-garbage"], lines: &["DEPLOY_ENVIRONMENT=development"], ..Opts::default() }));
    ok(rocker_build(Opts {
        content: Some(content),
        params: &["--build-arg", "deployenv=uat", "--no-cache", "--no-garbage"],
        lines: &["DEPLOY_ENVIRONMENT=uat"],
        ..Opts::default()
    }));
}

// ---- env_test.go ----

#[test]
fn env_expansion() {
    if !alpine_ready() {
        return;
    }
    ok(build("\nFROM alpine\nENV foo=bar\nENV qux=replaced-$foo\nRUN touch /$qux\nRUN ls -l /replaced-bar", &["--no-cache"]));
}

#[test]
fn env_expansion_in_onbuild() {
    if !alpine_ready() {
        return;
    }
    let bla = format!("bla-{}", unique("rocker-suite"));
    let r = build(
        &format!("\nFROM alpine\nENV foo=bar\nONBUILD ENV qux=replaced-onbuild-$foo\nTAG {bla}\nFROM {bla}\nRUN touch /$qux\nRUN ls -l /replaced-onbuild-bar"),
        &["--no-cache"],
    );
    rmi(&bla);
    ok(r);
}

#[test]
fn env_expansion_path() {
    if !alpine_ready() {
        return;
    }
    ok(build(
        "\nFROM alpine\nENV foo=/opt/foo/bin:$PATH\nRUN echo $foo\nRUN test $foo == /opt/foo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
        &["--no-cache"],
    ));
}

// ---- export_test.go ----

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

#[test]
fn export_simple() {
    if !alpine_ready() {
        return;
    }
    let dir = tmp_dir("rocker_integration_test_export_");
    let d = dir.path().display();
    ok(build(
        &format!("\n\t\tFROM alpine:latest\n\t\tRUN echo -n \"test_export\" > /exported_file\n\t\tEXPORT /exported_file\n\n\t\tFROM alpine:latest\n\t\tMOUNT {d}:/datadir\n\t\tIMPORT /exported_file /datadir/imported_file"),
        &["--no-cache"],
    ));
    assert_eq!(read(dir.path(), "imported_file"), "test_export");
}

fn export_two(first_extra: &str, word: &str, second_extra: &str, d: &str) -> String {
    format!("FROM alpine:latest\n\t   EXPORT {first_extra}\n\t   RUN echo -n \"{word}\" > /exported_file\n\t   EXPORT /exported_file\n\n\t   FROM alpine\n\t   MOUNT {d}:/datadir\n{second_extra}\t   IMPORT /exported_file /datadir/imported_file")
}

#[test]
fn export_separate_files_different_export() {
    if !alpine_ready() {
        return;
    }
    let dir = tmp_dir("rocker_integration_test_export_");
    let d = dir.path().display().to_string();
    let first = export_two("/etc/hostname", "first_diff", "", &d);
    let second = export_two("/etc/issue", "second_diff", "", &d);
    ok(build(&first, &["--reload-cache"]));
    ok(build(&second, &["--reload-cache"]));
    ok(build(&first, &[]));
    assert_eq!(read(dir.path(), "imported_file"), "first_diff");
}

#[test]
fn export_separate_files_same_export() {
    if !alpine_ready() {
        return;
    }
    let dir = tmp_dir("rocker_integration_test_export_sep");
    let d = dir.path().display().to_string();
    ok(build(&export_two("/etc/issue", "first_separate", "", &d), &["--reload-cache"]));
    ok(build(&export_two("/etc/issue", "second_separate", "", &d), &[]));
    ok(build(&export_two("/etc/issue", "first_separate", "\t   RUN echo \"Invalidate cache\"\n", &d), &[]));
    assert_eq!(read(dir.path(), "imported_file"), "first_separate");
}

#[test]
fn export_smolin_issue() {
    if !alpine_ready() {
        return;
    }
    let tag = format!("rocker-integratin-test-export-smolin-{}", unique("s"));
    let dir = tmp_dir("rocker_integration_test_export_smolin");
    let file = tempfile::Builder::new().prefix("rocker_integration_test_").tempfile_in("/tmp").unwrap().into_temp_path();
    let first = format!(" {{{{ $env := .env}}}}\n\t FROM alpine\n\t RUN echo -n \"{{{{ $env }}}}\" > /exported_file\n\t EXPORT /exported_file\n\n\t FROM alpine\n\t IMPORT /exported_file /imported_file\n\t TAG {tag}:{{{{ $env }}}}");
    let second = format!(" {{{{ $env := .env}}}}\n\t FROM alpine\n\t RUN echo -n \"{{{{ $env }}}}\" > /exported_file\n\t EXPORT /exported_file\n\n\t FROM alpine\n\t RUN echo \"invalidate with {}\"\n\t IMPORT /exported_file /imported_file\n\t TAG {tag}:{{{{ $env }}}}", random());
    let result = (|| {
        std::fs::write(&file, &first).unwrap();
        build_file(&file, &["--reload-cache", "--var", "env=qa"])?;
        std::fs::write(&file, &first).unwrap();
        build_file(&file, &["--reload-cache", "--var", "env=prod"])?;
        std::fs::write(&file, &second).unwrap();
        build_file(&file, &["--var", "env=qa"])?;
        let d = dir.path().display();
        build(&format!("FROM {tag}:qa\n\t MOUNT {d}:/data\n\t RUN cp /imported_file /data/qa.file\n\n\t FROM {tag}:prod\n\t MOUNT {d}:/data\n\t RUN cp /imported_file /data/prod.file"), &["--no-cache"])
    })();
    rmi(&format!("{tag}:qa"));
    rmi(&format!("{tag}:prod"));
    ok(result);
    assert_eq!(read(dir.path(), "qa.file"), "qa");
    assert_eq!(read(dir.path(), "prod.file"), "prod");
}

#[test]
fn export_same_file_different_cmd() {
    if !alpine_ready() {
        return;
    }
    let dir = tmp_dir("rocker_integration_test_export_");
    let d = dir.path().display();
    let file = tempfile::Builder::new().prefix("rocker_integration_test_").tempfile_in("/tmp").unwrap().into_temp_path();
    let content = |word: &str, extra: &str| {
        format!("FROM alpine\n\t RUN echo -n \"{word}\" > /exported_file\n\t EXPORT /exported_file\n\t FROM alpine\n\t MOUNT {d}:/datadir\n{extra}\t IMPORT /exported_file /datadir/imported_file")
    };
    std::fs::write(&file, content("first_foobar1", "")).unwrap();
    ok(build_file(&file, &["--reload-cache"]));
    assert_eq!(read(dir.path(), "imported_file"), "first_foobar1");
    std::fs::write(&file, content("second_foobar1", "")).unwrap();
    ok(build_file(&file, &[]));
    assert_eq!(read(dir.path(), "imported_file"), "second_foobar1");
    std::fs::write(&file, content("first_foobar1", "\t RUN echo \"Invalidate cache\"\n")).unwrap();
    ok(build_file(&file, &[]));
    assert_eq!(read(dir.path(), "imported_file"), "first_foobar1");
}

#[test]
fn export_same_file_few_froms() {
    if !alpine_ready() {
        return;
    }
    let dir = tmp_dir("rocker_integration_test_export_");
    let d = dir.path().display();
    let file = tempfile::Builder::new().prefix("rocker_integration_test_").tempfile_in("/tmp").unwrap().into_temp_path();
    let first = format!("FROM alpine\n\t EXPORT /etc/issue\n\n\t FROM alpine\n\t RUN echo -n \"first_few\" > /exported_file\n\t EXPORT /exported_file\n\n\t FROM alpine\n\t MOUNT {d}:/datadir\n\t IMPORT /exported_file /datadir/imported_file");
    let second = "FROM alpine\n\t EXPORT /etc/issue\n\n\t FROM alpine\n\t RUN echo -n \"second_few\" > /exported_file\n\t EXPORT /exported_file";
    std::fs::write(&file, &first).unwrap();
    ok(build_file(&file, &["--reload-cache"]));
    std::fs::write(&file, second).unwrap();
    ok(build_file(&file, &["--reload-cache"]));
    std::fs::write(&file, &first).unwrap();
    ok(build_file(&file, &[]));
    assert_eq!(read(dir.path(), "imported_file"), "first_few");
}

#[test]
fn export_double() {
    if !alpine_ready() {
        return;
    }
    let content = "FROM alpine\n\t  EXPORT /etc/issue issue\n\t  EXPORT /etc/hostname hostname\n\n\t  FROM alpine\n\t  IMPORT issue\n\t  IMPORT hostname";
    ok(build(content, &["--reload-cache"]));
    ok(build(content, &[]));
}

// ---- healthcheck_test.go ----

fn healthcheck(rockerfile: &str) -> serde_json::Value {
    let sha = built_sha(&ok(build(rockerfile, &["--no-cache"])));
    let out = docker(&["inspect", &sha]);
    rmi(&sha);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(1), "`docker inspect` returns exactly one object");
    v[0]["Config"]["Healthcheck"].clone()
}

fn assert_healthcheck(h: &serde_json::Value, test: &[&str], interval: u64, timeout: u64) {
    let got: Vec<&str> = h["Test"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(got, test);
    assert_eq!(h["Interval"].as_u64().unwrap_or(0), interval, "{h}");
    assert_eq!(h["Timeout"].as_u64().unwrap_or(0), timeout, "{h}");
}

const HC_CURL: &str = "HEALTHCHECK --interval=5m --timeout=3s \\\n  CMD curl -f http://localhost/ || exit 1\n";
const FIVE_MIN: u64 = 300_000_000_000;
const THREE_S: u64 = 3_000_000_000;

#[test]
fn healthcheck_simple() {
    if !alpine_ready() {
        return;
    }
    assert_healthcheck(&healthcheck(&format!("\nFROM alpine\n{HC_CURL}")), &["CMD-SHELL", "curl -f http://localhost/ || exit 1"], FIVE_MIN, THREE_S);
}

#[test]
fn healthcheck_cmd() {
    if !alpine_ready() {
        return;
    }
    let h = healthcheck("\nFROM alpine\nHEALTHCHECK --interval=5m --timeout=3s \\\n  CMD [\"/bin/bash\", \"-c\", \"curl -f http://localhost/ || exit 1\"]\n");
    assert_healthcheck(&h, &["CMD", "/bin/bash", "-c", "curl -f http://localhost/ || exit 1"], FIVE_MIN, THREE_S);
}

#[test]
fn healthcheck_none() {
    if !alpine_ready() {
        return;
    }
    assert_healthcheck(&healthcheck("\nFROM alpine\nHEALTHCHECK NONE\n"), &["NONE"], 0, 0);
}

#[test]
fn healthcheck_override1() {
    if !alpine_ready() {
        return;
    }
    assert_healthcheck(&healthcheck(&format!("\nFROM alpine\n{HC_CURL}HEALTHCHECK NONE\n")), &["NONE"], 0, 0);
}

#[test]
fn healthcheck_override2() {
    if !alpine_ready() {
        return;
    }
    assert_healthcheck(
        &healthcheck(&format!("\nFROM alpine\nHEALTHCHECK NONE\n{HC_CURL}")),
        &["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
        FIVE_MIN,
        THREE_S,
    );
}

// ---- mount_test.go ----

#[test]
fn mount_local() {
    if !alpine_ready() {
        return;
    }
    let dir = tmp_dir("rocker_integration_test_mount_dir");
    ok(build(&format!("FROM alpine:latest\nMOUNT {}:/datadir\nRUN echo -n foobar > /datadir/foo", dir.path().display()), &["--no-cache"]));
    assert_eq!(read(dir.path(), "foo"), "foobar");
}

// ---- tag_test.go ----

#[test]
fn tag_different_and_the_same() {
    if !alpine_ready() {
        return;
    }
    // One test for both: they share Rocker's tag name.
    let tag = format!("rocker_integration_test_tag:{}", unique("t"));
    let r = build(&format!("FROM alpine:latest\nRUN touch /foobar\nTAG {tag}"), &["--no-cache"]);
    let different = r.map(|_| image_sha(&tag));
    rmi(&tag);
    assert_ne!(ok(different), image_sha(ALPINE), "Sha's of source image and tag are identical but shouldn't");
    let r = build(&format!("FROM alpine:latest\nTAG {tag}"), &["--no-cache"]);
    let same = r.map(|_| image_sha(&tag));
    rmi(&tag);
    assert_eq!(ok(same), image_sha(ALPINE), "Sha's of source image and tag mismatch");
}

// ---- addurl_test.go ----

type Responder = Box<dyn Fn(&str, usize) -> (Option<&'static str>, &'static str) + Send + Sync>;

/// Rocker's makeTestServer: per path, a response (ETag or none, body) from the number of
/// downloads so far; it counts every request that is not a HEAD (Go's httptest server answers
/// conditional requests with 200, as this one does), and every request in `asks`.
///
/// Each server's ETags carry a token of its own (`AAA` is sent as `AAA-<token>`): BuildKit keeps
/// what a URL served under its strong ETag, across builds, and the tests serve other content at
/// the same paths under the same ETags; an earlier server on the same port would otherwise
/// answer for this one (as a real server never does: a strong ETag names one content).
struct TestServer {
    port: u16,
    hits: Arc<Mutex<std::collections::HashMap<String, usize>>>,
    asks: Arc<Mutex<std::collections::HashMap<String, usize>>>,
}

impl TestServer {
    fn start(respond: Responder) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits: Arc<Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
        let asks: Arc<Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
        let token = unique("t");
        let (h, a, respond) = (hits.clone(), asks.clone(), Arc::new(respond));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let (h, a, respond, token) = (h.clone(), a.clone(), respond.clone(), token.clone());
                std::thread::spawn(move || {
                    let mut req = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => req.extend_from_slice(&buf[..n]),
                        }
                    }
                    let req = String::from_utf8_lossy(&req).into_owned();
                    let mut first = req.lines().next().unwrap_or("").split(' ');
                    let (method, path) = (first.next().unwrap_or("").to_string(), first.next().unwrap_or("").to_string());
                    let n = *h.lock().unwrap().get(&path).unwrap_or(&0);
                    let (etag, body) = respond(&path, n);
                    *a.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                    if method != "HEAD" {
                        *h.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                    }
                    let (status, body) = if body.is_empty() { ("404 Not Found", "not found") } else { ("200 OK", body) };
                    let mut resp =
                        format!("HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
                    if let Some(e) = etag {
                        resp.push_str(&format!("Etag: {e}-{token}\r\n"));
                    }
                    resp.push_str("\r\n");
                    if method != "HEAD" {
                        resp.push_str(body);
                    }
                    let _ = conn.write_all(resp.as_bytes());
                });
            }
        });
        TestServer { port, hits, asks }
    }

    fn hits(&self, path: &str) -> usize {
        *self.hits.lock().unwrap().get(path).unwrap_or(&0)
    }

    /// Requests of any method (a HEAD too).
    fn asks(&self, path: &str) -> usize {
        *self.asks.lock().unwrap().get(path).unwrap_or(&0)
    }
}

/// The test's directories under ~/.rocker-integ-tmp (Rocker's makeTempDir), its Rockerfile in the
/// build directory, built with `rocker build -cache-dir DIR` there.
struct AddUrl {
    sample: tempfile::TempDir,
    cache: tempfile::TempDir,
    build: tempfile::TempDir,
    tag: String,
}

impl AddUrl {
    fn new(name: &str, server: &TestServer, sample: [&str; 3]) -> AddUrl {
        let home = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/tmp".into())).join(".rocker-integ-tmp");
        std::fs::create_dir_all(&home).unwrap();
        let mk = |files: &[(&str, &str)]| {
            let d = tempfile::Builder::new().prefix("rocker-addurl-test").tempdir_in(&home).unwrap();
            for (f, c) in files {
                std::fs::write(d.path().join(f), c).unwrap();
            }
            d
        };
        let sample = mk(&[("file1.txt", sample[0]), ("file2.txt", sample[1]), ("file3.txt", sample[2])]);
        let tag = format!("rocker-integration-test:{name}-{}", unique("u"));
        let url = format!("http://127.0.0.1:{}", server.port);
        let rockerfile = on_alpine(&format!(
            "\nFROM alpine\nADD {url}/file1.txt file2.txt {url}/file3.txt /dst/\nMOUNT {}:/sample\nRUN diff -r /dst /sample\nTAG {tag}",
            sample.path().display()
        ));
        let build = mk(&[("Rockerfile", &rockerfile), ("file2.txt", "hello")]);
        AddUrl { sample, cache: mk(&[]), build, tag }
    }

    fn run(&self, extra: &[&str]) -> Result<String, String> {
        let cache = self.cache.path().to_str().unwrap().to_string();
        let mut params = vec!["-cache-dir", &cache];
        params.extend_from_slice(extra);
        // Rocker's runRockerBuildWdWithOptions: `rocker build PARAMS` in the build directory.
        // The one departure: the MOUNT of the sample directory, outside the build context, needs
        // the consent of whoever runs the build (rockerc's rule, README: Migrating from Rocker);
        // Rocker's test gives none, so it is given here, as a CI job would.
        let out = rockerc().arg("build").args(&params).current_dir(self.build.path()).env("ROCKERC_ALLOW_MOUNT", self.sample.path()).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
        }
    }
}

impl Drop for AddUrl {
    fn drop(&mut self) {
        rmi(&self.tag);
    }
}

#[test]
fn add_url_basic() {
    if !alpine_ready() {
        return;
    }
    let server = TestServer::start(Box::new(|p, _| match p {
        "/file1.txt" => (Some("AAA"), "content1"),
        "/file3.txt" => (Some("CCC"), "content2"),
        _ => (None, ""),
    }));
    let t = AddUrl::new("add-url-basic", &server, ["content1", "hello", "content2"]);
    ok(t.run(&[]));
}

#[test]
fn add_url_build_cache_hit() {
    if !alpine_ready() {
        return;
    }
    let server = TestServer::start(Box::new(|p, _| match p {
        "/file1.txt" => (None, "content1"),
        "/file3.txt" => (None, "content3"),
        _ => (None, ""),
    }));
    let t = AddUrl::new("add-url-build-cache-hit", &server, ["content1", "hello", "content3"]);
    ok(t.run(&[]));
    assert_eq!((server.hits("/file1.txt"), server.hits("/file3.txt")), (1, 1), "downloaded once at the first build");
    let sha1 = image_sha(&t.tag);
    ok(t.run(&[]));
    assert_eq!((server.hits("/file1.txt"), server.hits("/file3.txt")), (2, 2), "downloaded again at the second build");
    assert_eq!(sha1, image_sha(&t.tag), "build cache isn't invalidated");
}

#[test]
fn add_url_cache_hit() {
    if !alpine_ready() {
        return;
    }
    let server = TestServer::start(Box::new(|p, _| match p {
        "/file1.txt" => (Some("AAA"), "content1"),
        "/file3.txt" => (Some("BBB"), "content3"),
        _ => (None, ""),
    }));
    let t = AddUrl::new("add-url-cache-hit", &server, ["content1", "hello", "content3"]);
    ok(t.run(&[]));
    assert_eq!((server.hits("/file1.txt"), server.hits("/file3.txt")), (1, 1), "downloaded once at the first build");
    let sha1 = image_sha(&t.tag);
    ok(t.run(&[]));
    assert_eq!((server.hits("/file1.txt"), server.hits("/file3.txt")), (1, 1), "not downloaded at the second build");
    assert_eq!(sha1, image_sha(&t.tag), "build cache isn't invalidated");
}

#[test]
fn add_url_cache_miss() {
    if !alpine_ready() {
        return;
    }
    let server = TestServer::start(Box::new(|p, n| match (p, n) {
        ("/file1.txt", 0) => (Some("AAA"), "content11"),
        ("/file1.txt", _) => (Some("BBB"), "content12"),
        ("/file3.txt", 0) => (Some("CCC"), "content31"),
        ("/file3.txt", _) => (Some("DDD"), "content32"),
        _ => (None, ""),
    }));
    let t = AddUrl::new("add-url-cache-miss", &server, ["content11", "hello", "content31"]);
    ok(t.run(&[]));
    assert_eq!((server.hits("/file1.txt"), server.hits("/file3.txt")), (1, 1), "downloaded once at the first build");
    let sha1 = image_sha(&t.tag);
    std::fs::write(t.sample.path().join("file1.txt"), "content12").unwrap();
    std::fs::write(t.sample.path().join("file3.txt"), "content32").unwrap();
    ok(t.run(&[]));
    assert_eq!((server.hits("/file1.txt"), server.hits("/file3.txt")), (2, 2), "downloaded at the second build");
    assert_ne!(sha1, image_sha(&t.tag), "build cache is invalidated");
}

#[test]
fn add_url_no_cache() {
    if !alpine_ready() {
        return;
    }
    let server = TestServer::start(Box::new(|p, _| match p {
        "/file1.txt" => (Some("AAA"), "content1"),
        "/file3.txt" => (Some("BBB"), "content3"),
        _ => (None, ""),
    }));
    let t = AddUrl::new("add-url-build-no-cache", &server, ["content1", "hello", "content3"]);
    ok(t.run(&[]));
    assert_eq!((server.hits("/file1.txt"), server.hits("/file3.txt")), (1, 1), "downloaded once at the first build");
    let sha1 = image_sha(&t.tag);
    let asked = (server.asks("/file1.txt"), server.asks("/file3.txt"));
    let out = ok(t.run(&["-no-cache"]));
    if out.starts_with("builder: BuildKit") {
        // BuildKit asks again (HEAD) and, the strong ETag the same, takes the bytes it kept from
        // that URL under that ETag: the same content, not downloaded again (README: Which builder
        // builds the steps).
        assert!(server.asks("/file1.txt") > asked.0 && server.asks("/file3.txt") > asked.1, "asked at the second build:\n{out}");
    } else {
        assert_eq!((server.hits("/file1.txt"), server.hits("/file3.txt")), (2, 2), "downloaded at the second build");
    }
    assert_ne!(sha1, image_sha(&t.tag), "build cache isn't used");
}
