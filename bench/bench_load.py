"""Load test: 64 clients mixing reads and writes on one sandbox, a kill -9 under load, a restart, and an audit:
every write the sandbox acknowledged must still be there.

    .venv/bin/python bench/bench_load.py              # 64 clients for 20 s, then kill -9, restart and audit
    .venv/bin/python bench/bench_load.py --quick      # 5 s
    .venv/bin/python bench/bench_load.py --no-restart # audit the live sandbox instead

The sandbox runs in its own process (``Sandbox.start(data_dir=...)``, state on disk as a user would keep it). Each
client sends requests back to back over its own keep-alive connection to 127.0.0.1 (the raw HTTP/1.1 client of
bench_rest.py): 70% reads spread over the repository, a page of branches, open pull requests, a page of issue 1's
comments, the README and a page of commits; 30% writes spread over a new branch, a comment on issue 1, a new issue
and a one-file commit on the client's own branch. A write counts as acknowledged when its 201 arrives; the client
keeps what it wrote. When the time is up the sandbox is killed with SIGKILL while the clients are still sending,
started again on the same data directory, and every acknowledged write is read back: the branch at its commit, the
comment and the issue with their text, the committed file at its commit and at its branch's head. A write that is
missing or different is a lost acknowledged write; the target is none.

Reported: requests, requests/s, p50/p99 latency, unexpected answers, acknowledged writes per kind, lost writes
(with samples), and the sandbox's CPU time per request (from /proc, over the measured window: the cost that sets
its ceiling). Results go to ``bench/results/load.json``; ``--strict`` exits 1 when a write was lost or an answer
was unexpected.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from bench.bench_rest import (
    EMAIL,
    REPO,
    REQUEST_TIMEOUT_S,
    TOKEN,
    Connection,
    _proc_cpu_seconds,
    percentile,
    serialize,
)
from bench.report import publish
from sandbox import Sandbox

CLIENTS = 64
WRITE_RATIO = 0.3
RESULTS = Path(__file__).resolve().parent / "results" / "load.json"
MAX_CLIENTS = 256
MAX_SECONDS = 600.0
MAX_REQUESTS_PER_CLIENT = 1_000_000
READS = (
    ("repository", REPO),
    ("branches", f"{REPO}/refs/branches"),
    ("open_prs", f"{REPO}/pullrequests?state=OPEN"),
    ("issue_comments", f"{REPO}/issues/1/comments"),
    ("readme", f"{REPO}/src/main/README.md"),
    ("commits", f"{REPO}/commits"),
)
WRITES = ("branch", "comment", "issue", "commit")


@dataclass
class Target:
    host: str
    port: int
    auth: str
    run: str
    main_head: str = ""

    @property
    def host_header(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class Acked:
    """What the sandbox said it stored: kind -> records."""

    branch: list[tuple[str, str]] = field(default_factory=list)  # (name, commit)
    comment: list[tuple[int, str]] = field(default_factory=list)  # (id, text)
    issue: list[tuple[int, str]] = field(default_factory=list)  # (id, title)
    commit: list[tuple[str, str, str, str]] = field(default_factory=list)  # (branch, path, content, commit)

    def extend(self, other: Acked) -> None:
        for kind in WRITES:
            getattr(self, kind).extend(getattr(other, kind))

    def counts(self) -> dict[str, int]:
        return {kind: len(getattr(self, kind)) for kind in WRITES}


@dataclass
class ClientResult:
    acked: Acked = field(default_factory=Acked)
    latencies: list[float] = field(default_factory=list)
    unexpected: int = 0
    interrupted: int = 0  # requests cut by the kill: never acknowledged, so never owed
    samples: list[str] = field(default_factory=list)


def _write(t: Target, kind: str, client: int, n: int) -> tuple[bytes, str]:
    """(request, what it writes) for the n-th request of a client."""
    tag = f"{t.run}-c{client}-n{n}"
    if kind == "branch":
        body = json.dumps({"name": f"load/{tag}", "target": {"hash": t.main_head}}).encode()
        return serialize("POST", f"{REPO}/refs/branches", t.host_header, t.auth, body, "application/json"), tag
    if kind == "comment":
        body = json.dumps({"content": {"raw": f"load comment {tag}"}}).encode()
        return serialize("POST", f"{REPO}/issues/1/comments", t.host_header, t.auth, body, "application/json"), tag
    if kind == "issue":
        body = json.dumps({"title": f"load issue {tag}"}).encode()
        return serialize("POST", f"{REPO}/issues", t.host_header, t.auth, body, "application/json"), tag
    form = urlencode({f"/load/{tag}.txt": f"{tag}\n", "branch": f"load-commits/{t.run}/c{client}", "message": tag})
    return serialize(
        "POST", f"{REPO}/src", t.host_header, t.auth, form.encode(), "application/x-www-form-urlencoded"
    ), tag


def _record(acked: Acked, kind: str, tag: str, client: int, t: Target, head: bytes, body: bytes) -> None:
    if kind == "branch":
        acked.branch.append((f"load/{tag}", json.loads(body)["target"]["hash"]))
    elif kind == "comment":
        acked.comment.append((json.loads(body)["id"], f"load comment {tag}"))
    elif kind == "issue":
        acked.issue.append((json.loads(body)["id"], f"load issue {tag}"))
    else:  # 201 with an empty body; the commit is in the Location header
        location = next(line for line in head.split(b"\r\n") if line.lower().startswith(b"location:"))
        sha = location.decode().rsplit("/", 1)[1].strip()
        acked.commit.append((f"load-commits/{t.run}/c{client}", f"load/{tag}.txt", f"{tag}\n", sha))


async def _client(
    t: Target, client: int, seed: int, deadline: float, stop: asyncio.Event, ratio: float
) -> ClientResult:
    rng = random.Random(seed * 1_000_003 + client)
    conn = HeadConnection(t.host, t.port)
    reads = [serialize("GET", path, t.host_header, t.auth) for _, path in READS]
    out = ClientResult()
    try:
        for n in range(MAX_REQUESTS_PER_CLIENT):
            if stop.is_set() or time.perf_counter() >= deadline:
                break
            kind = WRITES[rng.randrange(len(WRITES))] if rng.random() < ratio else ""
            raw, tag = _write(t, kind, client, n) if kind else (reads[rng.randrange(len(reads))], "")
            start = time.perf_counter()
            try:
                status, head, body = await asyncio.wait_for(conn.exchange(raw), REQUEST_TIMEOUT_S)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                conn.close()
                if stop.is_set():
                    out.interrupted += 1
                    break
                out.unexpected += 1
                out.samples.append(f"{kind or 'read'}: {type(exc).__name__}: {exc}")
                continue
            out.latencies.append(time.perf_counter() - start)
            if status == (201 if kind else 200):
                if kind:
                    _record(out.acked, kind, tag, client, t, head, body)
            else:
                out.unexpected += 1
                if len(out.samples) < 5:
                    out.samples.append(f"{kind or 'read'}: {status} {body[:200]!r}")
    finally:
        conn.close()
    return out


class HeadConnection(Connection):
    """bench_rest's connection, also handing back the response head (for the Location of a commit)."""

    async def exchange(self, raw: bytes) -> tuple[int, bytes, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)]) if at >= 0 else 0
        body = await self.reader.readexactly(length) if length else b""
        if b"\r\nconnection: close" in lower:
            self.close()
        return int(head[9:12]), head, body


# the audit -----------------------------------------------------------------------------------------------------
async def _get(conn: HeadConnection, t: Target, path: str) -> tuple[int, bytes]:
    status, _, body = await conn.exchange(serialize("GET", path, t.host_header, t.auth))
    return status, body


async def _audit_part(t: Target, checks: list[tuple[str, str, Any]]) -> list[str]:
    """Each check: (path, what, expected); ``expected`` bytes is the raw body, else a JSON field test."""
    conn = HeadConnection(t.host, t.port)
    lost: list[str] = []
    try:
        for path, what, expected in checks:
            status, body = await _get(conn, t, path)
            ok = status == 200 and (body == expected if isinstance(expected, bytes) else expected(json.loads(body)))
            if not ok:
                lost.append(f"{what}: GET {path} -> {status} {body[:120]!r}")
    finally:
        conn.close()
    return lost


async def _comments(t: Target) -> dict[int, str]:
    conn = HeadConnection(t.host, t.port)
    found: dict[int, str] = {}
    try:
        for page in range(1, 100_000):
            status, body = await _get(conn, t, f"{REPO}/issues/1/comments?pagelen=100&page={page}")
            if status != 200:
                raise RuntimeError(f"listing comments: {status} {body[:200]!r}")
            listed = json.loads(body)
            found.update({c["id"]: c["content"]["raw"] for c in listed["values"]})
            if "next" not in listed:
                break
    finally:
        conn.close()
    return found


async def audit(t: Target, acked: Acked, parallel: int = 8) -> list[str]:
    """Every acknowledged write read back; the list of those missing or different."""
    checks: list[tuple[str, str, Any]] = []
    for name, sha in acked.branch:
        checks.append((f"{REPO}/refs/branches/{quote(name, safe='')}", f"branch {name}", _at(sha)))
    for number, title in acked.issue:
        checks.append((f"{REPO}/issues/{number}", f"issue {number}", lambda b, title=title: b["title"] == title))
    for branch, path, content, sha in acked.commit:
        checks.append((f"{REPO}/src/{sha}/{path}", f"commit {sha[:12]} {path}", content.encode()))
        checks.append((f"{REPO}/src/{quote(branch, safe='')}/{path}", f"{path} on {branch}", content.encode()))
    shares = [checks[i::parallel] for i in range(parallel)]
    parts = await asyncio.gather(*(_audit_part(t, share) for share in shares))
    lost = [line for part in parts for line in part]
    comments = await _comments(t)
    lost += [f"comment {i}" for i, text in acked.comment if comments.get(i) != text]
    return lost


def _at(sha: str) -> Any:
    return lambda b: b["target"]["hash"] == sha


# orchestration -------------------------------------------------------------------------------------------------
def _target(sb: Sandbox, run: str) -> Target:
    parts = urlsplit(sb.urls["bitbucket_api"])
    if parts.hostname != "127.0.0.1":
        raise RuntimeError(f"the sandbox is not on 127.0.0.1: {sb.urls['bitbucket_api']}")
    auth = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    return Target(parts.hostname, parts.port or 80, auth, run)


async def _load(sb: Sandbox, t: Target, clients: int, duration: float, seed: int, ratio: float, kill: bool) -> Any:
    conn = HeadConnection(t.host, t.port)
    try:
        status, body = await _get(conn, t, f"{REPO}/refs/branches/main")
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"GET refs/branches/main answered {status}: {body[:200]!r}")
    t.main_head = json.loads(body)["target"]["hash"]
    stop = asyncio.Event()
    start = time.perf_counter()
    deadline = start + duration
    cpu0 = _proc_cpu_seconds(sb.process.pid)
    tasks = [asyncio.ensure_future(_client(t, c, seed, deadline + 60, stop, ratio)) for c in range(clients)]
    await asyncio.sleep(duration)
    cpu1 = _proc_cpu_seconds(sb.process.pid)
    window = time.perf_counter() - start
    if kill:
        sb.process.kill()  # SIGKILL, while the clients are still sending
        sb.process.wait()
    stop.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=REQUEST_TIMEOUT_S + 60)
    cpu = (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None
    return results, window, cpu


def run_load(
    clients: int = CLIENTS,
    duration: float = 20.0,
    seed: int = 1,
    write_ratio: float = WRITE_RATIO,
    restart: bool = True,
    progress: Any = None,
) -> dict[str, Any]:
    if not 1 <= clients <= MAX_CLIENTS or not 0 < duration <= MAX_SECONDS or not 0 <= write_ratio <= 1:
        raise ValueError(f"clients 1-{MAX_CLIENTS}, duration (0, {MAX_SECONDS:g}] s, write ratio 0-1")
    say = progress or (lambda _m: None)
    data = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        sb = Sandbox.start(data_dir=data)
        try:
            t = _target(sb, uuid.uuid4().hex[:8])
            say(f"{clients} clients for {duration:g} s ...")
            results, window, cpu = asyncio.run(_load(sb, t, clients, duration, seed, write_ratio, restart))
        finally:
            sb.stop()
        acked = Acked()
        for r in results:
            acked.extend(r.acked)
        say(("killed with SIGKILL under load" if restart else "stopped") + "; starting again on the same data ...")
        sb = Sandbox.start(data_dir=data)
        try:
            say(f"auditing {sum(acked.counts().values())} acknowledged writes ...")
            lost = asyncio.run(audit(_target(sb, t.run), acked))
        finally:
            sb.stop()
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return _report(results, acked, lost, window, cpu, clients, duration, seed, write_ratio, restart)


def _report(
    results: Sequence[ClientResult],
    acked: Acked,
    lost: list[str],
    window: float,
    cpu: float | None,
    clients: int,
    duration: float,
    seed: int,
    write_ratio: float,
    restart: bool,
) -> dict[str, Any]:
    latencies = sorted(x for r in results for x in r.latencies)
    requests = len(latencies)
    unexpected = sum(r.unexpected for r in results)
    return {
        "meta": {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "clients": clients,
            "seconds": duration,
            "seed": seed,
            "write_ratio": write_ratio,
            "reads": [name for name, _ in READS],
            "writes": list(WRITES),
            "kill_9_and_restart": restart,
            "command": ".venv/bin/python bench/bench_load.py",
        },
        "requests": requests,
        "per_s": round(requests / window, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 99) * 1000, 3),
        "unexpected_answers": unexpected,
        "interrupted_by_kill": sum(r.interrupted for r in results),
        "acknowledged_writes": acked.counts(),
        "lost_acknowledged_writes": len(lost),
        "lost_samples": lost[:10],
        "server_cpu_core_fraction": round(cpu / window, 3) if cpu is not None else None,
        "server_cpu_us_per_request": round(cpu / max(requests, 1) * 1e6, 1) if cpu is not None else None,
        "error_samples": [s for r in results for s in r.samples][:5],
        "status": "PASS" if not lost and not unexpected else "FAIL",
    }


def table(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"clients {r['meta']['clients']}, {r['meta']['seconds']:g} s, writes {r['meta']['write_ratio']:.0%}, "
            f"kill -9 and restart: {r['meta']['kill_9_and_restart']}",
            f"requests {r['requests']} ({r['per_s']}/s), p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
            f"unexpected answers {r['unexpected_answers']}, cut by the kill {r['interrupted_by_kill']}",
            f"acknowledged writes {r['acknowledged_writes']}",
            f"lost acknowledged writes: {r['lost_acknowledged_writes']}",
            f"sandbox CPU: {r['server_cpu_us_per_request']} us per request ({r['server_cpu_core_fraction']} of a core)",
            *(f"lost: {s}" for s in r["lost_samples"]),
            *(f"error sample: {s}" for s in r["error_samples"]),
            f"-> {r['status']}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_load.py", description=__doc__.split("\n", 1)[0])
    p.add_argument("--quick", action="store_true", help="5 s of load (smoke runs)")
    p.add_argument("--duration", type=float, default=None, help="seconds of load (default 20, quick 5)")
    p.add_argument("--clients", type=int, default=CLIENTS)
    p.add_argument("--write-ratio", type=float, default=WRITE_RATIO)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-restart", action="store_true", help="stop cleanly instead of kill -9 before the audit")
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument("--strict", action="store_true", help="exit 1 when a write was lost or an answer unexpected")
    args = p.parse_args(argv)
    duration = args.duration if args.duration is not None else (5.0 if args.quick else 20.0)
    try:
        results = run_load(args.clients, duration, args.seed, args.write_ratio, not args.no_restart, progress=_say)
    except ValueError as exc:
        p.error(str(exc))
    publish(results, args.output, table(results))
    return 1 if args.strict and results["status"] == "FAIL" else 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
