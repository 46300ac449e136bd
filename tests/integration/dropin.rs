//! What a Rocker user's scripts and CI rely on (issue 20): an `ADD <url>` is asked every time,
//! the final image id in a line a script can find, RUN output shown by `rockerc build`, `--json`,
//! and proxy build args kept out of the cache key. End to end, on a real engine.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `tests/fixtures/http/server.py` serving `dir` on 127.0.0.1; stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path, etag: bool) -> Server {
        let mut cmd = Command::new("python3");
        cmd.arg(repo_root().join("tests/fixtures/http/server.py")).arg(dir);
        if etag {
            cmd.arg("--etag");
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        Server { child, port: line.trim().parse().expect("the server's port") }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Rockerfile in a fresh directory, compiled to build.sh; `run` runs the script with its own
/// stamp directory (kept between runs, so the no-op path is taken when it may).
struct Build {
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Build {
    fn new(rockerfile: &str) -> Build {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Rockerfile"), rockerfile).unwrap();
        let out = run_ok(rockerc().current_dir(dir.path()).arg("Rockerfile"));
        std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
        Build { dir, cache: tempfile::tempdir().unwrap() }
    }

    fn run_with(&self, args: &[&str], path: Option<&str>) -> Output {
        // dash, named by path: found on a BusyBox PATH, `sh` is BusyBox's, whose wget is built in.
        let mut cmd = Command::new(if path.is_some() { "/bin/dash" } else { "sh" });
        cmd.arg(self.dir.path().join("build.sh")).args(args).env("XDG_CACHE_HOME", self.cache.path());
        if let Some(path) = path {
            cmd.env("PATH", path);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "build failed:\n{}", text(&out));
        out
    }

    fn run(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.run_with(args, None).stdout).into_owned()
    }
}

fn up_to_date(log: &str) -> bool {
    log.starts_with("up to date")
}

fn served(image: &str) -> String {
    file_text(&image_files(image), "/f.txt")
}

fn requests(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("requests.log")).unwrap_or_default().lines().map(str::to_string).collect()
}

/// Issue 20, item 1: the URL is asked every time; a change rebuilds, the same content (even with
/// a new Last-Modified) keeps the layer and the no-op path.
#[test]
fn add_url_is_checked_every_time() {
    if !engine_or_skip("add_url_is_checked_every_time") {
        return;
    }
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("f.txt"), "one\n").unwrap();
    let server = Server::start(www.path(), false);
    let image = format!("rockerc-e2e/{}:latest", unique("addurl"));
    let b = Build::new(&format!("FROM {BUSYBOX}\nADD http://127.0.0.1:{}/f.txt /f.txt\nRUN cat /f.txt\nTAG {image}\n", server.port));
    assert!(!up_to_date(&b.run(&[])));
    assert_eq!(served(&image), "one\n");
    assert!(up_to_date(&b.run(&[])), "nothing changed");
    // New content: built again, with it.
    std::fs::write(www.path().join("f.txt"), "two\n").unwrap();
    assert!(!up_to_date(&b.run(&[])), "the URL serves new content");
    assert_eq!(served(&image), "two\n");
    let id = image_id(&image);
    assert!(up_to_date(&b.run(&[])));
    // The same content with a new Last-Modified: downloaded, the same checksum, up to date.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(www.path().join("f.txt"), "two\n").unwrap();
    assert!(up_to_date(&b.run(&[])), "same content, new time");
    // Changed within the second of the last request: still seen (a Last-Modified that young is
    // never trusted).
    std::fs::write(www.path().join("f.txt"), "three\n").unwrap();
    assert!(!up_to_date(&b.run(&[])));
    std::fs::write(www.path().join("f.txt"), "four\n").unwrap();
    assert!(!up_to_date(&b.run(&[])), "changed in the same second");
    assert_eq!(served(&image), "four\n");
    // Docker keeps the layer when the content is back to what it was: a build without the
    // stamp gives the image of the earlier build.
    std::fs::write(www.path().join("f.txt"), "two\n").unwrap();
    assert!(!up_to_date(&b.run(&[])));
    assert_eq!(image_id(&image), id, "the same content reuses the layer");
    // Gone: the build fails rather than saying up to date.
    std::fs::remove_file(www.path().join("f.txt")).unwrap();
    let out = Command::new("sh").arg(b.dir.path().join("build.sh")).env("XDG_CACHE_HOME", b.cache.path()).output().unwrap();
    assert!(!out.status.success(), "a URL that answers 404 fails the build:\n{}", text(&out));
    docker(&["rmi", &image]);
}

/// With a strong ETag the no-op path asks with HEAD, as Rocker did, and the same ETag is
/// unchanged: nothing is downloaded again (a server counting downloads sees Docker's alone, one
/// per build). BusyBox's wget (no curl on PATH) has no HEAD: its `--spider` asks with GET and
/// reads no body.
#[test]
fn add_url_uses_a_conditional_request() {
    if !engine_or_skip("add_url_uses_a_conditional_request") {
        return;
    }
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("f.txt"), "one\n").unwrap();
    let server = Server::start(www.path(), true);
    let image = format!("rockerc-e2e/{}:latest", unique("addurl-etag"));
    let b = Build::new(&format!("FROM {BUSYBOX}\nADD http://127.0.0.1:{}/f.txt /f.txt\nTAG {image}\n", server.port));
    b.run(&[]);
    std::fs::remove_file(www.path().join("requests.log")).unwrap();
    assert!(up_to_date(&b.run(&[])));
    assert_eq!(requests(www.path()), ["HEAD 200 /f.txt"], "one HEAD request");
    // BusyBox tools only, with BusyBox's wget (and dash: BusyBox's sh has its wget built in).
    let bb = busybox_path();
    std::os::unix::fs::symlink("/bin/busybox", bb.path().join("wget")).unwrap();
    std::fs::remove_file(www.path().join("requests.log")).unwrap();
    let out = String::from_utf8_lossy(&b.run_with(&[], Some(bb.path().to_str().unwrap())).stdout).into_owned();
    assert!(up_to_date(&out), "{out}");
    assert_eq!(requests(www.path()), ["GET 200 /f.txt"]);
    std::fs::write(www.path().join("f.txt"), "two\n").unwrap();
    let out = String::from_utf8_lossy(&b.run_with(&[], Some(bb.path().to_str().unwrap())).stdout).into_owned();
    assert!(!up_to_date(&out), "{out}");
    assert_eq!(served(&image), "two\n");
    // Neither curl nor wget: nothing can be asked, so it builds (Docker asks the URL).
    std::fs::remove_file(bb.path().join("wget")).unwrap();
    let out = String::from_utf8_lossy(&b.run_with(&[], Some(bb.path().to_str().unwrap())).stdout).into_owned();
    assert!(!up_to_date(&out), "{out}");
    docker(&["rmi", &image]);
}

/// Issue 20, item 3: proxy build args follow Docker's rule in every RUN, MOUNTed ones included:
/// they reach the command without an ARG, and another proxy is a cache hit, unless an ARG
/// declares the variable, which puts it in the cache key.
#[test]
fn proxy_build_args_stay_out_of_the_cache_key() {
    if !engine_or_skip("proxy_build_args_stay_out_of_the_cache_key") {
        return;
    }
    let run = unique("proxy");
    let tag = format!("rockerc-e2e/{run}:latest");
    let dir = tempfile::tempdir().unwrap();
    // The proxy is not in the key: only a layer of this run's own keeps an earlier run's layers
    // (kept alive by its MOUNTed RUN's cache tag) from answering the first build. A LABEL would
    // not do: BuildKit's cache key of a RUN leaves the image config out.
    let write = |declare: bool| {
        let arg = if declare { "ARG http_proxy\n" } else { "" };
        std::fs::write(
            dir.path().join("Rockerfile"),
            format!(
                "FROM {BUSYBOX}\nRUN echo {run} > /test-run\n{arg}RUN echo \"plain $http_proxy $(cat /proc/sys/kernel/random/uuid)\" > /plain\n\
                 MOUNT /cache\nRUN echo \"mounted $http_proxy $(cat /proc/sys/kernel/random/uuid)\" > /mounted\nTAG {tag}\n"
            ),
        )
        .unwrap();
    };
    let build = |proxy: &str| {
        let cache = tempfile::tempdir().unwrap();
        let out = run_ok(rockerc().current_dir(dir.path()).args(["--build-arg", &format!("http_proxy={proxy}"), "Rockerfile"]));
        std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
        let out = Command::new("sh").arg(dir.path().join("build.sh")).env("XDG_CACHE_HOME", cache.path()).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let files = image_files(&tag);
        (file_text(&files, "/plain"), file_text(&files, "/mounted"), image_id(&tag))
    };
    // A unique proxy each run, to tell which build a RUN's output came from.
    let a = format!("http://{}:3128", unique("proxy-a"));
    let b = format!("http://{}:3128", unique("proxy-b"));
    write(false);
    let first = build(&a);
    assert!(first.0.starts_with(&format!("plain {a} ")) && first.1.starts_with(&format!("mounted {a} ")), "the proxy reaches both RUNs: {first:?}");
    assert_eq!(build(&b), first, "another proxy is a cache hit, for the MOUNTed RUN too");
    write(true);
    let declared = build(&a);
    let other = build(&b);
    assert!(other.0.starts_with(&format!("plain {b} ")) && other.1.starts_with(&format!("mounted {b} ")), "declared: in the key: {other:?}");
    assert_ne!(other.2, declared.2);
    // The proxy never reaches the image's history or config.
    let history = docker_str(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", &first.2]);
    assert!(!history.contains("proxy-a"), "{history}");
    docker(&["rmi", &tag]);
}
