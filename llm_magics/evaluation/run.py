"""The engine behind `aevaluate` and `EvalResult.resume`: workers, scoring, storage, events.

Calls are queued repeat-major (every item once for every target, then the second repeat …) so
an interrupted run has comparable coverage of every target. A pool of workers takes calls from
the queue; each holds its provider's slot (`limits.Slots`, the scheduler seam) only while the
request is in flight, then scores the answer outside the slot. Every result goes to the history
as it lands (`history.calls.CallWriter`, off the event loop) and into the live `EvalResult`.

Stops: an error another call cannot fix (bad key, unknown model, quota, missing configuration)
stops that target — its remaining calls are left unsent, not counted as errors, and
`resume` sends them after the fix; a used-up budget stops the whole run the same way. Ctrl-C
cancels the in-flight requests, keeps everything finished, stores the run as "interrupted" and
re-raises.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llm_magics.errors import (
    AuthenticationError,
    BudgetExceededError,
    ConfigurationError,
    LLMError,
    ModelNotFoundError,
    QuotaExceededError,
)
from llm_magics.events import EventSink, Notice, Progress, RunFinished, RunStarted, Waiting, null_sink
from llm_magics.evaluation.limits import Slots
from llm_magics.evaluation.plan import EvalPlan, prepare, prepare_resume
from llm_magics.evaluation.records import CallKey, CallResult
from llm_magics.evaluation.result import EvalResult
from llm_magics.providers.scheduler import WaitInfo, report_waits

if TYPE_CHECKING:
    from llm_magics.history.calls import CallWriter
    from llm_magics.history.store import History

__all__ = ["run_eval", "resume_eval", "execute_plan"]

#: Errors that the next call to the same target would hit too.
_FATAL = (AuthenticationError, QuotaExceededError, ModelNotFoundError, ConfigurationError)


def _history(history: Any, res: EvalResult | None = None) -> History | None:
    if history is False:
        return None
    from llm_magics.history.store import History, default_history

    if isinstance(history, History):
        return history
    if res is not None and res._history is not None:
        hist: History = res._history
        return hist
    if res is not None and res.calls_db:
        return History(res.calls_db)
    return default_history()


class _Engine:
    def __init__(self, plan: EvalPlan, slots: Slots, sink: EventSink, history: History | None) -> None:
        self.plan = plan
        self.res = plan.result
        self.slots = slots
        self.sink = sink
        self.history = history
        self.writer: CallWriter | None = None
        self.stopped: dict[str, str] = {}  # target label → why it stopped
        self.budget_stop: str | None = None
        self.total = self.res.planned
        self.done = 0
        self.sent = 0
        self._saved_warned = False
        self._sink_broken = False
        self.queue: deque[CallKey] = deque()
        self.workers: list[asyncio.Future[None]] = []
        from llm_magics.pricing import budget

        #: Read once: checking the setting costs a config read, checking spending is cheap.
        self.budget_set = budget.limit() is not None

    # ---- bookkeeping ---------------------------------------------------------------------------

    def emit(self, event: Any) -> None:
        if self._sink_broken:
            return
        try:
            self.sink(event)
        except Exception as exc:  # noqa: BLE001 - a broken display never stops the eval
            import warnings

            self._sink_broken = True
            warnings.warn(f"llm-magics: the eval display failed ({exc!r}); the run continues without it.",
                          RuntimeWarning, stacklevel=2)

    def save(self) -> None:
        if self.history is None:
            return
        res = self.res
        providers = list(dict.fromkeys(t.provider.name for t in self.plan.targets))
        provider = providers[0] if len(providers) == 1 else None
        models = [t.model for t in self.plan.targets] if provider else list(res.targets)
        try:
            self.history.save(res.id, "eval", res.to_dict(calls=False), title=res.title, status=res.status,
                              provider=provider, model=", ".join(models))
        except Exception as exc:  # noqa: BLE001 - history is best effort during a run
            if not self._saved_warned:
                self._saved_warned = True
                self.emit(Notice(f"Could not save eval {res.id} to history: {exc}", "warning"))

    def start_writer(self) -> None:
        if self.history is None:
            return
        from llm_magics.history.calls import CallLog, CallWriter

        self.res.calls_db = str(self.history.path)
        self.res._history = self.history
        self.writer = CallWriter(CallLog(self.history.path), self.res.id)

    def record(self, call: CallResult) -> None:
        self.res.add(call)
        if self.writer is not None:
            self.writer.put((call.target, call.item, call.repeat, call.to_dict()))

    def close_writer(self) -> None:
        if self.writer is not None:
            self.writer.close()
            if self.writer.errors:
                self.emit(Notice(f"Some eval calls could not be written to history: {self.writer.errors[-1]}", "warning"))

    # ---- one call ------------------------------------------------------------------------------

    def pane(self, key: CallKey) -> str:
        """The id of one call in `Waiting` events: 'kimi:kimi-k2.6 item 3' (+ ' repeat 2' with repeat > 1)."""
        label, item, rep = key
        return f"{label} item {item + 1}" + (f" repeat {rep + 1}" if self.res.repeat > 1 else "")

    def waits(self, pane: str) -> Any:
        """Report this call's waits for the shared rate limit to the view ("waiting for the rate limit …").

        The provider restarts its own latency clock when a queued request is sent (`on_admitted`),
        so queueing is shown here and never counted as the model's latency."""
        def waited(w: WaitInfo) -> None:
            self.emit(Waiting(pane, "" if w.done else w.describe(), None if w.done else w.seconds))

        return report_waits(waited)

    async def send(self, key: CallKey) -> CallResult:
        label, item, rep = key
        target = self.plan.target(label)
        call = CallResult(label, item, rep)
        pane = self.pane(key)
        try:
            async with self.slots.slot(target.provider):
                self.sent += 1
                with self.waits(pane):
                    if self.plan.workflow is not None:
                        out = await self.plan.workflow.run(target.provider, target.model, self.plan.prompts[item],
                                                           self.plan.params, on_wait=self.emit_step_wait(pane))
                        call.output, call.reasoning, call.usage = out.output, out.reasoning, out.usage
                        call.ttft_s, call.latency_s, call.finish_reason = out.ttft_s, out.latency_s, out.finish_reason
                        call.cost, call.currency = out.cost, out.currency
                        if out.error is not None:
                            call.error, call.error_type = out.error, "WorkflowStepFailed"
                    else:
                        done = await target.provider.complete(self.plan.messages(item), model=target.model, **self.plan.params)
                        call.output, call.reasoning, call.usage = done.text, done.reasoning, done.usage
                        call.ttft_s, call.latency_s, call.finish_reason = done.ttft_s, done.latency_s, done.finish_reason
                        cost = getattr(done, "cost", None)
                        if cost is not None and cost.known and cost.amount is not None:
                            call.cost, call.currency = cost.amount, cost.currency
        except LLMError as exc:
            call.error, call.error_type = exc.message, type(exc).__name__
            if isinstance(exc, _FATAL):
                self.stop_target(label, exc)
            if isinstance(exc, BudgetExceededError):
                self.budget_stop = exc.message
            return call
        except Exception as exc:  # noqa: BLE001 - one broken call is an error, not a crashed eval
            call.error, call.error_type = f"{type(exc).__name__}: {exc}", type(exc).__name__
            return call
        if call.error is None:
            await self.score(call)
        return call

    def emit_step_wait(self, pane: str) -> Any:
        """A workflow step's wait, shown as this call's ('… item 3 · step triage')."""
        def forward(event: Waiting) -> None:
            self.emit(Waiting(f"{pane} · step {event.pane}", event.text, event.seconds))

        return forward

    async def score(self, call: CallResult) -> None:
        row = self.res.item(call.item).row
        expected = row.get(self.res.expected) if self.res.expected else None
        try:
            with self.waits("judge · " + self.pane(call.call_key)):  # the judge queues like any call
                s = await self.plan.scorer.ascore(call.output, row, expected, prompt=self.plan.prompts[call.item])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a raising scorer marks this item, the run goes on
            if getattr(exc, "usage", None) is not None:  # a judge reply without a verdict was still paid for
                call.add_judge(getattr(exc, "usage", None), getattr(exc, "cost", None))
            msg = exc.message if isinstance(exc, LLMError) else str(exc)
            call.scoring_error = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
            call.score = call.key = call.reason = None
            return
        call.score, call.key, call.reason = s.value, s.key, s.reason
        call.scoring_error = None
        if s.usage is not None or s.cost is not None:
            call.add_judge(s.usage, s.cost)

    def stop_target(self, label: str, exc: LLMError) -> None:
        if label in self.stopped:
            return
        self.stopped[label] = exc.message
        self.emit(Notice(f"{label} stopped: {exc.message} Its remaining calls are not sent; "
                         f"fix it and resume with `%eval --resume {self.res.id}`.", "error"))

    # ---- the pool ------------------------------------------------------------------------------

    def _budget(self) -> str | None:
        if self.budget_stop is None and self.budget_set:
            try:
                from llm_magics.pricing import budget

                budget.check_running()
            except BudgetExceededError as exc:
                self.budget_stop = exc.message
                self.emit(Notice(f"{exc.message} The eval stops here; resume with `%eval --resume {self.res.id}`.", "error"))
        return self.budget_stop

    def top_up(self) -> None:
        """Run as many workers as the providers' limits allow now (never more than calls left)."""
        want = min(len(self.queue), self.slots.workers([t.provider for t in self.plan.targets]))
        busy = sum(1 for w in self.workers if not w.done())
        for _ in range(max(0, want - busy)):
            self.workers.append(asyncio.ensure_future(self.worker(self.queue)))

    async def worker(self, queue: deque[CallKey]) -> None:
        while queue:
            if self._budget():
                return
            key = queue.popleft()
            if key[0] in self.stopped:
                continue
            call = await self.send(key)
            self.record(call)
            self.done += 1
            self.emit(Progress(self.done, self.total, f"{call.target} item {call.item + 1}"))
            if self.done % 16 == 0:
                self.top_up()

    async def rescore(self) -> int:
        """Score again the calls whose scorer raised (their answers are stored; nothing is re-sent)."""
        todo = [c for c in self.res.calls.values() if c.error is None and c.scoring_error is not None]
        for call in todo:
            await self.score(call)
            self.record(call)
        return len(todo)

    async def run(self, keys: Sequence[CallKey]) -> EvalResult:
        res = self.res
        res.status, res.finished_at = "running", None
        self.done = self.total - len(keys)
        self.start_writer()
        self.save()
        self.emit(RunStarted(kind="eval", run=res, title=res.title, layout="grid"))
        for text in self.plan.session_notices:  # e.g. "No Kimi key found": magics show it once per session
            self.emit(Notice(text, "info", once=True))
        for text in self.plan.notices:
            self.emit(Notice(text, "warning"))
        self.emit(Progress(self.done, self.total, "starting"))
        queue: deque[CallKey] = deque(keys)
        self.queue = queue
        workers = self.workers
        self.top_up()
        try:
            rescored = await self.rescore()
            if rescored:
                self.emit(Notice(f"Re-scored {rescored} answer{'s' if rescored != 1 else ''} whose scorer had failed (nothing re-sent).", "info"))
            while True:  # workers may be added while the run goes (the scheduler learned a higher limit)
                live = [w for w in workers if not w.done()]
                if not live:
                    break
                await asyncio.wait(live, return_when=asyncio.FIRST_EXCEPTION)
                for w in workers:
                    if w.done() and not w.cancelled() and w.exception() is not None:
                        raise w.exception()  # type: ignore[misc]
        except BaseException as exc:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            res.status = "interrupted" if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)) else "error"
            self.finish()
            self.emit(RunFinished(markdown=res.to_markdown(), status=res.status))
            raise
        if self.stopped or self.budget_stop:
            res.status = "stopped"
            for label, why in self.stopped.items():
                left = sum(1 for k in res.missing(retry_errors=False) if k[0] == label)
                res.notes.append(f"{label} stopped after: {why} ({left} calls not sent).")
            if self.budget_stop:
                res.notes.append(f"Stopped: {self.budget_stop}")
        else:
            res.status = "done"
        self.finish()
        self.emit(RunFinished(markdown=res.to_markdown(), status=res.status))
        return res

    def finish(self) -> None:
        self.res.finished_at = time.time()
        self.close_writer()
        self.save()


async def execute_plan(plan: EvalPlan, keys: Sequence[CallKey], *, slots: Slots, on_event: EventSink | None,
                       history: Any) -> EvalResult:
    try:
        await _check_budget(plan, keys)
        engine = _Engine(plan, slots, on_event or null_sink, _history(history, plan.result))
        return await engine.run(keys)
    finally:
        await plan.providers.aclose()


async def _check_budget(plan: EvalPlan, keys: Sequence[CallKey]) -> None:
    """With a session budget set, refuse a run whose estimated minimum cost does not fit (nothing sent)."""
    from llm_magics.pricing import budget

    if budget.limit() is None or not keys:
        return
    from llm_magics.evaluation.api import estimate_plan

    budget.check_estimate(await estimate_plan(plan, keys, use_tokenizer=False))


async def run_eval(data: Any, template: str, targets: Any, *, concurrency: int | None = None,
                   on_event: EventSink | None = None, history: Any = None, **options: Any) -> EvalResult:
    slots = Slots(concurrency)
    plan = await prepare(data, template, targets, concurrency=concurrency, slots=slots, **options)
    return await execute_plan(plan, plan.result.planned_keys(), slots=slots, on_event=on_event, history=history)


async def resume_eval(res: EvalResult | str, *, scorer: Any = None, concurrency: int | None = None,
                      on_event: EventSink | None = None, history: Any = None, retry_errors: bool = True) -> EvalResult:
    """Continue a run (an EvalResult or a run id): only missing calls are sent (and failed ones, with
    `retry_errors`); answers already scored are not scored again."""
    if isinstance(res, str):
        hist = _history(history) if history is not False else None
        if hist is None:
            from llm_magics.history.store import default_history

            hist = default_history()
        record = hist.get(res.strip())
        if record.kind != "eval":
            raise ConfigurationError(f"Run {record.id} is a {record.kind}, not an eval.",
                                     hint="List evals with `%llm history --kind eval`.")
        loaded = record.load()
        assert isinstance(loaded, EvalResult)
        loaded._history = hist
        res = loaded
    slots = Slots(concurrency or res.concurrency)
    plan = await prepare_resume(res, scorer=scorer, slots=slots)
    keys = res.missing(retry_errors=retry_errors)
    return await execute_plan(plan, keys, slots=slots, on_event=on_event, history=history)
