#!/usr/bin/env python3
"""A byte-for-byte oracle for refactors that must not change what rockerc writes.

usage: bench/oracle.py [--rockerc BINARY] OUTDIR

Compiles a fixed set of inputs with every backend and layout and records, per input and mode,
the exit code, stdout, stderr and every file written, under OUTDIR/<case>/<mode>/. Run it with
the binary before a refactor and after each step, then compare the two trees:

    python3 bench/oracle.py --rockerc /tmp/rockerc-before /tmp/oracle-before
    cargo build --release && python3 bench/oracle.py /tmp/oracle-after
    diff -r /tmp/oracle-before /tmp/oracle-after && echo identical

The inputs: every golden example (with its vars.yml and env), every Rockerfile under
tests/fixtures (a diagnostics fixture with the arguments, files and stdin its header names),
the shared corpus (with the variables its README lists, as tests/integration/corpus.rs passes them), the
BuildKit parser conformance files, and a few files from the shared generator. Each compiles in a
fixed directory under /tmp/rockerc-oracle-work, so that paths in the output (the build id of the
BuildKit backend, the context in warnings) are the same in every run.

The modes: the sh script on stdout, `-o DIR`, the same two with `--emit buildkit`, `--emit dot`,
`--emit ast`, `--explain` for both backends, `--error-format json`, and the script with `--id`,
`--build-arg`, `--secret` and `--allow-mount` given.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ROCKERC_SHARED_DIR", os.path.join(os.path.dirname(ROOT), "shared"))
WORK = "/tmp/rockerc-oracle-work"

MODES = {
    "sh": [],
    "dir": ["-o", "out"],
    "buildkit": ["--emit", "buildkit"],
    "buildkit-dir": ["--emit", "buildkit", "-o", "out"],
    "dot": ["--emit", "dot"],
    "ast": ["--emit", "ast"],
    "explain": ["--explain"],
    "buildkit-explain": ["--emit", "buildkit", "--explain"],
    "json": ["--error-format", "json"],
    "options": ["--id", "oracle-id", "--build-arg", "ORACLE=1 two", "--secret", "TOKEN", "--allow-mount", "/tmp"],
    "buildkit-options": ["--emit", "buildkit", "--id", "oracle-id", "--build-arg", "ORACLE=1", "--secret", "TOKEN", "-o", "out"],
}

# As tests/integration/corpus.rs: values for variables whose use needs more than any string.
CORPUS_VALUES = {
    "ARCH": "amd64", "BASE_IMAGE": "ubuntu:16.04", "DockerImage": "okdocker/nginx:1.0", "DOCKER_IMAGE": "igalia/mesa",
    "NginxVariant": "stable", "USE_TXC_DXTN": "yes", "TARGET": "x11_egl", "DEBUG": "true", "SERVICE": "api",
    "OUTPUT_DIR": "/tmp/output", "SOURCE_DIR": "/src/albert", "SRC_DIR": ".", "CHROMIUM_DIR": "/src/chromium",
    "CCACHE_DIR": "/tmp/ccache", "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock", "GIT_SSH_KEY": "/root/.ssh/id_rsa",
    "PWD": "/src/dplyr", "MAKEFLAGS": "-j4",
}


class Case:
    def __init__(self, name, rockerfile, args=(), files=(), stdin=b"", env=None, copy_dir=None):
        self.name = name
        self.rockerfile = rockerfile
        self.args = list(args)
        self.files = list(files)
        self.stdin = stdin
        self.env = env or {}
        self.copy_dir = copy_dir


def unescape(text):
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "n":
                out.append("\n"); i += 2; continue
            if n == "\\":
                out.append("\\"); i += 2; continue
            if n == "x":
                out.append(chr(int(text[i + 2:i + 4], 16))); i += 4; continue
        out.append(c)
        i += 1
    return "".join(out)


def fixture_case(name, path):
    data = open(path, "rb").read()
    text = data.decode("utf-8", "surrogateescape")
    args, files, stdin = [], [], ""
    while text.startswith("#> "):
        line, _, text = text[3:].partition("\n")
        if line.startswith("args:"):
            args = [unescape(w) for w in line[5:].split()]
        elif line.startswith("stdin: "):
            stdin = unescape(line[7:])
        elif line.startswith("file "):
            fname, _, contents = line[5:].partition(": ")
            files.append((fname, unescape(contents)))
    return Case(name, text.encode("utf-8", "surrogateescape"), args, files, stdin.encode("utf-8", "surrogateescape"))


def cases():
    out = []
    golden = os.path.join(ROOT, "golden")
    for ex in sorted(os.listdir(golden)):
        d = os.path.join(golden, ex)
        if not os.path.isfile(os.path.join(d, "Rockerfile")):
            continue
        args = ["--vars", "vars.yml"] if os.path.isfile(os.path.join(d, "vars.yml")) else []
        env = {}
        if os.path.isfile(os.path.join(d, "env")):
            for line in open(os.path.join(d, "env")):
                k, sep, v = line.rstrip("\n").partition("=")
                if sep:
                    env[k] = v
        out.append(Case("golden-" + ex, open(os.path.join(d, "Rockerfile"), "rb").read(), args, env=env, copy_dir=d))
    fixtures = os.path.join(ROOT, "tests", "fixtures")
    for dirpath, dirnames, filenames in os.walk(fixtures):
        dirnames.sort()
        if "snapshots" in dirpath.split(os.sep):
            continue
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            rel = os.path.relpath(p, fixtures).replace(os.sep, "_")
            if f.endswith(".rockerfile"):
                out.append(fixture_case("fixture-" + rel, p))
            elif f == "Rockerfile" or "fuzz" in dirpath:
                out.append(Case("fixture-" + rel, open(p, "rb").read()))
    corpus = os.path.join(SHARED, "corpus")
    if os.path.isdir(corpus):
        rows = {}
        for line in open(os.path.join(corpus, "README.md")):
            if line.startswith("| `"):
                cells = [c.strip() for c in line.split("|")]
                words = lambda c: [w for w in c.split() if w != "-"]
                rows[cells[1].strip("`")] = (words(cells[5]), words(cells[6]))
        for f in sorted(os.listdir(corpus)):
            if f == "README.md":
                continue
            variables, envs = rows.get(f, ([], []))
            args = ["--strict"]
            for v in variables:
                args += ["--var", f"{v}={CORPUS_VALUES.get(v, '1.0')}"]
            env = {e: CORPUS_VALUES.get(e, "1.0") for e in envs}
            out.append(Case("corpus-" + f, open(os.path.join(corpus, f), "rb").read(), args, env=env))
    conf = os.path.join(SHARED, "conformance", "buildkit", "parser")
    for sub in ["testfiles", "testfiles-negative"]:
        d = os.path.join(conf, sub)
        if os.path.isdir(d):
            for c in sorted(os.listdir(d)):
                p = os.path.join(d, c, "Dockerfile")
                if os.path.isfile(p):
                    out.append(Case(f"conformance-{sub}-{c}", open(p, "rb").read()))
    gen = os.path.join(SHARED, "bench", "gen_rockerfile.py")
    if os.path.isfile(gen):
        for label, gargs in [("s3-seed1", ["--stages", "3", "--steps", "40", "--seed", "1"]),
                             ("s5-seed2", ["--stages", "5", "--steps", "30", "--seed", "2"]),
                             ("s40", ["--stages", "40", "--steps", "25"]),
                             ("plain", ["--stages", "4", "--steps", "30", "--plain"])]:
            text = subprocess.run([sys.executable, gen] + gargs, check=True, capture_output=True).stdout
            out.append(Case("gen-" + label, text))
    return out


def snapshot_tree(base):
    files = {}
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            files[os.path.relpath(p, base)] = (open(p, "rb").read(), os.stat(p).st_mode & 0o777)
    return files


def run_case(rockerc, case, outdir):
    for mode, margs in MODES.items():
        cwd = os.path.join(WORK, re.sub(r"[^A-Za-z0-9._-]", "_", case.name))
        shutil.rmtree(cwd, ignore_errors=True)
        if case.copy_dir:
            shutil.copytree(case.copy_dir, cwd, ignore=shutil.ignore_patterns("snapshots"))
        else:
            os.makedirs(cwd)
        with open(os.path.join(cwd, "Rockerfile"), "wb") as f:
            f.write(case.rockerfile)
        for name, contents in case.files:
            p = os.path.join(cwd, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(contents)
        before = set(snapshot_tree(cwd))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root", "LC_ALL": "C.UTF-8"}
        env.update(case.env)
        # Without a file argument rockerc reads ./Rockerfile.
        args = case.args + margs
        p = subprocess.run([rockerc] + args, cwd=cwd, input=case.stdin, capture_output=True, env=env)
        dest = os.path.join(outdir, re.sub(r"[^A-Za-z0-9._-]", "_", case.name), mode)
        os.makedirs(dest)
        with open(os.path.join(dest, "status"), "w") as f:
            f.write(f"{p.returncode}\n{' '.join(args)}\n")
        with open(os.path.join(dest, "stdout"), "wb") as f:
            f.write(p.stdout)
        with open(os.path.join(dest, "stderr"), "wb") as f:
            f.write(p.stderr)
        after = snapshot_tree(cwd)
        for rel, (data, fmode) in sorted(after.items()):
            if rel in before:
                continue
            target = os.path.join(dest, "files", rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(data)
            with open(os.path.join(dest, "modes"), "a") as f:
                f.write(f"{rel} {fmode:o}\n")
        shutil.rmtree(cwd, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rockerc", default=os.path.join(ROOT, "target", "release", "rockerc"))
    ap.add_argument("outdir")
    a = ap.parse_args()
    if os.path.exists(a.outdir):
        shutil.rmtree(a.outdir)
    os.makedirs(a.outdir)
    all_cases = cases()
    # clap names the program after argv[0] in its usage text: run every binary as `rockerc`.
    bindir = tempfile.mkdtemp(prefix="rockerc-oracle-bin-")
    binary = os.path.join(bindir, "rockerc")
    os.symlink(os.path.abspath(a.rockerc), binary)
    try:
        for case in all_cases:
            run_case(binary, case, a.outdir)
    finally:
        shutil.rmtree(bindir)
    print(f"oracle: {len(all_cases)} inputs x {len(MODES)} modes -> {a.outdir}")


if __name__ == "__main__":
    main()
