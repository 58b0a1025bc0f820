"""A real kernel interrupt during a magic stops "Run All" and keeps the partial result.

This is the path a researcher takes with the ■ button: SIGINT reaches the kernel's main thread
while it waits in `run_sync`, the private loop cancels the run, the magic stores what was said so
far (marked interrupted) in `--out` and in the history DB, prints one note and re-raises
KeyboardInterrupt. The kernel therefore replies "error" and Jupyter aborts the cells queued
behind it — as it does for an interrupted plain Python cell — instead of sending more requests.
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

#: Every offline answer starts with this label, so it marks streamed text in a widget update.
LABEL = "offline demo: generated locally"

WORKFLOW = """\
%%workflow --out t
name: two-views
input: Ship on Friday?
steps:
  - id: risks
    persona: Noor Okafor
    prompt: "List the risks of: {{ input }}"
  - id: upside
    persona: Sasha Lindqvist
    prompt: "List the benefits of: {{ input }}"
"""

#: magic cell, number of panes that stream at once, Python expression giving the partial texts
CASES = {
    "discuss": ('%%discuss --personas "Noor, Sasha" --mode parallel --out t\nShip on Friday?', 2,
                "[m.text for m in t.messages]", "[m.status for m in t.messages]", "messages", "text"),
    "compare": ("%%compare offline:offline-demo offline:kimi-k2-0905-preview --out t\nShip on Friday?", 2,
                "[r.attempts[0].text for r in t.rows]", "[r.status for r in t.rows]", "rows", None),
    "workflow": (WORKFLOW, 2, "[s.output for s in t]", "[s.status for s in t]", "steps", "output"),
}


def _reply(kc: Any, msg_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def _run(kc: Any, code: str, timeout: float = 60) -> tuple[dict[str, Any], str]:
    """Execute and wait; returns the reply and everything printed to stdout."""
    msg_id = kc.execute(code)
    reply = _reply(kc, msg_id, timeout)
    out: list[str] = []
    while True:  # the reply is sent after the last output: drain what is already there
        try:
            msg = kc.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            break
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
    return reply, "".join(out)


def _wait_streaming(kc: Any, panes: int, timeout: float = 30) -> None:
    """Block until `panes` different widgets show streamed text (the output, not the cell)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < panes:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["msg_type"] == "comm_msg":
            value = msg["content"].get("data", {}).get("state", {}).get("value")
            if isinstance(value, str) and LABEL in value:
                seen.add(msg["content"]["comm_id"])


def _drain_iopub(kc: Any, msg_id: str, timeout: float) -> tuple[list[str], list[dict[str, Any]]]:
    """Stream texts and error contents of msg_id until its kernel goes idle."""
    streams: list[str] = []
    errors: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            streams.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            errors.append(msg["content"])
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return streams, errors


@pytest.mark.slow
def test_interrupt_aborts_queued_cells_and_keeps_partial_result(tmp_path: Path) -> None:
    home = tmp_path / "home"
    km = jupyter_client.KernelManager(kernel_name="python3")
    env = {
        "LLM_MAGICS_HOME": str(home),
        "LLM_MAGICS_OFFLINE_DELAY": "0.2",  # ~50 chunks × 0.2 s: each answer takes ~10 s
        "LLM_MAGICS_NO_KEYRING": "1",
        "LLM_MAGICS_PROVIDER": "offline",
    }
    km.start_kernel(env={**{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}, **env})
    kc = km.client()
    kc.start_channels()
    got: dict[str, dict[str, Any]] = {}
    try:
        kc.wait_for_ready(timeout=60)
        reply, _ = _run(kc, "%load_ext llm_magics\nqueued = []")
        assert reply["content"]["status"] == "ok"

        for name, (cell, panes, texts, statuses, _, _) in CASES.items():
            msg_id = kc.execute(cell)
            queued = [kc.execute(f"queued.append({i})") for i in range(3)]  # "Run All" sent these too
            _wait_streaming(kc, panes)
            km.interrupt_kernel()  # the ■ button
            streams, errors = _drain_iopub(kc, msg_id, timeout=30)
            reply = _reply(kc, msg_id, timeout=30)
            assert reply["content"]["status"] == "error", name  # interrupted, like a plain cell
            assert any("Interrupted: the partial result is kept" in s and "`t`" in s for s in streams), (name, streams)
            # One line, no traceback through llm-magics' frames.
            assert [e["traceback"] for e in errors] == [[errors[0]["traceback"][0]]], errors
            assert errors[0]["traceback"][0].startswith("KeyboardInterrupt: run r"), errors
            for q in queued:
                assert _reply(kc, q, timeout=30)["content"]["status"] == "aborted", name

            check = f"import json; print(json.dumps({{'id': t.id, 'texts': {texts}, 'statuses': {statuses}, 'queued': queued}}))"
            reply, out = _run(kc, check)
            assert reply["content"]["status"] == "ok", out
            got[name] = json.loads(out)
            assert got[name]["queued"] == []  # no queued cell ran
            assert "interrupted" in got[name]["statuses"], got[name]
            assert sum(1 for t in got[name]["texts"] if LABEL in t) >= panes - 1, got[name]

        reply, _ = _run(kc, "1 + 1")  # the kernel is still usable
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    conn = sqlite3.connect(home / "history.db")
    for name, (_, _, _, _, items, field) in CASES.items():
        status, data = conn.execute("SELECT status, data FROM runs WHERE id = ?", (got[name]["id"],)).fetchone()
        assert status == "interrupted", name
        stored = json.loads(data)[items]
        if field is None:  # compare rows: the first attempt's text
            stored_texts = [r["attempts"][0]["text"] if r["attempts"] else "" for r in stored]
        else:
            stored_texts = [m[field] for m in stored]
        assert stored_texts == got[name]["texts"], name  # the history holds exactly the partial result
