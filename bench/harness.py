#!/usr/bin/env python3
"""rockerc's benchmark suite; bench/run.sh prepares the machine and runs this.

For each workload in bench/workloads/ it builds, on the local Docker engine, the Rockerfile with
rockerc's sh backend and the hand-written multi-stage Dockerfile with BuildKit and with the
legacy builder: a cold build, a no-op rebuild and a rebuild after one source file changed, each
several times. It records wall time, docker CLI calls and the build-context bytes sent, checks
the final image sizes, runs the compile-speed benchmark (benches/compile.rs) and the peak-memory
measurement (bench/compile_memory.sh), and writes the results into BENCHMARKS.md.

Everything it makes is removed at the end: the temporary directory, the images it tagged
(rockerc-bench/*), the images its builds produced (all carry the label rockerc.bench), the MOUNT
volumes of its build ids and its BuildKit cache-mount records.
"""
import argparse
import datetime
import io
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ROOT / "bench" / "workloads"
LABEL = "rockerc.bench"
TAG_REPO = "rockerc-bench"
BASE_RUNTIME = "rockerc-test/busybox"
# The marker in the RUN of workload (d) that names BuildKit's cache-mount records of this suite.
CACHE_MARKER = "rockerc-bench-deps"
RESULTS_MARKER = "<!-- Everything below is written by bench/run.sh; a new run replaces it. -->"

# The issue's figures, measured on a 2-core machine with Docker 20.10 for workload (a).
ISSUE_FIGURES = [
    ("original Rocker 1.3 (API client, own cache)", "1.86 s", "0.02 s"),
    ("equivalent multi-stage Dockerfile, BuildKit", "0.49 s", "0.09 s"),
    ("legacy builder", "0.88 s", "0.09 s"),
    ("one `docker image inspect` call", "", "0.016 s"),
    ("naive hand-written lowering", "1.0-1.2 s", "0.24 s"),
]
ROCKER_COLD, ROCKER_NOOP = 1.86, 0.02

# rockerc's script picks the builder itself (BuildKit with Debian's 20.10 client); "rockerc-legacy"
# is the same script under the legacy builder (DOCKER_BUILDKIT=0, the user's own override).
TOOLS = ("rockerc", "rockerc-legacy", "buildkit", "legacy")
TOOL_NAMES = {"rockerc": "rockerc (sh, BuildKit)", "rockerc-legacy": "rockerc (sh, legacy builder)", "buildkit": "BuildKit", "legacy": "legacy builder"}
SCENARIOS = ("cold", "noop", "change")
SCENARIO_NAMES = {"cold": "cold", "noop": "no-op", "change": "one file changed"}


@dataclass
class Workload:
    key: str
    name: str
    title: str
    change_file: str  # the source file the "change" rebuild edits
    used_files: list  # context files that COPY/ADD read (what a build needs to send)
    exports: list  # (stage, path): files EXPORTed (and so IMPORTed) or COPY --from'd
    runtime_added: list  # paths in the final image that are not in the base image
    critical: list = field(default_factory=list)  # Rockerfiles of the longest chains alone

    @property
    def dir(self):
        return WORKLOADS / self.name

    def tag(self, tool):
        return f"{TAG_REPO}/{self.name}:{tool}"

    def dockerfile(self, tool):
        legacy = self.dir / "Dockerfile.legacy"
        return "Dockerfile.legacy" if tool == "legacy" and legacy.exists() else "Dockerfile"


WORKLOAD_LIST = [
    Workload("a", "a-builder-runtime", "C builder -> busybox runtime (the issue's workload)",
             "hello.c", ["hello.c"], [("build", "/out/hello")], ["/bin/hello"]),
    Workload("b", "b-three-stage", "three-stage EXPORT/IMPORT chain",
             "gen.c", ["gen.c", "main.c"], [("gen", "/out/table.c"), ("build", "/out/crc32")], ["/bin/crc32"]),
    Workload("c", "c-parallel", "two independent builders with real compile work -> one runtime",
             "left/main.c", ["left/main.c", "left/work.c", "right/main.c", "right/work.c"],
             [("left", "/out/left"), ("right", "/out/right")], ["/bin/left", "/bin/right"],
             critical=["critical-left.Rockerfile", "critical-right.Rockerfile"]),
    Workload("d", "d-dep-cache", "dependency cache (MOUNT /root/.cache)",
             "deps.txt", ["fetch.sh", "deps.txt", "main.c"], [("build", "/out/app")], ["/bin/app"]),
    Workload("e", "e-large-context", "large context: 200 MB of files, a few KB used",
             "src/util.c", ["src/main.c", "src/util.c", "src/util.h", "config/app.conf"],
             [("build", "/out/app")], ["/bin/app", "/etc/app.conf"]),
]


def log(msg):
    print(f"bench: {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Processes

class Runner:
    """Runs commands; a signal or error stops the running child with TERM (the build script's
    own cleanup then removes its containers) before the harness cleans up."""

    def __init__(self):
        self.child = None

    def run(self, cmd, env=None, cwd=None, out=None, check=True, timeout=3600):
        stdout = open(out, "wb") if out else subprocess.PIPE
        try:
            self.child = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=stdout, stderr=subprocess.STDOUT if out else subprocess.PIPE,
                                          stdin=subprocess.DEVNULL)
            o, e = self.child.communicate(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        finally:
            if out:
                stdout.close()
        code = self.child.returncode
        self.child = None
        if check and code != 0:
            detail = (e or b"").decode(errors="replace")[-2000:] if not out else Path(out).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(map(str, cmd))} exited with {code}\n{detail}")
        return code, (o or b"").decode(errors="replace")

    def stop(self):
        if self.child and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        self.child = None


RUNNER = Runner()


def docker(*args, check=True):
    """The real docker client, not through the counting wrapper (setup, measurement, cleanup)."""
    return RUNNER.run([REAL_DOCKER, *args], check=check)[1]


# ---------------------------------------------------------------------------------------------
# Sizes

UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "KiB": 1024, "MB": 1e6, "MiB": 1024 ** 2, "GB": 1e9, "GiB": 1024 ** 3}
SIZE = r"([0-9.]+)\s*(B|kB|KB|KiB|MB|MiB|GB|GiB)"


def to_bytes(num, unit):
    return float(num) * UNITS[unit]


def human(n):
    if n is None:
        return "-"
    n = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


def context_bytes(tool, output):
    """Bytes of build context (and Dockerfile) sent, from the build output: `Sending build
    context` lines (the legacy builder, and so rockerc's docker builds), BuildKit's `transferring
    context|dockerfile: ... done` lines."""
    found = re.findall(r"transferring (?:context|dockerfile): " + SIZE + r"(?: [0-9.]+s)? done", output)
    found += re.findall(r"Sending build context to Docker daemon\s+" + SIZE, output)
    return sum(to_bytes(n, u) for n, u in found)


def files_in_image(image, path):
    """(bytes, files) of the regular files at PATH in IMAGE, read with `docker cp` (no container runs)."""
    name = f"rockerc-bench-measure-{os.getpid()}"
    docker("create", "--name", name, image, "/rockerc-bench-never-runs")
    try:
        data = subprocess.run([REAL_DOCKER, "cp", f"{name}:{path}", "-"], check=True, stdout=subprocess.PIPE).stdout
    finally:
        docker("rm", "-f", name, check=False)
    total = count = 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            if member.isreg():
                total += member.size
                count += 1
    return total, count


def image_size(image):
    return int(docker("image", "inspect", "--format", "{{.Size}}", image).strip())


# ---------------------------------------------------------------------------------------------
# The suite

class Suite:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="rockerc-bench."))
        self.bin = self.tmp / "bin"
        self.bin.mkdir()
        shutil.copy(ROOT / "bench" / "docker-log.sh", self.bin / "docker")
        (self.bin / "docker").chmod(0o755)
        self.calls_log = self.tmp / "docker-calls"
        self.cache_home = self.tmp / "xdg-cache"
        self.ids = []  # rockerc build ids used (their MOUNT volumes are removed at the end)
        self.results = {}  # (workload, tool, scenario) -> list of runs
        self.extra = {}  # (workload, what) -> list of runs (critical path, -j 1)
        self.sizes = {}  # (workload, tool) -> dict
        self.needed = {}  # workload -> dict
        self.compile_info = {}  # workload -> seconds to compile its Rockerfile
        self.noop_direct = None  # (median seconds, runs): (a)'s no-op as a user runs it
        self.failures = []
        self.nonce = 0
        self.rockerc = ROOT / "target" / "release" / "rockerc"

    # -- environment ----------------------------------------------------------------------

    def env(self, tool):
        env = dict(os.environ)
        env["PATH"] = f"{self.bin}:{env.get('PATH', '')}"
        env["BENCH_DOCKER_LOG"] = str(self.calls_log)
        env["BENCH_REAL_DOCKER"] = REAL_DOCKER
        env["XDG_CACHE_HOME"] = str(self.cache_home)
        env.pop("DOCKER_BUILDKIT", None)
        if tool == "buildkit":
            env["DOCKER_BUILDKIT"] = "1"
        elif tool in ("legacy", "rockerc-legacy"):
            env["DOCKER_BUILDKIT"] = "0"
        return env

    def unique(self):
        self.nonce += 1
        return f"{os.getpid()}-{self.nonce}-{time.time_ns() % 10**9}"

    # -- workload files ---------------------------------------------------------------------

    def prepare(self, w):
        ctx = self.tmp / "ctx" / w.name
        shutil.copytree(w.dir, ctx, symlinks=True)
        if w.key == "c":
            for side in ("left", "right"):
                with open(ctx / side / "work.c", "w") as f:
                    RUNNER.run([sys.executable, str(w.dir / "gen_work.py"), side, str(self.args.c_functions)], out=f.name)
        if w.key == "e":
            data = ctx / "data"
            data.mkdir()
            mb = self.args.e_megabytes
            for i in range(mb):
                (data / f"blob{i:04}.bin").write_bytes(os.urandom(1_000_000))
            (ctx / "src" / "scratch.bin").write_bytes(os.urandom(2_000_000))
        scripts = self.tmp / "scripts" / w.name
        scripts.mkdir(parents=True)
        rockerfiles = ["Rockerfile", *w.critical]
        for rf in rockerfiles:
            t0 = time.perf_counter()
            RUNNER.run([str(self.rockerc), "-C", str(ctx), str(ctx / rf)], cwd=scripts, out=scripts / f"{rf}.sh")
            if rf == "Rockerfile":
                self.compile_info[w.key] = time.perf_counter() - t0
        # The generated Dockerfiles, for the context a build needs (`-o` writes them as files).
        dfdir = self.tmp / "dockerfiles" / w.name
        RUNNER.run([str(self.rockerc), "-C", str(ctx), "-o", str(dfdir), str(ctx / "Rockerfile")])
        pristine = (ctx / w.change_file).read_bytes()
        return ctx, scripts, dfdir, pristine

    def change(self, w, ctx, tool, run):
        path = ctx / w.change_file
        marker = f"{tool}-{run}-{self.unique()}"
        with open(path, "a") as f:
            if path.suffix == ".txt":
                f.write(f"libextra-{marker}\n")  # one more dependency to download
            else:
                f.write(f"/* changed: {marker} */\n")

    # -- one build ----------------------------------------------------------------------------

    def build(self, w, tool, scenario, ctx, scripts, build_id, run, script="Rockerfile", jobs=None):
        out = self.tmp / "logs" / f"{w.name}.{tool}.{scenario}.{run}.{script}.log"
        out.parent.mkdir(exist_ok=True)
        if tool.startswith("rockerc"):
            cmd = ["sh", str(scripts / f"{script}.sh"), "-v", "--id", build_id]
            if jobs:
                cmd += ["--jobs", str(jobs)]
        else:
            cmd = ["docker", "build", "-t", w.tag(tool), "-f", str(ctx / w.dockerfile(tool))]
            if tool == "buildkit":
                cmd.insert(2, "--progress=plain")
            cmd.append(str(ctx))
        if scenario == "cold":
            cmd.insert(2, "--no-cache")  # after `sh SCRIPT` or `docker build`
        self.calls_log.write_text("")
        t0 = time.perf_counter()
        code, _ = RUNNER.run(cmd, env=self.env(tool), out=out, check=False)
        wall = time.perf_counter() - t0
        text = out.read_text(errors="replace")
        calls = len(self.calls_log.read_text().splitlines())
        if code != 0:
            self.failures.append(f"{w.name} {tool} {scenario} run {run}: exit {code}; log {out}:\n" + text[-1500:])
            log(f"  FAILED {tool} {scenario} (exit {code}); last lines:\n{text[-1500:]}")
            return None
        return {"wall": wall, "calls": calls, "ctx": context_bytes(tool, text)}

    # -- a workload ---------------------------------------------------------------------------

    def run_workload(self, w):
        log(f"workload ({w.key}) {w.name}: {w.title}")
        ctx, scripts, dfdir, pristine = self.prepare(w)
        runs = self.args.slow_runs if w.key in "cd" else self.args.runs
        for run in range(1, runs + 1):
            for tool in TOOLS:
                build_id = f"{TAG_REPO}-{w.name}-{tool}-{run}-{self.unique()}"
                if tool.startswith("rockerc"):
                    self.ids.append(build_id)
                for scenario in SCENARIOS:
                    if scenario == "cold":
                        (ctx / w.change_file).write_bytes(pristine)
                        if tool == "buildkit":
                            self.prune_cache_mounts()
                    if scenario == "change":
                        self.change(w, ctx, tool, run)
                    r = self.build(w, tool, scenario, ctx, scripts, build_id, run)
                    if r:
                        self.results.setdefault((w.key, tool, scenario), []).append(r)
                        log(f"  run {run} {TOOL_NAMES[tool]:>15} {SCENARIO_NAMES[scenario]:<16} {r['wall']:7.2f} s"
                            f"  {r['calls']:3} docker calls  context {human(r['ctx'])}")
                        if w.key == "a" and tool == "rockerc" and scenario == "noop" and run == runs:
                            self.noop_direct = self.measure_noop_direct(scripts, build_id)
                            if self.noop_direct:
                                log(f"  no-op as a user runs it (no counting wrapper): {secs(self.noop_direct[0])}, median of {self.noop_direct[1]}")
            if w.key == "c":
                (ctx / w.change_file).write_bytes(pristine)
                build_id = f"{TAG_REPO}-{w.name}-extra-{run}-{self.unique()}"
                self.ids.append(build_id)
                r = self.build(w, "rockerc", "cold", ctx, scripts, build_id, run, jobs=1)
                if r:
                    self.extra.setdefault((w.key, "jobs1"), []).append(r)
                    log(f"  run {run} rockerc --jobs 1 cold {r['wall']:7.2f} s")
                for rf in w.critical:
                    r = self.build(w, "rockerc", "cold", ctx, scripts, build_id, run, script=rf)
                    if r:
                        self.extra.setdefault((w.key, rf), []).append(r)
                        log(f"  run {run} rockerc cold of {rf} alone {r['wall']:7.2f} s")
        (ctx / w.change_file).write_bytes(pristine)
        self.measure_sizes(w, ctx, dfdir)
        if not self.args.keep:
            shutil.rmtree(ctx, ignore_errors=True)

    def measure_noop_direct(self, scripts, build_id):
        """The no-op rebuild as a user runs it: `sh build.sh` with the docker client first on PATH,
        not through the counting wrapper (the README quotes this figure)."""
        env = dict(os.environ, XDG_CACHE_HOME=str(self.cache_home))
        env.pop("DOCKER_BUILDKIT", None)
        runs = max(15, self.args.runs * 3)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            code, out = RUNNER.run(["sh", str(scripts / "Rockerfile.sh"), "--id", build_id], env=env, check=False)
            times.append(time.perf_counter() - t0)
            if code != 0 or "up to date" not in out:
                self.failures.append(f"(a) no-op as a user runs it: exit {code}, not up to date:\n{out[-1500:]}")
                return None
        return statistics.median(times), runs

    def measure_sizes(self, w, ctx, dfdir):
        """Final image size against base + added bytes, and the context a build needs."""
        base = image_size(BASE_RUNTIME)
        # rockerc's builds under either builder TAG the same name (tests/differential.rs shows the
        # images are the same): it is measured once.
        for tool in (t for t in TOOLS if t != "rockerc-legacy"):
            tag = w.tag(tool)
            try:
                size = image_size(tag)
                added = sum(files_in_image(tag, p)[0] for p in w.runtime_added)
            except RuntimeError as e:
                self.failures.append(f"{w.name} {tool}: cannot measure the image: {e}")
                continue
            self.sizes[(w.key, tool)] = {"size": size, "base": base, "added": added}
        # The exported files, from the hand-written Dockerfile's stages (legacy, cached: quick).
        exported = exported_files = 0
        for stage, path in w.exports:
            tag = f"{TAG_REPO}/{w.name}:stage-{stage}"
            try:
                RUNNER.run(["docker", "build", "-q", "--target", stage, "-t", tag, "-f", str(ctx / w.dockerfile("legacy")), str(ctx)],
                           env=self.env("legacy"))
                b, n = files_in_image(tag, path)
            except RuntimeError as e:
                self.failures.append(f"{w.name}: cannot measure the export {stage}:{path}: {e}")
                continue
            exported += b
            exported_files += n
        used = sum((ctx / f).stat().st_size for f in w.used_files)
        dockerfiles = sorted(p for p in dfdir.iterdir() if p.name != "build.sh")
        ignore = ctx / ".dockerignore"
        builds = len(dockerfiles)
        needed = used + exported + sum(p.stat().st_size for p in dockerfiles)
        if ignore.exists():
            needed += builds * ignore.stat().st_size
        files = len(w.used_files) + exported_files
        self.needed[w.key] = {"needed": needed, "used": used, "exported": exported, "builds": builds,
                              "files": files, "allowance": 2048 * builds + 1024 * files}

    # -- docker state -------------------------------------------------------------------------

    def prune_cache_mounts(self):
        """Removes this suite's BuildKit cache-mount records (their description names the RUN,
        which carries CACHE_MARKER), so a cold BuildKit build downloads again."""
        try:
            records = json.loads(docker("system", "df", "-v", "--format", "{{json .BuildCache}}") or "[]") or []
        except (RuntimeError, json.JSONDecodeError):
            return
        for r in records:
            if r.get("CacheType") == "exec.cachemount" and CACHE_MARKER in (r.get("Description") or ""):
                docker("builder", "prune", "-f", "--filter", f"id={r['ID']}", check=False)

    def cleanup_docker(self):
        """Removes what the suite made; never touches images or volumes it did not make."""
        lines = docker("image", "ls", "--filter", f"label={LABEL}", "--format", "{{.Repository}}:{{.Tag}}", check=False)
        lines += docker("image", "ls", "--filter", f"reference={TAG_REPO}/*", "--format", "{{.Repository}}:{{.Tag}}", check=False)
        tags = sorted({t for t in lines.split() if t.startswith((f"{TAG_REPO}/", "rockerc-cache:"))})
        for i in range(0, len(tags), 50):
            docker("rmi", *tags[i:i + 50], check=False)
        docker("image", "prune", "-f", "--filter", f"label={LABEL}", check=False)
        for build_id in self.ids:
            h = subprocess.run(["cksum"], input=build_id.encode(), stdout=subprocess.PIPE).stdout.split()[0].decode()
            vols = docker("volume", "ls", "-q", "--filter", f"name=rockerc_{h}_", check=False).split()
            vols = [v for v in vols if v.startswith(f"rockerc_{h}_")]
            if vols:
                docker("volume", "rm", *vols, check=False)
        self.prune_cache_mounts()

    def floor(self):
        """The docker CLI's own cost: one `docker image inspect`, directly and through the wrapper."""
        direct, wrapped = [], []
        for _ in range(max(5, self.args.runs * 2)):
            t0 = time.perf_counter()
            RUNNER.run([REAL_DOCKER, "image", "inspect", "--format", "{{.Id}}", BASE_RUNTIME])
            direct.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            RUNNER.run(["docker", "image", "inspect", "--format", "{{.Id}}", BASE_RUNTIME], env=self.env("rockerc"))
            wrapped.append(time.perf_counter() - t0)
        return statistics.median(direct), statistics.median(wrapped)


# ---------------------------------------------------------------------------------------------
# Compile speed and memory

def compile_bench(args):
    """Runs benches/compile.rs; returns {name: median seconds} and the input sizes."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    group = target / "criterion" / "compile_1000_stages"
    shutil.rmtree(group, ignore_errors=True)
    env = dict(os.environ, ROCKERC_BENCH_MEASURE_SECS="3" if args.quick else "10")
    # The bench prints the input sizes on stderr: read both streams.
    with tempfile.NamedTemporaryFile(prefix="rockerc-bench-", suffix=".log") as log_file:
        code, _ = RUNNER.run(["cargo", "bench", "--bench", "compile"], env=env, cwd=ROOT, out=log_file.name, check=False)
        out = Path(log_file.name).read_text(errors="replace")
    sys.stdout.write("".join(l + "\n" for l in out.splitlines() if "time:" in l or "compile_1000" in l and "Benchmarking" not in l))
    if code != 0:
        return {"error": out[-2000:]}
    m = re.search(r"Rockerfile (\d+) bytes, plain Dockerfile (\d+) bytes", out)
    result = {"input": int(m.group(1)), "plain": int(m.group(2))} if m else {}
    for name, sub in (("rockerc_parse", "rockerfile"), ("rockerc_compile", "rockerfile"), ("parse_dockerfile", "plain")):
        est = group / name / sub / "new" / "estimates.json"
        if est.exists():
            e = json.loads(est.read_text())
            result[name] = e["median"]["point_estimate"] / 1e9
            result[name + "_ci"] = (e["median"]["confidence_interval"]["lower_bound"] / 1e9,
                                    e["median"]["confidence_interval"]["upper_bound"] / 1e9)
    if "skipped" in out:
        result["skipped"] = True
    return result


def compile_memory():
    code, out = RUNNER.run(["sh", str(ROOT / "bench" / "compile_memory.sh")], check=False)
    if code != 0:
        return {"error": out.strip()[-500:]}
    return {k: float(v) for k, v in (l.split("=", 1) for l in out.split() if "=" in l)}


# ---------------------------------------------------------------------------------------------
# The report

def median(runs, key="wall"):
    return statistics.median(r[key] for r in runs) if runs else None


def secs(v):
    if v is None:
        return "-"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"


def verdict(ok):
    return "-" if ok is None else ("met" if ok else "**missed**")


def machine():
    mem = next((l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")), "0")
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "?")
    server = docker("version", "--format", "{{.Server.Version}}", check=False).strip()
    client = docker("version", "--format", "{{.Client.Version}}", check=False).strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, stdout=subprocess.PIPE, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, stdout=subprocess.PIPE, text=True).stdout.strip()
    return {
        "cpus": os.cpu_count(), "cpu": cpu, "mem": f"{int(mem) / 1024 / 1024:.1f} GiB", "kernel": platform.release(),
        "docker": f"engine {server}, client {client} ({REAL_DOCKER})", "commit": commit + (" (with uncommitted changes)" if dirty else ""),
    }


def report(suite, args, info, comp, mem, floor, load0, load1, started, elapsed):
    R = suite.results
    md = []
    w_ = md.append
    mode = "quick (provisional: 1 run each, smaller workloads (c) and (e))" if args.quick else f"full ({args.runs} runs each)"
    w_("## Results\n")
    w_(f"- Command: `{args.command}`; mode: {mode}; took {elapsed / 60:.1f} min")
    w_(f"- Date: {started} (UTC); rockerc at commit {info['commit']}")
    w_(f"- Machine: {info['cpus']} CPUs ({info['cpu']}), {info['mem']} memory, Linux {info['kernel']}; Docker {info['docker']}")
    w_(f"- Load average (1 min) at start {load0:.2f}, at end {load1:.2f}" + (" - the machine was busy: times are noisy" if max(load0, load1) > (info['cpus'] or 1) * 0.5 else ""))
    w_(f"- Workload sizes: (c) {args.c_functions} generated functions per builder; (e) {args.e_megabytes} MB of unused files in the context")
    w_(f"- Times are medians over {args.runs} run{'s' if args.runs > 1 else ''} ({args.slow_runs} for (c) and (d)); every command runs through a counting `docker` wrapper"
       f" (one `docker image inspect`: {secs(floor[0])} direct, {secs(floor[1])} through the wrapper)")
    if suite.noop_direct:
        w_(f"- No-op rebuild of (a) as a user runs it (`sh build.sh`, no counting wrapper): {secs(suite.noop_direct[0])}, median of {suite.noop_direct[1]} runs")
    w_("")

    # Targets
    w_("### Targets (sh backend)\n")
    w_("| target | workload | measured | limit | verdict |")
    w_("|---|---|---|---|---|")
    summary = []

    def target(name, wl, measured, limit, ok):
        w_(f"| {name} | {wl} | {measured} | {limit} | {verdict(ok)} |")
        summary.append((name, wl, ok))

    for w in suite.workloads:
        a, b = median(R.get((w.key, "rockerc", "noop"), [])), median(R.get((w.key, "buildkit", "noop"), []))
        target("no-op rebuild <= 0.25x BuildKit's", w.key, f"{secs(a)} vs {secs(b)} = {ratio(a, b)}", "0.25x", None if a is None or not b else a <= 0.25 * b)
    for w in suite.workloads:
        a, b = median(R.get((w.key, "rockerc", "cold"), [])), median(R.get((w.key, "buildkit", "cold"), []))
        target("cold build <= 1.5x BuildKit's", w.key, f"{secs(a)} vs {secs(b)} = {ratio(a, b)}", "1.5x", None if a is None or not b else a <= 1.5 * b)
    if any(w.key == "a" for w in suite.workloads):
        a = median(R.get(("a", "rockerc", "cold"), []))
        target("cold build <= 0.5x Rocker 1.3 (1.86 s)", "a", f"{secs(a)} = {ratio(a, ROCKER_COLD)}", "0.93 s", None if a is None else a <= 0.5 * ROCKER_COLD)
    if any(w.key == "c" for w in suite.workloads):
        a = median(R.get(("c", "rockerc", "cold"), []))
        crit = [median(suite.extra.get(("c", rf), [])) for rf in next(w for w in suite.workloads if w.key == "c").critical]
        crit = max((c for c in crit if c is not None), default=None)
        target("parallel stages: cold <= 1.15x critical path", "c", f"{secs(a)} vs {secs(crit)} = {ratio(a, crit)}", "1.15x",
               None if a is None or crit is None else a <= 1.15 * crit)
    for w in suite.workloads:
        runs = R.get((w.key, "rockerc", "cold"), [])
        n = suite.needed.get(w.key)
        sent = max((r["ctx"] for r in runs), default=None)
        if n and sent is not None:
            target("context sent <= what COPY/ADD/IMPORT use + Dockerfiles", w.key,
                   f"{human(sent)} sent, {human(n['needed'])} used", f"used + {human(n['allowance'])} tar framing", sent <= n["needed"] + n["allowance"])
    for w in suite.workloads:
        s = suite.sizes.get((w.key, "rockerc"))
        if s:
            diff = s["size"] - s["base"] - s["added"]
            target("runtime image = base + imported bytes", w.key, f"{s['size']} B = base {s['base']} + added {s['added']} {'+' if diff >= 0 else '-'} {abs(diff)}",
                   "difference 0", diff == 0)
    if comp.get("rockerc_compile") and comp.get("parse_dockerfile"):
        a, b = comp["rockerc_compile"], comp["parse_dockerfile"]
        target("compile 1000 stages <= parse-dockerfile's parse of --plain", "gen", f"{secs(a)} vs {secs(b)} = {ratio(a, b)}", "1.0x", a <= b)
    if mem.get("big_peak_rss"):
        a = mem["big_peak_rss"] / mem["input"]
        target("compile peak memory < 3x the input", "gen", f"{human(mem['big_peak_rss'])} for {human(mem['input'])} = {a:.1f}x", "3x", a < 3)
    w_("")

    # Builds
    w_("### Builds\n")
    w_("Wall time is the median; docker calls and context bytes are from the median run's neighbours (they do not vary between runs).")
    w_("Ratios compare rockerc's sh backend with the two builders on the same scenario.\n")
    for w in suite.workloads:
        w_(f"#### ({w.key}) {w.name}: {w.title}\n")
        extra = f"; rockerc compiles the Rockerfile in {secs(suite.compile_info.get(w.key))}" if w.key in suite.compile_info else ""
        w_(f"Changed file: `{w.change_file}`{extra}.\n")
        w_("| scenario | tool | wall | docker calls | context sent | rockerc / this |")
        w_("|---|---|---|---|---|---|")
        for sc in SCENARIOS:
            mine = median(R.get((w.key, "rockerc", sc), []))
            for tool in TOOLS:
                runs = R.get((w.key, tool, sc), [])
                if not runs:
                    w_(f"| {SCENARIO_NAMES[sc]} | {TOOL_NAMES[tool]} | failed | - | - | - |")
                    continue
                m = median(runs)
                calls = int(statistics.median(r["calls"] for r in runs))
                ctx = statistics.median(r["ctx"] for r in runs)
                w_(f"| {SCENARIO_NAMES[sc]} | {TOOL_NAMES[tool]} | {secs(m)} | {calls} | {human(ctx)} | {'' if tool == 'rockerc' else ratio(mine, m)} |")
        if w.key == "c":
            for what, label in (("jobs1", "rockerc --jobs 1 (stages one at a time)"), *((rf, f"rockerc, `{rf}` alone (critical path)") for rf in w.critical)):
                runs = suite.extra.get((w.key, what), [])
                if runs:
                    w_(f"| cold | {label} | {secs(median(runs))} | {int(statistics.median(r['calls'] for r in runs))} | {human(statistics.median(r['ctx'] for r in runs))} | {ratio(median(R.get((w.key, 'rockerc', 'cold'), [])), median(runs))} |")
        w_("")

    # Workload (a) against the issue's figures
    if any(w.key == "a" for w in suite.workloads):
        w_("### Workload (a) against the issue's figures\n")
        w_("| | cold | no-op |")
        w_("|---|---|---|")
        for name, cold, noop in ISSUE_FIGURES:
            w_(f"| issue: {name} | {cold} | {noop} |")
        for tool in TOOLS:
            w_(f"| this run: {TOOL_NAMES[tool]} | {secs(median(R.get(('a', tool, 'cold'), [])))} | {secs(median(R.get(('a', tool, 'noop'), [])))} |")
        w_(f"| this run: one `docker image inspect` call | | {secs(floor[0])} |")
        a, n = median(R.get(("a", "rockerc", "cold"), [])), median(R.get(("a", "rockerc", "noop"), []))
        w_(f"| rockerc / Rocker 1.3 | {ratio(a, ROCKER_COLD)} | {ratio(n, ROCKER_NOOP)} |")
        w_("")

    # Image sizes and context
    w_("### Final image size and context bytes\n")
    w_("Image size is `docker image inspect --format '{{.Size}}'`; \"added\" is the bytes of the files the runtime stage adds"
       " (IMPORTed or COPYed), read back from the image. Context \"used\" is what the build needs to send: the files COPY/ADD read"
       " (after `.dockerignore`), the IMPORTed files and rockerc's generated Dockerfiles; a tar stream adds up to 2 kB per build"
       " and 1 kB per file of framing.\n")
    w_("| workload | tool | image size | base + added | difference | context sent (cold) |")
    w_("|---|---|---|---|---|---|")
    for w in suite.workloads:
        for tool in TOOLS:
            s = suite.sizes.get((w.key, tool))
            runs = R.get((w.key, tool, "cold"), [])
            sent = human(statistics.median(r["ctx"] for r in runs)) if runs else "-"
            if s:
                w_(f"| {w.key} | {TOOL_NAMES[tool]} | {s['size']} | {s['base']} + {s['added']} | {s['size'] - s['base'] - s['added']:+d} | {sent} |")
        n = suite.needed.get(w.key)
        if n:
            w_(f"| {w.key} | *used* | | | | {human(n['needed'])} ({human(n['used'])} context files, {human(n['exported'])} imported, {n['builds']} Dockerfiles) |")
    w_("")

    # Compile speed
    w_("### Compile speed (`cargo bench --bench compile`)\n")
    if comp.get("error") or comp.get("skipped"):
        w_("Not measured: " + ("the generator was not found" if comp.get("skipped") else "```\n" + comp.get("error", "") + "\n```") + "\n")
    else:
        inp, plain = comp.get("input"), comp.get("plain")
        w_(f"Input: `gen_rockerfile.py --stages 1000` ({human(inp)}) and its `--plain` variant ({human(plain)}). Criterion medians, 10 samples.\n")
        w_("| benchmark | median | 95% interval | throughput |")
        w_("|---|---|---|---|")
        for name, label, size in (("rockerc_parse", "`rockerc::syntax::parse` (Rockerfile)", inp),
                                  ("rockerc_compile", "`rockerc::compile`, full, to the script (Rockerfile)", inp),
                                  ("parse_dockerfile", "`parse_dockerfile::parse` (plain variant)", plain)):
            v = comp.get(name)
            if v:
                lo, hi = comp[name + "_ci"]
                rate = f"{size / v / 1e6:.1f} MB/s" if size else "(input size not reported)"
                w_(f"| {label} | {secs(v)} | {secs(lo)} - {secs(hi)} | {rate} |")
        w_("")
    if mem.get("big_peak_rss"):
        w_("Peak memory (`bench/compile_memory.sh`: `/usr/bin/time` on the release binary, script to /dev/null):\n")
        w_("| input | size | peak RSS | peak / input | script written | wall |")
        w_("|---|---|---|---|---|---|")
        w_(f"| 1000-stage Rockerfile | {human(mem['input'])} | {human(mem['big_peak_rss'])} | {mem['big_peak_rss'] / mem['input']:.1f}x | {human(mem['big_output'])} | {mem['big_wall']:.2f} s |")
        w_(f"| `FROM scratch` (the process's fixed cost) | 13 B | {human(mem['small_peak_rss'])} | | {human(mem['small_output'])} | {mem['small_wall']:.2f} s |")
        w_("")
    elif mem.get("error"):
        w_(f"Peak memory not measured: {mem['error']}\n")

    if suite.failures:
        w_("### Failures\n")
        for f in suite.failures:
            w_("```\n" + f.strip() + "\n```")
        w_("")
    return "\n".join(md), summary


DEFAULT_HEAD = """# Benchmarks

Run `sh bench/run.sh` (the Results' first line says how long it took; `--quick` for a smoke run).
"""


def write_benchmarks(path, results):
    head = DEFAULT_HEAD
    if path.exists():
        text = path.read_text()
        if RESULTS_MARKER in text:
            head = text.split(RESULTS_MARKER)[0]
    path.write_text(head.rstrip("\n") + "\n\n" + RESULTS_MARKER + "\n\n" + results.rstrip("\n") + "\n")


# ---------------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1 run each, smaller (c) and (e): a smoke run, provisional numbers")
    p.add_argument("--runs", type=int, help="runs of each build (default 5; 1 with --quick)")
    p.add_argument("--slow-runs", type=int, help="runs of each build of the slow workloads (c) and (d) (default 3; 1 with --quick)")
    p.add_argument("--only", default="abcde", help="workloads to run, by letter (default abcde)")
    p.add_argument("--no-compile-bench", action="store_true", help="skip the compile-speed and memory benchmarks")
    p.add_argument("--no-builds", action="store_true", help="skip the docker builds")
    p.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"), help="the file to write (default BENCHMARKS.md)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, contexts, scripts)")
    p.add_argument("--command", default="sh bench/run.sh", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.runs = args.runs or (1 if args.quick else 5)
    args.slow_runs = args.slow_runs or (1 if args.quick else 3)
    args.c_functions = 150 if args.quick else 700
    args.e_megabytes = 20 if args.quick else 200

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    t_start = time.time()
    load0 = os.getloadavg()[0]
    info = machine()
    log(f"{info['cpus']} CPUs, {info['mem']}, Linux {info['kernel']}, Docker {info['docker']}; load {load0:.2f}")

    suite = Suite(args)
    suite.workloads = [w for w in WORKLOAD_LIST if w.key in args.only]
    floor = (None, None)
    comp, mem = {}, {}
    interrupted = False
    try:
        if not args.no_builds:
            suite.cleanup_docker()  # leftovers of an interrupted earlier run
            floor = suite.floor()
            log(f"one docker image inspect: {secs(floor[0])} direct, {secs(floor[1])} through the counting wrapper")
            for w in suite.workloads:
                suite.run_workload(w)
        else:
            suite.workloads = []
        if not args.no_compile_bench:
            log("compile speed: cargo bench --bench compile (1000 stages)")
            comp = compile_bench(args)
            log("compile memory: bench/compile_memory.sh")
            mem = compile_memory()
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted; cleaning up")
    finally:
        if not args.no_builds:
            suite.cleanup_docker()
        if args.keep:
            log(f"kept {suite.tmp}")
        else:
            shutil.rmtree(suite.tmp, ignore_errors=True)
    results, summary = report(suite, args, info, comp, mem, floor, load0, os.getloadavg()[0], started, time.time() - t_start)
    if interrupted:
        results = "**Interrupted: partial results.**\n\n" + results
    write_benchmarks(Path(args.output), results)
    log(f"wrote {args.output}")
    print()
    for name, wl, ok in summary:
        print(f"  {verdict(ok).strip('*'):>7}  ({wl}) {name}")
    return 130 if interrupted else 1 if suite.failures else 0


REAL_DOCKER = os.environ.get("BENCH_REAL_DOCKER", "/usr/bin/docker")

if __name__ == "__main__":
    sys.exit(main())
