"""The package people install: built, checked, installed by its own name in a clean venv.

`python -m build` makes the sdist and the wheel of `kimi-llm-magics` (the import name stays
`llm_magics`); `twine check` validates both; the wheel goes into a fresh venv (pip fetches the
dependencies from the package index, as for `tests/test_binder.py`), where `%load_ext llm_magics`
runs a real offline `%%compare`; and the sdist carries the complete test suite, whose tests run
from the unpacked sdist.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAME, IMPORT = "kimi-llm-magics", "llm_magics"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith(("LLM_MAGICS_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    out = tmp_path_factory.mktemp("dist")
    pytest.importorskip("build")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, env=_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    yield {"sdist": sdist, "wheel": wheel, "dir": out}


def test_names_and_twine_check(dist: dict[str, Path]) -> None:
    assert dist["sdist"].name == "kimi_llm_magics-0.1.0.tar.gz"
    assert dist["wheel"].name == "kimi_llm_magics-0.1.0-py3-none-any.whl"
    pytest.importorskip("twine")
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(dist["sdist"]), str(dist["wheel"])],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2


def _shipped_tests() -> set[str]:
    """What the sdist must carry: the checkout's tests/, notebooks/ and binder/ files."""
    if (ROOT / ".git").exists():
        listed = subprocess.run(["git", "ls-files", "tests", "notebooks", "binder"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.split()
        return set(listed)
    return {str(p.relative_to(ROOT)) for d in ("tests", "notebooks", "binder") for p in (ROOT / d).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}


def test_sdist_ships_the_whole_test_suite_and_its_tests_run(dist: dict[str, Path], tmp_path: Path) -> None:
    with tarfile.open(dist["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        tar.extractall(tmp_path, filter="data")
    missing = _shipped_tests() - names
    assert not missing, f"sdist lacks: {sorted(missing)}"
    assert {"LICENSE", "tests/conftest.py", "tests/fakeserver.py", "pyproject.toml"} <= names
    src = tmp_path / dist["sdist"].name[: -len(".tar.gz")]
    # The sdist's own code and tests (PYTHONPATH first), with this environment's test tools.
    env = _env(PYTHONPATH=str(src), LLM_MAGICS_NO_KEYRING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_foundation.py", "tests/test_sse.py", "tests/test_throttle.py",
         "-q", "-p", "no:cacheprovider", "-o", "addopts="],
        cwd=src, env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "error" not in proc.stdout.splitlines()[-1]
    where = subprocess.run([sys.executable, "-c", f"import {IMPORT}; print({IMPORT}.__file__)"], cwd=src, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(src / IMPORT / "__init__.py")  # the tests ran against the sdist's package


_CHILD = r"""
import importlib.metadata as md, io, contextlib, sys
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "llm_magics")
import llm_magics
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    ip.run_cell_magic("compare", "offline offline:offline-fast --out c", "Say hello in five words.")
c = ip.user_ns["c"]
print("VERSION", md.version("kimi-llm-magics"))
print("FILE", llm_magics.__file__)
print("STATUS", c.status, [r.status for r in c.rows])
print("TABLE", "output tok" in buf.getvalue())
"""


def test_wheel_installs_by_name_in_a_clean_venv(dist: dict[str, Path], tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = _env(HOME=str(tmp_path / "home"), VIRTUAL_ENV=str(venv), LLM_MAGICS_HOME=str(tmp_path / "llm-home"),
               LLM_MAGICS_NO_KEYRING="1", LLM_MAGICS_OFFLINE_DELAY="0")
    # By name, from the folder holding the wheel (as `pip install kimi-llm-magics` from an index).
    pip = subprocess.run([str(py), "-m", "pip", "install", "-q", "--find-links", str(dist["dir"]), NAME],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    run: Any = subprocess.run([str(py), "-c", _CHILD], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines() if line.split(" ", 1)[0].isupper())
    assert lines["VERSION"] == "0.1.0"
    assert lines["FILE"].startswith(str(venv)) and lines["FILE"].endswith("site-packages/llm_magics/__init__.py")
    assert lines["STATUS"] == "done ['done', 'done']" and lines["TABLE"] == "True"
    assert "Warning: the unrelated package" not in run.stderr
