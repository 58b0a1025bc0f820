"""`discuss` / `adiscuss`: several personas discuss a topic, streaming, in one of three modes.

Orchestration only: it calls providers, fills a `Transcript`, stores it in the history after
every message, and tells an `EventSink` what happens (the live view renders from that; this
module never displays anything). Modes and aggregators are described in `_discussion_modes`.

Each persona may speak with its own provider:model (a *council* of different models: persona
specs like "Noor Okafor@kimi:kimi-k2.6", or `models={...}`); targets are checked before any chat
request (`discussion.seats`). With `baselines=True` a consensus also reports what the independent
first answers alone would have given (`discussion.baselines`). In `vote` and `rank`, answers are
anonymised and each judge sees them in its own seeded order (rotations of one random order), with
the order and the label → persona → model map kept in the transcript.

A persona whose call fails keeps its turn with the error and the others go on. Cancelling the
task (Ctrl-C / kernel interrupt via `run_sync`) cancels every in-flight stream at once, keeps
each partial text marked "interrupted", saves the transcript and re-raises.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
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
    Waiting,
)
from llm_magics.providers.scheduler import WaitInfo, report_waits

if TYPE_CHECKING:
    from llm_magics.discussion.seats import Binding
    from llm_magics.personas.seats import Seat
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
        bindings: dict[str, Binding],
        params: dict[str, Any],
        sink: EventSink | None,
        history: History | None,
        concurrency: int,
        summary: bool,
        aggregator: str,
        anonymise: bool,
        *,
        chair_binding: Binding | None = None,
        vote_line: bool = False,
    ) -> None:
        self.tr = tr
        self.people = people
        self.chair = chair
        self.bindings = bindings  # persona name → where its requests go
        self.chair_binding = chair_binding
        self.vote_line = vote_line  # ask for a "FINAL ANSWER:" line (vote, baselines)
        self.want_baselines = False
        self.labels = {d["persona"]: lab for lab, d in tr.labels.items()}  # persona → anonymous label
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
        targets = sorted(set(tr.targets.values()))
        # One target: its provider and model; a council: the list of provider:model (shown as is).
        provider, model = (tr.provider, tr.model) if len(targets) <= 1 else (None, ", ".join(targets))
        try:
            store = self.history.save_later if later else self.history.save
            store(tr.id, "discussion", tr.to_dict(), title=tr.title, status=tr.status, provider=provider, model=model)
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

    def _fill(self, turn: Turn, done: Completion, priced: bool) -> None:
        turn.text, turn.reasoning = done.text, done.reasoning
        turn.usage, turn.ttft_s, turn.latency_s = done.usage, done.ttft_s, done.latency_s
        turn.finish_reason = done.finish_reason
        turn.cost = done.cost if priced else None

    def binding(self, persona: Persona) -> Binding:
        return self.bindings[persona.name]

    def measure(self) -> None:
        """Baselines from the transcript's own turns (asked for with baselines=True)."""
        if self.want_baselines:
            from llm_magics.discussion.baselines import compute_baselines

            self.tr.baselines = compute_baselines(self.tr.messages, self.tr.targets)

    # ---- one call -----------------------------------------------------------------------
    async def speak(
        self,
        persona: Persona,
        rnd: int,
        prompt: str,
        *,
        kind: str = "answer",
        group: str = "",
        binding: Binding | None = None,
        shown: Sequence[str] = (),
    ) -> Turn:
        """Stream one persona's reply into a new turn; errors are kept in the turn, never raised.

        `binding`: where the request goes (default: the persona's seat); `shown`: the anonymous
        labels in the order this speaker saw them (recorded for bias control).
        """
        from llm_magics.providers.base import StreamCollector

        bound = binding or self.binding(persona)
        provider, model = bound.provider, bound.model
        pane = f"m{len(self.tr.messages) + 1}"
        turn = Turn(persona=persona.name, round=rnd, kind=kind, label=persona.label, pane=pane,
                    target=bound.target, shown=list(shown))
        self.tr.messages.append(turn)
        what = f"round {rnd}" if kind == "answer" else kind
        self.emit(PaneOpened(pane, f"{persona.label} · {what}", subtitle=bound.target, color=persona.color, group=group))
        messages = [
            {"role": "system", "content": modes.system_prompt(persona, self.people)},
            {"role": "user", "content": prompt},
        ]
        pricer = getattr(provider, "pricer", None)
        collector: StreamCollector = StreamCollector(model, provider.name, pricer)
        try:
            async with self.sem:
                collector = StreamCollector(model, provider.name, pricer)  # time from the send
                self.streaming[pane] = (turn, collector)
                stream = provider.stream(messages, model=model, **self.params)
                # A wait for the shared rate limit shows on this pane ("waiting for the rate limit");
                # the clocks start when the request is sent, not while it queues.
                def waited(w: WaitInfo) -> None:
                    if w.done:
                        collector.restart()
                    self.emit(Waiting(pane, "" if w.done else w.describe(), w.seconds))

                with report_waits(waited):
                    async for chunk in _iterate(stream):
                        collector.add(chunk)
                        if chunk.text or chunk.reasoning:
                            self.emit(TextDelta(pane, chunk.text, chunk.reasoning))
                            self.checkpoint.note(len(chunk.text or "") + len(chunk.reasoning or ""))
        except asyncio.CancelledError:
            self.streaming.pop(pane, None)
            self._fill(turn, collector.result(), pricer is not None)
            turn.status = "interrupted"
            self.emit(PaneClosed(pane, "interrupted", turn_summary(turn)))
            raise
        except Exception as exc:
            self._fill(turn, collector.result(), pricer is not None)
            turn.status = "error"
            turn.error = str(exc) if isinstance(exc, LLMError) else f"{type(exc).__name__}: {exc}"
            self.failures.append(exc)
            self.emit(PaneClosed(pane, "error", turn_summary(turn), error=turn.error))
        else:
            self._fill(turn, collector.result(), pricer is not None)
            turn.status = "done"
            if kind == "answer" and self.tr.mode == "consensus" and rnd > 1:
                turn.stance = modes.parse_stance(turn.text)
            self.emit(PaneClosed(pane, "done", turn_summary(turn)))
        self.streaming.pop(pane, None)
        self.done += 1
        self.emit(Progress(self.done, max(self.total, self.done), f"{persona.name} · {what}"))
        self.save(later=True)
        return turn

    async def round_all(self, rnd: int, prompts: dict[str, str], shown: Mapping[str, Sequence[str]] | None = None) -> list[Turn]:
        """Everyone at once (bounded by the semaphore); panes open in persona order."""
        group = f"Round {rnd}"
        seen = shown or {}
        return list(
            await asyncio.gather(
                *(self.speak(p, rnd, prompts[p.name], group=group, shown=seen.get(p.name, ())) for p in self.people if p.name in prompts)
            )
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
                    self.tr.topic, latest.get(p.name), [t for n, t in latest.items() if n != p.name], rnd, vote=self.vote_line
                )
                for p in self.people
            }
            turns = await self.round_all(rnd, prompts)
            latest.update({t.persona: t for t in turns if t.ok})
            if not any(t.ok for t in turns):
                break
        await self.closing_summary()

    def _chaired(self, outcome: Outcome, chair: Persona, bound: Binding) -> Outcome:
        """Record who chaired on which model, and flag a chair that also argued (self-preference)."""
        outcome.chair_target = bound.target
        outcome.chair_is_speaker = any(p.name == chair.name for p in self.people)
        outcome.chair_same_model_as = [p.name for p in self.people if p.name != chair.name and self.binding(p).target == bound.target]
        return outcome

    def _chair(self) -> tuple[Persona, Binding]:
        chair = self.chair or self.people[0]
        return chair, self.chair_binding or self.binding(chair)

    async def closing_summary(self) -> None:
        if not (self.summary or self.chair is not None):
            return
        turns = [t for t in self.tr.answers() if t.ok]
        if not turns:
            return
        chair, bound = self._chair()
        last_round = max(t.round for t in turns)
        prompt = modes.summary_prompt(self.tr.topic, turns)
        turn = await self.speak(chair, last_round, prompt, kind="summary", group="Summary", binding=bound)
        self.tr.final = self._chaired(Outcome(kind="summary", text=turn.text, by=chair.name), chair, bound)

    def _anonymous(self) -> bool:
        """Debate rounds hide who wrote which answer when the outcome is a vote or a peer ranking."""
        return self.anonymise and self.aggregator in ("vote", "rank")

    def _debate_prompts(self, rnd: int, latest: dict[str, Turn]) -> tuple[dict[str, str], dict[str, list[str]]]:
        """Each persona's debate prompt, and (anonymised) the labels in the order it saw them."""
        vote = self.vote_line
        if not self._anonymous():
            prompts = {
                p.name: modes.debate_prompt(
                    self.tr.topic, latest.get(p.name), [t for n, t in latest.items() if n != p.name], rnd, vote=vote
                )
                for p in self.people
            }
            return prompts, {}
        orders = modes.balanced_orders(list(latest), [p.name for p in self.people], self.tr.seed or 0, f"round {rnd}")
        prompts, shown = {}, {}
        for p in self.people:
            others = [latest[n] for n in orders[p.name] if n != p.name]
            prompts[p.name] = modes.debate_prompt(self.tr.topic, latest.get(p.name), others, rnd, vote=vote, labels=self.labels)
            shown[p.name] = [self.labels[t.persona] for t in others]
        return prompts, shown

    async def consensus(self) -> None:
        vote = self.vote_line
        turns = await self.round_all(1, {p.name: modes.first_prompt(self.tr.topic, vote=vote) for p in self.people})
        latest = {t.persona: t for t in turns if t.ok}
        agreed: bool | None = None
        rounds_run = 1
        last_turns = turns
        for rnd in range(2, self.tr.rounds + 1):
            if not latest:
                break
            prompts, shown = self._debate_prompts(rnd, latest)
            last_turns = await self.round_all(rnd, prompts, shown)
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
            chair, bound = self._chair()
            prompt = modes.synthesis_prompt(self.tr.topic, finals, dissenters)
            turn = await self.speak(chair, rounds_run, prompt, kind="synthesis", group="Consensus", binding=bound)
            outcome = Outcome(kind="synthesis", text=turn.text, by=chair.name, dissents=dissenters)
            self.tr.final = self._chaired(outcome, chair, bound)
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
        """llm-council stage 2: every persona ranks the anonymised answers, each in its own order."""
        by_label = {self.labels[t.persona]: t for t in finals}
        label_to = {lab: by_label[lab].persona for lab in sorted(by_label, key=lambda x: (len(x), x))}
        judges = [p.name for p in self.people]
        orders = modes.balanced_orders(list(label_to), judges, self.tr.seed or 0, "ranking")

        def prompt(judge: str) -> str:
            shown = [
                (lab if self.anonymise else f"{lab} ({label_to[lab]})", modes.strip_stance(by_label[lab].text).strip())
                for lab in orders[judge]
            ]
            return modes.ranking_prompt(self.tr.topic, shown)

        rnd = max(t.round for t in finals)
        rankers = await asyncio.gather(
            *(self.speak(p, rnd, prompt(p.name), kind="ranking", group="Peer ranking", shown=orders[p.name]) for p in self.people)
        )
        parsed = {t.persona: modes.parse_ranking(t.text, list(label_to)) for t in rankers if t.ok}
        rows = modes.aggregate_rankings(list(parsed.values()), label_to)
        top = rows[0] if rows and parsed else None
        winner_turn = next((t for t in finals if top and t.persona == top["persona"]), None)
        self_rank: dict[str, int | None] = {}
        for judge, order in parsed.items():
            own = self.labels.get(judge)
            self_rank[judge] = order.index(own) + 1 if own in order else None
        return Outcome(
            kind="rank",
            text=modes.strip_stance(winner_turn.text).strip() if winner_turn else "No usable rankings.",
            winner=top["persona"] if top else None,
            dissents=dissenters,
            ranking=[{k: r[k] for k in ("persona", "label", "average_rank", "votes")} for r in rows],
            orders={j: list(o) for j, o in orders.items()},
            self_rank=self_rank,
        )


async def adiscuss(
    topic: str,
    personas: str | Sequence[str | Persona | Seat] | Persona | None = None,
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
    models: Mapping[str, str] | None = None,
    baselines: bool = False,
    seed: int | None = None,
) -> Transcript:
    """Run a discussion and return its Transcript (also stored in the history as it goes).

    mode: "sequential" (turns; each sees the transcript so far), "parallel" (independent answers;
    rounds > 1 = debate), "consensus" (answers, AGREE/DISAGREE debate rounds until all agree or
    `rounds` is reached, then `aggregator`: "synthesize" by the chair, "vote" or "rank").
    `provider`: a name or a Provider; default from config (offline with a notice when no key).
    `history`: a History, None for the default one, False to not store the run.

    A council of different models: a persona may carry a target, "Noor Okafor@kimi:kimi-k2.6" or
    "Sasha@kimi-k2-thinking" (a model of `provider`), or get one via `models={"Noor": "kimi:kimi-k2.6"}`;
    `chair` takes the same form. Personas without a target use `provider`/`model`. Unknown
    targets raise one ConfigurationError (with "did you mean") before any chat request.
    `baselines=True` (consensus or parallel): also report the independent first answers, their
    majority vote, agreement, flips and the token multiple (`Transcript.baselines`).
    `seed`: the anonymous labels and per-judge answer orders (random when None; recorded).
    """
    from llm_magics.discussion.seats import Bindings
    from llm_magics.history.store import default_history, new_run_id
    from llm_magics.personas.model import Persona as _Persona
    from llm_magics.personas.model import get_persona
    from llm_magics.personas.seats import resolve_seats, split_spec

    if not isinstance(topic, str) or not topic.strip():
        raise ConfigurationError("The discussion topic is empty.", hint="Write the topic in the cell body (or pass topic=...).")
    from llm_magics.providers.text import scrub_text

    topic, scrubbed = scrub_text(topic, "The topic")  # lone surrogates: replaced, said, and the run goes on
    _check_choice("mode", mode, MODES)
    _check_choice("aggregator", aggregator, AGGREGATORS)
    n_rounds = _DEFAULT_ROUNDS[mode] if rounds is None else int(rounds)
    if n_rounds < 1:
        raise ConfigurationError(f"rounds={rounds} is not allowed.", hint="Use rounds=1 or more.")
    if concurrency is not None and concurrency < 1:
        raise ConfigurationError(f"concurrency={concurrency} is not allowed.", hint="Use 1 or more (None = no limit).")
    if baselines and mode == "sequential":
        raise ConfigurationError(
            "baselines need independent first answers, which sequential mode does not have.",
            hint="Use mode='consensus' (or 'parallel') with baselines=True.",
        )
    if isinstance(personas, _Persona):
        personas = [personas]
    elif isinstance(personas, str) and not personas.strip():
        personas = None
    seats = resolve_seats(personas, models)
    people = [s.persona for s in seats]
    chair_target: str | None = None
    chair_p: _Persona | None = None
    if isinstance(chair, str):
        chair_name, chair_target = split_spec(chair)
        chair_p = get_persona(chair_name)
    elif chair is not None:
        chair_p = get_persona(chair)
    notices: list[str] = []
    prov, owned = _resolve_provider(provider, model, notices)
    try:  # one rule with streams, workflows and compare: an OpenAI-compatible server's first model
        default_model = await prov.aresolve_model(model)
    except BaseException:
        if owned:
            await prov.aclose()
        raise
    bindings = Bindings(prov, default_model)
    try:
        model_id = bindings.default.model
        # Every target is checked (key, model list) before the first chat request.
        bound = await bindings.bind([(s.name, s.target) for s in seats] + ([(chair_p.name, chair_target)] if chair_p else []))
        seat_bindings = {s.name: b for s, b in zip(seats, bound)}
        # A chair on its own target, or not seated (the default model); else it keeps its seat's model.
        chair_binding = bound[-1] if chair_p is not None and (chair_target or chair_p.name not in seat_bindings) else None
        run_seed = int(seed) if seed is not None else random.SystemRandom().randrange(2**31)
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
            personas=[
                {"name": p.name, "role": p.role, "color": p.color, "emoji": p.emoji, "target": seat_bindings[p.name].target}
                for p in people
            ],
            provider=prov.name,
            model=model_id,
            rounds=n_rounds,
            aggregator=aggregator if mode == "consensus" else None,
            seed=run_seed,
        )
        if scrubbed:
            tr.notices.append(scrubbed)
        if mode == "consensus" and aggregator in ("vote", "rank"):
            labels = modes.assign_labels([p.name for p in people], run_seed)
            tr.labels = {
                lab: {"persona": name, "target": seat_bindings[name].target}
                for name, lab in sorted(labels.items(), key=lambda kv: (len(kv[1]), kv[1]))
            }
        run = _Run(
            tr, people, chair_p, seat_bindings, params, on_event, hist, concurrency or max(len(people), 1), summary,
            aggregator, anonymise, chair_binding=chair_binding, vote_line=aggregator == "vote" or baselines,
        )
        run.want_baselines = baselines
        return await _drive(run, notices)  # session notices: shown, never stored
    finally:
        await bindings.aclose()
        if owned:
            await prov.aclose()


def _planned_calls(run: _Run) -> int:
    n, tr = len(run.people), run.tr
    extra = 1 if (run.summary or run.chair is not None) else 0
    if tr.mode == "consensus":
        extra = n if run.aggregator == "rank" else 0 if run.aggregator == "vote" else 1
    return n * tr.rounds + extra


async def _drive(run: _Run, notices: Sequence[str] = ()) -> Transcript:
    tr = run.tr
    t0 = time.perf_counter()
    run.total = _planned_calls(run)
    layout: Literal["transcript", "grid"] = "transcript" if tr.mode == "sequential" else "grid"
    run.save()
    targets = sorted(set(tr.targets.values()))
    where = targets[0] if len(targets) == 1 else f"{len(targets)} models"
    run.emit(RunStarted("discussion", tr, title=f"{tr.mode} · {len(run.people)} personas · {where}", layout=layout))
    for text in notices:
        run.emit(Notice(text, "info", once=True))
    for text in tr.notices:
        run.emit(Notice(text, "info"))
    try:
        await {"sequential": run.sequential, "parallel": run.parallel, "consensus": run.consensus}[tr.mode]()
    except asyncio.CancelledError:
        for turn in tr.messages:
            if turn.status == "streaming":
                turn.status = "interrupted"
        run.measure()
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
    run.measure()
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
