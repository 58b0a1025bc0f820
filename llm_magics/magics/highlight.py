"""Syntax highlighting of cell-magic bodies: Markdown for topics and prompts, YAML for workflows.

Terminal IPython picks a lexer per cell magic from `IPythonPTLexer.magic_lexers` (that is how
`%%html` is highlighted as HTML); we add ours there when the extension loads.

JupyterLab 4 cannot be told from the kernel: a notebook's cells are all highlighted in the
kernel's one language (CodeMirror 6 mode from `language_info`), output JavaScript has no access
to the editor, and per-magic modes need a frontend extension (jupyterlab/jupyterlab#3869,
#15324, both open). So in JupyterLab the body reads as Python; a stray apostrophe turns the rest
of the line red but changes nothing else — the text is sent exactly as typed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAGIC_LEXERS", "register_terminal_lexers"]

#: cell magic → pygments lexer class name (in `pygments.lexers`).
MAGIC_LEXERS = {
    "discuss": "MarkdownLexer",
    "compare": "MarkdownLexer",
    "eval": "MarkdownLexer",
    "workflow": "YamlLexer",
}


class _Lazy:
    """Builds the pygments lexer on first use, as IPython's own per-magic lexers do."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lexer: Any = None

    def lex_document(self, document: Any) -> Any:
        if self._lexer is None:
            import pygments.lexers as lexers
            from prompt_toolkit.lexers import PygmentsLexer

            self._lexer = PygmentsLexer(getattr(lexers, self._name))
        return self._lexer.lex_document(document)


def register_terminal_lexers(shell: Any) -> bool:
    """Add our magics to terminal IPython's per-magic lexers; False where there are none (kernels)."""
    session = getattr(shell, "pt_app", None)
    table = getattr(getattr(session, "lexer", None), "magic_lexers", None)
    if not isinstance(table, dict):
        return False
    for magic, lexer in MAGIC_LEXERS.items():
        table.setdefault(magic, _Lazy(lexer))
    return True
