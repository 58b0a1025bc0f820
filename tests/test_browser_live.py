"""A real browser against a real JupyterLab: what the live view shows after (and during) a run.

The JupyterLab server and the helpers are those of `tests/test_browser.py` (temp copy of
notebooks/, offline provider streaming at 0.05 s a chunk, the system Chromium). A notebook written
for this test runs `%%compare` with a thinking model and a typo'd model, then `%%workflow`. Every
wait and check looks inside a cell's OUTPUT area (`.jp-OutputArea`), never at cell sources:

- while the thinking model reasons, its pane's Reasoning title counts tokens and seconds;
- the finished compare view holds the metrics table, the totals line and one failure line, and
  the failed target's error appears exactly once;
- the workflow's step list is in the view while the workflow runs, and ends all done;
- cancelling `%llm keys add` leaves one line and no password box.

Screenshots: test-artifacts/browser-thinking.png, browser-compare.png, browser-workflow.png,
browser-key-cancel.png.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.test_browser import ARTIFACTS, CHROME_ARGS, CHROMIUM, _kernel_idle, _wait, lab  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

NOTEBOOK = "live-view-check.ipynb"
CELLS = [
    "%load_ext llm_magics",
    "%%compare offline:kimi-k2-thinking offline offline:kimi-k3\nExplain CRDTs in two sentences.",
    "%%workflow code-review\ndef add(a, b):\n    return a + b",
    "%llm keys add kimi",
]


def _notebook(root: Path) -> None:
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": src}
             for src in CELLS]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (root / NOTEBOOK).write_text(json.dumps(nb))


def _run(page: Any, index: int) -> None:
    page.evaluate(
        """async (i) => { const app = window.jupyterapp; const nb = app.shell.currentWidget.content;
             nb.activeCellIndex = i; nb.deselectAll(); app.commands.execute('notebook:run-cell'); }""",
        index,
    )


def _out(page: Any, index: int) -> Any:
    """The OUTPUT area of code cell `index` (never its source)."""
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def _shot(page: Any, name: str, target: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / name))


def test_compare_table_workflow_step_list_and_key_cancel_in_the_live_view(lab: dict[str, Any]) -> None:
    if os.environ.get("CI") == "true":
        import playwright.sync_api as sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    _notebook(lab["root"])
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"{lab['base']}/lab/tree/{NOTEBOOK}?token={lab['token']}")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.content"
                " && window.jupyterapp.shell.currentWidget.content.widgets.length > 0", timeout=60_000)
            _wait(lambda: _kernel_idle(page), 60, "the kernel to start", page)
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area').catch(() => {})")
            _run(page, 0)
            _wait(lambda: _kernel_idle(page), 30, "%load_ext", page)

            # 1. %%compare: the thinking model's Reasoning title counts while it thinks …
            _run(page, 1)
            out = _out(page, 1)
            thinking = out.locator(".llm-pane").first  # offline:kimi-k2-thinking

            def counting() -> bool:
                text = thinking.inner_text()
                return "Reasoning · thinking… ≈" in text and "thinking… ≈" in thinking.locator(".llm-pane-footer").inner_text()

            _wait(counting, 60, "the reasoning counter while the model thinks", page, poll=0.05)
            title = next(ln for ln in thinking.inner_text().splitlines() if "Reasoning · thinking… ≈" in ln)
            assert title.rstrip().endswith(" s") and " tok · " in title, title
            _shot(page, "browser-thinking.png", thinking)
            # … and the finished view shows the table, the totals and one failure line.
            # (widget updates reach the page after the kernel went idle: wait for the final values)
            _wait(lambda: _kernel_idle(page) and out.locator(".llm-live .llm-compare-table").count() == 1
                  and "Total" in out.locator(".llm-totals").inner_text()
                  and "✗" in out.locator(".llm-live-status").inner_text(), 90,
                  "the finished comparison: table, totals and failure line", page)
            table = out.locator(".llm-live .llm-compare-table")
            rows = table.locator("tbody tr").all_inner_texts()
            assert [r.split("\t")[0].strip() for r in rows] == ["offline:kimi-k2-thinking", "offline", "offline:kimi-k3"]
            headers = table.locator("thead th").all_inner_texts()
            assert "TTFT" in headers and "output tok" in headers and "tok/s" in headers
            text = out.inner_text()
            assert text.count("The offline provider has no model 'kimi-k3'.") == 1, text
            assert out.locator(".llm-live-status").inner_text().strip() == "✗ 1 of 3 targets failed."
            assert "Total · 3 calls (1 failed) · prompt" in out.locator(".llm-totals").inner_text()
            assert out.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
            _shot(page, "browser-compare.png", out.locator(".llm-live"))

            # 2. %%workflow: the step list is there while the steps run, and ends all done.
            _run(page, 2)
            wout = _out(page, 2)
            steps = wout.locator(".llm-live .llm-steps-table tbody tr")
            _wait(lambda: steps.count() == 4 and not _kernel_idle(page), 60, "the step list while running", page, poll=0.05)
            live_statuses = " ".join(steps.all_inner_texts())
            assert "pending" in live_statuses or "running" in live_statuses, live_statuses
            _wait(lambda: _kernel_idle(page) and wout.locator(".llm-live .llm-steps-table").count() == 1
                  and "Total" in wout.locator(".llm-totals").inner_text(), 120, "the workflow to finish", page)
            final = wout.locator(".llm-live .llm-steps-table tbody tr").all_inner_texts()
            assert len(final) == 4 and all("done" in r for r in final), final
            assert "Total · 4 calls · prompt" in wout.locator(".llm-totals").inner_text()
            _shot(page, "browser-workflow.png", wout.locator(".llm-live"))

            # 3. The hidden key prompt, cancelled by a kernel interrupt: one line, no password box.
            _run(page, 3)
            kout = _out(page, 3)
            _wait(lambda: kout.locator(".jp-Stdin input[type='password']").count() == 1, 30, "the password box", page)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:interrupt-kernel')")
            _wait(lambda: "Cancelled — no key stored." in kout.inner_text() and _kernel_idle(page), 30,
                  "the cancel line", page)
            _wait(lambda: kout.locator(".jp-Stdin").count() == 0, 10, "the password box to be removed", page)
            assert kout.inner_text().strip() == "Cancelled — no key stored."
            _shot(page, "browser-key-cancel.png", kout)
        finally:
            browser.close()
