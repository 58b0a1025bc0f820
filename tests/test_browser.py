"""A real browser against a real JupyterLab: the personas notebook, clicked through like a user.

pytest starts JupyterLab (127.0.0.1, free port, random token) on a temp copy of notebooks/, with
the offline provider streaming slowly enough to watch; Playwright drives the system Chromium
(never a downloaded one). The test runs every cell, picks two persona cards by clicking, re-runs
the parallel `%%discuss` (which has no --personas, so it uses the picker), checks the panes grow
while streaming and that the transcript names exactly the two clicked personas, and saves a
screenshot to test-artifacts/browser-discuss.png.

Every wait looks at a cell's OUTPUT area (`_output`), never at the whole cell: the cell's source
is on the page too, and a wait for text that the source already contains passes before the run
has printed anything.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
NOTEBOOK = "05-personas-and-widgets.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROME_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

if not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true":
    pytest.skip(f"{CHROMIUM} not installed (in CI this test must run)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(dir_: Path) -> None:
    """Lab settings for a quiet, fully rendered page: every cell in the DOM, no news toast."""
    overrides = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    }
    for rel, value in overrides.items():
        path = dir_ / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    root = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    port, token = _free_port(), secrets.token_hex(16)
    _settings(tmp_path / "lab-settings")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("LLM_MAGICS_")}
    env.update(
        LLM_MAGICS_HOME=str(tmp_path / "llm-home"), LLM_MAGICS_OFFLINE_DELAY="0.05", LLM_MAGICS_NO_KEYRING="1",
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-ws"),
        IPYTHONDIR=str(tmp_path / "ipython"), PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1",
    )
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:])
            time.sleep(0.25)
        yield {"base": base, "token": token, "root": root}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


_JS_CELLS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  return nb.widgets.map(c => ({type: c.model.type, src: c.model.sharedModel.getSource(),
                               count: c.model.type === 'code' ? c.model.executionCount : null}));
}"""


def _cells(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate(_JS_CELLS))


def _run_cell(page: Any, index: int) -> None:
    """Start one cell as Shift+Enter would (JupyterLab's own command), without waiting for it:
    its old outputs are cleared first so everything seen afterwards is from this run."""
    page.evaluate(
        """async (i) => { const app = window.jupyterapp; const nb = app.shell.currentWidget.content;
             nb.activeCellIndex = i; nb.deselectAll();
             await app.commands.execute('notebook:clear-cell-output');
             app.commands.execute('notebook:run-cell'); }""",
        index,
    )


def _kernel_idle(page: Any) -> bool:
    return bool(page.evaluate(
        "() => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;"
        " return !!k && k.status === 'idle'; }"
    ))


def _output(page: Any, index: int) -> Any:
    """The output area of cell `index` (what the run printed; never its source)."""
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def _wait(cond: Any, timeout: float, what: str, page: Any, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browser-failure.png"))
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def test_pick_two_personas_and_discuss_in_parallel(lab: dict[str, Any]) -> None:
    if os.environ.get("CI") == "true":
        import playwright.sync_api as sync_api  # in CI a missing Playwright is a failure, not a skip
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(f"{lab['base']}/lab/tree/{NOTEBOOK}?token={lab['token']}")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.content"
                " && window.jupyterapp.shell.currentWidget.content.widgets.length > 0", timeout=60_000)
            _wait(lambda: _kernel_idle(page), 60, "the kernel to start", page)
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')"
                          " .catch(() => {})")

            # 1. Run all cells, top to bottom, and wait until every code cell has run.
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            _wait(lambda: all(c["count"] for c in _cells(page) if c["type"] == "code") and _kernel_idle(page),
                  120, "all cells to run", page, poll=0.25)
            tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
            assert tracebacks.count() == 0, tracebacks.first.inner_text()

            cells = _cells(page)
            discuss_i = next(i for i, c in enumerate(cells) if c["src"].startswith("%%discuss") and "--mode parallel" in c["src"]
                             and "--personas" not in c["src"])
            check_i = next(i for i, c in enumerate(cells) if i > discuss_i and c["type"] == "code")

            # 2. Clear the picker, then click two persona cards (by their visible names).
            picker = page.locator(".llm-persona-picker").first
            picker.scroll_into_view_if_needed()
            picker.locator(".llm-persona-clear").click()
            buttons = picker.locator(".llm-persona-card .llm-persona-card-button")
            _wait(lambda: buttons.count() >= 4 and not any(
                b.startswith("✓") for b in buttons.all_inner_texts()), 10, "the picker to clear", page)
            picked = []
            for idx in (2, 4):  # two cards the notebook did not preselect
                button = buttons.nth(idx)
                label = button.inner_text().strip()
                button.click()
                picked.append(label.split(" ", 1)[1].strip())
            _wait(lambda: sum(b.startswith("✓") for b in buttons.all_inner_texts()) == 2, 10,
                  "two cards to show as selected", page)
            selected = picker.locator(".llm-persona-card-selected")
            assert selected.count() >= 2

            # 3. Run the parallel %%discuss (no --personas): it must use the clicked personas.
            _run_cell(page, discuss_i)
            cell = _output(page, discuss_i)
            panes = cell.locator(".llm-pane-text")

            def streamed() -> int:
                return sum(len(t) for t in panes.all_inner_texts())

            _wait(lambda: panes.count() >= 2 and streamed() > 0, 60, "the panes to start streaming", page, poll=0.05)
            first = streamed()
            assert cell.locator(".llm-pane-done").count() < 2, "the run ended before it could be sampled"
            grew: dict[str, int] = {}

            def grew_while_streaming() -> bool:
                done = cell.locator(".llm-pane-done").count() >= 2  # read first: growth seen after it is live
                now = streamed()
                if now > first:
                    grew.update(chars=now, done=int(done))
                    return True
                assert not done, f"the run ended without the pane text growing ({first} chars)"
                return False

            _wait(grew_while_streaming, 30, "the pane text to grow while streaming", page, poll=0.05)
            assert not grew["done"], f"pane text grew only at the end ({first} → {grew['chars']} chars)"
            picker.scroll_into_view_if_needed()
            page.evaluate("() => { const p = document.querySelector('.llm-persona-picker');"
                          " p && p.scrollIntoView({block: 'start'}); }")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browser-discuss-streaming.png"))

            _wait(lambda: _kernel_idle(page) and cell.locator(".llm-pane-done").count() >= 2, 90,
                  "the discussion to finish", page, poll=0.2)
            titles = " ".join(cell.locator(".llm-pane-title").all_inner_texts())
            for name in picked:
                assert name in titles

            # 4. The transcript (the cell after, reading `--out`) names exactly the two personas.
            _run_cell(page, check_i)  # clears its output first: any "Personas:" line below is from this run
            check_out = _output(page, check_i)

            def personas_line() -> str | None:
                return next((ln for ln in check_out.inner_text().splitlines() if ln.startswith("Personas:")), None)

            _wait(lambda: personas_line() is not None and _kernel_idle(page), 30, "the transcript check cell's output", page)
            line = personas_line()
            assert line is not None
            assert sorted(n.strip() for n in line.split(":", 1)[1].split(",")) == sorted(picked)

            page.evaluate("() => { const p = document.querySelector('.llm-persona-picker');"
                          " p && p.scrollIntoView({block: 'start'}); }")
            page.screenshot(path=str(ARTIFACTS / "browser-discuss.png"))
        finally:
            browser.close()
