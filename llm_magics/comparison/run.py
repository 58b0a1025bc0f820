"""The engine behind `acompare`: resolve targets, stream them concurrently, time them, emit events.

Kept apart from `compare.py` (the data types) so the result types import without any of this.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llm_magics.comparison.stats import Attempt
from llm_magics.comparison.api import Comparison, Target, TargetResult, parse_target
from llm_magics.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    LLMError,
    ModelNotFoundError,
    QuotaExceededError,
    StreamInterrupted,
)
from llm_magics.events import (
    EventSink,
    Notice,
    PaneClosed,
    PaneOpened,
    Progress,
    RunFinished,
    RunStarted,
    TextDelta,
    Waiting,
    null_sink,
)
from llm_magics.providers.scheduler import WaitInfo, report_waits

if TYPE_CHECKING:
    from llm_magics.history.store import History
    from llm_magics.providers.base import Message, Provider, StreamCollector

__all__ = ["run_comparison"]

#: Errors that another attempt cannot fix: the target stops after the first one.
_FATAL = (ModelNotFoundError, AuthenticationError, QuotaExceededError, BadRequestError, ConfigurationError)


@dataclass
class _Plan:
    row: TargetResult
    provider: Provider | None
    setup_error: BaseException | None
    model: str | None


class _Providers:
    """One provider instance per name (shared connection pool and rate limiter); closes what it built."""

    def __init__(self) -> None:
        self._built: dict[str, Provider | BaseException] = {}

    def get(self, name: str) -> Provider | BaseException:
        if name not in self._built:
            from llm_magics.keys.resolve import get_provider

            try:
                self._built[name] = get_provider(name)
            except Exception as exc:  # a missing key for one provider must not stop the others
                self._built[name] = exc
        return self._built[name]

    async def aclose(self) -> None:
        for p in self._built.values():
            if not isinstance(p, BaseException):
                try:
                    await p.aclose()
                except Exception:
                    pass


def _plan(targets: Sequence[Target] | str, providers: _Providers) -> tuple[list[_Plan], str | None]:
    """Rows for every target, and the offline-fallback notice if a default-provider target used it."""
    from llm_magics import config
    from llm_magics.keys import resolve
    from llm_magics.providers.base import Provider

    if isinstance(targets, str):
        targets = targets.split()
    if not targets:
        raise ConfigurationError(
            "No targets to compare.", hint="Give model IDs or provider:model, e.g. kimi:kimi-k2-0905-preview."
        )
    default_name: str | None = None
    notice: str | None = None
    plans: list[_Plan] = []
    for t in targets:
        if isinstance(t, tuple):
            prov, model = t
            model = model or prov.default_model
            row = TargetResult(f"{prov.name}:{model}", prov.name, model or "?")
            plans.append(_Plan(row, prov, None, model))
            continue
        if isinstance(t, Provider):
            row = TargetResult(f"{t.name}:{t.default_model}", t.name, t.default_model or "?")
            plans.append(_Plan(row, t, None, t.default_model))
            continue
        if not isinstance(t, str):
            raise ConfigurationError(
                f"Cannot compare {t!r}.", hint="A target is 'provider:model', a model ID, or (Provider, model)."
            )
        if default_name is None:
            default_name, fallback = resolve.default_provider_choice()
        name, model = parse_target(t, default_name)
        if name == default_name and ":" not in t and t.strip() != name:
            notice = notice or fallback
        built = providers.get(name)
        if isinstance(built, BaseException):
            plans.append(_Plan(TargetResult(t.strip(), name, model or "?"), None, built, model))
        else:
            model = model or built.default_model
            plans.append(_Plan(TargetResult(t.strip(), name, model or "?"), built, None, model))
    return plans, notice


async def _resolve_models(plans: list[_Plan]) -> None:
    """A target given as a bare provider runs the model that provider picks (its default model, or
    an OpenAI-compatible server's first one): the row names it instead of '?'. A provider that cannot
    say (server down, no models) fails its row alone."""
    for plan in plans:
        if plan.model or plan.provider is None or plan.setup_error is not None:
            continue
        try:
            plan.model = await plan.provider.aresolve_model(None)
        except Exception as exc:
            plan.setup_error = exc
            continue
        row = plan.row
        if row.target.endswith(":None"):  # a Provider instance given as the target
            row.target = f"{row.provider}:{plan.model}"
        row.model = plan.model


def _error_attempt(exc: BaseException, attempt: Attempt | None = None) -> Attempt:
    a = attempt or Attempt()
    if isinstance(exc, LLMError):
        a.error = exc.message
        a.hint = exc.hint
        if isinstance(exc, ModelNotFoundError):
            a.suggestions = list(exc.suggestions)
        if isinstance(exc, StreamInterrupted) and not a.text:
            a.text, a.reasoning = exc.partial_text, exc.partial_reasoning
    else:
        a.error = f"{type(exc).__name__}: {exc}"
    a.error_type = type(exc).__name__
    return a


async def _suggest(provider: Provider, model: str) -> list[str]:
    """Close model IDs when the 404 carried none, from the catalog (cache < 1 h, live, else built-in)."""
    from llm_magics.providers.suggest import closest

    try:
        from llm_magics.keys import models as catalog

        listed = await catalog.alist_models(provider=provider)
        return catalog.suggest(provider.name, model, ids=list(listed.ids))
    except Exception:
        pass
    try:
        models = await provider.list_models()
    except Exception:
        return []
    return [m for m in closest(model, [m.id for m in models]) if m != model]


class _Run:
    def __init__(self, comp: Comparison, sink: EventSink, history: History | None, total: int) -> None:
        self.comp = comp
        self.sink = sink
        self.history = history
        self.total = total
        self.done = 0
        self._history_warned = False
        from llm_magics.history.writer import Checkpointer

        # Streamed text reaches the history every 2 s or 2 KB (a crash loses little): pane → (attempt, collector).
        self.streaming: dict[str, tuple[Attempt, StreamCollector]] = {}
        self.checkpoint = Checkpointer(self.checkpoint_now)

    def checkpoint_now(self) -> None:
        """Copy the streaming attempts' text so far into the comparison and queue a snapshot."""
        for a, collector in self.streaming.values():
            a.text, a.reasoning, a.ttft_s = collector.text, collector.reasoning, collector.ttft_s
        self.save(later=True)

    def save(self, *, later: bool = False) -> None:
        """Store the comparison; `later`: queue it for the history's writer thread and go on."""
        if not later:
            self.checkpoint.cancel()
        if self.history is None:
            return
        rows = self.comp.rows
        providers = list(dict.fromkeys(r.provider for r in rows))
        # One provider: "offline" + "m1, m2"; mixed: no provider column, models as provider:model.
        provider = providers[0] if len(providers) == 1 else None
        models = [r.model for r in rows] if provider else [r.label for r in rows]
        try:
            store = self.history.save_later if later else self.history.save
            store(
                self.comp.id, "compare", self.comp.to_dict(), title=self.comp.title, status=self.comp.status,
                provider=provider, model=", ".join(dict.fromkeys(models)),
            )
        except Exception as exc:  # a broken history DB must not lose the comparison itself
            if not self._history_warned:
                self._history_warned = True
                self.sink(Notice(f"Could not save the run to history: {exc}", level="warning"))

    async def attempt(self, plan: _Plan, pane: str, messages: list[Message], params: dict[str, Any],
                      live: bool) -> tuple[Attempt, bool]:
        """One streamed request; returns the attempt and whether retrying this target is pointless."""
        from llm_magics.providers.base import StreamCollector

        assert plan.provider is not None
        a = Attempt()
        plan.row.attempts.append(a)
        provider = plan.provider
        collector = StreamCollector(plan.model or provider.default_model or "", provider.name,
                                    getattr(provider, "pricer", None))
        pieces = 0
        # Until it ends, a stored snapshot (checkpoint) shows this attempt as not finished.
        a.error, a.error_type = "did not finish (the run stopped before the answer ended)", "Interrupted"
        self.streaming[pane] = (a, collector)
        def waited(w: WaitInfo) -> None:
            """Queueing for the shared rate limit is shown, and is not the model's TTFT or latency."""
            if w.done:
                collector.restart()
            if live:
                self.sink(Waiting(pane, "" if w.done else w.describe(), w.seconds))

        try:
            with report_waits(waited):
                async for chunk in provider.stream(messages, model=plan.model, **params):
                    collector.add(chunk)
                    if chunk.text or chunk.reasoning:
                        pieces += 1
                        if live:
                            self.sink(TextDelta(pane, chunk.text, chunk.reasoning))
                        self.checkpoint.note(len(chunk.text or "") + len(chunk.reasoning or ""))
        except BaseException as exc:
            self.streaming.pop(pane, None)
            a.error = a.error_type = None
            a.text, a.reasoning = collector.text, collector.reasoning
            a.ttft_s = collector.ttft_s
            if isinstance(exc, asyncio.CancelledError):
                a.error, a.error_type = "interrupted", "Interrupted"
                raise
            if not isinstance(exc, Exception):
                raise
            _error_attempt(exc, a)
            if isinstance(exc, ModelNotFoundError) and not a.suggestions and plan.model:
                a.suggestions = await _suggest(provider, plan.model)
            return a, isinstance(exc, _FATAL)
        self.streaming.pop(pane, None)
        a.error = a.error_type = None
        done = collector.result()
        a.usage, a.cost = done.usage, (done.cost if collector.pricer is not None else None)
        a.text, a.reasoning, a.finish_reason = done.text, done.reasoning, done.finish_reason
        a.ttft_s, a.latency_s = done.ttft_s, done.latency_s
        usage = done.usage
        if usage is not None and usage.completion_tokens:
            a.output_tokens = usage.completion_tokens
            a.reasoning_tokens = usage.reasoning_tokens
        else:
            a.output_tokens, a.tokens_estimated = pieces, True
            if usage is not None:
                a.reasoning_tokens = usage.reasoning_tokens
        return a, False

    async def target(self, i: int, plan: _Plan, messages: list[Message], params: dict[str, Any],
                     repeat: int) -> None:
        pane = f"t{i}"
        row = plan.row
        if plan.setup_error is not None or plan.provider is None:
            row.attempts.append(_error_attempt(plan.setup_error or RuntimeError("no provider")))
            self.done += repeat
            self.sink(Progress(self.done, self.total, row.target))
            self._close(pane, row)
            return
        try:
            for k in range(repeat):
                _, fatal = await self.attempt(plan, pane, messages, params, live=k == 0)
                self.done += 1
                self.sink(Progress(self.done, self.total, f"{row.target} {k + 1}/{repeat}"))
                if fatal:
                    self.done += repeat - k - 1
                    break
        except asyncio.CancelledError:
            self.sink(PaneClosed(pane, "interrupted", summary=row.summary() if row.ok else "interrupted"))
            raise
        self._close(pane, row)
        self.save(later=True)

    def _close(self, pane: str, row: TargetResult) -> None:
        if row.ok:
            self.sink(PaneClosed(pane, "done", summary=row.summary()))
            return
        err = row.error or "failed"
        if row.suggestions:
            quoted = [f"'{s}'" for s in row.suggestions]
            err += " Did you mean " + (", ".join(quoted[:-1]) + " or " if len(quoted) > 1 else "") + quoted[-1] + "?"
        self.sink(PaneClosed(pane, "error", error=err))


def _warm(provider: Provider) -> None:
    """Do one-off setup (imports, HTTP client, TLS context) before the clocks start.

    Otherwise the first target of each provider pays it inside its TTFT and loses unfairly.
    """
    make_client = getattr(provider, "client", None)
    if callable(make_client):
        try:
            make_client()
        except Exception:
            pass


def _history(history: History | bool | None) -> History | None:
    if history is False:
        return None
    if history is None or history is True:
        from llm_magics.history.store import default_history

        return default_history()
    return history


async def run_comparison(
    prompt: str,
    targets: Sequence[Target] | str,
    *,
    repeat: int = 1,
    temperature: float | None = None,
    max_tokens: int | None = None,
    system: str | None = None,
    on_event: EventSink | None = None,
    history: History | bool | None = None,
) -> Comparison:
    from llm_magics.history.store import new_run_id

    if not prompt or not prompt.strip():
        raise ConfigurationError("The compare prompt is empty.", hint="Put the prompt in the cell body.")
    if int(repeat) < 1:
        raise ConfigurationError(f"repeat={repeat} must be at least 1.", hint="Use --repeat 3 for medians.")
    repeat = int(repeat)
    sink = on_event or null_sink
    from llm_magics.providers.text import scrub_text

    prompt, scrubbed = scrub_text(prompt)
    if system:
        system, scrubbed_system = scrub_text(system, "The system prompt")
        scrubbed = scrubbed or scrubbed_system
    providers = _Providers()
    try:
        plans, notice = _plan(targets, providers)
        await _resolve_models(plans)
        params: dict[str, Any] = {}
        if temperature is not None:
            params["temperature"] = temperature
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        comp = Comparison(
            prompt=prompt, rows=[p.row for p in plans], id=new_run_id(), system=system,
            params={"repeat": repeat, **params},
        )
        run = _Run(comp, sink, _history(history), total=repeat * len(plans))
        run.save()
        sink(RunStarted(kind="compare", run=comp, title=comp.title, layout="grid"))
        if notice:
            sink(Notice(notice, level="info", once=True))
        if scrubbed:
            sink(Notice(scrubbed, level="warning"))
        for i, plan in enumerate(plans):
            sink(PaneOpened(pane=f"t{i}", title=plan.row.target, subtitle=plan.row.provider))
        for prov in {id(p.provider): p.provider for p in plans if p.provider is not None}.values():
            _warm(prov)
        messages: list[Message] = ([{"role": "system", "content": system}] if system else [])
        messages.append({"role": "user", "content": prompt})
        tasks = [
            asyncio.ensure_future(run.target(i, plan, messages, params, repeat)) for i, plan in enumerate(plans)
        ]
        try:
            await asyncio.gather(*tasks)
        except BaseException as exc:  # cancelled (Ctrl-C) or a renderer failed: keep what we have
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            comp.status = "interrupted" if isinstance(exc, asyncio.CancelledError) else "error"
            comp.finished_at = time.time()
            run.save()
            if isinstance(exc, asyncio.CancelledError):
                sink(RunFinished(markdown=comp.to_markdown(), status=comp.status))
            raise
        comp.status = "done" if any(r.ok for r in comp.rows) else "error"
        comp.finished_at = time.time()
        run.save()
        sink(RunFinished(markdown=comp.to_markdown(), status=comp.status))
        return comp
    finally:
        await providers.aclose()
