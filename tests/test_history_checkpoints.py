"""Streamed text reaches the history while it streams: at least every 2 KB (and every 2 s).

The byte rule is checked end to end (real HTTP to the fake server, every snapshot the run hands
to the history's writer recorded); the time rule with a fake clock and with the loop's timer.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from typing import Any

import pytest

from llm_magics.comparison.api import compare
from llm_magics.discussion.api import discuss
from llm_magics.history.store import History, default_history
from llm_magics.history.writer import CHECKPOINT_BYTES, Checkpointer, RunWriter, Snapshot
from llm_magics.keys.resolve import get_provider
from llm_magics.workflow.api import run_workflow

MODEL = "kimi-k2-0905-preview"
LONG = " ".join(f"word{i}" for i in range(1000))  # 8,889 characters in chunks of at most 8

SPEC = textwrap.dedent(
    """\
    name: one-step
    steps:
      - id: draft
        persona: Noor Okafor
        prompt: "Draft: {{ input }}"
    """
)


def _in_flight(kind: str, data: dict[str, Any]) -> str | None:
    """The partial text of a snapshot taken while the answer was still streaming, else None."""
    if kind == "discussion":
        turn = data["messages"][0] if data["messages"] else None
        return turn["text"] if turn and turn["status"] == "streaming" else None
    if kind == "workflow":
        step = data["steps"][0]
        return step["output"] if step["status"] == "running" else None
    attempts = data["rows"][0]["attempts"]
    a = attempts[0] if attempts else None
    return a["text"] if a and a["error_type"] == "Interrupted" and data["status"] == "running" else None


RUNS = {
    "discussion": lambda prov: discuss("Ship on Friday?", "Noor", provider=prov, model=MODEL),
    "workflow": lambda prov: run_workflow(SPEC, "Ship on Friday?", provider=prov, model=MODEL),
    "compare": lambda prov: compare("Ship on Friday?", [(prov, MODEL)]),
}


@pytest.mark.parametrize("kind", list(RUNS))
def test_streamed_text_is_checkpointed_every_2_kb(kind: str, fake_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_server.responder = lambda req: LONG
    fake_server.pacing[MODEL] = (0.0, 0.001)  # ≥ 1 s per answer: chunks come slower than a snapshot takes
    snaps: list[tuple[str, dict[str, Any]]] = []
    real = History.save_later

    def spy(self: History, run_id: str, k: str, data: dict[str, Any], **kw: Any) -> None:
        snaps.append((kw.get("status", "running"), json.loads(json.dumps(data, default=str))))
        real(self, run_id, k, data, **kw)

    monkeypatch.setattr(History, "save_later", spy)
    prov = get_provider("kimi", api_key="sk-test-0000000000001234", base_url=fake_server.base_url)
    result = RUNS[kind](prov)

    partial = [t for status, d in snaps if status == "running" and (t := _in_flight(kind, d)) is not None]
    lengths = [len(t) for t in partial]
    assert len(partial) >= len(LONG) // CHECKPOINT_BYTES  # 8,889 chars: at least 4 checkpoints
    assert all(LONG.startswith(t) and t for t in partial)
    # never more than 2 KB between two checkpoints, plus the chunk that crossed the line (and at
    # most a few more if the run's own snapshot throttle held one back: workflow.execute)
    gaps = [b - a for a, b in zip([0, *lengths], [*lengths, len(LONG)])]
    assert max(gaps) <= CHECKPOINT_BYTES + 4 * len(" word999"), gaps
    stored = default_history().get(result.id)
    assert stored.status == "done"  # the final save wins over every checkpoint


def test_checkpointer_fires_on_bytes_or_seconds_with_a_fake_clock() -> None:
    now = [0.0]
    saves: list[float] = []
    cp = Checkpointer(lambda: saves.append(now[0]), every_s=2.0, every_bytes=100, clock=lambda: now[0])
    cp.note(60)  # no running loop: no timer, nothing due yet
    assert saves == []
    cp.note(40)  # 100 bytes
    assert saves == [0.0]
    now[0] = 1.5
    cp.note(10)
    assert saves == [0.0]
    now[0] = 2.0  # 2 s since the last checkpoint
    cp.note(10)
    assert saves == [0.0, 2.0] and cp.count == 2
    cp.fire()  # nothing new since: no save
    assert saves == [0.0, 2.0]


def test_text_that_stops_arriving_is_saved_by_the_timer() -> None:
    async def main() -> int:
        saved = asyncio.Event()
        cp = Checkpointer(saved.set, every_s=0.05, every_bytes=10_000)
        cp.note(5)  # one small chunk, then silence (a model thinking): the timer saves it
        await asyncio.wait_for(saved.wait(), timeout=10)
        return cp.count

    assert asyncio.run(main()) == 1


def test_writer_keeps_only_the_newest_pending_snapshot_and_reports_failures() -> None:
    import threading

    gate, entered = threading.Event(), threading.Event()
    written: list[str] = []

    def write(snap: Snapshot) -> None:
        entered.set()
        gate.wait(10)
        if snap.payload == "boom":
            raise OSError("disk full")
        written.append(snap.payload)

    w = RunWriter(write)
    snap = lambda p: Snapshot("r1", "discussion", "", "running", None, None, p)  # noqa: E731
    w.submit(snap("1"))
    assert entered.wait(10)  # the thread is writing "1" (and blocked there)
    for p in ("2", "3", "4"):
        w.submit(snap(p))  # replace each other while "1" is being written
    gate.set()
    w.flush("r1", timeout=10)
    assert written == ["1", "4"]
    w.submit(snap("boom"))
    with pytest.raises(OSError, match="disk full"):
        w.flush("r1", timeout=10)
