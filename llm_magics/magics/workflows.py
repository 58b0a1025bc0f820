"""`%llm workflows [NAME]`: the table of workflows, or one workflow's YAML to copy and adapt.

    %llm workflows                  name, description, steps, personas (HTML / Markdown / text)
    %llm workflows security-audit   the YAML spec (paste it into a %%workflow cell to customise)
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from llm_magics.magics.args import SubParser, parse

__all__ = ["HELP", "main", "WorkflowTable"]

HELP = "the built-in workflows (table); with NAME, print its YAML spec to copy into a %%workflow cell"


class WorkflowTable:
    """Workflows as an HTML table in notebooks, Markdown on GitHub, plain text in terminals."""

    def __init__(self, specs: Sequence[Any]) -> None:
        self.specs = list(specs)

    def rows(self) -> list[tuple[str, str, str, str]]:
        out = []
        for s in self.specs:
            out.append((s.name, s.description, " → ".join(s.order()), ", ".join(s.personas)))
        return out

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("Name", "Description", "Steps", "Personas"))
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in (f"<code>{esc(n)}</code>", esc(d), esc(st), esc(p)))
            + "</tr>"
            for n, d, st, p in self.rows()
        )
        foot = "<p>Run one with <code>%%workflow NAME</code> (the cell is its input); <code>%llm workflows NAME</code> shows its YAML.</p>"
        return f'<table class="llm-workflow-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{foot}'

    def _repr_markdown_(self) -> str:
        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        lines = ["| Name | Description | Steps | Personas |", "|:---|:---|:---|:---|"]
        lines += [f"| `{n}` | {cell(d)} | {cell(st)} | {cell(p)} |" for n, d, st, p in self.rows()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        lines = []
        for n, d, st, p in self.rows():
            lines += [f"{n}  —  {d}", f"    steps:    {st}", f"    personas: {p}"]
        lines.append("Run one with %%workflow NAME (the cell is its input); %llm workflows NAME shows its YAML.")
        return "\n".join(lines)


def main(shell: Any, argv: list[str], cell: str | None = None) -> Any:
    parser = SubParser("%llm workflows", "The built-in workflows (and yours in LLM_MAGICS_HOME/workflows).")
    parser.add_argument("name", nargs="?", default=None, help="print this workflow's YAML spec")
    args = parse(parser, argv)
    if args is None:
        return None
    from llm_magics.workflow.api import builtin_workflows, load_workflow

    if args.name:
        print(load_workflow(args.name).to_yaml())
        return None
    return WorkflowTable(builtin_workflows())
