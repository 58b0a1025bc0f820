"""Text that can be sent: lone UTF-16 surrogates (a broken copy-paste, a bad decode) are replaced.

A Python string may hold code points U+D800–U+DFFF that UTF-8 cannot encode, so the request body
(and the history row) would fail with a bare UnicodeEncodeError. The APIs replace each one with
U+FFFD "�" before anything is sent and say so in one notice; the run then goes on and is saved.
"""

from __future__ import annotations

import re

__all__ = ["scrub_text", "REPLACEMENT"]

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_text(text: str, what: str = "The prompt") -> tuple[str, str | None]:
    """(`text` with every surrogate replaced by �, a one-line notice or None when there was none)."""
    if text.isascii():
        return text, None
    clean, n = _SURROGATE.subn(REPLACEMENT, text)
    if not n:
        return text, None
    first = _SURROGATE.search(text)
    line = text.count("\n", 0, first.start() if first else 0) + 1
    chars = "character" if n == 1 else "characters"
    return clean, (
        f"{what} contained {n} invalid {chars} (a lone UTF-16 surrogate, first on line {line}, usually from a "
        f"broken copy-paste); replaced by {REPLACEMENT} before sending."
    )
