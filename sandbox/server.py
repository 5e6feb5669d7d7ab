"""The sandbox process: every emulated service on its own 127.0.0.1 port, in one event loop.

Run as ``python -m sandbox.server``; it writes a JSON state file (URLs, credentials, pid)
once every port is listening, and stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox import composio, model, rovo
from sandbox.admin import AdminAPI
from sandbox.bitbucket.app import create_app
from sandbox.bitbucket.webhooks import WebhookDispatcher
from sandbox.bitbucket.world import Settings, World
from sandbox.faults import FaultInjector, FaultPlan
from sandbox.fixtures import Fixture, default_fixture, load_fixture
from sandbox.http_protocol import CoalescingHttpToolsProtocol
from sandbox.service import Service, ServiceContext

HOST = "127.0.0.1"
# Each service on its own origin: the Composio SDK only sends its key to the origin it was given, and the
# admin API must never share an origin with anything a client under test talks to.
SERVICE_FACTORIES: dict[str, Callable[[ServiceContext], Service]] = {
    "composio": composio.create_service,
    "rovo": rovo.create_service,
    "model": model.create_service,
}
SERVERS = ("bitbucket", "admin", *SERVICE_FACTORIES)
FIXTURE_LOADERS = (composio.load_fixture, rovo.load_fixture, model.load_fixture)


class PortRouter:
    """One ASGI app for all listening sockets: the local port picks the service."""

    def __init__(self, apps: dict[int, ASGIApp], lifespan: contextlib.AbstractAsyncContextManager[None]) -> None:
        self.apps = apps
        self.lifespan = lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        port = (scope.get("server") or ("", 0))[1]
        await self.apps[port](scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        async with self.lifespan:
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        await send({"type": "lifespan.shutdown.complete"})


class SandboxServer:
    """The live sandbox: its world, services, sockets and published facts."""

    def __init__(
        self, fixture: Fixture, data_dir: Path | None, frozen_at: datetime | None, ports: dict[str, int], admin_key: str
    ) -> None:
        self.fixture = fixture
        self.local_model: dict[str, str] | None = None  # name and base_url of the optional local model
        self.world = World.create(data_dir, frozen_at)
        self.faults = FaultPlan()
        self.webhooks = WebhookDispatcher(self.world)
        self.world.on_events = self.webhooks
        self.world.fixture_loaders.extend(FIXTURE_LOADERS)
        if self.world.store.is_empty():
            self.world.load(fixture)
        else:  # a data directory from an earlier run: keep its state
            self.world.rebuild_credentials()
        self.bitbucket_app, self.bitbucket = create_app(self.world)
        self.admin = AdminAPI(self, admin_key)
        self.sockets = {name: _bind(ports.get(name, 0)) for name in SERVERS}
        self.ports = {name: s.getsockname()[1] for name, s in self.sockets.items()}
        self.world.public_base = self.base("bitbucket")
        self.services: dict[str, Service] = {
            name: factory(
                ServiceContext(
                    self.world, self.bitbucket, f"{self.base('bitbucket')}/2.0", self.base(name), self.faults
                )
            )
            for name, factory in SERVICE_FACTORIES.items()
        }
        for service in self.services.values():
            self.admin.extra_routes.extend(service.admin_routes())

    def base(self, name: str) -> str:
        return f"http://{HOST}:{self.ports[name]}"

    def urls(self) -> dict[str, str]:
        bb = self.base("bitbucket")
        urls = {
            "bitbucket_api": f"{bb}/2.0",
            "bitbucket_oauth_token": f"{bb}/site/oauth2/access_token",
            "admin": self.base("admin"),
        }
        for service in self.services.values():
            urls.update(service.urls())
        return urls

    def credentials(self) -> dict[str, Any]:
        summary = credentials_summary(self.world)
        for service in self.services.values():
            summary.update(service.credentials())
        return summary

    def info(self) -> dict[str, Any]:
        credentials = self.credentials()
        if self.local_model:  # a real model served beside the sandbox (OpenAI-compatible, no key)
            credentials["model"] = {**credentials.get("model", {}), "local": self.local_model}
        return {
            "pid": os.getpid(),
            "urls": self.urls(),
            "ports": self.ports,
            "admin_key": self.admin.key,
            "credentials": credentials,
        }

    async def reset(self, fixture: Fixture | None) -> None:
        await self.webhooks.drain()
        self.faults.clear()
        self.bitbucket.limiter.reset()
        self.bitbucket.access_log.entries.clear()
        self.world.settings = Settings()
        for service in self.services.values():
            await service.reset()
        self.world.reset()
        self.world.load(fixture or self.fixture)

    def asgi(self) -> PortRouter:
        apps: dict[int, ASGIApp] = {
            self.ports["bitbucket"]: FaultInjector(self.bitbucket_app, self.faults, "bitbucket"),
            self.ports["admin"]: self.admin.build(),
        }
        for name, service in self.services.items():
            apps[self.ports[name]] = FaultInjector(service.asgi(), self.faults, name)
        return PortRouter(apps, self._lifespan())

    @contextlib.asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for service in self.services.values():
                await stack.enter_async_context(service.lifespan())
            yield
            await self.webhooks.drain()


def credentials_summary(world: World) -> dict[str, Any]:
    """The fixture credentials, for the printed state (all sandbox values are fake)."""
    users = {u["username"]: u for u in world.store.all("user")}
    return {
        "workspaces": [
            {"slug": w["slug"], "linked_to_org": bool(w.get("linked_to_org"))} for w in world.store.all("workspace")
        ],
        "api_tokens": [
            {
                "label": t["label"],
                "user": t["user"],
                "email": users[t["user"]]["email"],
                "token": t["token"],
                "scoped": t["scoped"],
                "scopes": t["scopes"],
            }
            for t in world.store.all("api_token")
            if t["user"] in users
        ],
        "app_passwords": [
            {"label": a["label"], "username": a["user"], "password": a["password"], "scopes": a["scopes"]}
            for a in world.store.all("app_password")
        ],
        "oauth_consumers": [
            {
                "name": c["name"],
                "key": c["key"],
                "secret": c["secret"],
                "workspace": c["workspace"],
                "scopes": c["scopes"],
            }
            for c in world.store.all("oauth_consumer")
        ],
        "access_tokens": [
            {
                "name": t["name"],
                "token": t["token"],
                "workspace": t["workspace"],
                "repository": t["repository"],
                "scopes": t["scopes"],
            }
            for t in world.store.all("access_token")
        ],
        "service_accounts": [
            {"name": s["name"], "email": s["email"], "key": s["key"], "scopes": s["scopes"]}
            for s in world.store.all("service_account")
        ],
    }


def _bind(port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: the event loop only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it Nagle holds a response's body behind its headers until the client's delayed ACK (~40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets on Linux
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        raise SystemExit(f"cannot listen on {HOST}:{port}: {exc.strerror}") from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn re-raises a caught SIGTERM after shutting down; a stopped sandbox should exit 0 instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self) -> None:
        self.should_exit = True


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop when installed (it is in the lock file): a cheaper event loop and transports than asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def run(sb: SandboxServer, state_file: Path | None, announce: bool, parent_pid: int | None = None) -> None:
    """Serve until stopped (or, given ``parent_pid``, until that process is gone), on the fastest event loop."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(serve(sb, state_file, announce, parent_pid))


async def stop_when_orphaned(server: _Server, parent_pid: int, every_s: float = 0.5) -> None:
    """Stop once the process that started this sandbox (or another it was told to outlive no longer than) is
    gone: a harness killed without a chance to clean up must not leave its sandbox running. The parent's going is
    seen as this process being re-parented; another process's, as its pid no longer answering."""
    started_by_it = os.getppid() == parent_pid
    while os.getppid() == parent_pid if started_by_it else _alive(parent_pid):
        await asyncio.sleep(every_s)
    server.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


async def serve(sb: SandboxServer, state_file: Path | None, announce: bool, parent_pid: int | None = None) -> None:
    # ``loop`` only matters to uvicorn.run(); here the caller's loop is used (see run()).
    config = uvicorn.Config(
        sb.asgi(),
        loop="auto",
        http=CoalescingHttpToolsProtocol,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=3,
        # Hosted APIs keep idle connections for a minute or more; uvicorn's 5 s default made a client that reused
        # one on a busy machine race its closing ("Server disconnected without sending a response").
        timeout_keep_alive=75,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stop)
    task = asyncio.create_task(server.serve(sockets=list(sb.sockets.values())))
    watch = asyncio.create_task(stop_when_orphaned(server, parent_pid)) if parent_pid else None
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        info = sb.info()
        if state_file:
            write_private(state_file, json.dumps(info, indent=2))
        if announce:
            print(json.dumps(info, indent=2), flush=True)
    await task
    if watch is not None:
        watch.cancel()
    if state_file:
        state_file.unlink(missing_ok=True)


def write_private(path: Path, text: str) -> None:
    """Write ``path`` readable by its owner only (0600; a new directory 0700): it holds the admin key and the
    fixture credentials. Written under a temporary name and renamed, so a reader never sees half a file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)  # a leftover may carry wider permissions; O_EXCL below refuses to reuse it
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sandbox.server")
    p.add_argument("--fixture", type=Path, help="fixture YAML (default: the built-in world)")
    p.add_argument("--data-dir", type=Path, help="keep state here across restarts (default: in memory)")
    p.add_argument("--state-file", type=Path, help="write URLs, credentials and pid here when ready")
    p.add_argument("--frozen-at", help="a deterministic clock starting at this ISO timestamp")
    p.add_argument("--admin-key", default=None, help="the admin API key (default: random)")
    p.add_argument("--quiet", action="store_true", help="do not print the state to stdout")
    p.add_argument("--parent-pid", type=int, help="stop when this process (the one that started it) is gone")
    p.add_argument("--local-model", help="also serve this local model with llama-server (sandbox.model.local)")
    for name in SERVERS:
        p.add_argument(f"--{name}-port", type=int, default=0, help=f"port for {name} (default: a free port)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        fixture = load_fixture(args.fixture) if args.fixture else default_fixture()
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    frozen = datetime.fromisoformat(args.frozen_at) if args.frozen_at else None
    ports = {name: getattr(args, f"{name}_port") for name in SERVERS}
    sb = SandboxServer(fixture, args.data_dir, frozen, ports, args.admin_key or secrets.token_urlsafe(16))
    local = start_local_model(args.local_model, args.state_file) if args.local_model else None
    if local is not None:
        sb.local_model = {"name": local.name, "base_url": local.base_url}
    try:
        run(sb, args.state_file, announce=not args.quiet, parent_pid=args.parent_pid)
    finally:
        if local is not None:
            local.stop()


def start_local_model(name: str, state_file: Path | None) -> Any:
    """The optional embedded real model (``sandbox.model.local``), before the sandbox announces itself."""
    from sandbox.model import local

    log = state_file.with_name("local-model.log") if state_file else None
    try:
        with socket.socket() as probe:  # a free port for llama-server (it binds it itself)
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        return local.start(name, port, log=log)
    except local.LocalModelError as exc:
        raise SystemExit(f"local model: {exc}") from None


if __name__ == "__main__":
    main(sys.argv[1:])
