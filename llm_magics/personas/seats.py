"""Seats: a persona plus the model it speaks with, parsed from "Noor Okafor@kimi:kimi-k2.6".

A council of *different* models needs each persona to carry its own target. The target text is
kept as written here ("kimi:kimi-k2.6", "kimi-k2-thinking" = a model of the run's default
provider, "anthropic" = that provider's default model, or None = the run's default); the
discussion layer turns it into a provider and checks it against the model list before any
chat request. This module only parses and matches names, so it needs no key and no network.

The session also remembers a target per persona (set by the PersonaPicker's model dropdown), used
when a discussion is started without naming its personas, together with the picker's selection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llm_magics.errors import ConfigurationError
from llm_magics.personas.model import Persona, builtin_personas, get_persona, resolve_personas, selection

__all__ = ["Seat", "split_spec", "resolve_seats", "assign_model", "assigned_models"]


@dataclass(frozen=True)
class Seat:
    """One persona at the table and its target as written (None: the run's default model)."""

    persona: Persona
    target: str | None = None

    @property
    def name(self) -> str:
        return self.persona.name

    def __str__(self) -> str:
        return f"{self.persona.name}@{self.target}" if self.target else self.persona.name


def _clean_target(target: object, who: str) -> str | None:
    if target is None:
        return None
    if not isinstance(target, str):
        raise ConfigurationError(
            f"The model for {who} must be a text like 'kimi:kimi-k2.6', got {type(target).__name__}.",
            hint="Write provider:model, or a model ID of the default provider.",
        )
    text = target.strip()
    if not text:
        raise ConfigurationError(
            f"Empty model after '@' for {who}.", hint='Write e.g. "Noor Okafor@kimi:kimi-k2.6", or drop the "@".'
        )
    return text


def split_spec(item: str) -> tuple[str, str | None]:
    """ "Noor Okafor@kimi:kimi-k2.6" → ("Noor Okafor", "kimi:kimi-k2.6"); "Sasha" → ("Sasha", None).

    The first "@" separates: persona names never need one, while model IDs sometimes do
    (e.g. Vertex's "claude-sonnet@20250514").
    """
    name, sep, target = item.partition("@")
    name = name.strip()
    if not sep:
        return name, None
    return name, _clean_target(target, name or "a persona")


def _split_items(spec: str) -> list[str]:
    return [part for part in re.split(r"[,;\n]", spec) if part.strip()]


def _seat_list(pairs: Sequence[tuple[Persona, str | None]]) -> list[Seat]:
    """Drop repeats of a persona; the same persona on two different models is an error."""
    seats: dict[str, Seat] = {}
    for persona, target in pairs:
        have = seats.get(persona.name)
        if have is None:
            seats[persona.name] = Seat(persona, target)
        elif target and have.target and target != have.target:
            raise ConfigurationError(
                f"{persona.name} is listed twice, on '{have.target}' and on '{target}'.",
                hint="A persona sits once per discussion. For the same role on two models, register a copy "
                "under another name: register(Persona('Noor B', 'Security Auditor', '…')).",
            )
        elif target and not have.target:
            seats[persona.name] = Seat(persona, target)
    return list(seats.values())


def _apply_models(seats: list[Seat], models: Mapping[str, object]) -> list[Seat]:
    """models={"Noor": "kimi:kimi-k2.6"}: keys are looked up like persona names, and must be seated."""
    by_name = {s.name: s for s in seats}
    out = dict(by_name)
    for key, target in models.items():
        persona = get_persona(key)
        if persona.name not in by_name:
            from llm_magics.providers.suggest import did_you_mean

            hint = did_you_mean(str(key), list(by_name)) or "Seated: " + ", ".join(by_name) + "."
            raise ConfigurationError(f"models= names {persona.name}, who is not in this discussion.", hint=hint)
        text = _clean_target(target, persona.name)
        seat = by_name[persona.name]
        if seat.target and text and seat.target != text:
            raise ConfigurationError(
                f"Two models for {persona.name}: '{seat.target}' in the persona list and '{text}' in models=.",
                hint="Give the model in one place.",
            )
        out[persona.name] = Seat(seat.persona, seat.target or text)
    return [out[s.name] for s in seats]


def resolve_seats(
    spec: str | Sequence[str | Persona | Seat] | Persona | None,
    models: Mapping[str, object] | None = None,
) -> list[Seat]:
    """The seats of a discussion: "Noor Okafor@kimi:kimi-k2.6, Sasha@kimi-k2-thinking, Avery".

    None means the session selection (PersonaPicker / `select`) with the models picked for it,
    else the six built-ins. Every unknown persona name is reported in one error (did-you-mean);
    `models` maps persona names (any form `get_persona` accepts) to targets.
    """
    if spec is None:
        chosen = selection() or builtin_personas()
        picked = assigned_models()
        seats = [Seat(p, picked.get(p.name)) for p in chosen]
    else:
        items: list[str | Persona | Seat]
        if isinstance(spec, str):
            items = list(_split_items(spec))
        elif isinstance(spec, (Persona, Seat)):
            items = [spec]
        else:
            items = list(spec)
        pairs: list[tuple[str | Persona, str | None]] = []
        for item in items:
            if isinstance(item, Seat):
                pairs.append((item.persona, item.target))
            elif isinstance(item, str) and "@" in item:
                pairs.append(split_spec(item))
            else:
                pairs.append((item, None))
        if not any(isinstance(n, Persona) or (isinstance(n, str) and n.strip()) for n, _ in pairs):
            raise ConfigurationError(
                f"No persona names in {spec!r}.",
                hint='Give names or roles separated by commas, e.g. "Noor Okafor@kimi:kimi-k2.6, Sasha", or omit --personas.',
            )
        # One call for all names, so every unknown one is named in a single error.
        resolve_personas([n for n, _ in pairs if isinstance(n, Persona) or n.strip()])
        seats = _seat_list([(get_persona(n), t) for n, t in pairs if isinstance(n, Persona) or n.strip()])
    if models:
        seats = _apply_models(seats, models)
    return seats


# ── the models picked in the session (PersonaPicker) ────────────────────────────────────────

_assigned: dict[str, str] = {}


def assign_model(persona: str | Persona, target: str | None) -> None:
    """Give a persona a model for discussions started without `--personas` (None: the default)."""
    name = get_persona(persona).name
    text = _clean_target(target, name) if target else None
    if text:
        _assigned[name] = text
    else:
        _assigned.pop(name, None)


def assigned_models() -> dict[str, str]:
    """Persona name → target picked in this session."""
    return dict(_assigned)
