"""Secrets audit + acceptance notebook: every `%llm` command, run by nbclient in a real kernel.

Two real-looking keys (one per fake Moonshot region) are typed at the hidden prompt: the test
answers ipykernel's frontend getpass from an environment variable, so the notebook itself never
contains them. Afterwards the keys must be absent from every output, traceback, the saved .ipynb,
the debug log, the llm-magics history DB, IPython's own history DB, the model cache, the config,
a recorded cassette and — once the keys are removed — the key store file too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import FakeLLMServer

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

GLOBAL_KEY = "sk-audit-Global7Q2m-Xk9PzR4tLw8-VnB3c"
CHINA_KEY = "sk-audit-China5Hs1-Jd6FgY0uEo2-WqT7z"
# Distinctive middles: a leak of part of a key counts too.
NEEDLES = [GLOBAL_KEY, CHINA_KEY, GLOBAL_KEY[8:24], CHINA_KEY[8:24]]

CELLS: list[tuple[str, list[str]]] = [
    ("""import os, sys, logging
logging.basicConfig(level=logging.DEBUG, filename=os.environ["AUDIT_LOG"], force=True)
# Stand-in for the browser's hidden password box: the test supplies the answers.
_answers = iter(os.environ["AUDIT_ANSWERS"].split(","))
def _frontend_getpass(prompt="", stream=None):
    print(prompt + "********")
    return next(_answers)
get_ipython().kernel.getpass = _frontend_getpass
print(sys.executable)""", []),
    ("%load_ext llm_magics", []),
    ("%llm keys add kimi --label work", []),
    ("%llm keys add kimi --label china-account --no-check", []),
    ("%llm keys list", []),
    ("%llm check kimi", []),
    ("%llm keys test", []),
    ("%llm models kimi", []),
    ("%llm models kimi --refresh", []),
    ("%llm config model=kimi-k2-turbo-preview temperature=0.3", []),
    ("%llm config --save max_tokens=512", []),
    ("%llm config --unset temperature", []),
    ("%llm config", []),
    ("""from llm_magics import get_provider, run_sync
# The work key against the other region's host: a 401 with a full traceback.
p = get_provider("kimi", base_url=os.environ["AUDIT_CN_URL"])
run_sync(p.complete([{"role": "user", "content": "hello"}], model="kimi-k2-0905-preview"))""", ["raises-exception"]),
    ("%llm keys list", []),
    ("%llm keys test", []),
    ("%llm record " + "{AUDIT_CASSETTE}", ["raises-exception"]),
    ("%%compare kimi:kimi-k2-0905-preview\nSay hello in five words.", ["raises-exception"]),
    ("%%discuss --provider kimi --rounds 1\nShould we cache model lists?", ["raises-exception"]),
    ("%llm record stop", ["raises-exception"]),
    ("%llm history", ["raises-exception"]),
    ("%llm personas", ["raises-exception"]),
    ("%llm workflows", ["raises-exception"]),
    ("%llm keys remove nope", ["raises-exception"]),
    ("""from llm_magics.keys import store as keys
for k in keys.list_keys():
    get_ipython().run_line_magic("llm", f"keys remove {k.id}")""", []),
    ("%llm keys list", []),
]


def _text(output: dict[str, Any]) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join(output.get("traceback", [])) + output.get("evalue", "")
    data = output.get("data", {})
    return "\n".join(str(v) for v in data.values())


def _cell_text(cell: Any) -> str:
    return "\n".join(_text(o) for o in cell.get("outputs", []))


@pytest.mark.slow
def test_secrets_never_leak_and_acceptance_outputs(
    fake_server: FakeLLMServer, tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    china = FakeLLMServer().start()
    try:
        _run_audit(fake_server, china, tmp_path, isolated_home, monkeypatch)
    finally:
        china.close()


def _run_audit(glob: FakeLLMServer, china: FakeLLMServer, tmp_path: Path, home: Path,
               monkeypatch: pytest.MonkeyPatch) -> None:
    glob.valid_keys = {GLOBAL_KEY}
    china.valid_keys = {CHINA_KEY}
    log = tmp_path / "audit.log"
    cassette = tmp_path / "audit.cassette.jsonl"
    ipydir = tmp_path / "ipython"
    for var, value in {
        "KIMI_BASE_URL": glob.base_url,
        "LLM_MAGICS_KIMI_REGIONS": f"{glob.base_url},{china.base_url}",
        "AUDIT_ANSWERS": f"{GLOBAL_KEY},{CHINA_KEY}",
        "AUDIT_CN_URL": china.base_url,
        "AUDIT_LOG": str(log),
        "IPYTHONDIR": str(ipydir),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }.items():
        monkeypatch.setenv(var, value)

    nb = nbformat.v4.new_notebook()
    for source, tags in CELLS:
        cell = nbformat.v4.new_code_cell(source.replace("{AUDIT_CASSETTE}", str(cassette)))
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    ipydir.mkdir()
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=90, resources={"metadata": {"path": str(tmp_path)}},
        ipython_hist_file=str(ipydir / "history.sqlite"),  # nbclient's default is :memory:
    )
    client.execute()
    saved = tmp_path / "audit.ipynb"
    nbformat.write(nb, saved)

    cells = nb.cells
    out = [_cell_text(c) for c in cells]
    # The kernel is the venv's Python (jupyter_client swaps "python" in the kernelspec for sys.executable).
    assert out[0].strip().splitlines()[-1] == sys.executable
    for i, cell in enumerate(cells):
        if "raises-exception" not in cell.metadata.get("tags", []):
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert not errors, f"cell {i} ({cell.source[:40]!r}) failed: {out[i]}"

    # --- acceptance: outputs are readable and correct
    assert out[1] == ""  # %load_ext prints nothing
    assert "input hidden" in out[2] and "valid: " in out[2] and "'work'" in out[2]
    assert "not checked (--no-check)" in out[3]
    assert "sk-…" in out[4] and "unchecked" in out[4] and "<table" in out[4]
    # check: the newest key is the China one, the host is global → 401 → the fix.
    assert "401" in out[5] and f"set KIMI_BASE_URL={china.base_url}" in out[5]
    assert "valid: " in out[6] and "valid only on the other Kimi region" in out[6]
    assert "source: live" in out[7] or "source: cache" in out[7]
    assert "source: live" in out[8] and "kimi-k2-0905-preview" in out[8] and "<table" in out[8]
    assert "set for this session" in out[9] and "saved to" in out[10]
    assert "kimi-k2-turbo-preview" in out[12] and "session" in out[12] and "saved" in out[12]
    assert "AuthenticationError" in out[13] and "401" in out[13]
    assert "invalid" in out[14] and "rejected by the server (401)" in out[14]
    assert "'work'" in out[15] and "valid: " in out[15]  # re-tested: valid again on its own region
    assert "No stored key with ID 'nope'" in out[23]
    assert out[24].count("Removed kimi key") == 2 and "No stored keys" in out[25]
    # Generations really ran with the stored key while recording (so history/cassette are meaningful).
    assert any(r.method == "POST" and r.headers.get("authorization") == f"Bearer {GLOBAL_KEY}" for r in glob.requests)

    # --- audit: nowhere, in any form
    places: dict[str, bytes] = {
        "executed notebook": json.dumps(nb).encode(),
        "saved .ipynb": saved.read_bytes(),
        "debug log": log.read_bytes() if log.exists() else b"",
    }
    assert places["debug log"], "the debug log should have captured something (httpx/llm-magics logging)"
    for f in sorted(home.rglob("*")):  # history.db (+wal), keys.db (keys removed), models cache, config
        if f.is_file():
            places[f"LLM_MAGICS_HOME/{f.relative_to(home)}"] = f.read_bytes()
    for f in sorted(ipydir.rglob("*.sqlite*")):
        places[f"IPython {f.name}"] = f.read_bytes()
    if cassette.exists():
        places["cassette"] = cassette.read_bytes()
    assert any(name.endswith("keys.db") for name in places)
    assert any("history.sqlite" in name for name in places)
    for name, blob in places.items():
        for needle in NEEDLES:
            assert needle.encode() not in blob, f"key material found in {name}"
