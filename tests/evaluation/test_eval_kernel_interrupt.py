"""A real kernel interrupt during `%%eval` stops "Run All" and keeps every finished call.

As tests/test_kernel_interrupt.py does for %%discuss, %%compare and %%workflow (and with its
helpers): a real kernel runs an eval on the offline provider, slowed so each call takes ~2 s,
with three cells queued behind it. Once the eval's progress bar shows finished calls, the ■
button (SIGINT). The kernel must reply "error" to the eval cell and "aborted" to the three queued
cells (none runs), `--out` must hold the interrupted EvalResult, and the history must hold the
same run, marked interrupted, with exactly those calls stored.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

from tests.test_kernel_interrupt import _drain_iopub, _reply, _run  # noqa: E402 - after the importorskip

CELL = "%%eval offline:kimi-k2.6 --data arithmetic --scorer number --concurrency 1 --out t\n{{ question }}"
_DONE = re.compile(r"^(\d+)/(\d+)")


def _wait_done(kc: Any, calls: int, timeout: float = 60) -> None:
    """Block until the eval's progress label (a widget update) shows at least `calls` finished."""
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["msg_type"] == "comm_msg":
            value = msg["content"].get("data", {}).get("state", {}).get("value")
            m = _DONE.match(value) if isinstance(value, str) else None
            if m and int(m.group(1)) >= calls:
                return


@pytest.mark.slow
def test_interrupted_eval_aborts_queued_cells_and_keeps_the_partial_result(tmp_path: Path) -> None:
    home = tmp_path / "home"
    km = jupyter_client.KernelManager(kernel_name="python3")
    env = {
        "LLM_MAGICS_HOME": str(home),
        "LLM_MAGICS_OFFLINE_DELAY": "0.2",  # 12 chunks × 0.2 s: each call takes ~2.4 s, 45 calls ~2 min
        "LLM_MAGICS_NO_KEYRING": "1",
        "LLM_MAGICS_PROVIDER": "offline",
    }
    km.start_kernel(env={**{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}, **env})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply, _ = _run(kc, "%load_ext llm_magics\nqueued = []")
        assert reply["content"]["status"] == "ok"

        msg_id = kc.execute(CELL)
        queued = [kc.execute(f"queued.append({i})") for i in range(3)]  # "Run All" sent these too
        _wait_done(kc, 2)
        km.interrupt_kernel()  # the ■ button
        streams, errors = _drain_iopub(kc, msg_id, timeout=30)
        reply = _reply(kc, msg_id, timeout=30)
        assert reply["content"]["status"] == "error"  # interrupted, like a plain cell
        assert any("Interrupted: the partial result is kept" in s and "`t`" in s for s in streams), streams
        # One line, no traceback through llm-magics' frames.
        assert [e["traceback"] for e in errors] == [[errors[0]["traceback"][0]]], errors
        assert errors[0]["traceback"][0].startswith("KeyboardInterrupt: run r"), errors
        for q in queued:
            assert _reply(kc, q, timeout=30)["content"]["status"] == "aborted"

        check = ("import json; print(json.dumps({'id': t.id, 'status': t.status, 'type': type(t).__name__, "
                 "'calls': sorted([list(k) for k in t.calls]), 'planned': t.planned, 'queued': queued}))")
        reply, out = _run(kc, check)
        assert reply["content"]["status"] == "ok", out
        got = json.loads(out)
        assert got["queued"] == []  # no queued cell ran
        assert got["type"] == "EvalResult" and got["status"] == "interrupted"
        assert 2 <= len(got["calls"]) < got["planned"] == 45, got

        reply, _ = _run(kc, "1 + 1")  # the kernel is still usable
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    conn = sqlite3.connect(home / "history.db")
    status, kind = conn.execute("SELECT status, kind FROM runs WHERE id = ?", (got["id"],)).fetchone()
    assert (status, kind) == ("interrupted", "eval")
    stored = conn.execute("SELECT target, item, rep FROM eval_calls WHERE run_id = ? ORDER BY target, item, rep",
                          (got["id"],)).fetchall()
    assert [list(row) for row in stored] == got["calls"]  # the history holds exactly the partial result
