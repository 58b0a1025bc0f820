"""The IPython magics: `%llm` (one module per subcommand), `%%discuss`, `%%workflow`, `%%compare`.

Thin on purpose: `core.LLMMagics` parses arguments and hands over to a handler module here, which
calls the Python API and renders. Handlers are imported on first use, keeping `%load_ext` fast.
"""

from __future__ import annotations

from llm_magics.magics.core import SUBCOMMANDS, LLMMagics, register

__all__ = ["LLMMagics", "register", "SUBCOMMANDS"]
