"""llm-magics: prompt, compare and orchestrate LLMs (Kimi first) from Jupyter.

    %load_ext llm_magics

The public API is imported lazily so that loading the extension stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name → module that defines it
_EXPORTS: dict[str, str] = {
    "get_provider": "llm_magics.keys.resolve",
    "create_provider": "llm_magics.providers.registry",
    "PROVIDERS": "llm_magics.providers",
    "Provider": "llm_magics.providers",
    "Chunk": "llm_magics.providers",
    "Completion": "llm_magics.providers",
    "Usage": "llm_magics.providers",
    "ModelInfo": "llm_magics.providers",
    "CheckReport": "llm_magics.providers",
    "discuss": "llm_magics.discussion",
    "adiscuss": "llm_magics.discussion",
    "Transcript": "llm_magics.discussion",
    "run_workflow": "llm_magics.workflow",
    "arun_workflow": "llm_magics.workflow",
    "WorkflowRun": "llm_magics.workflow",
    "compare": "llm_magics.comparison",
    "acompare": "llm_magics.comparison",
    "Comparison": "llm_magics.comparison",
    "evaluate": "llm_magics.evaluation",
    "aevaluate": "llm_magics.evaluation",
    "EvalResult": "llm_magics.evaluation",
    "history_runs": "llm_magics.history",
    "show_run": "llm_magics.history",
    "export_run": "llm_magics.history",
    "load_run": "llm_magics.history",
    "History": "llm_magics.history",
    "get_persona": "llm_magics.personas",
    "list_personas": "llm_magics.personas",
    "Persona": "llm_magics.personas",
    "errors": "llm_magics.errors",
    "run_sync": "llm_magics.sync",
}

#: Public names whose defining attribute is spelled differently there.
_RENAMED: dict[str, str] = {"create_provider": "create"}

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'llm_magics' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if name == "errors" else getattr(mod, _RENAMED.get(name, name))
    # Package names (`compare` vs `comparison`, `list_personas` vs `personas`) never collide with
    # these functions, so caching the value here is safe: no later submodule import rebinds it.
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


#: This project's distribution name; "llm-magics" on PyPI is an unrelated project with the same
#: import name, so the two cannot share an environment.
DISTRIBUTION = "kimi-llm-magics"
_NAMESAKE = "llm-magics"


def namesake_conflict() -> str | None:
    """A warning when the unrelated PyPI package `llm-magics` is installed next to this one.

    Both install into one `llm_magics/` folder, so whichever was installed last owns the files
    (and uninstalling either deletes them). We can only speak when ours won `__init__.py`.
    Runs at every `%load_ext`, so it only lists the folder that holds us (no importlib.metadata,
    which costs more than the rest of loading the extension).
    """
    import os

    site = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        found = [n for n in os.listdir(site) if n.startswith("llm_magics-") and n.endswith(".dist-info")]
    except OSError:
        return None
    for name in found:
        try:
            with open(os.path.join(site, name, "METADATA"), encoding="utf-8") as fh:
                head = fh.read(4096)
        except OSError:
            continue
        if "Summary: Prompt, compare and orchestrate LLMs (Kimi first)" in head:
            continue  # this project, installed under its old name
        version = name[len("llm_magics-"):-len(".dist-info")]
        return (
            f"Warning: the unrelated package {_NAMESAKE} {version} is installed too and also uses the import "
            f"name llm_magics, so the two overwrite each other's files. Fix: "
            f"pip uninstall -y {_NAMESAKE} {DISTRIBUTION} && pip install {DISTRIBUTION}"
        )
    return None


def load_ipython_extension(ipython: Any) -> None:
    from llm_magics.magics import register

    warning = namesake_conflict()
    if warning:
        import sys

        print(warning, file=sys.stderr)
    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    pass
