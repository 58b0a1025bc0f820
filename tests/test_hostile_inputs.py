"""Hostile inputs give one-line errors (no traceback), never run code, and never lose a run.

Each case is what a fuzzing user typed into a cell or left on disk: a `!!python/name` YAML tag, a
NUL byte, 10,000 nested brackets, a garbage history.db or keys.db, a lone surrogate in a prompt.
A UsageError is what IPython prints as one line; the message names the problem and its place.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from llm_magics.errors import ConfigurationError
from llm_magics.history.store import History, default_history
from llm_magics.workflow.spec import parse_spec

GARBAGE = b"this is not a database\x00\xff" * 100


def _one_line_error(ip: Any, cell: str) -> str:
    """Run a cell that must fail with a UsageError; its first line (what IPython shows first)."""
    result = ip.run_cell(cell)
    assert isinstance(result.error_in_exec, UsageError), repr(result.error_in_exec)
    return str(result.error_in_exec).splitlines()[0]


def _spec(body: str) -> str:
    return "name: x\nsteps:\n  - id: a\n    persona: Noor Okafor\n" + body


def test_python_name_tag_is_refused_and_never_resolved(ip: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[str] = []
    monkeypatch.setattr(os, "system", lambda cmd: called.append(cmd) or 0)
    line = _one_line_error(ip, "%%workflow --provider offline\n" + _spec("    prompt: !!python/name:os.system\n"))
    assert line == "Workflow spec, line 5, column 13: the YAML tag !!python/name:os.system is not allowed."
    with pytest.raises(ConfigurationError, match=r"^Workflow spec, line 5, steps.a.prompt: expected text, got a list\.$"):
        parse_spec(_spec("    prompt: !!python/object/apply:os.system ['echo hi']\n"))
    assert called == []


def test_nul_byte_is_reported_with_its_line(ip: Any) -> None:
    line = _one_line_error(ip, "%%workflow --provider offline\n" + _spec("    prompt: hi\x00there\n"))
    assert line == "Workflow spec, line 5: the character U+0000 is not allowed in YAML."


@pytest.mark.parametrize("nested", ["steps: " + "[" * 10_000, "steps: " + "{a: " * 10_000, "steps:\n" + "- " * 10_000 + "x"])
def test_ten_thousand_nested_levels_are_one_line(ip: Any, nested: str) -> None:
    line = _one_line_error(ip, "%%workflow --provider offline\nname: x\n" + nested + "\n")
    assert line == "Workflow spec: the YAML is nested too deeply to read (thousands of [ ] / { } or indentation levels)."


def test_deeply_nested_persona_file_is_one_line() -> None:
    from llm_magics.personas.store import load_file, personas_dir

    folder = personas_dir()
    folder.mkdir(parents=True)
    (folder / "deep.yaml").write_text("name: " + "[" * 10_000 + "\n")
    with pytest.raises(ConfigurationError, match="deep.yaml: invalid YAML at line 1: exceeded maximum nesting depth"):
        load_file(folder / "deep.yaml")


def test_garbage_history_db_is_named_and_left_untouched(ip: Any, isolated_home: Path) -> None:
    path = isolated_home / "history.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(GARBAGE)
    line = _one_line_error(ip, "%llm history")
    assert line == f"The history database {path} is damaged (file is not a database); it was left untouched."
    assert path.read_bytes() == GARBAGE
    assert not Path(f"{path}-wal").exists()


def test_garbage_history_db_does_not_stop_a_discussion(isolated_home: Path) -> None:
    from llm_magics.discussion.api import discuss

    path = isolated_home / "history.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(GARBAGE)
    tr = discuss("Ship on Friday?", "Noor", provider="offline")
    assert tr.status == "done" and tr.messages[0].text
    assert any("History not saved" in n and "damaged" in n for n in tr.notices)
    assert path.read_bytes() == GARBAGE


def test_garbage_keys_db_is_named_and_left_untouched(ip: Any, isolated_home: Path) -> None:
    path = isolated_home / "keys.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(GARBAGE)
    line = _one_line_error(ip, "%llm keys list")
    assert line == f"The key store {path} is damaged (file is not a database); it was left untouched."
    assert path.read_bytes() == GARBAGE


def test_lone_surrogate_in_a_topic_is_replaced_said_and_the_run_is_saved(ip: Any, capsys: Any) -> None:
    result = ip.run_cell("%%discuss --personas Noor --provider offline --out t\nShip \ud800 on Friday?")
    assert result.error_in_exec is None
    tr = ip.user_ns["t"]
    assert tr.status == "done" and tr.topic.strip() == "Ship \ufffd on Friday?"
    note = "The topic contained 1 invalid character (a lone UTF-16 surrogate, first on line 1"
    assert any(n.startswith(note) for n in tr.notices)
    assert note in capsys.readouterr().out
    rec = default_history().get(tr.id)
    assert rec.status == "done" and rec.data["topic"] == tr.topic


def test_lone_surrogates_in_compare_and_workflow_inputs_are_replaced() -> None:
    from llm_magics.comparison.api import compare
    from llm_magics.workflow.api import run_workflow

    comp = compare("Ship \udc80 on Friday?", ["offline:offline-demo"])
    assert comp.status == "done" and comp.prompt == "Ship \ufffd on Friday?"
    assert default_history().get(comp.id).data["prompt"] == "Ship \ufffd on Friday?"
    run = run_workflow(_spec("    prompt: 'Review: {{ input }}'\n"), "line one\nShip \ud83d on Friday?", provider="offline",
                       model="offline-demo")
    assert run.status == "done" and run.inputs["input"] == "line one\nShip \ufffd on Friday?"
    assert default_history().get(run.id).status == "done"


def test_history_stores_a_lone_surrogate_losslessly(tmp_path: Path) -> None:
    hist = History(tmp_path / "h.db")
    hist.save("r1", "discussion", {"topic": "a\ud800b", "note": "café"}, status="done")
    assert hist.get("r1").data == {"topic": "a\ud800b", "note": "café"}


def test_history_db_and_its_wal_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: SQLite alone would create 0644 files
    try:
        path = tmp_path / "h.db"
        hist = History(path)
        hist.save("r1", "discussion", {"text": "a prompt and its answer"}, status="running")
        reader = sqlite3.connect(path)  # held open, so the WAL and SHM files stay on disk
        reader.execute("SELECT COUNT(*) FROM runs").fetchone()
        hist.save("r1", "discussion", {"text": "more"}, status="done")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))}
        reader.close()
    finally:
        os.umask(old)
    assert modes == {"h.db": 0o600, "h.db-wal": 0o600, "h.db-shm": 0o600}


def test_an_old_world_readable_history_db_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL DEFAULT '', "
                 "status TEXT NOT NULL DEFAULT 'running', provider TEXT, model TEXT, created_at REAL NOT NULL, "
                 "updated_at REAL NOT NULL, data TEXT NOT NULL DEFAULT '{}')")  # the schema before `owner`
    conn.execute("INSERT INTO runs VALUES ('r0', 'discussion', 'old', 'done', NULL, NULL, 1, 1, ?)", (json.dumps({"a": 1}),))
    conn.commit()
    conn.close()
    os.chmod(path, 0o644)
    hist = History(path)
    assert [(r.id, r.status, r.data) for r in hist.list()] == [("r0", "done", {"a": 1})]  # old rows still read
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_eval_call_rows_share_the_private_file(tmp_path: Path) -> None:
    from llm_magics.history.calls import CallLog

    old = os.umask(0o022)
    try:
        log = CallLog(tmp_path / "h.db")
        log.write("r1", [("offline:offline-demo", 0, 0, {"text": "x"})])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "h.db").stat().st_mode) == 0o600
