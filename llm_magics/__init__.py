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
    "get_provider": "llm_magics.providers",
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
    "compare": "llm_magics.compare",
    "acompare": "llm_magics.compare",
    "Comparison": "llm_magics.compare",
    "history_runs": "llm_magics.runs",
    "show_run": "llm_magics.runs",
    "export_run": "llm_magics.runs",
    "load_run": "llm_magics.runs",
    "get_persona": "llm_magics.personas",
    "personas": "llm_magics.personas",
    "Persona": "llm_magics.personas",
    "History": "llm_magics.history",
    "errors": "llm_magics.errors",
    "run_sync": "llm_magics._sync",
}

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'llm_magics' has no attribute {name!r}")
    mod = importlib.import_module(module)
    # `personas` is both a submodule and the public function: hand out the module, which is
    # callable (`llm_magics.personas()` lists them), so neither spelling breaks the other.
    value = mod if name in ("errors", "personas") else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: Any) -> None:
    from llm_magics.magics import register

    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    pass
