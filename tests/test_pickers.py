"""PersonaPicker and ModelPicker, driven in-process (no browser): selection, search, model lists."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator

import pytest

from llm_magics import config
from llm_magics.errors import ConfigurationError
from llm_magics.personas.model import Persona, get_persona, register, resolve_personas, select, selection
from llm_magics.ui import pickers
from llm_magics.ui.pickers import ModelPicker, PersonaPicker

P = importlib.import_module("llm_magics.personas.model")
SIX = ["Sasha Lindqvist", "Noor Okafor", "Avery Nakamura", "Quinn Moreira", "Riley Engstrom", "Morgan Castellano"]


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    select(None)
    yield
    select(None)
    P._registered.clear()


# ── PersonaPicker ────────────────────────────────────────────────────────────────────────────


def test_cards_show_each_persona_with_stable_classes() -> None:
    picker = PersonaPicker()
    assert [c.persona.name for c in picker.cards] == SIX
    noor = picker.card("security")
    assert "Noor Okafor" in noor.button.description and "🛡️" in noor.button.description
    assert "llm-persona-card" in noor._dom_classes and "llm-persona-card-button" in noor.button._dom_classes
    assert "Security Auditor" in noor.info.value and "#dc2626" in noor.info.value
    assert noor.prompt.selected_index is None  # prompt collapsed until expanded
    assert noor.prompt.children[0].value.count("You are Noor Okafor, a Security Auditor.") == 1
    assert "llm-persona-picker" in picker._dom_classes and picker.value == []
    assert picker._repr_mimebundle_()["text/plain"].startswith("PersonaPicker: 6 persona cards")


def test_clicking_two_cards_makes_them_the_discussion_default() -> None:
    picker = PersonaPicker()
    picker.card("Avery").button.click()
    picker.card("Noor Okafor").button.click()
    assert picker.value == ["Avery Nakamura", "Noor Okafor"]
    assert [p.name for p in resolve_personas(None)] == ["Avery Nakamura", "Noor Okafor"]
    card = picker.card("Noor")
    assert card.selected and "llm-persona-card-selected" in card._dom_classes
    assert card.button.description.startswith("✓ ") and card.button.style.button_color == "#dc2626"
    assert "Avery Nakamura, Noor Okafor" in picker.summary.value
    card.button.click()  # second click deselects
    assert [p.name for p in resolve_personas(None)] == ["Avery Nakamura"]
    assert "llm-persona-card-selected" not in card._dom_classes and not card.button.description.startswith("✓")
    picker.clear_button.click()
    assert selection() == [] and [p.name for p in resolve_personas(None)] == SIX


def test_discuss_magic_uses_the_picker_selection() -> None:
    """The full path: two clicked cards → `%%discuss` without --personas runs exactly those two."""
    from IPython.core.interactiveshell import InteractiveShell

    import llm_magics.discussion.api as discussion  # an import error must fail, not skip
    picker = PersonaPicker()
    picker.card("Quinn").button.click()
    picker.card("Sasha").button.click()
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "llm_magics")
    shell.run_cell_magic("discuss", "--provider offline --out picked_run", "Should we ship on Friday?")
    run = shell.user_ns["picked_run"]
    assert isinstance(run, discussion.Transcript)
    assert [p["name"] for p in run.personas] == ["Quinn Moreira", "Sasha Lindqvist"]
    assert {m.persona for m in run.answers()} == {"Quinn Moreira", "Sasha Lindqvist"}


def test_search_filters_by_name_role_and_alias() -> None:
    picker = PersonaPicker()
    picker.search.value = "security"
    assert picker.visible_names == ["Noor Okafor"]
    picker.search.value = "APPSEC"
    assert picker.visible_names == ["Noor Okafor"]
    picker.search.value = "avery"
    assert picker.visible_names == ["Avery Nakamura"]
    picker.search.value = "media specialist"
    assert picker.visible_names == ["Riley Engstrom"]
    picker.search.value = "nothing-like-this"
    assert picker.visible_names == [] and "6 hidden" in picker.summary.value
    assert all(c.layout.display == "none" for c in picker.cards)
    picker.search.value = ""
    assert picker.visible_names == SIX


def test_programmatic_selection_and_sync_between_pickers() -> None:
    a = PersonaPicker()
    a.select("ux", "marketing")
    assert a.value == ["Avery Nakamura", "Morgan Castellano"]
    b = PersonaPicker()  # a new picker starts from the session selection
    assert b.value == ["Avery Nakamura", "Morgan Castellano"]
    b.toggle("Avery")
    assert a.value == ["Morgan Castellano"]  # the other picker follows
    select(["Riley"])  # e.g. `%llm personas select Riley`
    assert a.value == b.value == ["Riley Engstrom"]
    a.select("Noor", add=True)
    assert [p.name for p in selection()] == ["Riley Engstrom", "Noor Okafor"]
    a.value = ["sasha", "Sasha Lindqvist"]  # canonical names, no duplicates
    assert a.value == ["Sasha Lindqvist"]
    with pytest.raises(ConfigurationError, match="Did you mean 'Noor Okafor'"):
        a.select("Nor Okafor")


def test_a_picker_over_a_subset_does_not_clobber_the_selection() -> None:
    small = PersonaPicker(["Noor", "Sasha"])
    assert [c.persona.name for c in small.cards] == ["Noor Okafor", "Sasha Lindqvist"]
    select(["Quinn", "Noor"])
    assert small.value == ["Noor Okafor"]  # mirrors what it can show…
    assert [p.name for p in selection()] == ["Quinn Moreira", "Noor Okafor"]  # …without pushing back


def test_user_personas_get_cards_too() -> None:
    register(Persona("Kai Varga", "Data Engineer", "Pipelines.", aliases=("data",), color="teal"))
    picker = PersonaPicker()
    assert picker.cards[-1].persona.name == "Kai Varga"
    picker.search.value = "data"
    assert picker.visible_names == ["Kai Varga"]
    picker.card("Kai").button.click()
    assert resolve_personas(None) == [get_persona("Kai Varga")]


def test_pick_flag_outside_a_kernel_explains_and_inside_returns_the_picker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cmd = importlib.import_module("llm_magics.magics.personas")
    table = cmd.main(None, ["--pick"], None)
    assert "needs Jupyter" in capsys.readouterr().out and "Noor Okafor" in repr(table)
    monkeypatch.setattr("llm_magics.magics.live.in_kernel", lambda: True)
    assert isinstance(cmd.main(None, ["--pick"], None), PersonaPicker)


# ── ModelPicker ──────────────────────────────────────────────────────────────────────────────


def test_offline_models_and_no_warning() -> None:
    picker = ModelPicker("offline")
    assert picker.value == ("offline", "offline-demo")
    assert {"offline-demo", "offline-fast", "offline-slow"} <= set(picker.model.options)
    assert "No key" not in picker.status.value
    assert "llm-model-picker" in picker._dom_classes and "llm-model-status" in picker.status._dom_classes
    assert config.get("provider") is None  # showing the picker changes nothing


def test_provider_dropdown_lists_the_registry_and_no_key_status() -> None:
    from llm_magics.providers import PROVIDERS

    picker = ModelPicker("offline")
    assert [v for _label, v in picker.provider.options] == list(PROVIDERS)
    picker.provider.value = "kimi"
    assert "No key for Kimi" in picker.status.value and "%llm keys add kimi" in picker.status.value
    assert "KIMI_API_KEY" in picker.status.value
    assert list(picker.model.options) == list(PROVIDERS["kimi"].builtin_models)
    default = PROVIDERS["kimi"].default_model
    assert picker.value == ("kimi", default)
    assert config.get("provider") == "kimi" and config.get("model") == default
    picker.model.value = "kimi-k2-turbo-preview"
    assert config.get("model") == "kimi-k2-turbo-preview"


def test_models_come_from_the_server_when_a_key_is_set(fake_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    fake_server.models = ["kimi-k2-0905-preview", "kimi-test-model-a", "kimi-test-model-b"]
    monkeypatch.setenv("KIMI_API_KEY", "sk-test-picker-0123456789")
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    picker = ModelPicker("kimi", timeout_s=20)
    assert set(picker.model.options) >= {"kimi-test-model-a", "kimi-test-model-b"}
    assert "kimi-k2-thinking" not in picker.model.options  # not the built-in list
    assert "No key" not in picker.status.value
    assert any(r.path.endswith("/models") for r in fake_server.requests)
    assert "sk-test-picker" not in picker.status.value


def test_server_failure_falls_back_to_the_builtin_list(fake_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KIMI_API_KEY", "sk-test-picker-0123456789")
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    fake_server.valid_keys = {"some-other-key"}  # → 401 on /v1/models
    picker = ModelPicker("kimi", timeout_s=20)
    assert "kimi-k2-thinking" in picker.model.options
    assert "rejected the key" in picker.status.value


def test_second_picker_uses_the_cached_list(fake_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    fake_server.models = ["kimi-k2-0905-preview", "kimi-cached-model"]
    monkeypatch.setenv("KIMI_API_KEY", "sk-test-picker-0123456789")
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    first = ModelPicker("kimi", timeout_s=20)
    assert first.models is not None and first.models.source == "live"
    second = ModelPicker("kimi", timeout_s=20)
    assert second.models is not None and second.models.source == "cache"
    assert "kimi-cached-model" in second.model.options and "Cached list" in second.status.value
    assert sum(r.path.endswith("/models") for r in fake_server.requests) == 1
    second.refresh_button.click()  # ↻ fetches again
    assert second.models.source == "live"
    assert sum(r.path.endswith("/models") for r in fake_server.requests) == 2


def test_slow_fetch_shows_builtin_list_then_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_magics.providers import PROVIDERS

    release = threading.Event()

    def slow(provider: str, *, refresh: bool = False) -> pickers._ModelList:
        release.wait(30)
        return pickers._ModelList(["late-model-1", "late-model-2"], "live")

    monkeypatch.setattr(pickers, "fetch_models", slow)
    monkeypatch.setenv("KIMI_API_KEY", "sk-test-picker-0123456789")
    picker = ModelPicker("kimi", timeout_s=0.05)
    assert "Still fetching" in picker.status.value
    default = PROVIDERS["kimi"].default_model
    assert default in picker.model.options
    done = threading.Event()
    picker.status.observe(lambda _c: done.set(), names="value")
    release.set()
    assert done.wait(30)
    assert list(picker.model.options)[-2:] == ["late-model-1", "late-model-2"]
    assert picker.value[1] == default  # the user's choice survives the update
