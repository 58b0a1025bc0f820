"""The IPython magics: `%llm` (one module per subcommand), `%%discuss`, `%%workflow`, `%%compare`.

Thin on purpose: `core.LLMMagics` parses arguments and hands over to a handler module here, which
calls the Python API and renders. Handlers are imported on first use, keeping `%load_ext` fast.
"""

from __future__ import annotations

from typing import Any

from llm_magics.magics.core import SUBCOMMANDS, LLMMagics
from llm_magics.magics.core import register as _register_core

__all__ = ["LLMMagics", "register", "SUBCOMMANDS"]


def register(ipython: Any) -> None:
    """Every magic: %llm, %%discuss, %%workflow, %%compare (core) and %%eval (magics.eval)."""
    _register_core(ipython)
    from llm_magics.magics.eval import EvalMagics

    ipython.register_magics(EvalMagics)
