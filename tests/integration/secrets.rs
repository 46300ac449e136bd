//! Secrets never land anywhere: a `--secret` value (given to the build script through its
//! environment) and a MOUNTed key file must not appear in a generated file, in the script's
//! output, in any layer of the image, in its history or in its config. The RUN still gets them.

use crate::common::*;
use std::process::Command;

fn random_hex(n: usize) -> String {
    let mut f = std::fs::File::open("/dev/urandom").unwrap();
    let mut buf = vec![0u8; n / 2];
    std::io::Read::read_exact(&mut f, &mut buf).unwrap();
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_secret_reaches_the_run_and_nothing_else() {
    if !engine_or_skip("a_secret_reaches_the_run_and_nothing_else") {
        return;
    }
    let token = format!("tok-{}", random_hex(32));
    let dir = tempfile::tempdir().unwrap();
    // `.Env.TOKEN` would render the value rockerc sees; as a secret it must render `${TOKEN}`.
    std::fs::write(
        dir.path().join("Rockerfile"),
        format!(
            "FROM {BUSYBOX}\n\
             RUN echo \"using {{{{ .Env.TOKEN }}}}\" && printf %s \"$TOKEN\" | md5sum | cut -d ' ' -f 1 > /token.md5 && echo \"printed: $TOKEN\"\n\
             RUN echo after\n\
             TAG rockerc-e2e/secret:latest\n"
        ),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    Test::at(dir.path()).env("TOKEN", &token).args(["--secret", "TOKEN", "-o"]).arg(&out_dir).arg("Rockerfile").status(0).run();
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        let text = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!contains(&text, token.as_bytes()), "the secret is in a generated file");
    }

    let cache = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg(out_dir.join("build.sh"))
        .args(["--verbose", "--no-cache"])
        .env("TOKEN", &token)
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .unwrap();
    let shown = [out.stdout.clone(), out.stderr.clone()].concat();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&shown));
    assert!(!contains(&shown, token.as_bytes()), "the secret is in the script's output");
    assert!(String::from_utf8_lossy(&shown).contains("printed: ***"), "the RUN printed it; the script masked it");

    let image = "rockerc-e2e/secret:latest";
    let md5 = String::from_utf8(run_ok(Command::new("sh").arg("-c").arg(format!("printf %s '{token}' | md5sum | cut -d ' ' -f 1"))).stdout).unwrap();
    assert_eq!(file_text(&image_files(image), "/token.md5"), md5, "the RUN received the value");
    let save = Command::new("docker").args(["save", image]).output().unwrap().stdout;
    assert!(!contains(&save, token.as_bytes()), "the secret is in a layer or the image config");
    let history = docker_str(&["history", "--no-trunc", image]) + &docker_str(&["image", "inspect", image]);
    assert!(!history.contains(&token), "the secret is in the history or the config");
    assert!(history.contains("${TOKEN}"), "history shows the reference, as written");

    // A failing RUN that prints the secret: the error shows the end of its output, masked. (A
    // Rockerfile of its own: out/build.sh stops when the one it was compiled from changes.)
    std::fs::write(dir.path().join("fail.Rockerfile"), format!("FROM {BUSYBOX}\nRUN echo \"value=$TOKEN\"; exit 3\n")).unwrap();
    let out = Test::at(dir.path()).args(["--secret", "TOKEN", "fail.Rockerfile"]).status(0).run();
    std::fs::write(dir.path().join("fail.sh"), out.stdout).unwrap();
    let out = Command::new("sh").arg(dir.path().join("fail.sh")).env("TOKEN", &token).env("XDG_CACHE_HOME", cache.path()).output().unwrap();
    let shown = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
    assert!(!out.status.success());
    assert!(shown.contains("value=***") && !shown.contains(&token), "{shown}");

    // Without the variable the script says what to do, and builds nothing. (With nothing to
    // rebuild, the no-op check does not need it: a cache of its own here.)
    let fresh = tempfile::tempdir().unwrap();
    let out = Command::new("sh").arg(out_dir.join("build.sh")).env_remove("TOKEN").env("XDG_CACHE_HOME", fresh.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the secret TOKEN is not set: export TOKEN before running the script"));
}

#[test]
fn a_secret_outside_run_is_a_compile_error() {
    let file = rockerc::source::SourceFile::new("Rockerfile", "FROM a\nENV AUTH=${TOKEN}\n");
    let mut options = rockerc::Options::default();
    options.template.secrets = vec!["TOKEN".into()];
    let err = rockerc::compile(&file, &options).unwrap_err();
    assert_eq!(err.render(&file, false), "error[secret-outside-run]: the secret `TOKEN` is used in ENV\n --> Rockerfile:2:1\n  |\n2 | ENV AUTH=${TOKEN}\n  | ^^^^^^^^^^^^^^^^^ only RUN may read a --secret\n  = help: its value would be stored in the image's config or history\n");
}

/// A secret is masked whatever bytes it holds: a trailing newline (what Kubernetes and CI secret
/// files hold), a PEM key printed whole or a line at a time, bytes that are not UTF-8, shell and
/// printf syntax. In a failed step's output and under --verbose alike.
#[test]
fn secrets_with_newlines_and_any_bytes_are_masked() {
    if !engine_or_skip("secrets_with_newlines_and_any_bytes_are_masked") {
        return;
    }
    use std::os::unix::ffi::OsStrExt;
    let token = format!("tok-{}\n", random_hex(32));
    let b64 = |n: usize| -> String {
        let hex = random_hex(n * 2);
        hex.bytes().map(|b| if b.is_ascii_digit() { (b - b'0' + b'A') as char } else { b as char }).collect()
    };
    let body: Vec<String> = (0..4).map(|_| b64(64)).collect();
    let key = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n", body.join("\n"));
    let mut odd = b"\xff\xfe$(id) %s \\n ".to_vec();
    odd.extend(random_hex(16).bytes());
    let dir = tempfile::tempdir().unwrap();
    let printing = "echo \"token=$TOKEN.\" && printf '%s\\n' \"$KEY\" && echo \"$KEY\" | sed -n 3p && echo \"$KEY\" | tail -n 2 | head -n 1 && printf 'odd=%s.\\n' \"$ODD\"";
    let cache = tempfile::tempdir().unwrap();
    for (n, (rockerfile, args)) in
        [(format!("FROM {BUSYBOX}\nRUN {printing}\n"), vec!["--verbose", "--no-cache"]), (format!("FROM {BUSYBOX}\nRUN {printing} && exit 3\n"), vec![])]
            .iter()
            .enumerate()
    {
        std::fs::write(dir.path().join("Rockerfile"), rockerfile).unwrap();
        let out = Test::at(dir.path()).args(["--secret", "TOKEN", "--secret", "KEY", "--secret", "ODD", "Rockerfile"]).status(0).run();
        std::fs::write(dir.path().join("build.sh"), out.stdout).unwrap();
        let out = Command::new("sh")
            .arg(dir.path().join("build.sh"))
            .args(args)
            .env("TOKEN", &token)
            .env("KEY", &key)
            .env("ODD", std::ffi::OsStr::from_bytes(&odd))
            .env("XDG_CACHE_HOME", cache.path())
            .output()
            .unwrap();
        let shown = [out.stdout.clone(), out.stderr.clone()].concat();
        let text = String::from_utf8_lossy(&shown);
        assert_eq!(out.status.success(), n == 0, "{text}");
        assert!(text.contains("token=***."), "the RUN printed the token, masked:\n{text}");
        assert!(!contains(&shown, token.trim_end().as_bytes()), "the token is in the output:\n{text}");
        for line in &body {
            assert!(!contains(&shown, line.as_bytes()), "a line of the key is in the output:\n{text}");
        }
        assert!(!contains(&shown, &odd), "a value of any bytes is in the output:\n{text}");
        assert!(text.contains("odd=***."), "{text}");
    }
}

/// The same promises under `--emit buildkit`: the RUN gets the value byte for byte (newlines
/// included), through `RUN --mount=type=secret` and the script's environment, and it is in no
/// generated file, no output, no layer, no history; not even the mount point is left in the
/// image. A RUN under a MOUNT gets it too.
#[test]
fn a_secret_reaches_a_buildkit_run_and_nothing_else() {
    if !engine_or_skip("a_secret_reaches_a_buildkit_run_and_nothing_else") {
        return;
    }
    let Some(client) = buildkit_docker_or_skip("a_secret_reaches_a_buildkit_run_and_nothing_else") else { return };
    let lines = [format!("tok-{}", random_hex(24)), format!("second-{}", random_hex(24))];
    let token = format!("{}\n{}\n", lines[0], lines[1]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Rockerfile"),
        format!(
            "FROM {BUSYBOX}\n\
             RUN echo \"using {{{{ .TOKEN }}}}\" \\\n && printf %s \"$TOKEN\" | md5sum | cut -d ' ' -f 1 > /token.md5 && echo \"printed: $TOKEN\"\n\
             MOUNT /cache\n\
             RUN printf %s \"${{TOKEN}}\" > /cache/t && md5sum < /cache/t | cut -d ' ' -f 1 > /mounted.md5\n\
             TAG rockerc-e2e/secret-buildkit:latest\n"
        ),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    Test::at(dir.path())
        .env("TOKEN", &token)
        .args(["--emit", "buildkit", "--id", "secret-bk", "--secret", "TOKEN", "-o"])
        .arg(&out_dir)
        .arg("Rockerfile")
        .status(0)
        .run();
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        let text = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!lines.iter().any(|l| contains(&text, l.as_bytes())), "the secret is in a generated file");
    }
    let build = |args: &[&str], token: Option<&str>| {
        let mut cmd = Command::new("sh");
        cmd.arg(out_dir.join("build.sh")).args(args).env("ROCKERC_DOCKER", &client);
        match token {
            Some(t) => cmd.env("TOKEN", t),
            None => cmd.env_remove("TOKEN"),
        };
        cmd.output().unwrap()
    };
    let out = build(&["--verbose", "--no-cache"], Some(&token));
    let shown = [out.stdout.clone(), out.stderr.clone()].concat();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&shown));
    assert!(!lines.iter().any(|l| contains(&shown, l.as_bytes())), "the secret is in the script's output:\n{}", String::from_utf8_lossy(&shown));
    assert!(String::from_utf8_lossy(&shown).contains("printed: ***"), "the RUN printed it; the script masked it");

    let image = "rockerc-e2e/secret-buildkit:latest";
    let md5 =
        String::from_utf8(run_ok(Command::new("sh").arg("-c").arg("printf %s \"$TOKEN\" | md5sum | cut -d ' ' -f 1").env("TOKEN", &token)).stdout).unwrap();
    let files = image_files(image);
    assert_eq!(file_text(&files, "/token.md5"), md5, "the RUN received the value, trailing newline and all");
    assert_eq!(file_text(&files, "/mounted.md5"), md5, "a RUN under a MOUNT received it too");
    assert!(!files.keys().any(|p| p.contains("rockerc-secret") || p.starts_with("/run/secrets")), "a mount point is left in the image");
    let save = Command::new("docker").args(["save", image]).output().unwrap().stdout;
    assert!(!lines.iter().any(|l| contains(&save, l.as_bytes())), "the secret is in a layer or the image config");
    let history = docker_str(&["history", "--no-trunc", image]) + &docker_str(&["image", "inspect", image]);
    assert!(!lines.iter().any(|l| history.contains(l.as_str())), "the secret is in the history or the config");
    assert!(history.contains("/dev/.rockerc-secret-TOKEN"), "the history shows where the RUN read it from");

    // A failing RUN that prints it: the end of its output is shown, masked.
    std::fs::write(dir.path().join("Rockerfile"), format!("FROM {BUSYBOX}\nRUN echo \"value=$TOKEN\"; exit 3\n")).unwrap();
    Test::at(dir.path()).args(["--emit", "buildkit", "--id", "secret-bk", "--secret", "TOKEN", "-o"]).arg(&out_dir).arg("Rockerfile").status(0).run();
    let out = build(&["--no-cache"], Some(&token));
    let shown = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
    assert!(!out.status.success());
    assert!(shown.contains("value=***") && !lines.iter().any(|l| shown.contains(l.as_str())), "{shown}");

    // Without the variable the script says what to do before it builds anything.
    let out = build(&[], None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the secret TOKEN is not set: export TOKEN before running the script"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A one-line secret with blanks (a password `pw  x `, a token file saved with a trailing
/// blank) printed unquoted, `echo $TOKEN` or `printf '%s\n' $TOKEN`, comes out word-split: the
/// mask also finds it so, whole and word by word. Both backends.
#[test]
fn a_secret_with_blanks_is_masked_as_an_unquoted_echo_prints_it() {
    if !engine_or_skip("a_secret_with_blanks_is_masked_as_an_unquoted_echo_prints_it") {
        return;
    }
    let words = [format!("Tr0ub4dor&3{}", random_hex(8)), format!("horse-{}", random_hex(8))];
    let token = format!("  {}  \t {} ", words[0], words[1]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Rockerfile"), format!("FROM {BUSYBOX}\nRUN echo unquoted: $TOKEN; printf 'word:%s\\n' $TOKEN; exit 3\n")).unwrap();
    let check = |out: std::process::Output, backend: &str| {
        let shown = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
        assert!(!out.status.success(), "{backend}: {shown}");
        assert!(shown.contains("unquoted: ***") && shown.contains("word:***"), "{backend}: the RUN printed it:\n{shown}");
        assert!(!words.iter().any(|w| shown.contains(w.as_str())), "{backend}: the secret is in the output:\n{shown}");
    };
    let script = run_ok(rockerc().current_dir(dir.path()).args(["--secret", "TOKEN", "Rockerfile"])).stdout;
    std::fs::write(dir.path().join("build.sh"), script).unwrap();
    let cache = tempfile::tempdir().unwrap();
    for args in [&["--no-cache"][..], &["--no-cache", "--verbose"][..]] {
        let out = Command::new("sh").arg(dir.path().join("build.sh")).args(args).env("TOKEN", &token).env("XDG_CACHE_HOME", cache.path()).output().unwrap();
        check(out, "sh");
    }
    let Some(client) = buildkit_docker_or_skip("a_secret_with_blanks_is_masked_as_an_unquoted_echo_prints_it") else { return };
    let out_dir = dir.path().join("bk");
    run_ok(rockerc().current_dir(dir.path()).args(["--emit", "buildkit", "--secret", "TOKEN", "-o"]).arg(&out_dir).arg("Rockerfile"));
    let out = Command::new("sh").arg(out_dir.join("build.sh")).arg("--no-cache").env("TOKEN", &token).env("ROCKERC_DOCKER", &client).output().unwrap();
    check(out, "buildkit");
}
