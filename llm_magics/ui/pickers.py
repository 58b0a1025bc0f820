"""PersonaPicker and ModelPicker: choose who talks and which model answers, by clicking.

PersonaPicker's selection IS the session selection (`llm_magics.personas.model.select`), so the next
`%%discuss` without `--personas` uses exactly the clicked personas, in click order. ModelPicker
writes `config.set_session(provider=…, model=…)` when the user changes either dropdown.

DOM hooks for browser tests
    picker:  `.llm-persona-picker`; search box `.llm-persona-search` (an <input>); summary line
             `.llm-persona-summary`; "Clear" button `.llm-persona-clear`
    card:    `.llm-persona-card` (+ `.llm-persona-card-selected` when selected), holding a button
             `.llm-persona-card-button` whose text is "EMOJI NAME" (prefixed "✓ " when selected),
             the role/bio `.llm-persona-card-info`, a collapsed "System prompt" accordion
             `.llm-persona-card-prompt`, and (shown while selected) the model dropdown
             `.llm-persona-card-model` ("" = the default model, else "provider:model")
    models:  `.llm-model-picker`, dropdowns `.llm-model-provider` and `.llm-model-model`,
             `.llm-model-refresh`, status line `.llm-model-status`
"""

from __future__ import annotations

import concurrent.futures
import html
import importlib
import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as widgets
import traitlets

from llm_magics.personas.model import Persona

from llm_magics.personas import model as _personas

__all__ = ["PersonaPicker", "PersonaCard", "ModelPicker", "target_options"]


def target_options() -> list[tuple[str, str]]:
    """The persona model dropdown: the default, then provider:model for every provider with a key,
    plus offline. IDs come from the model-list cache or the built-in list (no network here)."""
    from llm_magics.keys.models import cached_ids, list_models
    from llm_magics.keys.resolve import resolve_key
    from llm_magics.providers.registry import PROVIDERS

    options: list[tuple[str, str]] = [("default model (--provider/--model)", "")]
    for name in PROVIDERS:
        spec = PROVIDERS[name]
        try:
            usable = name == PROVIDERS.OFFLINE or (spec.needs_key and resolve_key(spec) is not None)
        except Exception:  # noqa: BLE001 - a broken key store must not break the picker
            usable = False
        if usable:
            # The offline provider's list is local (it also plays the Kimi IDs, for key-free councils).
            ids = list_models(name).ids if name == PROVIDERS.OFFLINE else cached_ids(name)
            options += [(f"{name}:{mid}", f"{name}:{mid}") for mid in ids]
    return options

_BORDER_OFF = "1px solid #d1d5db"


class PersonaCard(widgets.VBox):  # type: ignore[misc]
    """One persona: a big toggle button (emoji + name), role and bio, the prompt on expand."""

    def __init__(
        self,
        persona: Persona,
        on_click: Callable[[Persona], None],
        models: Sequence[tuple[str, str]] = (),
        on_model: Callable[[Persona, str], None] | None = None,
    ) -> None:
        self.persona = persona
        self.selected = False
        self.button = widgets.Button(
            description=self._description(False),
            tooltip=f"{persona.label}: click to select or deselect",
            layout=widgets.Layout(width="100%", height="auto", min_height="34px"),
        )
        self.button.style.font_weight = "bold"
        self.button.add_class("llm-persona-card-button")
        self.button.on_click(lambda _b: on_click(persona))
        esc = html.escape
        self.info = widgets.HTML(
            f'<div style="border-left:4px solid {esc(persona.color)};padding-left:6px;line-height:1.3">'
            f"<div><b>{esc(persona.role)}</b></div>"
            f'<div style="font-size:0.9em;color:#4b5563">{esc(persona.bio)}</div></div>'
        )
        self.info.add_class("llm-persona-card-info")
        prompt_html = widgets.HTML(
            f'<div style="white-space:pre-wrap;font-size:0.85em;line-height:1.35">{esc(persona.system_prompt)}</div>'
        )
        self.prompt = widgets.Accordion(children=[prompt_html], titles=("System prompt",), selected_index=None)
        self.prompt.add_class("llm-persona-card-prompt")
        self.model = widgets.Dropdown(
            options=list(models) or [("default model", "")], value="", description="Model",
            layout=widgets.Layout(width="100%"), style={"description_width": "44px"},
        )
        self.model.add_class("llm-persona-card-model")
        if on_model is not None:
            self.model.observe(lambda change: on_model(persona, str(change["new"] or "")), names="value")
        super().__init__(
            [self.button, self.info, self.model, self.prompt],
            layout=widgets.Layout(border=_BORDER_OFF, padding="6px", margin="0", overflow="hidden"),
        )
        self.add_class("llm-persona-card")
        self._paint()

    def _description(self, selected: bool) -> str:
        p = self.persona
        return ("✓ " if selected else "") + f"{p.emoji} {p.name}".strip()

    def set_selected(self, selected: bool) -> None:
        if selected == self.selected:
            return
        self.selected = selected
        self._paint()

    def _paint(self) -> None:
        color = self.persona.color
        self.button.description = self._description(self.selected)
        self.button.style.button_color = color if self.selected else "#f3f4f6"
        self.button.style.text_color = "white" if self.selected else "#111827"
        self.layout.border = f"2px solid {color}" if self.selected else _BORDER_OFF
        self.model.layout.display = None if self.selected else "none"  # a model only for who takes part
        for w in (self, self.button):
            if self.selected:
                w.add_class("llm-persona-card-selected")
            else:
                w.remove_class("llm-persona-card-selected")

    def set_model(self, target: str | None) -> None:
        """Show `target` in the dropdown (added to the options if the list does not know it)."""
        value = target or ""
        if value and value not in [v for _, v in self.model.options]:
            self.model.options = [*self.model.options, (value, value)]
        self.model.value = value

    def matches(self, query: str) -> bool:
        """Search by name, role or alias (case-insensitive, every word must match)."""
        p = self.persona
        hay = " ".join([p.name, p.role, *p.aliases]).casefold()
        return all(word in hay for word in query.casefold().split())


class PersonaPicker(widgets.VBox):  # type: ignore[misc]
    """Selectable persona cards in a grid with a search box.

    `value` is the list of selected names (click order; a traitlets trait you can `observe` or
    set). Every change is pushed to `llm_magics.personas.model.select`, and changes made elsewhere
    (another picker, `%llm personas select`) show up here.
    """

    value = traitlets.List(traitlets.Unicode(), default_value=[])

    def __init__(self, personas: Iterable[Persona | str] | None = None, *, columns_min_px: int = 230) -> None:
        self._from_outside = True  # the initial value mirrors the session; it is not a user choice
        pool = _personas.list_personas() if personas is None else [_personas.get_persona(p) for p in personas]
        self._pool = list(dict.fromkeys(pool))
        from llm_magics.personas.seats import assigned_models

        models = target_options()
        self.cards: list[PersonaCard] = [PersonaCard(p, self._clicked, models, self._model_chosen) for p in self._pool]
        picked = assigned_models()
        for c in self.cards:
            if picked.get(c.persona.name):
                c.set_model(picked[c.persona.name])
        self.search = widgets.Text(
            placeholder="Search by name, role or alias…", continuous_update=True,
            layout=widgets.Layout(width="320px"),
        )
        self.search.add_class("llm-persona-search")
        self.search.observe(self._on_search, names="value")
        self.clear_button = widgets.Button(description="Clear", tooltip="Deselect every persona", layout=widgets.Layout(width="auto"))
        self.clear_button.add_class("llm-persona-clear")
        self.clear_button.on_click(lambda _b: self.clear())
        self.summary = widgets.HTML()
        self.summary.add_class("llm-persona-summary")
        self.grid = widgets.GridBox(
            self.cards,
            layout=widgets.Layout(
                grid_template_columns=f"repeat(auto-fill, minmax({columns_min_px}px, 1fr))",
                grid_gap="8px", width="100%",
            ),
        )
        self.grid.add_class("llm-persona-grid")
        header = widgets.HBox([self.search, self.clear_button], layout=widgets.Layout(align_items="center", grid_gap="8px"))
        super().__init__([header, self.summary, self.grid], layout=widgets.Layout(width="100%"))
        self.add_class("llm-persona-picker")
        known = {p.name for p in self._pool}
        self.value = [p.name for p in _personas.selection() if p.name in known]
        self._from_outside = False
        self._refresh()
        _personas.on_selection_change(self._external_change)

    # ── selection ───────────────────────────────────────────────────────────────────────────
    @traitlets.validate("value")
    def _validate_value(self, proposal: Any) -> list[str]:
        names = [_personas.get_persona(n).name for n in proposal["value"]]
        return list(dict.fromkeys(names))

    @traitlets.observe("value")
    def _on_value(self, change: Any) -> None:
        if not hasattr(self, "cards"):
            return
        self._refresh()
        if not self._from_outside:
            _personas.select(self.selected_personas)

    @property
    def selected_personas(self) -> list[Persona]:
        by_name = {p.name: p for p in self._pool}
        return [by_name.get(n) or _personas.get_persona(n) for n in self.value]

    def select(self, *names: str | Persona, add: bool = False) -> None:
        """Select these personas (names, roles, aliases); `add=True` keeps the current ones."""
        chosen = [_personas.get_persona(n).name for n in names]
        self.value = (list(self.value) if add else []) + chosen  # the validator drops duplicates

    def toggle(self, name: str | Persona) -> bool:
        """Flip one persona; returns whether it is now selected."""
        p = _personas.get_persona(name)
        if p.name in self.value:
            self.value = [n for n in self.value if n != p.name]
            return False
        self.value = [*self.value, p.name]
        return True

    def clear(self) -> None:
        self.value = []

    def card(self, name: str | Persona) -> PersonaCard:
        """The card of a persona, found by name, role, first name or alias."""
        target = _personas.get_persona(name).name
        for c in self.cards:
            if c.persona.name == target:
                return c
        raise KeyError(f"{target} has no card in this picker")

    def _clicked(self, persona: Persona) -> None:
        self.toggle(persona)

    def _model_chosen(self, persona: Persona, target: str) -> None:
        from llm_magics.personas.seats import assign_model

        assign_model(persona, target or None)
        if hasattr(self, "summary"):  # not while the cards are being built
            self._refresh_summary()

    def set_model(self, name: str | Persona, target: str | None) -> None:
        """Give a persona a model ("kimi:kimi-k2.6"; None = the default), as its dropdown does."""
        self.card(name).set_model(target)

    @property
    def models(self) -> dict[str, str]:
        """Selected persona → the model picked for it (only those with one)."""
        from llm_magics.personas.seats import assigned_models

        picked = assigned_models()
        return {n: picked[n] for n in self.value if n in picked}

    def _external_change(self, chosen: list[Persona]) -> None:
        # Mirror only: a picker showing a subset must not push its subset back as the selection.
        known = {p.name for p in self._pool}
        names = [p.name for p in chosen if p.name in known]
        if names != list(self.value):
            self._from_outside = True
            try:
                self.value = names
            finally:
                self._from_outside = False

    # ── search and display ───────────────────────────────────────────────────────────────
    @property
    def visible_names(self) -> list[str]:
        return [c.persona.name for c in self.cards if c.layout.display != "none"]

    def _on_search(self, change: Any) -> None:
        query = str(change["new"] or "")
        for c in self.cards:
            c.layout.display = None if c.matches(query) else "none"
        self._refresh_summary()

    def _refresh(self) -> None:
        chosen = set(self.value)
        for c in self.cards:
            c.set_selected(c.persona.name in chosen)
        self._refresh_summary()

    def _refresh_summary(self) -> None:
        if self.value:
            models = self.models
            who = ", ".join(f"{n} @ {models[n]}" if n in models else n for n in self.value)
            text = f"Selected: <b>{html.escape(who)}</b> — <code>%%discuss</code> without <code>--personas</code> uses them."
        else:
            text = "Click cards to choose who takes part. Nothing selected: <code>%%discuss</code> uses all six built-ins."
        hidden = len(self.cards) - len(self.visible_names)
        if hidden:
            text += f" <i>({hidden} hidden by the search)</i>"
        self.summary.value = f'<span style="font-size:0.95em">{text}</span>'

    def _plain(self) -> str:
        """The saved notebook's text for the picker. It is written once, when the picker is shown,
        and clicks cannot rewrite it (a frontend applies display updates only while the cell
        runs), so it states nothing that a later click makes false: the transcripts name who took part."""
        models = self.models
        chosen = ", ".join(f"{n}@{models[n]}" if n in models else n for n in self.value)
        when = f"; selected when shown: {chosen}" if chosen else ""
        return (f"PersonaPicker: {len(self.cards)} persona cards, clicked to choose who takes part in "
                f"%%discuss (each transcript names who did){when}")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = self._plain()
        return bundle

    def display(self) -> None:
        from IPython.display import display

        display(self)


# ── models ───────────────────────────────────────────────────────────────────────────────────

_executor: concurrent.futures.ThreadPoolExecutor | None = None


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="llm-models")
    return _executor


class _ModelList:
    def __init__(self, ids: Sequence[str], source: str, note: str = "", fetched_at: Any = None) -> None:
        self.ids = list(ids)
        self.source = source
        self.note = note
        self.fetched_at = fetched_at


def _builtin(spec: Any, note: str = "") -> _ModelList:
    return _ModelList(list(spec.builtin_models), "builtin", note)


def fetch_models(provider: str, *, refresh: bool = False) -> _ModelList:
    """The provider's model IDs: the catalog (cached /v1/models) when available, else the live
    list from the provider, else the built-in list. Runs in a worker thread; may block."""
    from llm_magics.providers.registry import PROVIDERS
    from llm_magics.keys.resolve import get_provider

    spec = PROVIDERS[provider]
    catalog: Any
    try:
        catalog = importlib.import_module("llm_magics.keys.models")
    except ImportError:
        catalog = None
    try:
        if catalog is not None:
            result = catalog.list_models(spec.name, refresh=refresh)
            if inspect.isawaitable(result):
                from llm_magics.sync import run_sync

                result = run_sync(result)  # type: ignore[arg-type]
            return _ModelList(
                list(result.ids), str(result.source), str(getattr(result, "note", "") or ""),
                fetched_at=getattr(result, "fetched_at", None),
            )
        from llm_magics.sync import run_sync

        prov = get_provider(spec.name)
        try:
            infos = run_sync(prov.list_models())
        finally:
            run_sync(prov.aclose())
        return _ModelList([m.id for m in infos], "live")
    except Exception as exc:  # noqa: BLE001 - any failure falls back to the built-in list
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _builtin(spec, f"Could not fetch the model list ({first}).")


class ModelPicker(widgets.VBox):  # type: ignore[misc]
    """Provider and model dropdowns, filled from `/v1/models` (cached) with a built-in fallback.

    A change by the user goes to `config.set_session(provider=…, model=…)`. The model list is
    fetched in a worker thread; if it takes longer than `timeout_s` the built-in list is shown
    and replaced when the fetch finishes.
    """

    def __init__(self, provider: str | None = None, model: str | None = None, *, timeout_s: float = 3.0) -> None:
        from llm_magics import config
        from llm_magics.keys import resolve
        from llm_magics.providers.registry import PROVIDERS

        self.timeout_s = timeout_s
        self._loading = False
        self._generation = 0
        self.models: _ModelList | None = None
        options = [(f"{name} — {PROVIDERS[name].title}", name) for name in PROVIDERS]
        start = PROVIDERS[provider].name if provider else resolve.default_provider_name()
        self.provider = widgets.Dropdown(options=options, value=start, description="Provider", layout=widgets.Layout(width="420px"))
        self.provider.add_class("llm-model-provider")
        self.model = widgets.Dropdown(options=[], description="Model", layout=widgets.Layout(width="420px"))
        self.model.add_class("llm-model-model")
        self.refresh_button = widgets.Button(description="↻ Refresh", tooltip="Fetch the model list again", layout=widgets.Layout(width="auto"))
        self.refresh_button.add_class("llm-model-refresh")
        self.status = widgets.HTML()
        self.status.add_class("llm-model-status")
        super().__init__(
            [widgets.HBox([self.provider, self.refresh_button]), self.model, self.status],
            layout=widgets.Layout(width="100%"),
        )
        self.add_class("llm-model-picker")
        wanted = model or resolve.default_model_for(start)
        self._load(start, prefer=wanted, apply=False)
        self.provider.observe(self._on_provider, names="value")
        self.model.observe(self._on_model, names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())

    @property
    def value(self) -> tuple[str, str | None]:
        """(provider, model)."""
        return str(self.provider.value), self.model.value

    def refresh(self) -> None:
        self._load(str(self.provider.value), prefer=self.model.value, apply=False, refresh=True)

    def _on_provider(self, change: Any) -> None:
        self._load(str(change["new"]), prefer=None, apply=True)

    def _on_model(self, change: Any) -> None:
        if not self._loading and change["new"]:
            self._apply()

    def _apply(self) -> None:
        from llm_magics import config

        config.set_session(provider=self.provider.value, model=self.model.value)

    def _load(self, provider: str, *, prefer: str | None, apply: bool, refresh: bool = False) -> None:
        from llm_magics.providers.registry import PROVIDERS
        from llm_magics.keys.resolve import resolve_key

        spec = PROVIDERS[provider]
        self._generation += 1
        gen = self._generation
        try:
            has_key = not spec.needs_key or resolve_key(spec) is not None
        except Exception:  # noqa: BLE001 - a broken key store must not break the picker
            has_key = False
        # Without a key the catalog uses no network (cache or built-in list), so this is quick.
        future = _pool().submit(fetch_models, spec.name, refresh=refresh)
        try:
            result = future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            self._show(spec, _builtin(spec, "Still fetching the model list…"), prefer, apply, has_key=has_key)

            def late(f: concurrent.futures.Future[_ModelList]) -> None:
                if gen == self._generation and not f.cancelled() and f.exception() is None:
                    self._show(spec, f.result(), self.model.value, False, has_key=has_key)

            future.add_done_callback(late)
            return
        self._show(spec, result, prefer, apply, has_key=has_key)

    def _show(self, spec: Any, models: _ModelList, prefer: str | None, apply: bool, *, has_key: bool) -> None:
        self.models = models
        ids = list(dict.fromkeys(models.ids))
        choice = prefer if prefer in ids else (spec.default_model if spec.default_model in ids else (ids[0] if ids else None))
        if prefer and prefer not in ids:
            ids.insert(0, prefer)  # a configured model the list does not know is kept, not dropped
            choice = prefer
        self._loading = True
        try:
            self.model.options = ids
            self.model.value = choice
        finally:
            self._loading = False
        self.status.value = self._status_html(spec, models, has_key)
        if apply:
            self._apply()

    @staticmethod
    def _status_html(spec: Any, models: _ModelList, has_key: bool) -> str:
        esc = html.escape
        parts: list[str] = []
        if not has_key:
            env = "</code> or <code>".join(esc(v) for v in spec.key_env)
            parts.append(
                f"⚠ No key for {esc(spec.title)}. Add one with <code>%llm keys add {esc(spec.name)}</code>"
                + (f" or set <code>{env}</code>" if env else "")
                + "."
            )
        n = len(models.ids)
        if models.note and (has_key or "key" not in models.note):
            parts.append(esc(models.note[:1].upper() + models.note[1:]) + ("" if models.note.endswith(".") else "."))
        elif models.source == "live":
            parts.append(f"{n} models reported by the provider just now.")
        elif models.source == "cache":
            when = f" (fetched {esc(str(models.fetched_at))})" if models.fetched_at else ""
            parts.append(f"{n} models from the cache{when}; ↻ fetches them again.")
        elif n:
            date = f" as of {esc(spec.builtin_models_date)}" if spec.builtin_models_date else ""
            parts.append(f"Built-in model list{date}.")
        if not n:
            parts.append("Set the model ID with <code>%llm config model=ID</code>.")
        color = "#b45309" if not has_key or models.source == "builtin" else "#4b5563"
        return f'<span style="color:{color};font-size:0.9em">{" ".join(parts)}</span>'

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            provider, model = self.value
            bundle["text/plain"] = f"ModelPicker: {provider} / {model}"
        return bundle

    def display(self) -> None:
        from IPython.display import display

        display(self)
