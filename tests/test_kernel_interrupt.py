"""A real kernel interrupt during `%%discuss`: every stream stops, the partial transcript is kept.

This is the path a researcher takes with the ■ button: SIGINT reaches the kernel's main thread
while it waits in `run_sync`, the private loop cancels the discussion, and the magic stores what
was said so far (marked interrupted) in `--out` and in the history DB.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")


def _drain(kc: Any, msg_id: str, timeout: float) -> tuple[dict[str, Any], list[str]]:
    """Wait for the execute_reply of msg_id; return it and the stream texts printed meanwhile."""
    streams: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            streams.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
    return reply, streams


def _run(kc: Any, code: str, timeout: float = 60) -> tuple[dict[str, Any], list[str]]:
    return _drain(kc, kc.execute(code), timeout)


@pytest.mark.slow
def test_interrupt_keeps_partial_transcript(tmp_path: Path) -> None:
    home = tmp_path / "home"
    km = jupyter_client.KernelManager(kernel_name="python3")
    env = {
        "LLM_MAGICS_HOME": str(home),
        "LLM_MAGICS_OFFLINE_DELAY": "0.2",  # ~50 chunks × 0.2 s: each answer takes ~10 s
        "LLM_MAGICS_NO_KEYRING": "1",
    }
    km.start_kernel(env={**{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}, **env})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply, _ = _run(kc, "%load_ext llm_magics")
        assert reply["content"]["status"] == "ok"

        msg_id = kc.execute('%%discuss --personas "Noor, Sasha" --mode parallel --out t\nShip on Friday?')
        # Let both streams get going, then press ■ (SIGINT to the kernel process).
        time.sleep(2.0)
        km.interrupt_kernel()
        reply, streams = _drain(kc, msg_id, timeout=30)
        assert reply["content"]["status"] == "ok"  # the magic handled it: no traceback
        assert any("Interrupted" in s and "`t`" in s for s in streams), streams

        check = (
            "import json; print(json.dumps({'id': t.id, "
            "'statuses': [m.status for m in t.messages], "
            "'lengths': [len(m.text) for m in t.messages]}))"
        )
        reply, streams = _run(kc, check)
        assert reply["content"]["status"] == "ok", streams
        got = json.loads("".join(streams))
        assert got["statuses"] and set(got["statuses"]) <= {"interrupted", "done"}
        assert set(got["statuses"]) == {"interrupted"}  # nobody could have finished in 2 s
        assert all(n > 0 for n in got["lengths"])  # each persona's partial text was kept

        # The kernel is still usable, and the history DB holds the interrupted run.
        reply, _ = _run(kc, "1 + 1")
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    conn = sqlite3.connect(home / "history.db")
    status, data = conn.execute("SELECT status, data FROM runs WHERE id = ?", (got["id"],)).fetchone()
    assert status == "interrupted"
    texts = [m["text"] for m in json.loads(data)["messages"]]
    assert texts and all(texts)
