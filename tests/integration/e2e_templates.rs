//! Templates end to end: the `golden/template-*` examples compiled by the real binary with other
//! variables than their snapshots use (`--var`, `--var K=@file`, `--vars` YAML and JSON merged,
//! and the environment as `.Env`), built on a real Docker engine, and checked inside the images:
//! labels, ENV, files and what the binaries print carry the values that were passed, and steps
//! the templates make conditional happened or did not.
//!
//! Also pinned here, without an engine: `rockerc --print` output byte for byte, and the rendered
//! text of a template error (it points at the line and column of the file the user wrote).

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;

/// Compiles the example's Rockerfile to `build.sh` beside it, with exactly `env` as the
/// environment rockerc sees (so `.Env` holds only what the test chose).
fn compile(ex: &Example, args: &[&str], env: &[(&str, &str)]) -> String {
    let script = rockerc_in(ex.path(), &[args, &["Rockerfile"]].concat(), env).status(0).run().stdout();
    std::fs::write(ex.path().join("build.sh"), &script).unwrap();
    script
}

/// `rockerc ARGS` in `dir` with exactly `env`.
fn rockerc_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Test {
    env.iter().fold(Test::at(dir).env_clear().args(args), |test, (name, value)| test.env(name, value))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(ex: &Example, name: &str, text: &str) {
    std::fs::write(ex.path().join(name), text).unwrap();
}

/// The image's ENV as a map.
fn env_of(cfg: &Value) -> std::collections::BTreeMap<String, String> {
    cfg["Env"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e.as_str()?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect())
        .unwrap_or_default()
}

fn golden_dir(name: &str) -> std::path::PathBuf {
    repo_root().join("golden").join(name)
}

#[test]
fn service_release_from_master_carries_every_kind_of_variable() {
    if !engine_or_skip("service_release_from_master_carries_every_kind_of_variable") {
        return;
    }
    let ex = Example::new("template-service");
    // vars.yml (the golden one) merged with a JSON file: Service and Labels are replaced, the
    // lists Features and RockerArtifacts are appended; then -var wins over both.
    write(
        &ex,
        "release.json",
        r#"{
  "Version": "9.9.9-overridden-by-var",
  "Service": {"Name": "greeter", "Port": 9090, "Greeting": "hi from e2e", "Queues": ["alpha", "beta"]},
  "Features": ["audit-log"],
  "Labels": {"com.acme.team": "platform e2e"},
  "RockerArtifacts": [{"Name": "registry.acme.test/platform/libgreet:1.9.0"}]
}"#,
    );
    write(&ex, "NOTES.txt", "  Faster greetings.\n\nFixes 'quoting' bugs.\n\n");
    let env = [("CI", "1"), ("BUILD_NUMBER", "4711"), ("GIT_COMMIT", "0123456789abcdef"), ("GIT_BRANCH", "feature/ignored")];
    let script =
        compile(&ex, &["--vars", "vars.yml", "-vars", "release.json", "--var", "Version=2.0.0", "-var", "Branch=master", "--var", "Notes=@NOTES.txt"], &env);
    assert!(script.contains("PUSH 127.0.0.1:5000/rockerc-golden/template-service:2.0.0\n"), "master PUSHes:\n{script}");
    let out = ex.build(&[]);
    assert!(stdout(&out).contains("not pushing 127.0.0.1:5000/rockerc-golden/template-service:2.0.0"), "{}", stdout(&out));

    let image = "rockerc-golden/template-service:2.0.0";
    let cfg = image_config(image);
    let labels = &cfg["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], "2.0.0", "-var wins over both vars files");
    assert_eq!(labels["org.opencontainers.image.revision"], "0123456789abcdef");
    assert_eq!(labels["com.acme.build"], "4711");
    assert_eq!(labels["com.acme.channel"], "stable");
    assert_eq!(labels["com.acme.built-by"], "ci", "CI is set in the environment");
    assert_eq!(labels["com.acme.team"], "platform e2e", "the JSON file's Labels replaced the YAML file's");
    assert!(labels.get("org.opencontainers.image.vendor").is_none(), "{labels}");
    assert_eq!(labels["com.acme.libgreet"], "registry.acme.test/platform/libgreet:1.9.0", "the newest 1.* of both files' artifacts");
    let env = env_of(&cfg);
    assert_eq!(env["GREETER_PORT"], "9090");
    assert_eq!(env["GREETER_GREETING"], "hi from e2e");
    assert_eq!(env["GREETER_WORKERS"], "2");
    for feature in ["METRICS", "REQUEST_TRACING", "AUDIT_LOG"] {
        assert_eq!(env[&format!("GREETER_FEATURE_{feature}")], "on", "{env:?}");
    }
    assert!(!env.contains_key("GREETER_DEBUG"), "stable builds are not debug builds: {env:?}");
    assert_eq!(cfg["ExposedPorts"], json!({"9090/tcp": {}}));
    assert_eq!(cfg["Cmd"], json!(["/usr/local/bin/greeter"]));

    let files = image_files(image);
    let text = |p: &str| file_text(&files, p);
    let config: Value = serde_json::from_str(&text("/etc/greeter/config.json")).unwrap();
    assert_eq!(config, json!({"Name": "greeter", "Port": 9090, "Greeting": "hi from e2e", "Queues": ["alpha", "beta"]}));
    assert_eq!(text("/etc/greeter/config.yml"), "Greeting: hi from e2e\nName: greeter\nPort: 9090\nQueues:\n- alpha\n- beta\n");
    assert_eq!(text("/etc/greeter/queues.d/alpha.conf"), "queue=alpha priority=0 primary=true service=greeter\n");
    assert_eq!(text("/etc/greeter/queues.d/beta.conf"), "queue=beta priority=1 primary=false service=greeter\n");
    assert_eq!(text("/etc/greeter/RELEASE"), "Faster greetings.\n\nFixes 'quoting' bugs.\n", "-var Notes=@NOTES.txt, trimmed");
    let mut added = added_paths(image, BUSYBOX);
    added.sort();
    assert_eq!(
        added,
        [
            "/etc/greeter/RELEASE",
            "/etc/greeter/config.json",
            "/etc/greeter/config.yml",
            "/etc/greeter/queues.d/alpha.conf",
            "/etc/greeter/queues.d/beta.conf",
            "/usr/local/bin/greeter"
        ]
    );
    // The -D flags reached the compiler through `shell` quoting: the binary knows its build.
    assert_eq!(docker_str(&["run", "--rm", image]), "greeter 2.0.0 (build 4711, stable): hi from e2e");
}

#[test]
fn service_from_a_feature_branch_is_a_tagged_debug_build_that_is_not_pushed() {
    if !engine_or_skip("service_from_a_feature_branch_is_a_tagged_debug_build_that_is_not_pushed") {
        return;
    }
    let ex = Example::new("template-service");
    // Only this file (not the golden vars.yml): no Version, no Branch, no Labels, no artifacts,
    // no queues, and an explicit `Debug: false`.
    write(&ex, "dev.yaml", "Service:\n  Name: greeter\n  Port: 8081\n  Greeting: dev build\n  Queues: []\n  Debug: false\nBuild:\n  Flags: [-O0, -g0]\n");
    let script = compile(&ex, &["--vars", "dev.yaml"], &[("GIT_BRANCH", "feature/login-form")]);
    assert!(!script.contains("127.0.0.1:5000"), "no PUSH off master:\n{script}");
    let out = ex.build(&[]);
    assert!(!stdout(&out).contains("pushing"), "{}", stdout(&out));

    // The branch came from .Env.GIT_BRANCH, the version from the template's default.
    let image = "rockerc-golden/template-service:0.0.0-dev-feature-login-form";
    let cfg = image_config(image);
    let labels = &cfg["Labels"];
    assert_eq!(labels["com.acme.channel"], "dev");
    assert_eq!(labels["com.acme.build"], "local");
    assert_eq!(labels["org.opencontainers.image.revision"], "unknown");
    assert_eq!(labels["com.acme.libgreet"], "registry.acme.test/platform/libgreet:1.*", "no artifacts: the name as asked");
    assert!(labels.get("com.acme.built-by").is_none(), "CI is not set: {labels}");
    let env = env_of(&cfg);
    assert_eq!(env["GREETER_WORKERS"], "0");
    assert!(!env.keys().any(|k| k.starts_with("GREETER_FEATURE_")), "{env:?}");
    // A dev build is a debug build, but Service.Debug says false explicitly (not nil): it wins.
    assert!(!env.contains_key("GREETER_DEBUG"), "{env:?}");
    let files = image_files(image);
    assert_eq!(file_text(&files, "/etc/greeter/RELEASE"), "no release notes for 0.0.0-dev\n");
    assert!(!files.keys().any(|p| p.starts_with("/etc/greeter/queues.d/")), "no queues, no queue files");
    assert_eq!(docker_str(&["run", "--rm", image]), "greeter 0.0.0-dev (build local, dev): dev build");
}

#[test]
fn jinja_status_page_for_staging() {
    if !engine_or_skip("jinja_status_page_for_staging") {
        return;
    }
    let ex = Example::new("template-jinja");
    // The JSON file appends a page (lists merge) and replaces the components (maps do not).
    write(
        &ex,
        "staging.json",
        r#"{"pages": [{"slug": "maintenance", "title": "Planned maintenance", "body": "Sunday 02:00 UTC"}],
            "components": {"api": "down", "search": "degraded", "web": "operational"}}"#,
    );
    compile(&ex, &["--vars", "vars.yml", "--vars", "staging.json", "--var", "version=2.4.0-rc1"], &[("DEPLOY_ENV", "staging"), ("BUILD_NUMBER", "5")]);
    ex.build(&[]);
    let image = "rockerc-golden/template-jinja:2.4.0-rc1-staging";
    let cfg = image_config(image);
    assert_eq!(cfg["Labels"]["org.opencontainers.image.version"], "2.4.0-rc1");
    assert_eq!(cfg["Labels"]["com.acme.environment"], "staging");
    assert_eq!(cfg["Labels"]["com.acme.degraded"], "api,search");
    let env = env_of(&cfg);
    assert_eq!((env["STATUS_ENV"].as_str(), env["STATUS_BUILD"].as_str(), env["STATUS_DEGRADED"].as_str()), ("staging", "5", "2"));
    assert_eq!(cfg["Cmd"], json!(["httpd", "-f", "-p", "8080", "-h", "/www"]));

    let files = image_files(image);
    let text = |p: &str| file_text(&files, p);
    assert_eq!(text("/www/robots.txt"), "User-agent: *\nDisallow: /\n# staging\n", "the elif branch");
    assert_eq!(text("/www/status.txt"), "api        DOWN\nsearch     DEGRADED\nweb        OPERATIONAL\n");
    assert_eq!(text("/www/components.yml"), "api: down\nsearch: degraded\nweb: operational\n");
    assert_eq!(text("/www/site.json"), "{\"contact\":\"ops@acme.test\",\"port\":8080,\"title\":\"Acme status\"}\n");
    assert!(text("/www/incidents.html").contains("the coffee machine's API"), "shell quoting kept the apostrophe");
    let page = text("/www/maintenance.html");
    assert!(page.contains("<h1>Planned maintenance</h1><p>Sunday 02:00 UTC</p><footer>page 3 of 3,"), "{page}");

    // The image serves what it holds.
    let served = docker_str(&["run", "--rm", image, "sh", "-c", "httpd -p 8080 -h /www && sleep 1 && wget -qO- http://127.0.0.1:8080/maintenance.html"]);
    assert_eq!(served, page.trim_end());
}

#[test]
fn agent_from_json_vars_without_a_proxy() {
    if !engine_or_skip("agent_from_json_vars_without_a_proxy") {
        return;
    }
    let ex = Example::new("template-agent");
    write(
        &ex,
        "agent.json",
        r#"{"Agent": {"Slots": 5, "Owner": "ci", "Shell": "/bin/ash", "Tools": [], "Labels": {}},
            "Users": {"ci": 2000, "ops": 2001}}"#,
    );
    // NO_PROXY alone: the proxy block depends on HTTP_PROXY, so nothing of it is written.
    compile(&ex, &["--vars", "agent.json"], &[("NO_PROXY", "localhost")]);
    ex.build(&[]);
    let image = "rockerc-golden/template-agent:5-slots";
    let cfg = image_config(image);
    assert_eq!(cfg["Labels"], json!({"com.acme.agent.size": "large", "com.acme.agent.users": "2"}));
    assert_eq!(cfg["User"], "ci");
    assert_eq!(cfg["WorkingDir"], "/work");
    assert!(!env_of(&cfg).keys().any(|k| k.contains("proxy")), "{:?}", cfg["Env"]);

    let files = image_files(image);
    let text = |p: &str| file_text(&files, p);
    assert!(text("/etc/passwd").ends_with("ci:x:2000:2000::/home/ci:/bin/ash\nops:x:2001:2001::/home/ops:/bin/ash\n"));
    assert!(text("/etc/group").ends_with("ci:x:2000:\nops:x:2001:\n"));
    for n in 1..=5 {
        let slot = &files[&format!("/work/slot-{n}")];
        assert_eq!((slot.kind, slot.uid, slot.gid), ('d', 2000, 2000), "slot {n}");
    }
    assert!(!files.contains_key("/work/slot-6"));
    assert_eq!(files["/home/ops"].uid, 2001);
    assert_eq!(text("/etc/agent/tools"), "none\n", "range over an empty list took its else");
    assert_eq!(
        text("/etc/agent/settings"),
        "map[string]interface {}{\"Labels\":map[string]interface {}{}, \"Owner\":\"ci\", \"Shell\":\"/bin/ash\", \"Slots\":5, \"Tools\":[]interface {}{}}\n"
    );
    // The image's CMD prints the motd, as the USER the variables named.
    assert_eq!(docker_str(&["run", "--rm", image]), "Large agent, 5 slots, tools: none, users: ci ops");
    assert_eq!(docker_str(&["run", "--rm", image, "id", "-un"]), "ci");
}

/// `rockerc --print` of template-service from a release branch: the whole rendered Rockerfile.
#[test]
fn print_output_is_pinned_byte_for_byte() {
    rockerc_in(&golden_dir("template-service"), &["--print", "--vars", "vars.yml", "--var", "Branch=release/2.1", "Rockerfile"], &[("BUILD_NUMBER", "129")])
        .status(0)
        .stderr("")
        .stdout(PRINTED_RELEASE_BRANCH)
        .run();
}

const PRINTED_RELEASE_BRANCH: &str = r#"# A C service built the way release pipelines write Rockerfiles: the version, the branch and the
# build settings are template variables (vars.yml here; -var and -vars on the command line), and
# the build number and commit come from the CI environment (.Env).
#
# Images:
#   stage 1, from rockerc-test/builder: greeter.c compiled with the version, build number and
#     release channel baked in as -D flags (each value quoted by the `shell` helper), EXPORTed;
#   stage 2, from rockerc-test/busybox: /usr/local/bin/greeter, /etc/greeter/config.json and
#     config.yml written from .Service, one /etc/greeter/queues.d file per queue, and
#     /etc/greeter/RELEASE; ENV lines per feature flag and LABELs from .Labels and CI. It is
#     tagged rockerc-golden/template-service:VERSION (VERSION-BRANCH off master) and PUSHed to
#     the registry only from master, and only when the script runs with --push.
#
# Template constructs: .X, .X.Y, .Env.X, $ and $x := / $x =, if / else if / else, range over a
# list (with $i, $v) and over a map (with else), with / else, pipelines, parenthesised calls,
# trimming markers, comments, string / number / bool / nil literals, and or not eq ne le ge len
# index print printf (%s %d %v %q) println, and Rocker's assert json yaml shell image and strings
# helpers. (template-agent shows the rest: seq, dump, lt, gt.)

FROM rockerc-test/builder:latest AS build
WORKDIR /src
COPY greeter.c .
RUN mkdir -p /out && gcc -static -O2 -Wall -DNDEBUG \
      -DVERSION='"1.4.2"' \
      -DBUILD='"129"' \
      -DCHANNEL='"rc-2.1"' \
      -o /out/greeter greeter.c
EXPORT /out/greeter

FROM rockerc-test/busybox:latest
IMPORT greeter /usr/local/bin/
RUN mkdir -p /etc/greeter/queues.d \
 && printf '%s\n' '{"Greeting":"hello, world","Name":"greeter","Port":8080,"Queues":["emails","invoices","reports"]}' > /etc/greeter/config.json \
 && : > /etc/greeter/config.yml \
 && printf '%s\n' 'Greeting: hello, world' >> /etc/greeter/config.yml \
 && printf '%s\n' 'Name: greeter' >> /etc/greeter/config.yml \
 && printf '%s\n' 'Port: 8080' >> /etc/greeter/config.yml \
 && printf '%s\n' Queues: >> /etc/greeter/config.yml \
 && printf '%s\n' '- emails' >> /etc/greeter/config.yml \
 && printf '%s\n' '- invoices' >> /etc/greeter/config.yml \
 && printf '%s\n' '- reports' >> /etc/greeter/config.yml
RUN echo 'queue=emails priority=0 primary=true service=greeter' > /etc/greeter/queues.d/emails.conf
RUN echo 'queue=invoices priority=1 primary=false service=greeter' > /etc/greeter/queues.d/invoices.conf
RUN echo 'queue=reports priority=2 primary=false service=greeter' > /etc/greeter/queues.d/reports.conf
RUN echo 'no release notes for 1.4.2' > /etc/greeter/RELEASE

ENV GREETER_PORT=8080 \
    GREETER_GREETING="hello, world" \
    GREETER_WORKERS=3
ENV GREETER_FEATURE_METRICS=on
ENV GREETER_FEATURE_REQUEST_TRACING=on
ENV GREETER_DEBUG=true

EXPOSE 8080
LABEL org.opencontainers.image.source="https://git.acme.test/platform/greeter"
LABEL org.opencontainers.image.vendor="Acme Corp"
LABEL org.opencontainers.image.version=1.4.2 \
      org.opencontainers.image.revision=unknown \
      com.acme.channel=rc-2.1 \
      com.acme.build=129 \
      com.acme.libgreet=registry.acme.test/platform/libgreet:1.3.1
CMD ["/usr/local/bin/greeter"]

TAG rockerc-golden/template-service:1.4.2-release-2.1
"#;

/// A failed `assert` in the template: exit status 1, nothing on stdout, and a message that names
/// the line and column of the Rockerfile as written (not of the rendered text) and shows it.
#[test]
fn a_template_error_points_at_the_line_the_user_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let low_port = dir.path().join("low-port.yml");
    std::fs::write(&low_port, "Service:\n  Name: greeter\n  Port: 80\n  Queues: []\n").unwrap();
    rockerc_in(&golden_dir("template-service"), &["--vars", "vars.yml", "--vars", low_port.to_str().unwrap(), "Rockerfile"], &[])
        .status(1)
        .stdout("")
        .stderr(
            r#"error[template-assert-failed]: error calling assert: Assertion failed
  --> Rockerfile:44:12
   |
44 | {{- assert (and (ge $port 1024) (le $port 65535)) }}
   |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ this argument
   |     ------ in this call to `assert`
"#,
        )
        .run();
    // The same error as JSON names the same place.
    let out =
        rockerc_in(&golden_dir("template-service"), &["--error-format", "json", "--vars", "vars.yml", "--vars", low_port.to_str().unwrap(), "Rockerfile"], &[])
            .run();
    let line: Value = serde_json::from_str(out.stderr.lines().next().unwrap()).unwrap();
    assert_eq!(line["code"], "template-assert-failed", "{line}");
    assert_eq!(line["file"], "Rockerfile");
    assert_eq!((&line["primary"]["line"], &line["primary"]["column"]), (&json!(44), &json!(12)), "{line}");
}

/// The example's header promises that a bare `rockerc Rockerfile` (no vars.yml, no CI
/// environment) still builds something sensible: a greeter on port 8080, version 0.0.0-dev.
#[test]
fn service_builds_with_no_variables_at_all() {
    if !engine_or_skip("service_builds_with_no_variables_at_all") {
        return;
    }
    let ex = Example::new("template-service");
    let out = rockerc_in(ex.path(), &["Rockerfile"], &[]).status(0).stderr("").run();
    std::fs::write(ex.path().join("build.sh"), &out.stdout).unwrap();
    ex.build(&[]);
    let image = "rockerc-golden/template-service:0.0.0-dev-detached";
    assert_eq!(docker_str(&["run", "--rm", image]), "greeter 0.0.0-dev (build local, dev): hello, world");
    let cfg = image_config(image);
    assert_eq!(env_of(&cfg)["GREETER_PORT"], "8080");
    assert_eq!(cfg["ExposedPorts"], json!({"8080/tcp": {}}));
    let files = image_files(image);
    assert_eq!(file_text(&files, "/etc/greeter/config.json"), "{\"Greeting\":\"hello, world\",\"Name\":\"greeter\",\"Port\":8080,\"Queues\":[]}\n");
}

/// The README's `rockerc build -var Version=1.2 --push`, run in golden/template-service as it
/// says: it compiles and builds (off master nothing is PUSHed, so --push has nothing to do).
#[test]
fn readme_rockerc_build_with_a_version_works_in_the_service_example() {
    if !engine_or_skip("readme_rockerc_build_with_a_version_works_in_the_service_example") {
        return;
    }
    let ex = Example::new("template-service");
    let cache = tempfile::tempdir().unwrap();
    let mut env: Vec<(String, String)> = ["PATH", "HOME", "DOCKER_HOST"].iter().filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?))).collect();
    env.push(("XDG_CACHE_HOME".into(), cache.path().display().to_string()));
    let out = rockerc().current_dir(ex.path()).env_clear().envs(env).args(["build", "-var", "Version=1.2", "--push"]).output().unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(docker_str(&["run", "--rm", "rockerc-golden/template-service:1.2-detached"]), "greeter 1.2 (build local, dev): hello, world");
}
