"""Personas: built-ins, lookup by name/role/first name/alias, user files, selection, %llm personas."""

from __future__ import annotations

import builtins
import importlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from llm_magics.errors import ConfigurationError
from llm_magics.personas.model import (
    Persona,
    builtin_personas,
    get_persona,
    persona_errors,
    list_personas,
    register,
    resolve_personas,
    select,
    selection,
    unregister,
)

P = importlib.import_module("llm_magics.personas.model")
cmd = importlib.import_module("llm_magics.magics.personas")

SIX = [
    ("Sasha Lindqvist", "Code Architect"),
    ("Noor Okafor", "Security Auditor"),
    ("Avery Nakamura", "UX Consultant"),
    ("Quinn Moreira", "Fashion Advisor"),
    ("Riley Engstrom", "Social Media Specialist"),
    ("Morgan Castellano", "Marketing Strategist"),
]


@pytest.fixture(autouse=True)
def clean_selection() -> Iterator[None]:
    select(None)
    yield
    select(None)
    P._registered.clear()


def user_dir(home: Path) -> Path:
    d = home / "personas"
    d.mkdir(parents=True, exist_ok=True)
    return d


# ── built-ins ────────────────────────────────────────────────────────────────────────────────


def test_six_builtins_in_fixed_order_with_complete_data() -> None:
    from llm_magics.providers.offline import _role

    got = list_personas()
    assert [(p.name, p.role) for p in got] == SIX
    assert len({p.color for p in got}) == 6 and len({p.emoji for p in got}) == 6
    for p in got:
        assert p.system_prompt.startswith(f"You are {p.name}, a {p.role}.")
        assert len(p.system_prompt.split(". ")) >= 5, p.name  # several sentences, not a stub
        assert "\n" not in p.system_prompt  # folded into one paragraph for the model
        assert p.bio and "\n" not in p.bio
        assert p.source == "built-in"
        assert _role(p.system_prompt) == f"{p.name} ({p.role})"  # the offline provider's label
    assert get_persona("Noor").label == "🛡️ Noor Okafor — Security Auditor"
    assert get_persona("Noor").first_name == "Noor"


@pytest.mark.parametrize(
    "query",
    ["security", "Noor", "Noor Okafor", "security auditor", "Security Auditor", "SECURITY AUDITOR",
     "  noor   okafor ", "appsec", "Noor Okafor (Security Auditor)"],
)
def test_every_spelling_finds_noor(query: str) -> None:
    noor = get_persona("Noor Okafor")
    assert get_persona(query) is noor or get_persona(query) == noor
    assert get_persona(query).name == "Noor Okafor"


def test_old_role_names_and_aliases_reach_every_builtin() -> None:
    for name, role in SIX:
        assert get_persona(role).name == name
        assert get_persona(name.split()[0].lower()).name == name
    assert get_persona("ux").name == "Avery Nakamura"
    assert get_persona("marketing").name == "Morgan Castellano"
    assert get_persona("social media").name == "Riley Engstrom"


def test_unknown_name_suggests_the_closest_persona() -> None:
    with pytest.raises(ConfigurationError) as info:
        get_persona("Nor Okafor")
    text = str(info.value)
    assert "Unknown persona 'Nor Okafor'" in text
    assert "Did you mean 'Noor Okafor'" in text
    with pytest.raises(ConfigurationError, match="Known personas"):
        get_persona("zzzzqqq")


def test_persona_objects_pass_through_and_round_trip() -> None:
    noor = get_persona("Noor")
    assert get_persona(noor) is noor
    again = Persona.from_dict(noor.to_dict())
    assert again == noor and again.aliases == noor.aliases


# ── resolve / select ─────────────────────────────────────────────────────────────────────────


def test_resolve_personas_from_text_list_and_default() -> None:
    assert [p.name for p in resolve_personas("Noor Okafor, Sasha")] == ["Noor Okafor", "Sasha Lindqvist"]
    assert [p.name for p in resolve_personas(["ux", get_persona("Quinn"), "avery"])] == ["Avery Nakamura", "Quinn Moreira"]
    assert [p.name for p in resolve_personas(None)] == [n for n, _ in SIX]
    with pytest.raises(ConfigurationError) as info:
        resolve_personas("Nor Okafor, Sasha, blorp")
    assert "'Nor Okafor', 'blorp'" in str(info.value) and "Noor Okafor" in str(info.value)
    with pytest.raises(ConfigurationError, match="No persona names"):
        resolve_personas(" , ")


def test_selection_becomes_the_default() -> None:
    assert selection() == []
    select(["Riley", "Noor"])
    assert [p.name for p in resolve_personas(None)] == ["Riley Engstrom", "Noor Okafor"]
    assert [p.name for p in selection()] == ["Riley Engstrom", "Noor Okafor"]
    select([])
    assert [p.name for p in resolve_personas(None)] == [n for n, _ in SIX]


def test_public_names_are_functions_and_packages_are_not_callable() -> None:
    import llm_magics
    import llm_magics.personas  # the package; importing it must not shadow the public functions

    assert [p.name for p in llm_magics.list_personas()][:2] == ["Sasha Lindqvist", "Noor Okafor"]
    assert llm_magics.get_persona("appsec").name == "Noor Okafor"
    assert not callable(llm_magics.personas)
    assert llm_magics.personas.get_persona("ux").name == "Avery Nakamura"
    import llm_magics.comparison

    assert callable(llm_magics.compare) and llm_magics.compare.__name__ == "compare"


# ── user personas ────────────────────────────────────────────────────────────────────────────


def test_register_from_python_adds_intro_sentence() -> None:
    kai = register(Persona("Kai Varga", "Data Engineer", "Focus on pipelines.", aliases=("data",), emoji="🛠️"))
    try:
        assert kai.system_prompt == "You are Kai Varga, a Data Engineer.\nFocus on pipelines."
        assert get_persona("data") == kai and get_persona("kai") == kai
        assert list_personas()[-1].name == "Kai Varga" and list_personas()[-1].source == "python"
        assert Persona("Ida Ek", "Engineer", "x").system_prompt.startswith("You are Ida Ek, an Engineer.")
    finally:
        unregister("Kai Varga")
    with pytest.raises(ConfigurationError):
        get_persona("Kai Varga")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"color": "red;background:url(x)"}, "color"), ({"role": ""}, "role"), ({"name": "A, B"}, "name")],
)
def test_invalid_persona_fields_name_the_field(kwargs: dict[str, str], field: str) -> None:
    base = {"name": "Kai Varga", "role": "Data Engineer", "system_prompt": "Help."}
    with pytest.raises(ConfigurationError, match=f"'{field}'"):
        Persona(**{**base, **kwargs})


def test_yaml_and_toml_user_files_load_after_the_builtins(isolated_home: Path) -> None:
    d = user_dir(isolated_home)
    (d / "kai.yaml").write_text(
        "name: Kai Varga\nrole: Data Engineer\naliases: [data, pipelines]\ncolor: teal\n"
        "system_prompt: |\n  You are Kai Varga, a Data Engineer.\n  You care about pipelines.\n",
        encoding="utf-8",
    )
    (d / "team.toml").write_text(
        '[[personas]]\nname = "Ida Ek"\nrole = "Legal Counsel"\nsystem_prompt = "Check the contract."\n'
        '[[personas]]\nname = "Lou Brandt"\nrole = "Finance Lead"\nsystem_prompt = "Watch the money."\n',
        encoding="utf-8",
    )
    (d / "notes.txt").write_text("not a persona", encoding="utf-8")
    names = [p.name for p in list_personas()]
    assert names[:6] == [n for n, _ in SIX]
    assert names[6:] == ["Kai Varga", "Ida Ek", "Lou Brandt"]
    assert get_persona("pipelines").source == str(d / "kai.yaml")
    assert get_persona("legal counsel").system_prompt.startswith("You are Ida Ek, a Legal Counsel.")
    assert persona_errors() == []


def test_malformed_file_gives_one_clear_error_and_builtins_still_load(isolated_home: Path) -> None:
    d = user_dir(isolated_home)
    bad = d / "broken.yaml"
    bad.write_text("name: Kai Varga\nsystem_prompt: Help with data.\n", encoding="utf-8")  # no role
    (d / "good.yaml").write_text("name: Ida Ek\nrole: Legal Counsel\nsystem_prompt: Check.\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="broken.yaml"):
        names = [p.name for p in list_personas()]
    assert names == [n for n, _ in SIX] + ["Ida Ek"]
    errors = persona_errors()
    assert len(errors) == 1
    assert str(bad) in str(errors[0]) and "'role' is missing" in str(errors[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only: a second listing is quiet
        assert get_persona("Noor").name == "Noor Okafor"
    with pytest.raises(ConfigurationError, match="could not be loaded"):
        get_persona("Kai Varga")
    bad.write_text("name: Kai Varga\nrole: Data Engineer\nsystem_prompt: Help.\n", encoding="utf-8")
    import os

    os.utime(bad, ns=(bad.stat().st_mtime_ns + 10**9, bad.stat().st_mtime_ns + 10**9))
    assert get_persona("Kai").role == "Data Engineer" and persona_errors() == []


@pytest.mark.parametrize(
    ("filename", "text", "expect"),
    [
        ("syntax.yaml", "name: [unclosed\nrole: x\n", "invalid YAML at line"),
        ("typo.yaml", "name: A B\nrole: R\nsytem_prompt: hi\n", "Did you mean 'system_prompt'"),
        ("empty.yml", "", "the file is empty"),
        ("list.yaml", "- name: A B\n  role: R\n  system_prompt: x\n- name: C D\n  role: R\n", "entry 2 ('C D'): Persona field 'system_prompt' is missing"),
        ("bad.toml", "name = \n", "invalid TOML"),
        ("color.yaml", "name: A B\nrole: R\nsystem_prompt: x\ncolor: 12\n", "'color' must be text"),
    ],
)
def test_each_kind_of_bad_file_is_named(isolated_home: Path, filename: str, text: str, expect: str) -> None:
    (user_dir(isolated_home) / filename).write_text(text, encoding="utf-8")
    with pytest.warns(UserWarning):
        assert len(list_personas()) == 6
    (err,) = persona_errors()
    assert filename in str(err) and expect in str(err)


def test_user_file_with_a_builtin_name_customises_it_in_place(isolated_home: Path) -> None:
    (user_dir(isolated_home) / "noor.yaml").write_text(
        "name: Noor Okafor\nrole: Security Auditor\nsystem_prompt: Only look at secrets handling.\n", encoding="utf-8"
    )
    got = list_personas()
    assert [p.name for p in got] == [n for n, _ in SIX]
    assert "Only look at secrets handling." in get_persona("security").system_prompt
    assert len(builtin_personas()) == 6 and builtin_personas()[1].source == "built-in"


# ── %llm personas ────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def shell():  # type: ignore[no-untyped-def]
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "llm_magics")
    return ip


def test_llm_personas_shows_a_table(shell, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    select(["Noor"])
    (user_dir(isolated_home) / "bad.yaml").write_text("role: X\n", encoding="utf-8")
    with pytest.warns(UserWarning):
        table = shell.run_line_magic("llm", "personas")
    text = repr(table)
    for name, role in SIX:
        assert name in text and role in text
    assert "✓ Noor Okafor" in text and "bad.yaml" in text and "'name' is missing" in text
    page = table._repr_html_()
    assert page.count('class="llm-persona-row"') == 6 and "border-left:4px solid #dc2626" in page
    assert "bad.yaml" in page
    assert "| ✓ 🛡️ | **Noor Okafor** | Security Auditor |" in table._repr_markdown_()


def test_add_from_cell_writes_a_yaml_file(shell, isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    shell.run_cell_magic(
        "llm", 'personas add Kai Varga --role "Data Engineer" --alias data --emoji 🛠️ --bio "Pipelines."',
        "Focus on data quality.\nPush back on silent data loss.\n",
    )
    path = isolated_home / "personas" / "kai-varga.yaml"
    assert path.exists() and "Saved 🛠️ Kai Varga — Data Engineer" in capsys.readouterr().out
    kai = get_persona("data")
    assert kai.source == str(path) and kai.bio == "Pipelines."
    assert kai.system_prompt.startswith("You are Kai Varga, a Data Engineer.\nFocus on data quality.")
    with pytest.raises(UsageError, match="already exists"):
        shell.run_cell_magic("llm", "personas add Kai Varga --role X", "other")
    shell.run_cell_magic("llm", "personas add Kai Varga --role Analyst --force", "other")
    assert get_persona("Kai").role == "Analyst"
    shell.run_line_magic("llm", "personas remove Kai")
    assert not path.exists()
    with pytest.raises(UsageError, match="cannot be removed"):
        shell.run_line_magic("llm", "personas remove Noor")


def test_add_without_cell_asks_for_the_prompt(shell, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []
    monkeypatch.setattr(builtins, "input", lambda q: asked.append(q) or "Keep it legal.")
    shell.run_line_magic("llm", 'personas add "Ida Ek" --role "Legal Counsel"')
    assert "Ida Ek" in asked[0]
    assert get_persona("legal counsel").system_prompt == "You are Ida Ek, a Legal Counsel.\nKeep it legal."
    monkeypatch.setattr(builtins, "input", lambda q: "  ")
    with pytest.raises(UsageError, match="No system prompt"):
        shell.run_line_magic("llm", 'personas add "Lou Brandt" --role "Finance Lead"')
    with pytest.raises(UsageError, match="built-in persona"):
        shell.run_cell_magic("llm", 'personas add Noor Okafor --role "Security Auditor"', "x")


def test_select_show_and_typos(shell, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    shell.run_line_magic("llm", 'personas select "Quinn, Morgan"')
    assert [p.name for p in resolve_personas(None)] == ["Quinn Moreira", "Morgan Castellano"]
    shell.run_line_magic("llm", "personas select --clear")
    assert selection() == []
    shell.run_line_magic("llm", "personas show security")
    out = capsys.readouterr().out
    assert "🛡️ Noor Okafor — Security Auditor" in out and get_persona("Noor").system_prompt in out
    with pytest.raises(UsageError, match="Did you mean 'select'"):
        shell.run_line_magic("llm", "personas selct Noor")
    with pytest.raises(UsageError, match="Did you mean 'Noor Okafor'"):
        shell.run_line_magic("llm", 'personas select "Nor Okafor"')
    assert cmd.main(None, ["--help"], None) is None
