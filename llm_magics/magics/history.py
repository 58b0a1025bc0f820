"""`%llm history [N] [--kind K] [--search TEXT]`, `history show ID`, `history export ID --format md|json|csv`."""

from __future__ import annotations

from typing import Any

from llm_magics.magics.args import SubParser, parse

__all__ = ["HELP", "main"]

HELP = "browse stored runs: list (newest first), show one as Markdown, export one to .md/.json"


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)


def _list(argv: list[str]) -> None:
    from llm_magics.history.store import KINDS
    from llm_magics.history.runs import history_runs

    p = SubParser("%llm history", HELP + ". Subcommands: show ID, export ID --format md|json|csv [--output PATH].")
    p.add_argument("n", nargs="?", type=int, default=20, help="how many runs (default 20)")
    p.add_argument("--kind", "-k", choices=sorted(KINDS), default=None, help="only runs of this kind")
    p.add_argument("--search", "-s", default=None, help="only runs whose title or text contains TEXT")
    args = parse(p, argv)
    if args is None:
        return
    table = history_runs(args.n, kind=args.kind, search=args.search)
    if not table:
        what = " ".join(x for x in (args.kind and f"kind={args.kind}", args.search and f"search={args.search!r}") if x)
        print(f"No runs found{' for ' + what if what else ''}. Runs of %%discuss, %%workflow and %%compare appear here.")
        return
    _display(table)


def _show(argv: list[str]) -> None:
    from llm_magics.history.runs import show_run

    p = SubParser("%llm history show", "the run rendered as Markdown")
    p.add_argument("id", help="run ID (see %llm history)")
    args = parse(p, argv)
    if args is not None:
        _display(show_run(args.id))


def _export(argv: list[str]) -> None:
    from llm_magics.history.runs import FORMATS, export_run

    p = SubParser("%llm history export", "write the run to a file and print its path")
    p.add_argument("id", help="run ID (see %llm history)")
    p.add_argument("--format", "-f", choices=sorted(FORMATS), default="md", help="md (default), json, or csv (evals: one row per call)")
    p.add_argument("--output", "-o", default=None, metavar="PATH", help="file or folder (default: <id>.<ext> in the cwd)")
    args = parse(p, argv)
    if args is not None:
        print(export_run(args.id, args.format, args.output))


def main(shell: Any, argv: list[str], cell: str | None) -> None:
    if argv and argv[0] == "show":
        _show(argv[1:])
    elif argv and argv[0] == "export":
        _export(argv[1:])
    else:
        _list(argv)
