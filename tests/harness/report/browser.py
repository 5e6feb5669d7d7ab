"""Headless Chromium driven over the DevTools protocol (a websocket), for the report's browser test.

No WebDriver in between: Chromium itself is the only moving part, started with flags that keep it off the
network (without them it tries to reach Google's services, and the closed network refuses the connections).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websocket

INSTALL = "install it with: apt-get install -y chromium (Debian; .ci/run does this on a fresh machine)"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--window-size=1400,1000",
    "--remote-debugging-port=0",
]


def require_chromium() -> str:
    """Chromium's path. Without Chromium, a developer's run skips the browser test and says how to install it;
    under CI (``CI=true``) it is required, and its absence fails the test."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Chromium is required under CI=true and is not installed: {INSTALL}", pytrace=False)
        pytest.skip(f"Chromium is not installed (no `chromium` on PATH): {INSTALL}")
    return found


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError(f"Chromium is not installed (no `chromium` on PATH): {INSTALL}")
    return found


class Browser:
    """One headless Chromium with a new empty profile under ``workdir``, one page."""

    def __init__(self, workdir: Path, timeout: float = 30.0) -> None:
        profile = workdir / "chromium-profile"
        profile.mkdir(parents=True)
        self.log = (workdir / "chromium.log").open("wb")
        self.process = subprocess.Popen(
            [chromium_binary(), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.timeout = timeout
        self.events: list[dict[str, Any]] = []
        self._next = 0
        try:
            self.socket = websocket.create_connection(
                self._page_socket(profile / "DevToolsActivePort"), timeout=timeout, suppress_origin=True
            )
        except Exception:
            self.close()
            raise

    def _page_socket(self, port_file: Path) -> str:
        """The page's websocket URL, once Chromium has written the port it listens on."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Chromium exited with {self.process.returncode}; see {self.log.name}")
            if port_file.exists() and port_file.read_text().strip():
                port = port_file.read_text().split()[0]
                targets = httpx.get(f"http://127.0.0.1:{port}/json/list", trust_env=False, timeout=5).json()
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    return str(pages[0]["webSocketDebuggerUrl"])
            time.sleep(0.1)
        raise RuntimeError(f"Chromium did not open its DevTools port within {self.timeout:g} s; see {self.log.name}")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        self.socket.send(json.dumps({"id": self._next, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self._next:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event (every inline image decoded)."""
        self.call("Page.enable")
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not load within {self.timeout:g} s")
            self.events.append(json.loads(self.socket.recv()))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        if getattr(self, "socket", None) is not None:
            self.socket.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
