"""Workflows against the fake server over real HTTP: order, references, failure, resume, history."""

from __future__ import annotations

import hashlib
import textwrap
from typing import Any

import pytest

from llm_magics import events as E
from llm_magics.errors import ConfigurationError
from llm_magics.history.store import default_history
from llm_magics.keys.resolve import get_provider
from llm_magics.workflow.api import WorkflowRun, arun_workflow, run_workflow
from llm_magics.sync import run_sync

CODE = textwrap.dedent(
    """
    @app.route("/user")
    def get_user():
        name = request.args["name"]
        return db.execute(f"SELECT * FROM users WHERE name = '{name}'").fetchall()
    """
)
AUDIT = ["attack_surface", "findings", "severity_ranking", "fixes", "executive_summary"]
REFS = {  # step → the steps whose outputs its prompt references
    "attack_surface": [],
    "findings": ["attack_surface"],
    "severity_ranking": ["findings"],
    "fixes": ["severity_ranking"],
    "executive_summary": ["severity_ranking", "fixes"],
}


def tagged_reply(req: dict[str, Any]) -> str:
    """A short reply unique to the request's user message, so outputs can be traced downstream."""
    user = next(m["content"] for m in reversed(req["messages"]) if m["role"] == "user")
    return f"finding list {hashlib.sha256(user.encode()).hexdigest()[:12]} end"


@pytest.fixture
def server(fake_server: Any) -> Any:
    fake_server.responder = tagged_reply
    return fake_server


def provider_for(server: Any, **options: Any) -> Any:
    return get_provider("openai-compatible", base_url=server.base_url, api_key="sk-test-0000000000001234",
                        model=server.models[0], **options)


def chat_requests(server: Any) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and r.path.endswith("/chat/completions")]


def user_text(req: Any) -> str:
    return next(m["content"] for m in reversed(req.json["messages"]) if m["role"] == "user")


def system_text(req: Any) -> str:
    return next((m["content"] for m in req.json["messages"] if m["role"] == "system"), "")


def test_security_audit_runs_in_order_and_passes_outputs(server: Any) -> None:
    seen: list[Any] = []
    run = run_workflow("security-audit", CODE, provider=provider_for(server), on_event=seen.append)
    assert run.status == "done" and run.error is None
    reqs = chat_requests(server)
    assert len(reqs) == 5
    by_step = {}
    for sid, req in zip(AUDIT, reqs):
        assert user_text(req) == run[sid].prompt  # requests went out in dependency order
        by_step[sid] = req
    for sid, refs in REFS.items():
        body = user_text(by_step[sid])
        for dep in refs:
            assert run[dep].output and run[dep].output in body
            assert by_step[dep].ended_at <= by_step[sid].started_at
        assert "{{" not in body
        if sid in ("attack_surface", "findings", "fixes"):
            assert "db.execute" in body  # the input itself
    assert system_text(by_step["fixes"]).startswith("You are Sasha Lindqvist")
    assert system_text(by_step["findings"]).startswith("You are Noor Okafor")
    assert run.output == run["executive_summary"].output and run.usage.total_tokens > 0
    # events: one run, a pane per step titled "id · persona label", progress after each step
    assert isinstance(seen[0], E.RunStarted) and seen[0].kind == "workflow" and seen[0].run is run
    opened = [e for e in seen if isinstance(e, E.PaneOpened)]
    assert [e.pane for e in opened] == AUDIT and [e.group for e in opened] == AUDIT
    assert opened[3].title == "fixes · 🏗️ Sasha Lindqvist — Code Architect"
    closed = [e for e in seen if isinstance(e, E.PaneClosed)]
    assert all(e.status == "done" and "tok" in e.summary for e in closed)
    progress = [e for e in seen if isinstance(e, E.Progress)]
    assert [(p.done, p.total) for p in progress] == [(i, 5) for i in range(6)]
    deltas = "".join(e.text for e in seen if isinstance(e, E.TextDelta) and e.pane == "findings")
    assert deltas == run["findings"].output
    assert isinstance(seen[-1], E.RunFinished) and seen[-1].markdown == run.to_markdown()
    # stored in history, and loads back as an equal run
    record = default_history().get(run.id)
    assert record.kind == "workflow" and record.status == "done" and record.title.startswith("security-audit")
    loaded = record.load()
    assert isinstance(loaded, WorkflowRun) and loaded.to_dict() == run.to_dict()
    assert "sk-test" not in record.data.__repr__()


def fail_when(server: Any, step: str, **fail: Any) -> Any:
    """A sink that queues a server fault as soon as `step` finishes, so the next request fails."""

    def sink(event: Any) -> None:
        if isinstance(event, E.PaneClosed) and event.pane == step and event.status == "done":
            server.fail_next(**fail)

    return sink


def test_failed_step_skips_dependents_then_resume_sends_only_those(server: Any) -> None:
    prov = provider_for(server, max_retries=0)
    run = run_workflow("security-audit", CODE, provider=prov,
                       on_event=fail_when(server, "findings", status=500, error_type="server_error"))
    assert run.status == "failed"
    assert [run[s].status for s in AUDIT] == ["done", "done", "failed", "skipped", "skipped"]
    assert "severity_ranking" in run.error and "--resume " + run.id in run.error and "run.resume()" in run.error
    assert "500" in (run["severity_ranking"].error or "")
    kept = {s: run[s].output for s in ("attack_surface", "findings")}
    assert default_history().get(run.id).status == "failed"
    assert len(chat_requests(server)) == 3

    server.requests.clear()
    resumed = run_sync(arun_workflow(resume=run.id, provider=prov))  # loads from the history DB
    assert resumed.id == run.id and resumed.status == "done" and resumed.resumes == 1
    reqs = chat_requests(server)
    assert [user_text(r) for r in reqs] == [resumed[s].prompt for s in AUDIT[2:]]
    assert kept["findings"] in user_text(reqs[0])  # the stored output was reused, not re-asked
    assert {s: resumed[s].output for s in kept} == kept
    assert resumed["findings"].attempts == 1 and resumed["severity_ranking"].attempts == 2
    assert default_history().get(run.id).status == "done"


def test_core_retries_5xx_without_workflow_help(server: Any) -> None:
    server.fail_next(500, "server_error", times=1)
    run = run_workflow("security-audit", CODE, provider=provider_for(server, backoff_base=0.01))
    assert run.status == "done" and len(chat_requests(server)) == 6


DIAMOND = textwrap.dedent(
    """
    name: diamond
    steps:
      - id: root
        persona: Sasha Lindqvist
        prompt: "Describe {{ input }}"
      - id: left
        persona: Noor Okafor
        prompt: "Left on {{ steps.root.output }}"
      - id: right
        persona: Avery Nakamura
        model: right-model
        max_tokens: 64
        prompt: "Right on {{ steps.root.output }}"
      - id: join
        prompt: "Join {{ steps.left.output }} + {{ steps.right.output }}"
    """
)


def test_independent_steps_run_concurrently_and_failures_stay_local(server: Any) -> None:
    server.pacing[server.models[0]] = (0.05, 0.02)
    prov = provider_for(server, max_retries=0)
    # right-model passes the pre-flight model check, then disappears from the server once the run
    # is under way, so step 'right' fails with a 404 while 'left' goes on.
    server.models.append("right-model")

    def drop(event: Any) -> None:
        if isinstance(event, E.PaneOpened) and event.pane == "root" and "right-model" in server.models:
            server.models.remove("right-model")

    run = run_workflow(DIAMOND, "a login form", provider=prov, on_event=drop)
    assert [run[s].status for s in ("root", "left", "right", "join")] == ["done", "done", "failed", "skipped"]
    assert "right-model" in (run["right"].error or "")
    reqs = chat_requests(server)
    left = next(r for r in reqs if user_text(r).startswith("Left"))
    right = next(r for r in reqs if user_text(r).startswith("Right"))
    assert right.json["model"] == "right-model" and right.json["max_tokens"] == 64
    assert "max_tokens" not in left.json
    assert right.started_at < left.ended_at  # both were in flight at once

    server.models.append("right-model")
    server.requests.clear()
    run.resume(provider=prov)
    assert run.status == "done"
    assert sorted(user_text(r).split()[0] for r in chat_requests(server)) == ["Join", "Right"]
    assert run["join"].prompt == f"Join {run['left'].output} + {run['right'].output}"


def test_interrupt_keeps_partial_text_and_marks_interrupted(server: Any) -> None:
    import asyncio

    server.stall_after = 2
    server.stall_s = 5.0
    prov = provider_for(server, max_retries=0, read_timeout=30)
    seen: list[Any] = []

    async def main() -> None:
        task = asyncio.ensure_future(arun_workflow("security-audit", CODE, provider=prov, on_event=seen.append))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if any(isinstance(e, E.TextDelta) for e in seen) and len(seen) > 4:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run_sync(main())
    server.release_stalls()
    run = next(e.run for e in seen if isinstance(e, E.RunStarted))
    assert run.status == "interrupted" and run["attack_surface"].status == "interrupted"
    assert run["attack_surface"].output.startswith("finding list")
    assert run["findings"].status == "pending"
    stored = default_history().get(run.id)
    assert stored.status == "interrupted" and stored.data["steps"][0]["output"] == run["attack_surface"].output
    assert any(isinstance(e, E.PaneClosed) and e.status == "interrupted" for e in seen)


def test_offline_run_and_report() -> None:
    run = run_workflow("code-review", "def add(a, b):\n    return a - b\n", provider="offline")
    assert run.ok and list(run.steps) == ["understanding", "design_review", "security_review", "review"]
    md = run.to_markdown()
    assert "## Workflow `code-review` — done" in md and "| 4 | `review` |" in md and run._repr_markdown_() == md
    again = WorkflowRun.from_dict(run.to_dict())
    assert again.to_markdown() == md and again.spec.order() == run.spec.order()
    assert '"workflow": "code-review"' in run.to_json()


def test_inputs_are_checked_before_anything_is_sent(server: Any) -> None:
    prov = provider_for(server)
    with pytest.raises(ConfigurationError, match="needs input 'input'"):
        run_workflow("security-audit", "   ", provider=prov)
    two = "inputs: [code, goal]\nsteps:\n  - id: a\n    prompt: '{{ code }} for {{ goal }}'\n"
    with pytest.raises(ConfigurationError, match="single text is ambiguous"):
        run_workflow(two, "x", provider=prov)
    with pytest.raises(ConfigurationError, match="Did you mean 'goal'"):
        run_workflow(two, {"code": "x", "gaol": "y"}, provider=prov)
    with pytest.raises(ConfigurationError, match="not both"):
        run_workflow("security-audit", "x", resume="r123")
    with pytest.raises(ConfigurationError, match="No run 'rnope'"):
        run_workflow(resume="rnope")
    assert chat_requests(server) == []
    run = run_workflow(two, {"code": "print(1)", "goal": "speed"}, provider=prov)
    assert user_text(chat_requests(server)[0]) == "print(1) for speed"
    assert run.inputs == {"code": "print(1)", "goal": "speed"}


def test_mid_stream_error_keeps_partial_text(server: Any) -> None:
    prov = provider_for(server, max_retries=0)
    run = run_workflow("security-audit", CODE, provider=prov,
                       on_event=fail_when(server, "attack_surface", status=500, error_type="server_error", after_chunks=2))
    step = run["findings"]
    assert step.status == "failed" and step.output == "finding list "  # the two chunks that arrived
    assert run["attack_surface"].status == "done"
    md = run.to_markdown()
    assert "❌ failed" in md and "⏭️ skipped" in md and "--resume " + run.id in md


def test_resuming_a_finished_run_sends_nothing(server: Any) -> None:
    prov = provider_for(server)
    run = run_workflow("security-audit", CODE, provider=prov)
    server.requests.clear()
    seen: list[Any] = []
    run.resume(provider=prov, on_event=seen.append)
    assert chat_requests(server) == [] and run.status == "done"
    assert [e.status for e in seen if isinstance(e, E.PaneClosed)] == ["cached"] * 5
    assert any(isinstance(e, E.Notice) and "nothing left to run" in e.text for e in seen)


def test_a_broken_display_never_stops_the_run() -> None:
    def sink(event: Any) -> None:
        if isinstance(event, E.TextDelta):
            raise RuntimeError("widget exploded")

    with pytest.warns(RuntimeWarning, match="widget exploded"):
        run = run_workflow("ux-review", "A checkout page with a 12-field form", provider="offline", on_event=sink)
    assert run.ok and all(s.output for s in run)
