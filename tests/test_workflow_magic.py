"""`%%workflow` and `%llm workflows` in a real IPython InteractiveShell."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from llm_magics.history.store import default_history
from llm_magics.keys.resolve import get_provider
from llm_magics.workflow.api import WorkflowRun, run_workflow
from tests.test_workflow import CODE, chat_requests, fail_when, tagged_reply, user_text


@pytest.fixture
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "llm_magics")
    yield shell
    for name in ("r", "spec_run", "resumed"):
        shell.user_ns.pop(name, None)


def test_named_workflow_on_offline_provider(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell_magic("workflow", "security-audit --provider offline --out r", CODE)
    run = ip.user_ns["r"]
    assert isinstance(run, WorkflowRun) and run.status == "done" and run.provider == "offline"
    assert list(run.steps) == ["attack_surface", "findings", "severity_ranking", "fixes", "executive_summary"]
    out = capsys.readouterr().out
    assert "attack_surface · 🛡️ Noor Okafor — Security Auditor" in out
    assert default_history().get(run.id).status == "done"


def test_yaml_cell_with_input_field(ip: InteractiveShell) -> None:
    cell = (
        "name: tiny\n"
        "input: a signup form with 14 fields\n"
        "steps:\n"
        "  - id: critique\n"
        "    persona: ux\n"
        "    prompt: |\n"
        "      Critique {{ input }}\n"
    )
    ip.run_cell_magic("workflow", "--out spec_run", cell)
    run = ip.user_ns["spec_run"]
    assert run.workflow == "tiny" and run.ok and run.inputs == {"input": "a signup form with 14 fields"}
    assert run["critique"].persona and "Avery Nakamura" in run["critique"].persona


def test_spec_errors_are_one_usage_error_with_the_line(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match=r"line 4.*unknown step 'nope'"):
        ip.run_cell_magic("workflow", "", "steps:\n  - id: a\n    prompt: |\n      {{ steps.nope.output }}\n")
    with pytest.raises(UsageError, match=r"line 4, column 1: malformed YAML: .*started at line 3, column 13"):
        ip.run_cell_magic("workflow", "", "steps:\n  - id: a\n    prompt: [x\n")
    with pytest.raises(UsageError, match="needs a workflow NAME"):
        ip.run_cell_magic("workflow", "", "  \n")
    with pytest.raises(UsageError, match="Did you mean 'ux-review'"):
        ip.run_cell_magic("workflow", "ux-reveiw", "a form")


def test_failure_hint_then_magic_resume(ip: InteractiveShell, fake_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fake_server.responder = tagged_reply
    prov = get_provider("openai-compatible", base_url=fake_server.base_url, api_key="sk-test-0000000000005678",
                        model=fake_server.models[0], max_retries=0)
    run = run_workflow("security-audit", CODE, provider=prov,
                       on_event=fail_when(fake_server, "attack_surface", status=503, error_type="server_error"))
    assert run.status == "failed" and run["findings"].status == "failed"
    fake_server.requests.clear()
    capsys.readouterr()
    # The stored run knows its provider and server, so the magic needs only the run id.
    ip.run_line_magic("workflow", f"--resume {run.id} --out resumed")
    resumed = ip.user_ns["resumed"]
    assert resumed.id == run.id and resumed.status == "done"
    assert [user_text(r) for r in chat_requests(fake_server)] == [resumed[s].prompt for s in list(resumed.steps)[1:]]
    assert run["attack_surface"].output in user_text(chat_requests(fake_server)[0])


def test_failed_step_error_and_resume_hint_are_each_printed_once(
    ip: InteractiveShell, fake_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # The provider finds the fake server through OPENAI_COMPATIBLE_BASE_URL (fixture below); the
    # first step's request gets a 400, so it fails and the three steps that need it are skipped.
    fake_server.fail_next(status=400, error_type="invalid_request_error", message="prompt too long for this model")
    ip.run_cell_magic("workflow", f"code-review --provider openai-compatible --model {fake_server.models[0]} --out r", "x = 1")
    run = ip.user_ns["r"]
    assert run.status == "failed" and run["understanding"].status == "failed"
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert text.count("prompt too long for this model") == 1  # in its pane, nowhere else
    assert text.count(f"%workflow --resume {run.id}") == 1
    assert "Step 'understanding' failed; 3 steps that need it skipped." in text
    assert "UsageError" not in text and "Traceback" not in text


def test_unknown_model_is_refused_before_any_step_with_the_closest_ids(
    ip: InteractiveShell, fake_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    model = fake_server.models[0]
    with pytest.raises(UsageError, match=rf"has no model '{model}x'.\n→ Did you mean '{model}'"):
        ip.run_cell_magic("workflow", f"code-review --provider openai-compatible --model {model}x", "x = 1")
    assert chat_requests(fake_server) == []  # nothing was sent
    assert capsys.readouterr().out == ""  # and no live view was drawn


@pytest.fixture(autouse=True)
def _compat_env(fake_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", fake_server.base_url)


def test_llm_workflows_table_and_yaml(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    table = ip.run_line_magic("llm", "workflows")
    md = table._repr_markdown_()
    assert "| `security-audit` |" in md and "Noor Okafor, Sasha Lindqvist" in md
    assert "attack_surface → findings → severity_ranking → fixes → executive_summary" in md
    assert "Morgan Castellano, Riley Engstrom" in md and "<table" in table._repr_html_()
    assert "ux-review" in repr(table)
    ip.run_line_magic("llm", "workflows marketing-campaign")
    assert "id: social_content" in capsys.readouterr().out
