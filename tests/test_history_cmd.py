"""`%llm history` (list / show / export), the same from Python, and `%%compare` in a real InteractiveShell.

The `ip` fixture (tests/conftest.py) is the one in-process shell with the extension loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import llm_magics
from llm_magics.history import store as history_mod
from llm_magics.comparison.api import Comparison, compare
from llm_magics.errors import ConfigurationError
from llm_magics.history.store import default_history
from llm_magics.history.runs import RunTable, export_run, history_runs, show_run


def _seed() -> dict[str, str]:
    """Three runs of different kinds stored the way their engines store them."""
    h = default_history()
    h.save("rdisc0000001", "discussion", {"topic": "Pricing tiers for the API"}, title="Pricing tiers for the API",
           status="done", provider="offline", model="offline-demo")
    h.save("rwork0000001", "workflow", {"workflow": "security-audit", "inputs": {"input": "login form"}},
           title="security-audit: login form", status="error", provider="kimi", model="kimi-k2-0905-preview")
    comp = compare("Explain vector clocks", ["kimi-k2-turbo-preview", "kimi-k2-thinking"])
    return {"discussion": "rdisc0000001", "workflow": "rwork0000001", "compare": comp.id}


def test_history_list_search_kind_and_limit(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _seed()
    ip.run_line_magic("llm", "history")
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["id", "kind", "title", "status", "provider:model", "cost", "when"]
    assert all(i in out for i in ids.values())
    assert out.index(ids["compare"]) < out.index(ids["workflow"]) < out.index(ids["discussion"])  # newest first
    assert "kimi:kimi-k2-0905-preview" in out and "offline:kimi-k2-turbo-preview, kimi-k2-thinking" in out

    ip.run_line_magic("llm", "history --kind workflow")
    out = capsys.readouterr().out
    assert ids["workflow"] in out and ids["compare"] not in out and ids["discussion"] not in out

    ip.run_line_magic("llm", 'history --search "vector clocks"')
    out = capsys.readouterr().out
    assert ids["compare"] in out and ids["workflow"] not in out

    ip.run_line_magic("llm", "history --search login")  # matches stored data, not only titles
    assert ids["workflow"] in capsys.readouterr().out

    ip.run_line_magic("llm", "history 1")
    out = capsys.readouterr().out
    assert ids["compare"] in out and ids["discussion"] not in out

    ip.run_line_magic("llm", "history --kind discussion --search nothing-like-this")
    assert "No runs found for kind=discussion search='nothing-like-this'" in capsys.readouterr().out
    with pytest.raises(UsageError, match="invalid choice: 'chat'"):
        ip.run_line_magic("llm", "history --kind chat")


def test_history_from_python() -> None:
    ids = _seed()
    runs = history_runs(10, kind="compare")
    assert isinstance(runs, RunTable) and [r.id for r in runs] == [ids["compare"]]
    html = runs._repr_html_()
    assert "<table" in html and ids["compare"] in html and "provider:model" in html
    assert [r.id for r in llm_magics.history_runs(search="Pricing")] == [ids["discussion"]]
    with pytest.raises(ConfigurationError, match="Did you mean 'workflow'"):
        history_runs(kind="workflows")
    loaded = llm_magics.load_run(ids["compare"])
    assert isinstance(loaded, Comparison) and loaded.prompt == "Explain vector clocks"


def test_show_renders_the_kind_or_falls_back(ip: InteractiveShell, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _seed()
    ip.run_line_magic("llm", f"history show {ids['compare']}")
    out = capsys.readouterr().out
    assert "## Compare: Explain vector clocks" in out and "| target | TTFT |" in out
    assert f"_llm-magics run `{ids['compare']}` · compare · done" in out

    # The kind's module is missing: a generic rendering of the stored data, still readable.
    monkeypatch.setitem(history_mod.KINDS, "workflow", "llm_magics.no_such_module:WorkflowRun")
    md = show_run(ids["workflow"])
    assert md.startswith("## workflow: security-audit: login form")
    assert "- **workflow:** security-audit" in md and '"input": "login form"' in md
    assert "generic rendering: the workflow module is not available" in md
    assert md._repr_markdown_() == str(md)

    with pytest.raises(UsageError, match=f"(?s)No run 'rdisc000001'.*Did you mean '{ids['discussion']}'"):
        ip.run_line_magic("llm", "history show rdisc000001")


def test_export_markdown_and_json_files(ip: InteractiveShell, capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    comp = compare("Explain vector clocks", ["kimi-k2-turbo-preview", "kimi-k2-thinking", "kimi-k2-thinkng"])
    monkeypatch.chdir(tmp_path)

    ip.run_line_magic("llm", f"history export {comp.id} --format md")
    path = Path(capsys.readouterr().out.strip())
    assert path == tmp_path / f"{comp.id}.md"
    md = path.read_text(encoding="utf-8")
    assert md.startswith("## Compare: Explain vector clocks")
    assert "| kimi-k2-turbo-preview |" in md and "### kimi-k2-thinking" in md
    assert comp.rows[0].text in md and "Did you mean: kimi-k2-thinking" in md

    ip.run_line_magic("llm", f"history export {comp.id} --format json --output out/run.json")
    path = Path(capsys.readouterr().out.strip())
    assert path == tmp_path / "out" / "run.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["id"] == comp.id and data["kind"] == "compare" and data["status"] == "done"
    assert data["title"] == "Explain vector clocks" and data["created"].endswith("Z")
    assert [r["model"] for r in data["data"]["rows"]] == ["kimi-k2-turbo-preview", "kimi-k2-thinking", "kimi-k2-thinkng"]
    assert Comparison.from_dict(data["data"]).to_dict() == comp.to_dict()

    # From Python: a folder as the destination, and a clear error for a bad format.
    p = export_run(comp.id, "json", tmp_path)
    assert p == tmp_path / f"{comp.id}.json" and json.loads(p.read_text())["id"] == comp.id
    with pytest.raises(ConfigurationError, match="Unknown export format 'html'"):
        export_run(comp.id, "html")
    with pytest.raises(UsageError, match="invalid choice: 'pdf'"):
        ip.run_line_magic("llm", f"history export {comp.id} --format pdf")


def test_compare_magic_on_offline_provider(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell_magic("compare", "kimi-k2-turbo-preview offline:kimi-k2-thinking kimi-k2-turbo --repeat 2 "
                      "--temperature 0.3 --max-tokens 15 --out cmp", "Which database for an offline-first app?\n")
    comp = ip.user_ns["cmp"]
    assert isinstance(comp, Comparison) and comp.status == "done"
    assert comp.params == {"repeat": 2, "temperature": 0.3, "max_tokens": 15}
    assert [r.status for r in comp.rows] == ["done", "done", "error"]
    assert len(comp.rows[0].attempts) == 2 and comp.rows[0].finish_reason == "length"
    out = capsys.readouterr()
    assert "No Kimi key found" in out.out  # the offline fallback says so
    assert "── kimi-k2-turbo-preview TTFT" in out.out  # live pane, closed with its summary
    assert "target" in out.out and "Did you mean: kimi-k2-turbo-preview" in out.out  # the table
    assert f"%llm history show {comp.id}" in out.out
    assert default_history().get(comp.id).status == "done"
    ip.user_ns.pop("cmp")


def test_compare_magic_usage_errors(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="needs a prompt"):
        ip.run_cell_magic("compare", "kimi-k2-turbo-preview", "   \n")
    with pytest.raises(UsageError, match="at least one TARGET"):
        ip.run_cell_magic("compare", "--repeat 2", "hi")
    with pytest.raises(UsageError, match="--repeat 0 must be at least 1"):
        ip.run_cell_magic("compare", "kimi-k2-turbo-preview --repeat 0", "hi")
