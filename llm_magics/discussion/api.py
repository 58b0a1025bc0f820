"""`discuss` / `adiscuss`: several personas discuss a topic, streaming, in one of three modes.

Orchestration only: it calls providers, fills a `Transcript`, stores it in the history after
every message, and tells an `EventSink` what happens (the live view renders from that; this
module never displays anything). Modes and aggregators are described in `_discussion_modes`.

A persona whose call fails keeps its turn with the error and the others go on. Cancelling the
task (Ctrl-C / kernel interrupt via `run_sync`) cancels every in-flight stream at once, keeps
each partial text marked "interrupted", saves the transcript and re-raises.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from llm_magics.discussion import modes
from llm_magics.sync import sync_twin
from llm_magics.discussion.transcript import Outcome, Transcript, Turn, turn_summary
from llm_magics.errors import ConfigurationError, LLMError
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
)

if TYPE_CHECKING:
    from llm_magics.history.store import History
    from llm_magics.personas.model import Persona
    from llm_magics.providers.base import Completion, Provider, StreamCollector

__all__ = ["discuss", "adiscuss", "Transcript", "Turn", "Outcome", "MODES", "AGGREGATORS"]

MODES = ("sequential", "parallel", "consensus")
AGGREGATORS = ("synthesize", "vote", "rank")
_DEFAULT_ROUNDS = {"sequential": 1, "parallel": 1, "consensus": 3}

Mode = Literal["sequential", "parallel", "consensus"]
Aggregator = Literal["synthesize", "vote", "rank"]


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        from llm_magics.providers.suggest import did_you_mean

        hint = did_you_mean(value, allowed) or f"Choose one of: {', '.join(allowed)}."
        raise ConfigurationError(f"Unknown {name} '{value}'.", hint=hint)


def _resolve_provider(provider: Provider | str | None, model: str | None, notices: list[str]) -> tuple[Provider, bool]:
    """(provider, owned): a name builds one (which we close at the end), an instance is used as is."""
    from llm_magics.providers import Provider
    from llm_magics.keys.resolve import get_provider

    if isinstance(provider, Provider):
        return provider, False
    if provider is None:
        from llm_magics import config
        from llm_magics.keys import resolve

        name, notice = resolve.default_provider_choice()
        if notice:
            notices.append(notice)
        return get_provider(name, model=model), True
    return get_provider(provider, model=model), True


async def _iterate(stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """Iterate a provider stream and always close it (releases the HTTP connection on cancel)."""
    try:
        async for chunk in stream:
            yield chunk
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


class _Run:
    """One discussion in flight: the transcript, the sink, the history and the call budget."""

    def __init__(
        self,
        tr: Transcript,
        people: list[Persona],
        chair: Persona | None,
        provider: Provider,
        params: dict[str, Any],
        sink: EventSink | None,
        history: History | None,
        concurrency: int,
        summary: bool,
        aggregator: str,
        anonymise: bool,
    ) -> None:
        self.tr = tr
        self.people = people
        self.chair = chair
        self.provider = provider
        self.params = params
        self.sink = sink
        self.history = history
        self.sem = asyncio.Semaphore(concurrency)
        self.summary = summary
        self.aggregator = aggregator
        self.anonymise = anonymise
        self.failures: list[BaseException] = []
        self.done = 0
        self.total = 0
        self._history_failed = False
        from llm_magics.history.writer import Checkpointer

        # Streamed text reaches the history every 2 s or 2 KB (a crash loses little): pane → (turn, collector).
        self.streaming: dict[str, tuple[Turn, StreamCollector]] = {}
        self.checkpoint = Checkpointer(self.checkpoint_now)

    # ---- plumbing -----------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        if self.sink is None:
            return
        try:
            self.sink(event)
        except Exception:  # a broken renderer must never stop the discussion
            pass

    def save(self, *, later: bool = False) -> None:
        """Store the transcript; `later`: queue it for the history's writer thread and go on."""
        if not later:
            self.checkpoint.cancel()
        if self.history is None or self._history_failed:
            return
        tr = self.tr
        try:
            store = self.history.save_later if later else self.history.save
            store(
                tr.id, "discussion", tr.to_dict(), title=tr.title, status=tr.status, provider=tr.provider, model=tr.model
            )
        except Exception as exc:  # keep discussing; say once that the run is not being stored
            self._history_failed = True
            text = f"History not saved ({type(exc).__name__}: {exc}); the transcript is still returned."
            tr.notices.append(text)
            self.emit(Notice(text, "warning"))

    def checkpoint_now(self) -> None:
        """Copy the streaming turns' text so far into the transcript and queue a snapshot."""
        for turn, collector in self.streaming.values():
            turn.text, turn.reasoning = collector.text, collector.reasoning
        self.save(later=True)

    def _fill(self, turn: Turn, done: Completion) -> None:
        turn.text, turn.reasoning = done.text, done.reasoning
        turn.usage, turn.ttft_s, turn.latency_s = done.usage, done.ttft_s, done.latency_s
        turn.finish_reason = done.finish_reason

    # ---- one call -----------------------------------------------------------------------
    async def speak(self, persona: Persona, rnd: int, prompt: str, *, kind: str = "answer", group: str = "") -> Turn:
        """Stream one persona's reply into a new turn; errors are kept in the turn, never raised."""
        from llm_magics.providers.base import StreamCollector

        pane = f"m{len(self.tr.messages) + 1}"
        turn = Turn(persona=persona.name, round=rnd, kind=kind, label=persona.label, pane=pane)
        self.tr.messages.append(turn)
        what = f"round {rnd}" if kind == "answer" else kind
        self.emit(
            PaneOpened(
                pane,
                f"{persona.label} · {what}",
                subtitle=f"{self.tr.provider}:{self.tr.model}",
                color=persona.color,
                group=group,
            )
        )
        messages = [
            {"role": "system", "content": modes.system_prompt(persona, self.people)},
            {"role": "user", "content": prompt},
        ]
        collector: StreamCollector = StreamCollector(self.tr.model or "", self.provider.name)
        try:
            async with self.sem:
                collector = StreamCollector(self.tr.model or "", self.provider.name)  # time from the send
                self.streaming[pane] = (turn, collector)
                stream = self.provider.stream(messages, model=self.tr.model, **self.params)
                async for chunk in _iterate(stream):
                    collector.add(chunk)
                    if chunk.text or chunk.reasoning:
                        self.emit(TextDelta(pane, chunk.text, chunk.reasoning))
                        self.checkpoint.note(len(chunk.text or "") + len(chunk.reasoning or ""))
        except asyncio.CancelledError:
            self.streaming.pop(pane, None)
            self._fill(turn, collector.result())
            turn.status = "interrupted"
            self.emit(PaneClosed(pane, "interrupted", turn_summary(turn)))
            raise
        except Exception as exc:
            self._fill(turn, collector.result())
            turn.status = "error"
            turn.error = str(exc) if isinstance(exc, LLMError) else f"{type(exc).__name__}: {exc}"
            self.failures.append(exc)
            self.emit(PaneClosed(pane, "error", turn_summary(turn), error=turn.error))
        else:
            self._fill(turn, collector.result())
            turn.status = "done"
            if kind == "answer" and self.tr.mode == "consensus" and rnd > 1:
                turn.stance = modes.parse_stance(turn.text)
            self.emit(PaneClosed(pane, "done", turn_summary(turn)))
        self.streaming.pop(pane, None)
        self.done += 1
        self.emit(Progress(self.done, max(self.total, self.done), f"{persona.name} · {what}"))
        self.save(later=True)
        return turn

    async def round_all(self, rnd: int, prompts: dict[str, str]) -> list[Turn]:
        """Everyone at once (bounded by the semaphore); panes open in persona order."""
        group = f"Round {rnd}"
        return list(
            await asyncio.gather(*(self.speak(p, rnd, prompts[p.name], group=group) for p in self.people if p.name in prompts))
        )

    # ---- modes --------------------------------------------------------------------------
    async def sequential(self) -> None:
        rounds = self.tr.rounds
        for rnd in range(1, rounds + 1):
            for p in self.people:
                so_far = [t for t in self.tr.answers() if t.ok]
                await self.speak(p, rnd, modes.sequential_prompt(self.tr.topic, so_far, p, rnd, rounds), group=f"Round {rnd}")
        await self.closing_summary()

    async def parallel(self) -> None:
        latest: dict[str, Turn] = {}
        for rnd in range(1, self.tr.rounds + 1):
            prompts = {
                p.name: modes.parallel_prompt(
                    self.tr.topic, latest.get(p.name), [t for n, t in latest.items() if n != p.name], rnd
                )
                for p in self.people
            }
            turns = await self.round_all(rnd, prompts)
            latest.update({t.persona: t for t in turns if t.ok})
            if not any(t.ok for t in turns):
                break
        await self.closing_summary()

    async def closing_summary(self) -> None:
        if not (self.summary or self.chair is not None):
            return
        turns = [t for t in self.tr.answers() if t.ok]
        if not turns:
            return
        chair = self.chair or self.people[0]
        last_round = max(t.round for t in turns)
        turn = await self.speak(chair, last_round, modes.summary_prompt(self.tr.topic, turns), kind="summary", group="Summary")
        self.tr.final = Outcome(kind="summary", text=turn.text, by=chair.name)

    async def consensus(self) -> None:
        vote = self.aggregator == "vote"
        turns = await self.round_all(1, {p.name: modes.first_prompt(self.tr.topic, vote=vote) for p in self.people})
        latest = {t.persona: t for t in turns if t.ok}
        agreed: bool | None = None
        rounds_run = 1
        last_turns = turns
        for rnd in range(2, self.tr.rounds + 1):
            if not latest:
                break
            prompts = {
                p.name: modes.debate_prompt(
                    self.tr.topic, latest.get(p.name), [t for n, t in latest.items() if n != p.name], rnd, vote=vote
                )
                for p in self.people
            }
            last_turns = await self.round_all(rnd, prompts)
            rounds_run = rnd
            latest.update({t.persona: t for t in last_turns if t.ok})
            ok = [t for t in last_turns if t.ok]
            agreed = bool(ok) and all(t.stance == "AGREE" for t in ok)
            if agreed:
                break
        dissenters = [t.persona for t in last_turns if t.ok and t.stance == "DISAGREE"]
        if not latest:
            return
        finals = [latest[p.name] for p in self.people if p.name in latest]
        if self.aggregator == "vote":
            self.tr.final = self._vote(finals, dissenters)
        elif self.aggregator == "rank":
            self.tr.final = await self._rank(finals, dissenters)
        else:
            chair = self.chair or self.people[0]
            prompt = modes.synthesis_prompt(self.tr.topic, finals, dissenters)
            turn = await self.speak(chair, rounds_run, prompt, kind="synthesis", group="Consensus")
            self.tr.final = Outcome(kind="synthesis", text=turn.text, by=chair.name, dissents=dissenters)
        self.tr.final.agreed = agreed
        self.tr.final.rounds_run = rounds_run

    def _vote(self, finals: list[Turn], dissenters: list[str]) -> Outcome:
        answers = {t.persona: modes.final_answer(t.text) for t in finals}
        groups, winner, majority = modes.tally_votes(answers)
        if winner is None:
            text = "No winner: the answers are tied."
        else:
            text = winner if majority else f"{winner} (plurality, no majority)"
        others = [n for a, who in groups.items() if a != winner for n in who]
        dissents = list(dict.fromkeys([*dissenters, *others]))
        return Outcome(kind="vote", text=text, winner=winner, dissents=dissents, votes=groups)

    async def _rank(self, finals: list[Turn], dissenters: list[str]) -> Outcome:
        labels = modes.response_labels(len(finals))
        label_to = {lab: t.persona for lab, t in zip(labels, finals)}
        shown = [
            (lab if self.anonymise else f"{lab} ({t.persona})", modes.strip_stance(t.text).strip())
            for lab, t in zip(labels, finals)
        ]
        prompt = modes.ranking_prompt(self.tr.topic, shown)
        rnd = max(t.round for t in finals)
        rankers = await asyncio.gather(*(self.speak(p, rnd, prompt, kind="ranking", group="Peer ranking") for p in self.people))
        orders = [modes.parse_ranking(t.text, labels) for t in rankers if t.ok]
        rows = modes.aggregate_rankings(orders, label_to)
        top = rows[0] if rows and orders else None
        winner_turn = next((t for t in finals if top and t.persona == top["persona"]), None)
        return Outcome(
            kind="rank",
            text=modes.strip_stance(winner_turn.text).strip() if winner_turn else "No usable rankings.",
            winner=top["persona"] if top else None,
            dissents=dissenters,
            ranking=[{k: r[k] for k in ("persona", "label", "average_rank", "votes")} for r in rows],
        )


async def adiscuss(
    topic: str,
    personas: str | Sequence[str | Persona] | Persona | None = None,
    *,
    mode: Mode = "sequential",
    rounds: int | None = None,
    provider: Provider | str | None = None,
    model: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    chair: str | Persona | None = None,
    aggregator: Aggregator = "synthesize",
    anonymise: bool = True,
    concurrency: int | None = None,
    summary: bool = False,
    on_event: EventSink | None = None,
    history: History | bool | None = None,
) -> Transcript:
    """Run a discussion and return its Transcript (also stored in the history as it goes).

    mode: "sequential" (turns; each sees the transcript so far), "parallel" (independent answers;
    rounds > 1 = debate), "consensus" (answers, AGREE/DISAGREE debate rounds until all agree or
    `rounds` is reached, then `aggregator`: "synthesize" by the chair, "vote" or "rank").
    `provider`: a name or a Provider; default from config (offline with a notice when no key).
    `history`: a History, None for the default one, False to not store the run.
    """
    from llm_magics.history.store import default_history, new_run_id
    from llm_magics.personas.model import Persona as _Persona
    from llm_magics.personas.model import get_persona, resolve_personas

    if not isinstance(topic, str) or not topic.strip():
        raise ConfigurationError("The discussion topic is empty.", hint="Write the topic in the cell body (or pass topic=...).")
    _check_choice("mode", mode, MODES)
    _check_choice("aggregator", aggregator, AGGREGATORS)
    n_rounds = _DEFAULT_ROUNDS[mode] if rounds is None else int(rounds)
    if n_rounds < 1:
        raise ConfigurationError(f"rounds={rounds} is not allowed.", hint="Use rounds=1 or more.")
    if concurrency is not None and concurrency < 1:
        raise ConfigurationError(f"concurrency={concurrency} is not allowed.", hint="Use 1 or more (None = no limit).")
    if isinstance(personas, _Persona):
        personas = [personas]
    elif isinstance(personas, str) and not personas.strip():
        personas = None
    people = resolve_personas(personas)
    chair_p = get_persona(chair) if chair is not None else None
    notices: list[str] = []
    prov, owned = _resolve_provider(provider, model, notices)
    try:
        model_id = prov.resolve_model(model)
        hist: History | None = None if history is False else default_history() if history in (None, True) else history  # type: ignore[assignment]
        params: dict[str, Any] = {}
        if temperature is not None:
            params["temperature"] = temperature
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        tr = Transcript(
            id=new_run_id(),
            topic=topic,
            mode=mode,
            personas=[{"name": p.name, "role": p.role, "color": p.color, "emoji": p.emoji} for p in people],
            provider=prov.name,
            model=model_id,
            rounds=n_rounds,
            aggregator=aggregator if mode == "consensus" else None,
            notices=notices,
        )
        run = _Run(tr, people, chair_p, prov, params, on_event, hist, concurrency or max(len(people), 1), summary, aggregator, anonymise)
        return await _drive(run)
    finally:
        if owned:
            await prov.aclose()


def _planned_calls(run: _Run) -> int:
    n, tr = len(run.people), run.tr
    extra = 1 if (run.summary or run.chair is not None) else 0
    if tr.mode == "consensus":
        extra = n if run.aggregator == "rank" else 0 if run.aggregator == "vote" else 1
    return n * tr.rounds + extra


async def _drive(run: _Run) -> Transcript:
    tr = run.tr
    t0 = time.perf_counter()
    run.total = _planned_calls(run)
    layout: Literal["transcript", "grid"] = "transcript" if tr.mode == "sequential" else "grid"
    run.save()
    run.emit(RunStarted("discussion", tr, title=f"{tr.mode} · {len(run.people)} personas · {tr.provider}:{tr.model}", layout=layout))
    for text in tr.notices:
        run.emit(Notice(text, "info"))
    try:
        await {"sequential": run.sequential, "parallel": run.parallel, "consensus": run.consensus}[tr.mode]()
    except asyncio.CancelledError:
        for turn in tr.messages:
            if turn.status == "streaming":
                turn.status = "interrupted"
        tr.status = "interrupted"
        tr.wall_s = time.perf_counter() - t0
        run.save()
        run.emit(RunFinished(tr.to_markdown(), "interrupted"))
        raise
    except BaseException:
        tr.status = "error"
        tr.wall_s = time.perf_counter() - t0
        run.save()
        raise
    tr.wall_s = time.perf_counter() - t0
    if run.failures and not any(t.ok for t in tr.messages):
        tr.status = "error"
        run.save()
        run.emit(RunFinished(tr.to_markdown(), "error"))
        first = run.failures[0]
        if isinstance(first, LLMError):
            raise first
        raise LLMError(f"Every persona's call failed: {first}", hint="Check the provider with `%llm check`.") from first
    tr.status = "done"
    run.save()
    run.emit(RunFinished(tr.to_markdown(), "done"))
    return tr


discuss = sync_twin(adiscuss, "discuss")
