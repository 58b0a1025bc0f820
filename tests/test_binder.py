"""Binder, simulated: a clean venv gets `binder/requirements.txt` and `binder/postBuild`, then every
notebook runs top to bottom in a kernel from that venv, with no key and a fresh HOME.

This catches a missing dependency, a package-data file left out of the wheel, a postBuild that
fails, or a notebook that only works in the dev environment. pip may use its cache; nothing but
the package index is contacted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "llm-magics-binder-test"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


def _copy_repo(dest: Path) -> Path:
    """Binder builds from a checkout: copy the working tree (not .git, venvs or caches)."""
    ignore = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", "*.egg-info", "build", "dist",
                                    ".pytest_cache", ".mypy_cache", "test-artifacts", ".ipynb_checkpoints")
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("binder")
    repo = _copy_repo(base / "repo")
    venv = base / "venv"
    home = base / "home"
    home.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith(("LLM_MAGICS_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}", VIRTUAL_ENV=str(venv),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    # What repo2docker does, from the repository root: pip install -r binder/requirements.txt; then postBuild.
    pip = subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
                         cwd=repo, env=env, capture_output=True, text=True)
    assert pip.returncode == 0, f"pip install -r binder/requirements.txt failed:\n{pip.stdout}\n{pip.stderr}"
    post = subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True)
    assert post.returncode == 0, f"binder/postBuild failed:\n{post.stdout}\n{post.stderr}"
    assert "ready" in post.stdout

    # A kernelspec for the venv's python, found through JUPYTER_PATH by nbclient in this process.
    spec_dir = base / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "binder venv", "language": "python",
    }))
    yield {"repo": repo, "venv": venv, "home": home, "jupyter_path": base / "jupyter", "env": env}


def _execute(nb_path: Path, binder_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", str(binder_env["jupyter_path"]))
    for var in [k for k in os.environ if k.endswith("_API_KEY") or k.startswith("LLM_MAGICS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(binder_env["home"]))  # the kernel sees postBuild's IPython profile
    monkeypatch.setenv("LLM_MAGICS_HOME", str(binder_env["home"] / "llm-magics"))
    monkeypatch.setenv("LLM_MAGICS_OFFLINE_DELAY", "0")
    monkeypatch.setenv("LLM_MAGICS_NO_KEYRING", "1")
    nb = nbformat.read(nb_path, as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=120, record_timing=False,
                            resources={"metadata": {"path": str(nb_path.parent)}})
    client.execute()
    return nb


def test_binder_kernel_uses_the_installed_package_and_postbuild_loads_it(
    binder_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import nbformat

    probe = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import sys, llm_magics\nprint(sys.prefix)\nprint(llm_magics.__file__)"),
        nbformat.v4.new_code_cell("%llm --help"),  # no %load_ext: postBuild's startup file registered it
        nbformat.v4.new_code_cell("import llm_magics.keys.resolve as c\nprint(c.default_provider_choice()[0])"),
    ])
    path = tmp_path / "probe.ipynb"
    nbformat.write(probe, path)
    nb = _execute(path, binder_env, monkeypatch)
    out = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]
    prefix, module = out[0].split()
    assert Path(prefix).resolve() == binder_env["venv"].resolve()
    assert str(binder_env["venv"].resolve()) in str(Path(module).resolve())  # a real install, not the dev tree
    assert "%llm keys add" in out[1]
    assert out[2].strip() == "offline"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_from_the_binder_install(name: str, binder_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    nb = _execute(binder_env["repo"] / "notebooks" / name, binder_env, monkeypatch)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors, f"{name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    text = json.dumps([c.outputs for c in nb.cells if c.cell_type == "code"])
    assert "offline" in text.lower()  # it really ran on the keyless demo provider
