""".ci/_venv.sh never reuses a virtualenv made by another Python (it would test the wrong one)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _other_python() -> str | None:
    """A runnable interpreter of another minor version than this one, if the machine has one."""
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = [shutil.which(f"python3.{m}") for m in range(10, 15)]
    found += sorted(glob.glob(f"{pyenv}/versions/3.1[0-9].*/bin/python3.1[0-9]"))
    for exe in found:
        if not exe or mine in Path(exe).name:
            continue
        if subprocess.run([exe, "-c", "import venv"], capture_output=True).returncode == 0:
            return exe
    return None


def _source(venv: Path, python: str) -> str:
    script = f'source "{ROOT}/.ci/_venv.sh" && "$VENV/bin/python" -c "import sys; print(sys.version.split()[0])"'
    env = {**os.environ, "PYTHON": python, "VENV": str(venv), "VENV_ARGS": "--without-pip"}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, cwd=venv.parent)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_a_venv_from_another_python_is_recreated(tmp_path: Path) -> None:
    other = _other_python()
    if other is None:
        pytest.skip("no second Python on this machine")
    venv = tmp_path / "venv"
    version = lambda exe: subprocess.run([exe, "-c", "import sys; print(sys.version.split()[0])"],  # noqa: E731
                                         capture_output=True, text=True, check=True).stdout.strip()
    first = _source(venv, other)
    assert first.startswith(f"::: creating {venv} with {other}") and first.endswith(version(other) + "\n")
    assert _source(venv, other) == version(other) + "\n"  # the same Python: reused, nothing printed
    again = _source(venv, sys.executable)
    assert f"::: {venv} was made by another Python ({version(other)} " in again
    assert again.endswith(version(sys.executable) + "\n")
    (venv / "bin" / "python").unlink()  # a venv whose interpreter is gone
    assert "was made by another Python (broken)" in _source(venv, sys.executable)
