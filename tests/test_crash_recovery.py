"""A process killed mid-run (SIGKILL, OOM, kernel death) loses little and leaves a "crashed" run.

Streamed text is checkpointed to the history while it streams (every 2 s or 2 KB per run, by the
history's writer thread), and a run still "running" whose writer process is gone reads back as
"crashed" — with its partial turns, and resumable like a failed run (workflows).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from llm_magics.history.store import History, default_history
from llm_magics.keys.resolve import get_provider
from llm_magics.workflow.api import run_workflow

MODEL = "kimi-k2-0905-preview"
LONG = " ".join(f"word{i}" for i in range(1000))  # 1,000 chunks, ~8.9 KB
ROOT = Path(__file__).resolve().parents[1]

DISCUSS = """
import sys
from llm_magics import discuss
from llm_magics.keys.resolve import get_provider
p = get_provider("kimi", api_key="sk-test-0000000000001234", base_url=sys.argv[1])
discuss("Ship on Friday?", "Noor, Sasha, Avery", mode="parallel", provider=p, model="%s")
""" % MODEL

SPEC = textwrap.dedent(
    """\
    name: two-steps
    steps:
      - id: draft
        persona: Noor Okafor
        prompt: "Draft: {{ input }}"
      - id: polish
        persona: Sasha Lindqvist
        prompt: "Polish: {{ steps.draft.output }}"
    """
)

WORKFLOW = """
import sys
from llm_magics import run_workflow
from llm_magics.keys.resolve import get_provider
p = get_provider("kimi", api_key="sk-test-0000000000001234", base_url=sys.argv[1])
run_workflow(sys.argv[2], "Ship on Friday?", provider=p, model="%s")
""" % MODEL


def _slow(server: Any) -> None:
    server.responder = lambda req: LONG
    server.pacing[MODEL] = (0.0, 0.02)  # 1,000 chunks ≈ 20 s: the kill comes long before the end


def _start(script: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # LLM_MAGICS_HOME: the test's isolated home
    return subprocess.Popen([sys.executable, "-c", script, *args], env=env, cwd=ROOT)


def _wait_stored(proc: subprocess.Popen[bytes], texts_of: Any, n: int, timeout: float = 60) -> tuple[str, list[str]]:
    """Poll the history file until its newest run has `n` non-empty partial texts (a checkpoint landed)."""
    path = default_history().path
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it was killed"
        if path.exists():
            runs = History(path).list(1)
            if runs:
                texts = texts_of(runs[0].data)
                if len(texts) >= n and all(texts[:n]):
                    assert runs[0].status == "running"  # its writer is alive
                    return runs[0].id, texts
        time.sleep(0.05)
    raise AssertionError("no checkpoint reached the history")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)  # no atexit, no finally: like an OOM kill
    proc.wait(timeout=30)


def test_sigkill_during_parallel_discussion_keeps_streamed_text_and_shows_crashed(fake_server: Any, ip: Any, capsys: Any) -> None:
    _slow(fake_server)
    proc = _start(DISCUSS, fake_server.base_url)
    try:
        run_id, seen = _wait_stored(proc, lambda d: [m["text"] for m in d.get("messages", [])], 3)
    finally:
        _kill(proc)

    rec = default_history().get(run_id)
    assert rec.status == "crashed" and rec.data["status"] == "crashed"
    texts = [m["text"] for m in rec.data["messages"]]
    assert len(texts) == 3
    for before, after in zip(seen, texts):
        # each persona's text up to the last checkpoint: what we saw, or more, and never the whole answer
        assert after.startswith(before) and LONG.startswith(after) and 0 < len(after) < len(LONG)

    capsys.readouterr()
    ip.run_line_magic("llm", "history")
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if run_id in line)
    assert "crashed" in row and "running" not in row
    ip.run_line_magic("llm", f"history show {run_id}")
    shown = capsys.readouterr().out
    assert "Status: crashed" in shown and texts[0].strip() in shown


def test_crashed_workflow_resumes_like_a_failed_one(fake_server: Any, tmp_path: Path) -> None:
    _slow(fake_server)
    spec = tmp_path / "two-steps.yaml"
    spec.write_text(SPEC)
    proc = _start(WORKFLOW, fake_server.base_url, str(spec))
    try:
        run_id, _ = _wait_stored(proc, lambda d: [s["output"] for s in d.get("steps", [])], 1)
    finally:
        _kill(proc)

    rec = default_history().get(run_id)
    assert rec.status == "crashed"
    steps = {s["id"]: s for s in rec.data["steps"]}
    assert steps["draft"]["status"] == "running" and LONG.startswith(steps["draft"]["output"])
    assert steps["polish"]["status"] == "pending"

    fake_server.responder = lambda req: "short answer"
    fake_server.pacing.pop(MODEL)
    before = len(fake_server.requests)
    kimi = get_provider("kimi", api_key="sk-test-0000000000001234", base_url=fake_server.base_url)
    run = run_workflow(resume=run_id, provider=kimi, model=MODEL)
    assert run.status == "done" and [s.status for s in run] == ["done", "done"]
    assert run["draft"].output == "short answer" and run["draft"].attempts == 2
    assert len([r for r in fake_server.requests[before:] if "chat/completions" in r.path]) == 2
    assert default_history().get(run_id).status == "done"


def test_a_run_whose_writer_lives_is_running_and_other_hosts_are_not_guessed(tmp_path: Path) -> None:
    import sqlite3

    from llm_magics.history.files import owner_token

    hist = History(tmp_path / "h.db")
    hist.save("r1", "discussion", {"status": "running"}, status="running")
    assert hist.get("r1").status == "running"  # this process wrote it and lives

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_pid = int(done.stdout)
    host = owner_token().rsplit(":", 2)[0]
    conn = sqlite3.connect(hist.path)
    with conn:
        conn.execute("UPDATE runs SET owner = ? WHERE id = 'r1'", (f"{host}:{dead_pid}:",))
    assert hist.get("r1").status == "crashed"
    assert [r.status for r in hist.list()] == ["crashed"]
    with conn:  # a pid now used by another process (start time differs): still crashed
        conn.execute("UPDATE runs SET owner = ? WHERE id = 'r1'", (f"{host}:{os.getpid()}:1",))
    if owner_token().rsplit(":", 1)[1]:  # start times are known here (Linux /proc)
        assert hist.get("r1").status == "crashed"
    with conn:  # another machine sharing the folder: it cannot be checked, so it is not called crashed
        conn.execute("UPDATE runs SET owner = ? WHERE id = 'r1'", (f"elsewhere.example:{dead_pid}:",))
    assert hist.get("r1").status == "running"
    conn.close()
    stored = json.loads(sqlite3.connect(hist.path).execute("SELECT data FROM runs").fetchone()[0])
    assert stored == {"status": "running"}  # reading never rewrites the row


def test_finished_runs_carry_no_owner(tmp_path: Path) -> None:
    hist = History(tmp_path / "h.db")
    hist.save("r1", "discussion", {}, status="running")
    hist.save("r1", "discussion", {}, status="done")
    import sqlite3

    assert sqlite3.connect(hist.path).execute("SELECT status, owner FROM runs").fetchone() == ("done", None)


def test_owner_token_names_this_process() -> None:
    from llm_magics.history.files import owner_alive, owner_token

    token = owner_token()
    assert token.rsplit(":", 2)[1] == str(os.getpid())
    assert owner_alive(token) is True
