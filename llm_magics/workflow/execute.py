"""The workflow executor: dependency order, independent steps at once, one streaming pane each.

Steps whose needs are all done start together (up to `max_concurrency`). A failed step marks
everything downstream "skipped"; other branches keep going and finished outputs are kept. The
run is saved to history when it starts, after every step and when it ends, so a crash or Ctrl-C
leaves a resumable record. Retries are the provider core's job; a step error here is final for
this run. On cancel (Ctrl-C), running steps keep their partial text and become "interrupted".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from llm_magics.workflow.run import RERUN_STATUSES, WorkflowRun
from llm_magics.workflow.spec import StepSpec, WorkflowSpec, render_prompt
from llm_magics.events import (
    Event,
    EventSink,
    Notice,
    PaneClosed,
    PaneOpened,
    Progress,
    RunFinished,
    RunStarted,
    TextDelta,
    Waiting,
)
from llm_magics.providers.scheduler import WaitInfo, report_waits

if TYPE_CHECKING:
    from llm_magics.history.store import History
    from llm_magics.personas.model import Persona
    from llm_magics.providers.base import Provider, StreamCollector
    from llm_magics.workflow.run import StepResult

__all__ = ["Target", "execute", "resume_hint"]


class Target:
    """Where one step is sent: provider, model and request params, resolved before the run."""

    __slots__ = ("provider", "model", "params")

    def __init__(self, provider: Provider, model: str | None, params: dict[str, Any]) -> None:
        self.provider = provider
        self.model = model
        self.params = params


def resume_hint(run_id: str) -> str:
    # A line magic: IPython rejects `%%workflow` with an empty cell body.
    return f"Resume with `%workflow --resume {run_id}` (or `run.resume()` in Python); finished steps are reused."


class _Executor:
    def __init__(
        self,
        run: WorkflowRun,
        spec: WorkflowSpec,
        targets: dict[str, Target],
        personas: dict[str, Persona | None],
        sink: EventSink,
        history: History | None,
        max_concurrency: int,
    ) -> None:
        self.run = run
        self.spec = spec
        self.targets = targets
        self.personas = personas
        self.sink = sink
        self.history = history
        self.max_concurrency = max(1, max_concurrency)
        self.total = len(spec.steps)
        self._save_warned = False
        self._sink_broken = False
        self._next_snapshot = 0.0  # perf_counter time before which a queued snapshot is skipped
        self._watch: set[str] | None = None  # see ready()
        self._outputs = _Outputs(run)
        from llm_magics.history.writer import Checkpointer

        # Streamed text reaches the history every 2 s or 2 KB (a crash loses little): step → (result, collector).
        self.streaming: dict[str, tuple[StepResult, StreamCollector]] = {}
        self.checkpoint = Checkpointer(self.checkpoint_now)

    # ---- bookkeeping ------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Renderers never drive the run: a failing sink is reported once and then ignored."""
        if self._sink_broken:
            return
        try:
            self.sink(event)
        except Exception as exc:  # noqa: BLE001
            import warnings

            self._sink_broken = True
            warnings.warn(f"llm-magics: the workflow display failed ({exc!r}); the run continues without it.",
                          RuntimeWarning, stacklevel=2)

    def save(self, *, later: bool = False) -> bool:
        """One short SQLite write (`later`: queued for the history's writer thread); a failing disk
        warns once but never stops the run. False when a `later` snapshot was skipped (throttled)."""
        if not later:
            self.checkpoint.cancel()
        if self.history is None:
            return True
        t0 = time.perf_counter()
        if later and t0 < self._next_snapshot:
            return False  # the final save (later=False) always runs; see _next_snapshot
        run = self.run
        try:
            store = self.history.save_later if later else self.history.save
            store(run.id, "workflow", run.to_dict(), title=run.title(), status=run.status,
                              provider=run.provider, model=run.model)
        except Exception as exc:  # noqa: BLE001 - history is best effort during a run
            if not self._save_warned:
                self._save_warned = True
                self.emit(Notice(f"Could not save run {run.id} to history: {exc}", "warning"))
        # A snapshot serialises the whole run, so its cost grows with the run: queue the next one
        # only after 4× that cost has passed (snapshots stay ≤ 20 % of the time, and a long chain
        # of fast steps costs linear time, not quadratic; issue 12, item 6).
        if later:  # a blocking save's time is mostly the disk wait, not serialising: it sets no window
            self._next_snapshot = time.perf_counter() + 4 * (time.perf_counter() - t0)
        return True

    def checkpoint_now(self) -> bool:
        """Copy the running steps' text so far into the run and queue a snapshot (False: throttled)."""
        for result, collector in self.streaming.values():
            result.output, result.reasoning = collector.text, collector.reasoning
        return self.save(later=True)

    def finished(self) -> int:
        return sum(1 for s in self.run.steps.values() if s.status not in ("pending", "running"))

    def title(self, step: StepSpec) -> str:
        persona = self.personas.get(step.id)
        return f"{step.id} · {persona.label}" if persona else step.id

    def open_pane(self, step: StepSpec, subtitle: str | None = None) -> None:
        persona = self.personas.get(step.id)
        target = self.targets.get(step.id)
        if subtitle is None:
            subtitle = f"{target.provider.name}:{target.model or 'default model'}" if target else ""
        self.emit(PaneOpened(pane=step.id, title=self.title(step), subtitle=subtitle,
                             color=persona.color if persona else None, group=step.id))

    # ---- one step ---------------------------------------------------------------------------

    async def run_step(self, step: StepSpec) -> None:
        from llm_magics.errors import StreamInterrupted
        from llm_magics.providers.base import StreamCollector

        result = self.run.steps[step.id]
        target = self.targets[step.id]
        persona = self.personas.get(step.id)
        prompt = render_prompt(step.prompt, self.run.inputs, self._outputs)
        messages: list[dict[str, Any]] = []
        if persona is not None:
            messages.append({"role": "system", "content": persona.system_prompt})
        messages.append({"role": "user", "content": prompt})
        result.status, result.error, result.prompt = "running", None, prompt
        result.output, result.reasoning, result.usage = "", "", None
        result.provider, result.model = target.provider.name, target.model
        result.started_at, result.finished_at, result.ttft_s = time.time(), None, None
        result.attempts += 1
        self.open_pane(step)
        collector = StreamCollector(target.model or "", target.provider.name, getattr(target.provider, "pricer", None))
        t0 = time.perf_counter()
        self.streaming[step.id] = (result, collector)

        def close(status: str, error: str | None = None, text: str | None = None) -> None:
            self.streaming.pop(step.id, None)
            result.output = collector.text if text is None else text
            result.reasoning = collector.reasoning
            result.usage = collector.usage
            result.cost = collector.pricer(collector.model, collector.usage) if collector.pricer else None
            result.ttft_s = collector.ttft_s
            result.duration_s = time.perf_counter() - t0
            result.finished_at = time.time()
            result.status, result.error = status, error
            pane_status = {"done": "done", "failed": "error"}.get(status, status)
            self.emit(PaneClosed(pane=step.id, status=pane_status, summary=result.summary(), error=error))  # type: ignore[arg-type]

        def waited(w: WaitInfo) -> None:
            """The pane says it waits for the shared rate limit; the clocks start when the request is sent."""
            nonlocal t0
            if w.done:
                collector.restart()
                t0 = time.perf_counter()
            self.emit(Waiting(pane=step.id, text="" if w.done else w.describe(), seconds=w.seconds))

        try:
            with report_waits(waited):
                async for chunk in target.provider.stream(messages, model=target.model, **target.params):
                    collector.add(chunk)
                    if chunk.text or chunk.reasoning:
                        self.emit(TextDelta(pane=step.id, text=chunk.text, reasoning=chunk.reasoning))
                        self.checkpoint.note(len(chunk.text or "") + len(chunk.reasoning or ""))
        except asyncio.CancelledError:
            close("interrupted", "interrupted before the answer finished")
            raise
        except Exception as exc:  # noqa: BLE001 - any step error ends this step, not the run
            partial = collector.text
            if isinstance(exc, StreamInterrupted) and len(exc.partial_text) > len(partial):
                partial = exc.partial_text
            close("failed", str(exc) or type(exc).__name__, partial)
            return
        close("done")

    # ---- the whole run ----------------------------------------------------------------------

    def skip_dependents(self, failed: str) -> list[str]:
        skipped = []
        for sid in self.spec.dependents(failed):
            res = self.run.steps[sid]
            if res.status == "pending":
                res.status, res.error = "skipped", f"needs '{failed}', which did not finish"
                skipped.append(sid)
                self.open_pane(self.spec.step(sid))
                self.emit(PaneClosed(pane=sid, status="skipped", error=res.error))
        return skipped

    def ready(self, running: set[str]) -> list[StepSpec]:
        """Pending steps whose needs are all done, in dependency order.

        Only steps that can have changed are looked at: the ones offered last time and not started,
        and the users of steps that ended since (a full scan per step made long chains quadratic)."""
        steps = self.run.steps
        spec = self.spec
        if self._watch is None:
            candidates = spec.order()
        else:
            ended = self._watch - running
            seen = {sid for sid in self._watch if steps[sid].status == "pending"}
            for sid in ended:
                seen.update(spec.needed_by(sid))
            candidates = sorted(seen, key=spec.position)
        out = [
            s for s in (spec.step(i) for i in candidates)
            if steps[s.id].status == "pending" and s.id not in running
            and all(steps[d].status == "done" for d in s.needs)
        ]
        self._watch = running | {s.id for s in out}
        return out

    async def execute(self) -> WorkflowRun:
        run = self.run
        if not any(r.status == "pending" for r in run.steps.values()):
            self.emit(Notice(f"Run {run.id} has nothing left to run: every step is done.", "info"))
        for step in (self.spec.step(i) for i in self.spec.order()):
            res = run.steps[step.id]
            if res.status == "done":  # reused from an earlier attempt: show it, don't send it
                self.open_pane(step, f"{res.provider}:{res.model}" if res.provider else "")
                if res.output:
                    self.emit(TextDelta(pane=step.id, text=res.output))
                self.emit(PaneClosed(pane=step.id, status="cached", summary="reused · " + res.summary()))
        self.emit(Progress(self.finished(), self.total, "starting"))
        running: dict[asyncio.Task[None], str] = {}
        failures: list[str] = []
        stopped: str | None = None  # why no new step may start (the session budget is used up)
        try:
            while True:
                stopped = stopped or _budget_stop()
                for step in [] if stopped else self.ready(set(running.values())):
                    if len(running) >= self.max_concurrency:
                        break
                    task = asyncio.ensure_future(self.run_step(step))
                    running[task] = step.id
                if not running:
                    break
                self.save(later=True)
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    sid = running.pop(task)
                    task.result()
                    if run.steps[sid].status == "failed":
                        failures.append(sid)
                        self.skip_dependents(sid)
                    self.emit(Progress(self.finished(), self.total, f"{sid} {run.steps[sid].status}"))
                    self.save(later=True)
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            run.status, run.finished_at = "interrupted", time.time()
            run.error = f"Interrupted; partial text is kept. {resume_hint(run.id)}"
            self.save()
            self.emit(RunFinished(markdown=run.to_markdown(), status=run.status))
            raise
        budget_skipped = False
        for res in run.steps.values():  # anything left waits on a failure (or on budget)
            if res.status == "pending":
                res.status = "skipped"
                if stopped:
                    res.error, budget_skipped = "not started: the budget is used up", True
        run.finished_at = time.time()
        if budget_skipped and not failures:
            run.status = "failed"
            run.error = f"{stopped} {resume_hint(run.id)}"
            self.emit(Notice(run.error, "error"))
        elif failures:
            run.status = "failed"
            skipped = [s.id for s in run.steps.values() if s.status == "skipped"]
            first = run.steps[failures[0]].error or "error"
            names = ", ".join(f"'{f}'" for f in failures)
            run.error = (
                f"Step {names} failed: {first.splitlines()[0]}"
                + (f" ({len(skipped)} dependent step(s) skipped)" if skipped else "")
                + f". Finished outputs are kept. {resume_hint(run.id)}"
            )
        else:
            run.status, run.error = "done", None
        self.save()
        self.emit(RunFinished(markdown=run.to_markdown(), status=run.status))
        return run


def _budget_stop() -> str | None:
    """The budget message when `%llm config budget=…` is used up, else None."""
    from llm_magics.errors import BudgetExceededError
    from llm_magics.pricing import budget

    try:
        budget.check_running()
    except BudgetExceededError as exc:
        return exc.message
    return None


async def execute(
    run: WorkflowRun,
    spec: WorkflowSpec,
    *,
    targets: dict[str, Target],
    personas: dict[str, Persona | None],
    on_event: EventSink,
    history: History | None,
    max_concurrency: int = 4,
    notices: list[str] | None = None,
) -> WorkflowRun:
    """Run every step of `run` whose status is in RERUN_STATUSES (all of them for a new run)."""
    for res in run.steps.values():
        if res.status in RERUN_STATUSES:
            res.status, res.error = "pending", None
    run.status, run.error, run.finished_at = "running", None, None
    ex = _Executor(run, spec, targets, personas, on_event, history, max_concurrency)
    ex.save()
    ex.emit(RunStarted(kind="workflow", run=run, title=_run_title(run, spec), layout="grid"))
    for text in notices or ():
        ex.emit(Notice(text, "info", once=True))
    return await ex.execute()


class _Outputs(Mapping[str, str]):
    """`run.outputs` without building a dict per step: step id → output of a finished step."""

    __slots__ = ("_steps",)

    def __init__(self, run: WorkflowRun) -> None:
        self._steps = run.steps

    def __getitem__(self, step_id: str) -> str:
        res = self._steps.get(step_id)
        if res is None or res.status != "done":
            raise KeyError(step_id)
        return res.output

    def __contains__(self, step_id: object) -> bool:
        res = self._steps.get(step_id) if isinstance(step_id, str) else None
        return res is not None and res.status == "done"

    def __iter__(self) -> Iterator[str]:
        return (sid for sid, res in self._steps.items() if res.status == "done")

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _run_title(run: WorkflowRun, spec: WorkflowSpec) -> str:
    chain = " → ".join(spec.order())
    again = f" (resume {run.resumes})" if run.resumes else ""
    return f"{spec.name}{again}: {chain}"

