"""Argument parsing for `%llm` subcommands: argparse that raises UsageError, never exits."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from IPython.core.error import UsageError

__all__ = ["SubParser", "parse"]


class _HelpShown(Exception):
    pass


class SubParser(argparse.ArgumentParser):
    """`%llm SUB` parser: bad flags raise UsageError with the usage line; --help prints and stops."""

    def __init__(self, prog: str, description: str = "", **kw: Any) -> None:
        super().__init__(prog=prog, description=description, add_help=True, **kw)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            print(message)
        raise _HelpShown()


def parse(parser: SubParser, argv: list[str]) -> argparse.Namespace | None:
    """Parsed args, or None when --help was shown (the caller then returns)."""
    try:
        return parser.parse_args(argv)
    except _HelpShown:
        return None
