"""Start real LLM servers (LiteLLM proxy, llama.cpp's llama-server) on 127.0.0.1 for the interop tests.

Each runs as a subprocess; a reader thread copies its output to a log file and flags the line
that says it is ready, so starting waits for that line (never a sleep), up to a limit. Where the
programs come from (installed by `.ci/interop_venv.sh` / `.ci/interop.sh`, never by the tests):

    LLM_MAGICS_LITELLM        the `litellm` executable   (default: .venv-interop/bin/litellm)
    LLM_MAGICS_LLAMA_SERVER   the `llama-server` binary  (default: .interop-cache/llama.cpp/build/bin/llama-server)
    LLM_MAGICS_INTEROP_PYTHON a Python with `gguf` + `numpy` for the tiny model (default: .venv-interop/bin/python)

A missing program skips its tests with the command that provides it — unless
LLM_MAGICS_INTEROP_REQUIRED names it ("litellm", "llama-server", comma-separated), as `.ci/test.sh`
does for LiteLLM: then a missing program is a failure, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

__all__ = ["ROOT", "Server", "free_port", "program", "start"]

ROOT = Path(__file__).resolve().parents[2]
_DEFAULTS = {
    "litellm": ("LLM_MAGICS_LITELLM", ROOT / ".venv-interop" / "bin" / "litellm", "bash .ci/interop_venv.sh"),
    "llama-server": ("LLM_MAGICS_LLAMA_SERVER", ROOT / ".interop-cache" / "llama.cpp" / "build" / "bin" / "llama-server",
                     "bash .ci/interop.sh"),
    "python": ("LLM_MAGICS_INTEROP_PYTHON", ROOT / ".venv-interop" / "bin" / "python", "bash .ci/interop_venv.sh"),
}


def program(name: str) -> Path:
    """The path of `name` ("litellm", "llama-server", "python"), or skip (fail when required)."""
    env, default, how = _DEFAULTS[name]
    path = Path(os.environ.get(env) or default)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    required = {p.strip() for p in os.environ.get("LLM_MAGICS_INTEROP_REQUIRED", "").split(",")}
    message = f"{name} not found at {path} (set {env}, or run `{how}`)"
    if name in required or (name == "python" and required & {"litellm", "llama-server"}):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running server process; `stop()` ends it (and only it)."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path, port: int) -> None:
        self.proc = proc
        self.log = log
        self.port = port
        self.root_url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root_url}/v1"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def start(argv: Sequence[str], *, ready: str, log: Path, port: int, env: dict[str, str] | None = None,
          limit_s: float = 240.0) -> Server:
    """Start `argv`; return once a line of its output contains `ready` (fail after `limit_s`)."""
    proc = subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})}, cwd=str(log.parent),
    )
    up = threading.Event()
    seen: list[bool] = []

    def pump() -> None:
        assert proc.stdout is not None
        with log.open("wb") as f:
            for line in iter(proc.stdout.readline, b""):
                f.write(line)
                f.flush()
                if not seen and ready.encode() in line:
                    seen.append(True)
                    up.set()
        up.set()  # the output ended (the process exited): stop waiting

    threading.Thread(target=pump, name=f"log:{Path(argv[0]).name}", daemon=True).start()
    server = Server(proc, log, port)
    if not up.wait(limit_s) or not seen:
        server.stop()
        pytest.fail(f"{argv[0]} did not start within {limit_s:g} s (exit {proc.poll()}); log:\n{server.tail()}")
    return server


def python_for_gguf() -> str:
    """A Python that has `gguf` (the interop venv), for writing the tiny model."""
    path = program("python")
    check = subprocess.run([str(path), "-c", "import gguf, numpy"], capture_output=True)
    if check.returncode != 0:
        pytest.skip(f"{path} has no gguf/numpy (run `bash .ci/interop.sh`)")
    return str(path) if path else sys.executable
