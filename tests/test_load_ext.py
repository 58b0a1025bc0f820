"""`%load_ext llm_magics` is light: prints nothing, touches no network, imports no heavy module.

Timing is measured by `bench/load_ext.py`, never asserted here. Instead, in a fresh process the
heavy modules are made unimportable (and dropped from sys.modules) after IPython is up, so any
eager import of them by the extension fails the load outright.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

_HEAVY = ["httpx", "httpcore", "anyio", "ipywidgets", "yaml", "sqlite3", "_sqlite3", "keyring", "nbformat"]

_CHILD = r"""
import io, json, socket, sys, contextlib
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
heavy = set(json.loads(sys.argv[1]))
attempted = []
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in heavy:
            attempted.append(name)
            raise ImportError(f"blocked heavy import: {name}")
        return None
for name in list(sys.modules):
    if name.split(".")[0] in heavy:
        del sys.modules[name]
sys.meta_path.insert(0, Block())
connects = []
real_connect = socket.socket.connect
def spy(self, addr):
    connects.append(str(addr))
    return real_connect(self, addr)
socket.socket.connect = spy
before = set(sys.modules)
buf = io.StringIO()
with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
    ip.run_line_magic("load_ext", "llm_magics")
new = sorted(set(sys.modules) - before)
print(json.dumps({"printed": buf.getvalue(), "attempted": attempted, "connects": connects, "new": new,
                  "magics": sorted(ip.magics_manager.magics["line"]) + sorted(ip.magics_manager.magics["cell"])}))
"""


def _run() -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(_HEAVY)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def test_load_ext_is_silent_offline_and_light() -> None:
    data = _run()
    assert data["printed"] == ""
    assert data["attempted"] == [], f"%load_ext imported heavy modules: {data['attempted']}"
    assert data["connects"] == []
    assert {"llm", "discuss", "workflow", "compare"} <= set(data["magics"])
    ours = [m for m in data["new"] if m.startswith("llm_magics")]
    # Only the package and the magics shell; handlers, providers, key store load on first use.
    assert set(ours) <= {"llm_magics", "llm_magics.magics", "llm_magics.magics.core", "llm_magics.magics.eval"}, ours


def test_blocker_would_catch_an_eager_import() -> None:
    """The check above can fail: the same child flags a module that does import a blocked one."""
    child = _CHILD.replace('ip.run_line_magic("load_ext", "llm_magics")', "import llm_magics.keys.store, llm_magics.keys.store as k; k.list_keys()")
    proc = subprocess.run([sys.executable, "-c", child, json.dumps(_HEAVY)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "blocked heavy import: sqlite3" in proc.stderr


def test_namesake_package_in_the_same_site_packages_is_reported(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import llm_magics

    (tmp_path / "llm_magics").mkdir()
    monkeypatch.setattr(llm_magics, "__file__", str(tmp_path / "llm_magics" / "__init__.py"))
    assert llm_magics.namesake_conflict() is None  # alone: nothing to say
    ours_old = tmp_path / "llm_magics-0.0.9.dist-info"
    ours_old.mkdir()
    (ours_old / "METADATA").write_text(
        "Metadata-Version: 2.4\nName: llm-magics\nSummary: Prompt, compare and orchestrate LLMs (Kimi first) from Jupyter\n"
    )
    assert llm_magics.namesake_conflict() is None  # this project under its old name
    other = tmp_path / "llm_magics-1.2.1.dist-info"
    other.mkdir()
    (other / "METADATA").write_text("Metadata-Version: 2.1\nName: llm-magics\nSummary: Something else\n")
    warning = llm_magics.namesake_conflict()
    assert warning is not None and "llm-magics 1.2.1" in warning and "pip uninstall -y llm-magics kimi-llm-magics" in warning
