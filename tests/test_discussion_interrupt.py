"""Interrupting a discussion: every stream is cancelled, partial text is kept and stored."""

from __future__ import annotations

import _thread
import asyncio
import time
from typing import Any

import pytest

from llm_magics.discussion.api import Transcript, adiscuss, discuss
from llm_magics.events import RunFinished, RunStarted, TextDelta
from llm_magics.history.store import default_history
from tests.test_discussion import MODEL, chats, kimi

LONG = " ".join(f"word{i}" for i in range(1000))


def _slow(server: Any) -> None:
    server.responder = lambda req: LONG
    server.pacing[MODEL] = (0.0, 0.02)  # 1,000 chunks ≈ 20 s: we interrupt long before the end


def _wait_closed(server: Any, n: int) -> list[Any]:
    deadline = time.monotonic() + 3  # far less than the 20 s stream
    while time.monotonic() < deadline:
        reqs = chats(server)
        if len(reqs) >= n and all(r.ended_at is not None for r in reqs):
            return reqs
        time.sleep(0.02)
    return chats(server)


def test_cancelling_the_task_keeps_partial_text_and_saves(fake_server: Any) -> None:
    _slow(fake_server)
    seen: dict[str, int] = {}
    box: dict[str, Any] = {}
    events: list[Any] = []

    def sink(e: Any) -> None:
        events.append(e)
        if isinstance(e, RunStarted):
            box["run"] = e.run
        if isinstance(e, TextDelta):
            seen[e.pane] = seen.get(e.pane, 0) + 1

    async def main() -> None:
        task = asyncio.ensure_future(
            adiscuss("Topic", "Noor, Sasha, Avery", mode="parallel", provider=kimi(fake_server), model=MODEL, on_event=sink)
        )
        while len(seen) < 3 or min(seen.values()) < 5:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    tr: Transcript = box["run"]
    assert tr.status == "interrupted"
    assert [m.status for m in tr.messages] == ["interrupted"] * 3
    for m in tr.messages:
        assert m.text and LONG.startswith(m.text) and len(m.text) < len(LONG)
    rec = default_history().get(tr.id)
    assert rec.status == "interrupted"
    assert [m["text"] for m in rec.data["messages"]] == [m.text for m in tr.messages]
    assert isinstance(events[-1], RunFinished) and events[-1].status == "interrupted"
    reqs = _wait_closed(fake_server, 3)
    assert len(reqs) == 3 and all(r.ended_at is not None for r in reqs)  # no stream left running


def test_keyboard_interrupt_in_run_sync_keeps_partial_text(fake_server: Any) -> None:
    _slow(fake_server)
    seen: dict[str, int] = {}
    box: dict[str, Any] = {}

    def sink(e: Any) -> None:
        if isinstance(e, RunStarted):
            box["run"] = e.run
        if isinstance(e, TextDelta):
            seen[e.pane] = seen.get(e.pane, 0) + 1
            if len(seen) == 2 and min(seen.values()) >= 3 and not box.get("fired"):
                box["fired"] = True
                _thread.interrupt_main()  # what a kernel interrupt does to the waiting main thread

    with pytest.raises(KeyboardInterrupt):
        discuss("Topic", "Noor, Sasha", mode="parallel", provider=kimi(fake_server), model=MODEL, on_event=sink)
    tr: Transcript = box["run"]
    assert tr.status == "interrupted" and all(m.status == "interrupted" and m.text for m in tr.messages)
    rec = default_history().get(tr.id)
    assert rec.status == "interrupted" and all(m["text"] for m in rec.data["messages"])
    assert "interrupted" in rec.load().to_markdown()
    reqs = _wait_closed(fake_server, 2)
    assert all(r.ended_at is not None for r in reqs)
