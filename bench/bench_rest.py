"""Benchmark of the Bitbucket REST sandbox: a mixed agent-like workload at 1, 16 and 64 concurrent clients.

    .venv/bin/python bench/bench_rest.py            # 8 s per level after a 1.5 s warm-up
    .venv/bin/python bench/bench_rest.py --quick    # about 2 s per level (smoke runs)

The sandbox runs in its own process (``Sandbox.start()``); this process is only the load generator. It speaks
raw HTTP/1.1 over keep-alive connections (one per client) on asyncio (uvloop when installed), so that it costs
far less CPU per request than the server. Traffic goes to 127.0.0.1 only.

Workload, per request (seeded, so runs are repeatable): 90% reads, spread evenly over

    GET  /2.0/repositories/acme/widgets
    GET  /2.0/repositories/acme/widgets/refs/branches/main
    GET  /2.0/repositories/acme/widgets/src/main/README.md
    GET  /2.0/repositories/acme/widgets/pullrequests?state=OPEN
    GET  /2.0/repositories/acme/widgets/issues?q=state="open"&sort=-created_on&pagelen=1

and 10% writes, spread evenly over

    POST /2.0/repositories/acme/widgets/refs/branches      a uniquely named branch off main's head
    POST /2.0/repositories/acme/widgets/issues/1/comments  a comment on issue 1
    POST /2.0/repositories/acme/widgets/src                a one-file commit on a scratch branch

all as Basic ``alice@example.com:sandbox-apitoken-alice-full``. The sandbox is reset to its default fixture before
each level, so every level starts from the same world (written branches and comments do not pile up across
levels). A response with an unexpected status, a dropped connection or a timeout counts as an error.

Reported per level, for reads, writes and overall (and per operation in the JSON): completed requests, requests/s,
p50/p99/max latency in ms, errors; plus CPU as a fraction of one core, measured over the level: the generator's own
(flagged when it saturates a core, i.e. when it may be the bottleneck), the sandbox process's (and its CPU time per
request) and everything else on the machine (a busy machine makes a run unreliable, and the table says so).
The results are printed as a table and written as JSON to ``bench/results/rest.json``. The target (PASS/FAIL) is
checked at 16 clients: at least 2,000 reads/s, p99 under 20 ms for reads and for all requests, and no errors.
``--strict`` makes a missed target exit with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import platform
import random
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.report import publish
from sandbox import Sandbox

EMAIL = "alice@example.com"
TOKEN = "sandbox-apitoken-alice-full"
REPO = "/2.0/repositories/acme/widgets"
SCRATCH_BRANCH = "bench/scratch"
LEVELS = (1, 16, 64)
RESULTS = Path(__file__).resolve().parent / "results" / "rest.json"

TARGET_CLIENTS = 16
TARGET_READS_PER_S = 2000.0
TARGET_P99_MS = 20.0

WRITE_RATIO = 0.1
MAX_REQUESTS_PER_CLIENT = 1_000_000  # a hard cap on every client loop, besides its deadline
MAX_CLIENTS = 1024
MAX_SECONDS = 600.0
REQUEST_TIMEOUT_S = 10.0
SATURATED_CORE_FRACTION = 0.9
NOISY = 0.25  # other processes using more than this fraction of a core during a level make it unreliable

READS: tuple[tuple[str, str], ...] = (
    ("get_repository", REPO),
    ("get_branch_main", f"{REPO}/refs/branches/main"),
    ("get_readme", f"{REPO}/src/main/README.md"),
    ("list_open_prs", f"{REPO}/pullrequests?state=OPEN"),
    ("latest_open_issue", f"{REPO}/issues?" + urlencode({"q": 'state="open"', "sort": "-created_on", "pagelen": 1})),
)
WRITES = ("create_branch", "comment_issue", "commit_scratch")
EXPECTED_STATUS = {
    **{name: 200 for name, _ in READS},
    "create_branch": 201,
    "comment_issue": 201,
    "commit_scratch": 201,
}


class BenchError(RuntimeError):
    pass


# HTTP/1.1 client ---------------------------------------------------------------------------------------------
class Connection:
    """One keep-alive HTTP/1.1 connection; requests on it are sequential."""

    def __init__(self, host: str, port: int) -> None:
        if host != "127.0.0.1":
            raise BenchError(f"the benchmark only talks to 127.0.0.1, not {host}")
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one serialized request and read its response: (status, body)."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            body = await self.reader.readexactly(int(lower[at + 17 : end]))
        elif b"\r\ntransfer-encoding: chunked" in lower:
            body = await self._chunked()
        else:
            body = await self.reader.read()  # delimited by close
            self.close()
            return status, body
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, body

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        for _ in range(1_000_000):
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                break
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        return b"".join(parts)


def serialize(
    method: str, target: str, host: str, auth: str, body: bytes = b"", content_type: str | None = None
) -> bytes:
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {host}",
        f"Authorization: {auth}",
        "Accept: */*",
        "User-Agent: bench-rest/1",
    ]
    if method != "GET":
        lines.append(f"Content-Length: {len(body)}")
        if content_type:
            lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# workload ----------------------------------------------------------------------------------------------------
@dataclass
class Target:
    host: str
    port: int
    auth: str
    main_head: str  # main's head after the last reset; branches are created off it
    run_id: str

    @property
    def host_header(self) -> str:
        return f"{self.host}:{self.port}"


class Workload:
    """Builds each client's requests: the read requests are serialized once, the writes per request."""

    def __init__(self, target: Target, write_ratio: float = WRITE_RATIO) -> None:
        self.t = target
        self.write_ratio = write_ratio
        self.reads = [(name, serialize("GET", path, target.host_header, target.auth)) for name, path in READS]

    def next(self, rng: random.Random, client: int, n: int) -> tuple[str, bool, bytes]:
        """(operation name, is_write, request bytes) for the n-th request of a client."""
        if rng.random() >= self.write_ratio:
            name, raw = self.reads[rng.randrange(len(self.reads))]
            return name, False, raw
        name = WRITES[rng.randrange(len(WRITES))]
        return name, True, self.write(name, client, n)

    def write(self, name: str, client: int, n: int) -> bytes:
        t = self.t
        tag = f"{t.run_id}-c{client}-n{n}"
        if name == "create_branch":
            body = json.dumps({"name": f"bench/{tag}", "target": {"hash": t.main_head}}).encode()
            return serialize("POST", f"{REPO}/refs/branches", t.host_header, t.auth, body, "application/json")
        if name == "comment_issue":
            body = json.dumps({"content": {"raw": f"Benchmark comment {tag}."}}).encode()
            return serialize("POST", f"{REPO}/issues/1/comments", t.host_header, t.auth, body, "application/json")
        if name == "commit_scratch":
            body = urlencode(
                {f"/bench/client-{client}.txt": f"{tag}\n", "message": f"bench commit {tag}", "branch": SCRATCH_BRANCH}
            ).encode()
            return serialize("POST", f"{REPO}/src", t.host_header, t.auth, body, "application/x-www-form-urlencoded")
        raise ValueError(name)


# measurement -------------------------------------------------------------------------------------------------
@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: int = 0

    def extend(self, other: Samples) -> None:
        self.latencies.extend(other.latencies)
        self.errors += other.errors


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(s: Samples, seconds: float) -> dict[str, Any]:
    ordered = sorted(s.latencies)
    ms = 1000.0
    return {
        "requests": len(ordered),
        "errors": s.errors,
        "per_s": round(len(ordered) / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(percentile(ordered, 50) * ms, 3),
        "p99_ms": round(percentile(ordered, 99) * ms, 3),
        "max_ms": round((ordered[-1] if ordered else 0.0) * ms, 3),
    }


@dataclass
class ClientResult:
    per_op: dict[str, Samples] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)


async def run_client(
    workload: Workload,
    client: int,
    seed: int,
    warm_end: float,
    deadline: float,
    max_requests: int = MAX_REQUESTS_PER_CLIENT,
) -> ClientResult:
    """Issue requests back to back until the deadline; keep the ones started after the warm-up."""
    rng = random.Random(seed * 1_000_003 + client)
    conn = Connection(workload.t.host, workload.t.port)
    out = ClientResult({name: Samples() for name in EXPECTED_STATUS})
    clock = time.perf_counter
    try:
        for n in range(max_requests):
            start = clock()
            if start >= deadline:
                break
            name, _, raw = workload.next(rng, client, n)
            try:
                status, body = await asyncio.wait_for(conn.request(raw), REQUEST_TIMEOUT_S)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                conn.close()
                status, body = -1, f"{type(exc).__name__}: {exc}".encode()
            elapsed = clock() - start
            if start < warm_end:
                continue
            samples = out.per_op[name]
            if status == EXPECTED_STATUS[name]:
                samples.latencies.append(elapsed)
            else:
                samples.errors += 1
                if len(out.error_samples) < 5:
                    out.error_samples.append(f"{name}: {status} {body[:200]!r}")
    finally:
        conn.close()
    return out


def _proc_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of another process, from /proc (None where /proc is not available)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float | None:
    """CPU seconds all processes have used on this machine (busy = not idle, not iowait), from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    ticks = [int(x) for x in first[1:9]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


async def run_level(
    workload: Workload, clients: int, duration: float, warmup: float, seed: int, server_pid: int | None
) -> dict[str, Any]:
    loop_start = time.perf_counter()
    warm_end = loop_start + warmup
    deadline = warm_end + duration
    tasks = [asyncio.ensure_future(run_client(workload, c, seed, warm_end, deadline)) for c in range(clients)]
    # CPU is sampled over the measured window only.
    await asyncio.sleep(max(0.0, warm_end - time.perf_counter()))
    cpu0, srv0, all0 = time.process_time(), _proc_cpu_seconds(server_pid or -1), _machine_busy_seconds()
    wall0 = time.perf_counter()
    results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=warmup + duration + REQUEST_TIMEOUT_S + 30)
    cpu1, srv1, all1 = time.process_time(), _proc_cpu_seconds(server_pid or -1), _machine_busy_seconds()
    wall1 = time.perf_counter()
    window = max(wall1 - warm_end, 1e-9)  # from the end of the warm-up to the last response
    cpu_wall = max(wall1 - wall0, 1e-9)

    per_op = {name: Samples() for name in EXPECTED_STATUS}
    errors: list[str] = []
    for r in results:
        for name, s in r.per_op.items():
            per_op[name].extend(s)
        errors.extend(r.error_samples)
    reads, writes, overall = Samples(), Samples(), Samples()
    for name, s in per_op.items():
        (writes if name in WRITES else reads).extend(s)
        overall.extend(s)
    gen_cpu = (cpu1 - cpu0) / cpu_wall
    server_cpu = (srv1 - srv0) / cpu_wall if srv0 is not None and srv1 is not None else None
    other_cpu = None
    if all0 is not None and all1 is not None:  # everything else on the machine (other tests, builds...)
        other_cpu = max(0.0, (all1 - all0) / cpu_wall - gen_cpu - (server_cpu or 0.0))
    return {
        "clients": clients,
        "seconds": round(window, 3),
        "reads": summarize(reads, window),
        "writes": summarize(writes, window),
        "overall": summarize(overall, window),
        "per_operation": {name: summarize(s, window) for name, s in per_op.items()},
        "generator_cpu_core_fraction": round(gen_cpu, 3),
        "generator_saturated": gen_cpu >= SATURATED_CORE_FRACTION,
        "server_cpu_core_fraction": round(server_cpu, 3) if server_cpu is not None else None,
        "other_processes_cpu_core_fraction": round(other_cpu, 3) if other_cpu is not None else None,
        # Sandbox CPU per completed request: the cost that sets the ceiling, and less sensitive to a busy machine.
        "server_cpu_us_per_request": round(
            server_cpu * cpu_wall / max(1, len(overall.latencies) + overall.errors) * 1e6, 1
        )
        if server_cpu is not None
        else None,
        "error_samples": errors[:5],
    }


# orchestration -----------------------------------------------------------------------------------------------
def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in the lock file
        return asyncio.new_event_loop
    return uvloop.new_event_loop


async def _main_head(t: Target) -> str:
    conn = Connection(t.host, t.port)
    try:
        status, body = await conn.request(serialize("GET", f"{REPO}/refs/branches/main", t.host_header, t.auth))
    finally:
        conn.close()
    if status != 200:
        raise BenchError(f"GET refs/branches/main answered {status}: {body[:300]!r}")
    return str(json.loads(body)["target"]["hash"])


async def _preflight(workload: Workload) -> None:
    """Every operation once, checked, so that a broken sandbox fails loudly instead of as a pile of errors."""
    conn = Connection(workload.t.host, workload.t.port)
    try:
        for name, raw in workload.reads:
            status, body = await conn.request(raw)
            if status != EXPECTED_STATUS[name]:
                raise BenchError(f"preflight {name}: {status} {body[:300]!r}")
        for name in WRITES:
            status, body = await conn.request(workload.write(name, -1, 0))
            if status != EXPECTED_STATUS[name]:
                raise BenchError(f"preflight {name}: {status} {body[:300]!r}")
    finally:
        conn.close()


def run_benchmark(
    levels: Sequence[int] = LEVELS,
    duration: float = 8.0,
    warmup: float = 1.5,
    seed: int = 1,
    sandbox: Sandbox | None = None,
    progress: Callable[[str], None] | None = None,
    write_ratio: float = WRITE_RATIO,
) -> dict[str, Any]:
    """Run every level against ``sandbox`` (or a fresh one started here, and stopped) and return the results.

    The sandbox is reset to its fixture before each level and after the last one.
    """
    if not levels or any(not 1 <= n <= MAX_CLIENTS for n in levels):
        raise ValueError(f"levels must be 1 to {MAX_CLIENTS} clients each")
    if not 0 < duration <= MAX_SECONDS or not 0 <= warmup <= MAX_SECONDS or not 0 <= write_ratio <= 1:
        raise ValueError(f"duration must be in (0, {MAX_SECONDS}], warmup in [0, {MAX_SECONDS}], write_ratio in [0, 1]")
    say = progress or (lambda _msg: None)
    own = sandbox is None
    sb = sandbox or Sandbox.start()
    try:
        parts = urlsplit(sb.urls["bitbucket_api"])
        host, port = parts.hostname or "", parts.port or 80
        if host != "127.0.0.1":
            raise BenchError(f"the sandbox is not on 127.0.0.1: {sb.urls['bitbucket_api']}")
        auth = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
        server_pid = sb.process.pid if sb.process.poll() is None else None
        new_loop = _event_loop_factory()
        out_levels = []
        for clients in levels:
            sb.reset()  # the same starting world for every level
            target = Target(host, port, auth, "", uuid.uuid4().hex[:8])
            level = _run_async(new_loop, _level(target, clients, duration, warmup, seed, server_pid, write_ratio))
            out_levels.append(level)
            say(
                f"{clients:>3} clients: {level['reads']['per_s']:>8.1f} reads/s, "
                f"p99 {level['overall']['p99_ms']:.2f} ms, errors {level['overall']['errors']}"
            )
        sb.reset()
        meta = _meta(duration, warmup, seed, write_ratio, new_loop)
        return {"meta": meta, "levels": out_levels, "target": check(out_levels)}
    finally:
        if own:
            sb.stop()


async def _level(
    target: Target, clients: int, duration: float, warmup: float, seed: int, server_pid: int | None, write_ratio: float
) -> dict[str, Any]:
    target.main_head = await _main_head(target)
    workload = Workload(target, write_ratio)
    await _preflight(workload)
    return await run_level(workload, clients, duration, warmup, seed, server_pid)


def _run_async(new_loop: Callable[[], asyncio.AbstractEventLoop], coro: Any) -> Any:
    loop = new_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def _meta(
    duration: float, warmup: float, seed: int, write_ratio: float, new_loop: Callable[[], asyncio.AbstractEventLoop]
) -> dict[str, Any]:
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "seconds_per_level": duration,
        "warmup_seconds": warmup,
        "seed": seed,
        "client": f"raw HTTP/1.1 keep-alive, {new_loop.__module__} loop",
        "mix": {"reads": [name for name, _ in READS], "writes": list(WRITES), "write_ratio": write_ratio},
        "credential": f"Basic {EMAIL}:<api token 'full'>",
        "command": ".venv/bin/python bench/bench_rest.py",
    }


def check(levels: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The target at 16 clients; ``status`` is "n/a" when that level was not run."""
    goal = {"clients": TARGET_CLIENTS, "min_reads_per_s": TARGET_READS_PER_S, "max_p99_ms": TARGET_P99_MS}
    level = next((lv for lv in levels if lv["clients"] == TARGET_CLIENTS), None)
    if level is None:
        return {**goal, "status": "n/a"}
    failures = []
    if level["reads"]["per_s"] < TARGET_READS_PER_S:
        failures.append(f"reads/s {level['reads']['per_s']} < {TARGET_READS_PER_S:g}")
    for kind in ("reads", "overall"):
        if level[kind]["p99_ms"] >= TARGET_P99_MS:
            failures.append(f"{kind} p99 {level[kind]['p99_ms']} ms >= {TARGET_P99_MS:g} ms")
    if level["overall"]["errors"]:
        failures.append(f"{level['overall']['errors']} errors")
    return {**goal, "status": "FAIL" if failures else "PASS", "failures": failures}


# output ------------------------------------------------------------------------------------------------------
def table(results: dict[str, Any]) -> str:
    head = (
        f"{'clients':>7}  {'kind':<8} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'errors':>6}"
    )
    lines = [head, "-" * len(head)]
    for lv in results["levels"]:
        for kind in ("reads", "writes", "overall"):
            s = lv[kind]
            lines.append(
                f"{lv['clients']:>7}  {kind:<8} {s['requests']:>9} {s['per_s']:>9.1f} {s['p50_ms']:>8.2f} "
                f"{s['p99_ms']:>8.2f} {s['max_ms']:>8.2f} {s['errors']:>6}"
            )
        server, other = lv["server_cpu_core_fraction"], lv["other_processes_cpu_core_fraction"]
        note = "SATURATED a core: the numbers may be the generator's limit" if lv["generator_saturated"] else "ok"
        lines.append(
            f"{'':>7}  cpu, as a fraction of one core: generator {_pct(lv['generator_cpu_core_fraction'])} "
            f"({note}); sandbox {_pct(server)} ({lv['server_cpu_us_per_request']} us per request); "
            f"other processes {_pct(other)}"
            + (" (a busy machine: expect lower numbers)" if other is not None and other > NOISY else "")
        )
        lines.extend(f"{'':>7}  error sample: {e}" for e in lv["error_samples"])
    t = results["target"]
    verdict = t["status"]
    detail = "; ".join(t.get("failures", [])) or "all met"
    lines.append(
        f"target at {t['clients']} clients: >= {t['min_reads_per_s']:g} reads/s and p99 < "
        f"{t['max_p99_ms']:g} ms -> {verdict}" + (f" ({detail})" if verdict != "n/a" else " (level not run)")
    )
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench_rest.py", description="Benchmark of the Bitbucket REST sandbox.")
    p.add_argument("--quick", action="store_true", help="about 2 s per level (smoke runs)")
    p.add_argument("--duration", type=float, default=None, help="measured seconds per level (default 8, quick 2)")
    p.add_argument("--warmup", type=float, default=None, help="warm-up seconds per level (default 1.5, quick 0.5)")
    p.add_argument("--levels", default=",".join(map(str, LEVELS)), help="concurrent clients per level, e.g. 1,16,64")
    p.add_argument("--write-ratio", type=float, default=WRITE_RATIO, help="share of writes (default 0.1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    p.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = p.parse_args(argv)
    args.duration = args.duration if args.duration is not None else (2.0 if args.quick else 8.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.5)
    try:
        args.levels = [int(x) for x in str(args.levels).split(",") if x.strip()]
    except ValueError:
        p.error("--levels takes comma-separated whole numbers")
    if not args.levels or any(not 1 <= n <= MAX_CLIENTS for n in args.levels):
        p.error(f"--levels: each level must be 1 to {MAX_CLIENTS} clients")
    if not 0 < args.duration <= MAX_SECONDS or not 0 <= args.warmup <= MAX_SECONDS:
        p.error(f"--duration must be in (0, {MAX_SECONDS:g}] and --warmup in [0, {MAX_SECONDS:g}]")
    if not 0 <= args.write_ratio <= 1:
        p.error("--write-ratio must be between 0 and 1")
    return args


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    _say(f"benchmark: levels {args.levels}, {args.duration:g} s each after a {args.warmup:g} s warm-up")
    results = run_benchmark(
        args.levels, args.duration, args.warmup, args.seed, progress=_say, write_ratio=args.write_ratio
    )
    publish(results, args.output, table(results))
    return 1 if args.strict and results["target"]["status"] == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
