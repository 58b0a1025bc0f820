"""Personas: who speaks in a discussion. Six built-ins, plus the user's own.

Users think in roles ("security") as much as in names ("Noor Okafor"), so lookup accepts the
name, the role, the first name and aliases, in any case. User personas come from YAML/TOML files
in `LLM_MAGICS_HOME/personas/`, from `register(Persona(...))` in Python, or from
`%llm personas add`. A broken user file never hides the built-ins: it is reported by
`persona_errors()` (and once as a warning) instead.

The session *selection* (set by the PersonaPicker or `select`) is what `%%discuss` uses when
`--personas` is omitted; see `resolve_personas`.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from llm_magics.errors import ConfigurationError

__all__ = [
    "Persona",
    "list_personas",
    "builtin_personas",
    "get_persona",
    "resolve_personas",
    "select",
    "selection",
    "register",
    "unregister",
    "persona_errors",
    "personas_dir",
    "on_selection_change",
]

_DEFAULT_COLOR = "#6b7280"
_CSS_COLOR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,30}|(rgb|rgba|hsl|hsla)\([0-9.,%\s/a-z]+\))$")


def _article(role: str) -> str:
    return "an" if role[:1].lower() in "aeio" else "a"


def intro_sentence(name: str, role: str) -> str:
    """The sentence every system prompt starts with: "You are NAME, a ROLE." """
    return f"You are {name}, {_article(role)} {role}."


@dataclass(frozen=True, repr=False)
class Persona:
    """One speaker: a name, a role and the system prompt that makes a model play it.

    A system prompt that does not start with "You are …" gets the intro sentence prepended, so
    the model (and the offline provider) always knows who is speaking.
    """

    name: str
    role: str
    system_prompt: str
    bio: str = ""
    color: str = _DEFAULT_COLOR
    emoji: str = ""
    aliases: tuple[str, ...] = ()
    source: str = field(default="built-in", compare=False)

    def __post_init__(self) -> None:
        for fname in ("name", "role", "system_prompt"):
            value = getattr(self, fname)
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(
                    f"Persona field '{fname}' must be a non-empty text, got {value!r}.",
                    hint="Give name, role and system_prompt, e.g. Persona('Kai Varga', 'Data Engineer', '…').",
                )
        for fname in ("bio", "color", "emoji", "source"):
            value = getattr(self, fname)
            if value is None:
                value = _DEFAULT_COLOR if fname == "color" else ""
            if not isinstance(value, str):
                raise ConfigurationError(f"Persona field '{fname}' must be text, got {type(value).__name__}.")
            object.__setattr__(self, fname, value.strip())
        name = " ".join(self.name.split())
        role = " ".join(self.role.split())
        if any(c in name for c in ",;\n") or len(name) > 80:
            raise ConfigurationError(
                f"Persona field 'name' is invalid: {self.name!r}.",
                hint="Use a short name without commas or semicolons (they separate names in --personas).",
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "role", role)
        color = self.color or _DEFAULT_COLOR
        if not _CSS_COLOR.match(color):
            raise ConfigurationError(
                f"Persona field 'color' is not a CSS colour: {color!r}.",
                hint="Use a hex colour like '#2563eb' or a colour name like 'teal'.",
            )
        object.__setattr__(self, "color", color)
        aliases: Any = self.aliases
        if isinstance(aliases, str):
            aliases = [a for a in aliases.split(",")]
        if not isinstance(aliases, (list, tuple)) or not all(isinstance(a, str) for a in aliases):
            raise ConfigurationError("Persona field 'aliases' must be a list of texts.", hint="e.g. aliases: [security, appsec]")
        object.__setattr__(self, "aliases", tuple(dict.fromkeys(" ".join(a.split()) for a in aliases if a.strip())))
        prompt = self.system_prompt.strip()
        if not prompt.startswith("You are"):
            prompt = f"{intro_sentence(name, role)}\n{prompt}"
        object.__setattr__(self, "system_prompt", prompt)

    def __repr__(self) -> str:
        return f"Persona(name={self.name!r}, role={self.role!r}, source={self.source!r})"

    @property
    def first_name(self) -> str:
        return self.name.split()[0]

    @property
    def label(self) -> str:
        """Display label, e.g. "🛡️ Noor Okafor — Security Auditor"."""
        return f"{self.emoji} {self.name} — {self.role}".strip()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["aliases"] = list(self.aliases)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str | None = None) -> Persona:
        """Build from a mapping; unknown or missing fields raise one ConfigurationError naming them."""
        if not isinstance(d, dict):
            raise ConfigurationError(f"A persona must be a mapping of fields, got {type(d).__name__}.")
        known = [f.name for f in fields(cls)]
        for key in d:
            if key not in known:
                from llm_magics.providers.suggest import did_you_mean

                hint = did_you_mean(str(key), known) or "Fields: " + ", ".join(known[:-1]) + "."
                raise ConfigurationError(f"Unknown persona field '{key}'.", hint=hint)
        for key in ("name", "role", "system_prompt"):
            if key not in d or d[key] is None:
                raise ConfigurationError(
                    f"Persona field '{key}' is missing.", hint="Every persona needs name, role and system_prompt."
                )
        data = dict(d)
        if source is not None:
            data["source"] = source
        if isinstance(data.get("aliases"), list):
            data["aliases"] = tuple(data["aliases"])
        return cls(**data)


# ── registry ─────────────────────────────────────────────────────────────────────────────────

_registered: dict[str, Persona] = {}


def builtin_personas() -> list[Persona]:
    """The six built-ins, in their fixed order."""
    from llm_magics.personas.store import load_builtins

    return list(load_builtins())


def register(persona: Persona) -> Persona:
    """Add (or replace, by name) a persona for this session, e.g. `register(Persona(...))`."""
    if not isinstance(persona, Persona):
        raise ConfigurationError(f"register() needs a Persona, got {type(persona).__name__}.")
    if persona.source == "built-in":
        from dataclasses import replace

        persona = replace(persona, source="python")
    _registered[persona.name.casefold()] = persona
    return persona


def unregister(name: str) -> None:
    """Forget a persona added with `register` (no error if absent)."""
    _registered.pop(" ".join(name.split()).casefold(), None)


def list_personas() -> list[Persona]:
    """Built-ins first (fixed order), then user files (by file name), then `register`ed ones.

    A later persona with the same name as an earlier one replaces it in place (keeping the bio,
    colour, emoji and aliases it does not set), so a user file named "Noor Okafor" customises
    the built-in. Bad user files are skipped; see `persona_errors`.
    """
    from llm_magics.personas.store import load_user_personas

    merged: dict[str, Persona] = {}
    for p in [*builtin_personas(), *load_user_personas(), *_registered.values()]:
        key = p.name.casefold()
        merged[key] = _inherit(p, merged[key]) if key in merged else p
    return list(merged.values())


def _inherit(new: Persona, old: Persona) -> Persona:
    """A replacement keeps the bio, colour, emoji and aliases it leaves out (and old aliases)."""
    from dataclasses import replace

    return replace(
        new,
        bio=new.bio or old.bio,
        color=old.color if new.color == _DEFAULT_COLOR else new.color,
        emoji=new.emoji or old.emoji,
        aliases=tuple(dict.fromkeys([*new.aliases, *old.aliases])),
    )


def persona_errors() -> list[ConfigurationError]:
    """One error per user persona file that could not be loaded (file and field named)."""
    from llm_magics.personas.store import user_errors

    return user_errors()


def personas_dir() -> Any:
    """`LLM_MAGICS_HOME/personas` (a Path; may not exist yet)."""
    from llm_magics.personas.store import personas_dir as _dir

    return _dir()


# ── lookup ───────────────────────────────────────────────────────────────────────────────────


def _norm(text: str) -> str:
    text = re.sub(r"\s*\([^)]*\)\s*$", "", text)  # "Noor Okafor (Security Auditor)" → name
    text = text.replace("—", " ").replace("_", " ").replace("-", " ")
    return " ".join(re.sub(r"[^\w\s]", " ", text).split()).casefold()


def _index(pool: Sequence[Persona]) -> dict[str, Persona]:
    """Lookup keys by priority: full name, then role, then first name, then aliases."""
    index: dict[str, Persona] = {}
    tiers: list[Callable[[Persona], list[str]]] = [
        lambda p: [p.name],
        lambda p: [p.role],
        lambda p: [p.first_name],
        lambda p: list(p.aliases),
    ]
    for tier in tiers:
        for p in pool:
            for key in tier(p):
                index.setdefault(_norm(key), p)
    return index


def get_persona(name_or_alias: str | Persona) -> Persona:
    """A persona by name, role, first name or alias (any case); unknown → "Did you mean …"."""
    if isinstance(name_or_alias, Persona):
        return name_or_alias
    if not isinstance(name_or_alias, str) or not name_or_alias.strip():
        raise ConfigurationError(f"A persona name is needed, got {name_or_alias!r}.")
    pool = list_personas()
    found = _index(pool).get(_norm(name_or_alias))
    if found is not None:
        return found
    raise _unknown([name_or_alias], pool)


def _unknown(names: Sequence[str], pool: Sequence[Persona]) -> ConfigurationError:
    from llm_magics.providers.suggest import closest

    # Every lookup key (name, role, first name, alias) → the persona's full name, so "Nor"
    # suggests 'Noor Okafor' (via the first name) rather than nothing.
    by_key: dict[str, str] = {}
    for p in pool:
        for key in (p.name, p.role, p.first_name, *p.aliases):
            by_key.setdefault(key, p.name)
    hints = []
    for n in names:
        hits = list(dict.fromkeys(by_key[k] for k in closest(n.strip(), by_key)))
        dym = ("Did you mean " + " or ".join(f"'{h}'" for h in hits) + "?") if hits else ""
        if dym:
            hints.append(dym if len(names) == 1 else f"{n.strip()!r}: {dym}")
    if len(hints) < len(names):
        hints.append("Known personas: " + ", ".join(f"{p.name} ({p.role})" for p in pool) + ".")
    bad = persona_errors()
    if bad:
        hints.append(f"{len(bad)} persona file(s) could not be loaded; `%llm personas` lists them.")
    quoted = ", ".join(repr(n.strip()) for n in names)
    noun = "persona" if len(names) == 1 else "personas"
    return ConfigurationError(f"Unknown {noun} {quoted}.", hint=" ".join(hints))


def resolve_personas(spec: str | Sequence[str | Persona] | None) -> list[Persona]:
    """Personas for a discussion: "Noor Okafor, Sasha" → [Noor, Sasha].

    None means: the current selection (PersonaPicker / `select`) if any, else the six built-ins.
    Duplicates are dropped; every unknown name is reported in one error.
    """
    if spec is None:
        return selection() or builtin_personas()
    items: list[str | Persona]
    if isinstance(spec, str):
        items = [part for part in re.split(r"[,;\n]", spec)]
    elif isinstance(spec, Persona):
        items = [spec]
    else:
        items = list(spec)
    items = [i for i in items if isinstance(i, Persona) or (isinstance(i, str) and i.strip())]
    if not items:
        raise ConfigurationError(
            f"No persona names in {spec!r}.",
            hint='Give names or roles separated by commas, e.g. "Noor Okafor, Sasha", or omit --personas.',
        )
    pool = list_personas()
    index = _index(pool)
    out: list[Persona] = []
    unknown: list[str] = []
    for item in items:
        p = item if isinstance(item, Persona) else index.get(_norm(item))
        if p is None:
            unknown.append(str(item))
        elif p not in out:
            out.append(p)
    if unknown:
        raise _unknown(unknown, pool)
    return out


# ── session selection ────────────────────────────────────────────────────────────────────────

_selection: list[Persona] = []
_listeners: list[weakref.ref[Any] | Callable[[], Any]] = []


def select(chosen: Sequence[str | Persona] | str | None) -> None:
    """Set the session selection (the default for `%%discuss`); None or [] clears it."""
    new = [] if chosen is None or (not isinstance(chosen, str) and len(chosen) == 0) else resolve_personas(chosen)
    if new == _selection:
        return
    _selection[:] = new
    for ref in list(_listeners):
        fn = ref()
        if fn is None:
            _listeners.remove(ref)
            continue
        fn(list(new))


def selection() -> list[Persona]:
    """The current selection, in the order it was made ([] when none)."""
    return list(_selection)


def on_selection_change(callback: Callable[[list[Persona]], Any]) -> None:
    """Call `callback(selection)` whenever it changes. Bound methods are held weakly (widgets)."""
    ref: weakref.ref[Any] | Callable[[], Any]
    if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
        ref = weakref.WeakMethod(callback)
    else:
        ref = lambda cb=callback: cb  # noqa: E731
    _listeners.append(ref)

