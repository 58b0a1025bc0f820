"""An eval at the rate limit says so: calls queued by the shared scheduler reach the eval's views
as `Waiting` events ("waiting for the rate limit: why (~how long)"), and the server refuses nothing.

On the wire: a fake Moonshot enforcing 3 requests per window and 1 at a time (the window shrunk
from 60 s to 1 s, shared with the client through `rate_window`, as in tests/test_scheduler.py),
and the fake's own request log counts the 429s. The views are also driven by hand-made events to
check the wording (reason, expected wait, how many calls queue) and that the line goes away.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from llm_magics import evaluate
from llm_magics.evaluation.render import wait_text
from llm_magics.events import Event, Progress, RunFinished, RunStarted, Waiting
from llm_magics.keys.resolve import get_provider
from llm_magics.magics.eval import EvalTextView
from tests._fakelimits import RateGate
from tests.evaluation.conftest import KEY, TEMPLATE, Rules, dataset
from tests.evaluation.test_eval_view import FakeTime
from tests.fakeserver import FakeLLMServer

MODEL = "kimi-k2-0905-preview"
WINDOW = 1.0  # the fake's "minute"
RPM_WAIT = "waiting for the rate limit: 3 requests/min (announced by the server) (~18 s)"
CONC_WAIT = "waiting for the rate limit: 1 at a time (announced by the server)"


def test_an_eval_at_3_rpm_and_1_concurrent_queues_and_the_views_say_so(fake_server: FakeLLMServer) -> None:
    pytest.importorskip("ipywidgets")
    from llm_magics.ui.eval_view import EvalView

    fake_server.gate = RateGate(rpm=3, concurrency=1, window_s=WINDOW)
    fake_server.gate.retry_after = "0.2"
    fake_server.responder = Rules({})  # every answer right
    provider = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url, model=MODEL, rate_window=WINDOW)
    view = EvalView(display=None)
    shown: list[str] = []
    view.wait_w.observe(lambda change: shown.append(change["new"]), "value")
    out = io.StringIO()
    text = EvalTextView(out, tty=False)
    events: list[Event] = []

    def sink(event: Event) -> None:
        events.append(event)
        view(event)
        text(event)

    res = evaluate(dataset(6), TEMPLATE, [(provider, MODEL)], scorer="number", history=False, on_event=sink)
    assert res.status == "done" and res.summary[0]["scored"] == 6 and res.summary[0]["errors"] == 0
    statuses = [r.status for r in fake_server.requests if r.method == "POST"]
    assert statuses.count(429) <= 1, statuses  # no request refused for rate limiting beyond the first
    assert statuses.count(200) == 6 and fake_server.gate.max_active == 1
    waits = [e for e in events if isinstance(e, Waiting) and e.text]
    ends = [e for e in events if isinstance(e, Waiting) and not e.text]  # "sent now": the wait is over
    assert waits and all(w.text.startswith("waiting for the rate limit: ") for w in waits)
    assert all("at a time" in w.text or "requests/min" in w.text for w in waits)  # why it waits
    assert {w.pane for w in waits} <= {e.pane for e in ends}  # every queued call was sent in the end
    assert {w.pane for w in waits} <= {f"kimi:{MODEL} item {i}" for i in range(1, 7)}
    # The widget showed the wait while calls queued, and shows nothing once the run is over.
    assert any("⏳ waiting for the rate limit: " in v for v in shown) and view.wait_w.value == ""
    # The terminal printed it as a line of its own, not once per queued call (only a new reason
    # is printed again), above the final table.
    printed = out.getvalue()
    lines = [ln for ln in printed.splitlines() if ln.startswith("[wait] ")]
    assert lines and all(ln.startswith("[wait] waiting for the rate limit: ") for ln in lines)
    assert len(lines) < len(waits) or len(waits) == 1
    assert all(a != b for a, b in zip(lines, lines[1:]))
    assert printed.index("[wait] ") < printed.index("score (95% CI)")


def test_the_wait_line_names_reason_expected_wait_and_queue_and_goes_away() -> None:
    assert wait_text({}) == ""
    assert wait_text({"a item 1": CONC_WAIT}) == CONC_WAIT
    assert wait_text({"a item 1": CONC_WAIT, "a item 2": RPM_WAIT}) == RPM_WAIT + " · 2 calls queued"

    pytest.importorskip("ipywidgets")
    from llm_magics.ui.eval_view import EvalView

    t = FakeTime()
    view = EvalView(clock=t.clock, schedule=t.schedule, display=None)
    run: Any = None
    view(RunStarted(kind="eval", run=run, title="Eval"))
    view(Progress(0, 6, "starting"))
    view(Waiting("kimi:m item 2", RPM_WAIT, 18.0))
    view(Waiting("kimi:m item 3", RPM_WAIT, 18.0))
    t.advance(0.5)  # the throttle's deferred render
    assert "⏳ waiting for the rate limit: 3 requests/min (announced by the server) (~18 s) · 2 calls queued" in view.wait_w.value
    view(Waiting("kimi:m item 2", "", None))  # sent
    t.advance(0.5)
    assert "(~18 s)" in view.wait_w.value and "queued" not in view.wait_w.value  # one left
    view(Waiting("kimi:m item 3", "", None))
    t.advance(0.5)
    assert view.wait_w.value == ""

    out = io.StringIO()
    tv = EvalTextView(out, tty=False)
    tv(Waiting("kimi:m item 2", CONC_WAIT, None))
    tv(Waiting("kimi:m item 3", CONC_WAIT, None))  # same reason: not repeated
    tv(Waiting("kimi:m item 4", RPM_WAIT, 18.0))  # a new reason: printed, with how long
    tv(Waiting("kimi:m item 2", "", None))
    tv(Waiting("kimi:m item 3", "", None))
    tv(Waiting("kimi:m item 4", "", None))
    tv(Waiting("kimi:m item 5", CONC_WAIT, None))  # queueing again after a pause: news again
    tv(RunFinished("| done |", "done"))
    assert out.getvalue() == f"[wait] {CONC_WAIT}\n[wait] {RPM_WAIT}\n[wait] {CONC_WAIT}\n| done |\n"


def test_workflow_mode_steps_report_their_waits_as_the_calls(fake_server: FakeLLMServer) -> None:
    """--workflow: each item runs a workflow whose steps queue too; their waits reach the eval's sink."""
    fake_server.gate = RateGate(rpm=3, concurrency=1, window_s=WINDOW)
    provider = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url, model=MODEL, rate_window=WINDOW)
    flow = "name: one-step\ninput: Item 0\nsteps:\n  - id: solve\n    prompt: \"{{ input }}\"\n"
    events: list[Event] = []
    res = evaluate(dataset(3), TEMPLATE, [(provider, MODEL)], scorer="contains", workflow=flow, history=False,
                   on_event=events.append)
    assert res.status == "done" and res.summary[0]["errors"] == 0
    assert [r.status for r in fake_server.requests if r.method == "POST"].count(429) <= 1
    waits = [e for e in events if isinstance(e, Waiting) and e.text]
    assert waits and all(w.text.startswith("waiting for the rate limit: ") for w in waits)
    assert {w.pane for w in waits} <= {f"kimi:{MODEL} item {i} · step solve" for i in range(1, 4)}
