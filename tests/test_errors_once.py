"""Each error is shown once, without a traceback; an argument error draws no live view.

Run in a real Jupyter kernel (nbclient, with the widget state stored), so what is checked is what
JupyterLab receives: the outputs of each cell and the final values of every widget of its view.
Runtime failures come from the fake server (a 400 on a chosen request), argument errors from typos.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

WIDGET = "application/vnd.jupyter.widget-view+json"


def _execute(cells: list[str], tmp_path: Path) -> Any:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in ["%load_ext llm_magics", *cells]])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                                     store_widget_state=True, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb


def _outputs(nb: Any, i: int) -> list[Any]:
    return list(nb.cells[i + 1].outputs)  # +1: the %load_ext cell


def _widget_text(nb: Any, i: int) -> str:
    """Every HTML/Label value and accordion title under the view displayed by cell i, joined."""
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    roots = [o["data"][WIDGET]["model_id"] for o in _outputs(nb, i) if o.get("data", {}).get(WIDGET)]
    texts: list[str] = []
    seen: set[str] = set()
    todo = [roots[-1]]  # the finished view (the first output is the emptied streaming one)
    while todo:
        mid = todo.pop()
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        s = state[mid]["state"]
        if isinstance(s.get("value"), str):
            texts.append(s["value"])
        texts += [t for t in s.get("titles", []) or [] if isinstance(t, str)]
        for ref in s.get("children", []) or []:
            todo.append(ref.removeprefix("IPY_MODEL_"))
    return "\n".join(texts)


def _stream(outs: list[Any], name: str) -> str:
    return "".join(o.get("text", "") for o in outs if o.get("output_type") == "stream" and o.get("name") == name)


ARG_ERRORS = {
    '%%discuss --personas "Nor" --mode parallel\nShould we cache it?': "Did you mean 'Noor Okafor'?",
    "%%discuss --rounds 0\nShould we cache it?": "rounds=0 is not allowed.",
    "%%workflow security-audti\ndef f(): pass": "Did you mean 'security-audit'?",
    "%%workflow\nsteps:\n  - id: a\n    prompt: [x\n": "line 4, column 1: malformed YAML",
    "%%workflow code-review --model kimi-k3\nx = 1": "Did you mean 'kimi-k2.6'",
    "%llm config model=kimi-k2-0905-previe": "Did you mean 'kimi-k2-0905-preview'",
}


def test_argument_errors_are_one_line_and_draw_nothing(tmp_path: Path) -> None:
    nb = _execute([*ARG_ERRORS, 'from llm_magics import discuss\ndiscuss("Should we cache it?", "Nor")'], tmp_path)
    for i, (cell, expected) in enumerate(ARG_ERRORS.items()):
        outs = _outputs(nb, i)
        assert [o["output_type"] for o in outs] == ["stream"], (cell, outs)  # no live view, no traceback
        err = _stream(outs, "stderr")
        assert err.startswith("UsageError: ") and err.count(expected) == 1, (cell, err)
        assert "Traceback" not in err and "run error" not in err
    # The Python API: the error's own two lines instead of a 35-line traceback.
    [out] = _outputs(nb, len(ARG_ERRORS))
    assert out["output_type"] == "error" and out["ename"] == "ConfigurationError"
    assert len(out["traceback"]) == 1
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out["traceback"][0])
    assert plain == "ConfigurationError: Unknown persona 'Nor'.\n→ Did you mean 'Noor Okafor'?"


def test_compare_failure_is_shown_once_in_its_pane(tmp_path: Path) -> None:
    nb = _execute(["%%compare offline offline:kimi-k3\nSay hello in five words."], tmp_path)
    outs = _outputs(nb, 0)
    assert _stream(outs, "stderr") == "" and not [o for o in outs if o["output_type"] == "error"]
    text = _widget_text(nb, 0)
    assert text.count("The offline provider has no model &#x27;kimi-k3&#x27;.") == 1  # the pane footer only
    assert text.count("Did you mean &#x27;kimi-k2.6&#x27;") == 1
    assert "error · error" not in text and "run error" not in text
    assert "llm-compare-table" in text and "see its pane for the error" in text  # the table, live
    assert text.count("1 of 2 targets failed.") == 1
    assert re.search(r"<b>Total</b> · 2 calls \(1 failed\) · prompt [\d,]+ tok · output [\d,]+ tok", text)


@pytest.fixture
def compat(fake_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", fake_server.base_url)
    return fake_server


def test_workflow_step_failure_once_with_a_red_bar_and_the_resume_hint_once(compat: Any, tmp_path: Path) -> None:
    compat.fail_next(status=400, error_type="invalid_request_error", message="prompt too long for this model")
    model = compat.models[0]
    nb = _execute([f"%%workflow code-review --provider openai-compatible --model {model} --out r\nx = 1",
                   "print(r.status, r.id)"], tmp_path)
    outs = _outputs(nb, 0)
    assert _stream(outs, "stderr") == "" and _stream(outs, "stdout") == ""
    status, run_id = _stream(_outputs(nb, 1), "stdout").split()
    assert status == "failed"
    text = _widget_text(nb, 0)
    assert text.count("prompt too long for this model") == 1  # in the failed step's pane
    assert text.count(f"%workflow --resume {run_id}") == 1  # the one failure line
    assert "Step &#x27;understanding&#x27; failed; 3 steps that need it skipped." in text
    assert "llm-steps-table" in text and text.count("⏭️ skipped") == 3 and "❌ failed" in text  # the step list
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m["state"] for m in state.values() if m["model_name"] == "IntProgressModel" and m["state"].get("max") == 4]
    assert bars and bars[-1]["bar_style"] == "danger"  # the bar shows the failure


def test_all_personas_failing_is_shown_in_their_panes_not_again_as_usage_error(compat: Any, tmp_path: Path) -> None:
    compat.fail_next(status=400, error_type="invalid_request_error", message="the request was rejected", times=2)
    model = compat.models[0]
    nb = _execute([f'%%discuss --personas "Noor, Sasha" --mode parallel --provider openai-compatible --model {model}\n'
                   "Should we cache it?"], tmp_path)
    outs = _outputs(nb, 0)
    assert _stream(outs, "stderr") == ""  # no UsageError repeating what the panes say
    errors = [o for o in outs if o["output_type"] == "error"]
    # ...but the cell ends as failed (so "Run All" stops), with one pointer line, not the message again
    assert [(e["ename"], e["traceback"]) for e in errors] == [
        ("RunFailed", ["RunFailed: the run failed as shown above; cells queued after this one are not run."])
    ]
    text = _widget_text(nb, 0)
    assert text.count("the request was rejected") == 2  # one failure per pane, each shown once
    assert text.count("Every call failed (2 of 2).") == 1


def test_cancelling_the_hidden_key_prompt_is_one_line(tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive("%load_ext llm_magics", timeout=60)
        msg_id = kc.execute("%llm keys add kimi", allow_stdin=True)
        request = kc.get_stdin_msg(timeout=60)
        assert request["content"]["password"] is True
        km.interrupt_kernel()
        seen: list[tuple[str, Any]] = []
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                break
            if kind in ("stream", "error", "clear_output", "display_data"):
                seen.append((kind, msg["content"].get("text", msg["content"].get("ename"))))
        reply = kc.get_shell_msg(timeout=30)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    # The line printed before the prompt is cleared, and with it the password box; then one line.
    assert [k for k, _ in seen] == ["stream", "clear_output", "stream"]
    assert seen[-1][1] == "Cancelled — no key stored.\n"
    assert reply["content"]["status"] == "ok"
    assert not list((Path(os.environ["LLM_MAGICS_HOME"])).glob("**/keys*.json"))
