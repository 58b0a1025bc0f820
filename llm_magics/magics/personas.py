"""`%llm personas`: list, pick, show, add, remove and select personas.

    %llm personas [--pick]                          table (HTML in a notebook), or the picker widget
    %llm personas show NAME                         one persona with its full system prompt
    %%llm personas add NAME --role R [--bio B] [--emoji E] [--color C] [--alias A] [--force]
    <system prompt>                                 (no cell: asked with input())
    %llm personas remove NAME                       delete a user persona file
    %llm personas select "Noor, Sasha" | --clear    the default for %%discuss (what the picker sets)
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from llm_magics.magics.args import SubParser, parse
from llm_magics.errors import ConfigurationError

__all__ = ["HELP", "main", "PersonaTable"]

HELP = "list personas (table), --pick to choose them in a widget, add/show/remove/select"

_ACTIONS = ("add", "show", "remove", "select")


class PersonaTable:
    """The personas as an HTML table in notebooks, Markdown on GitHub, plain text in terminals."""

    def __init__(self, items: Sequence[Any], selected: Sequence[str] = (), errors: Sequence[Exception] = ()) -> None:
        self.items = list(items)
        self.selected = list(selected)
        self.errors = [str(e) for e in errors]

    def _mark(self, name: str) -> str:
        return "✓" if name in self.selected else ""

    def _footer(self) -> list[str]:
        lines = []
        if self.selected:
            lines.append("Selected (used by %%discuss without --personas): " + ", ".join(self.selected))
        lines.extend(f"⚠ {e}" for e in self.errors)
        return lines

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = []
        for p in self.items:
            aliases = ", ".join(p.aliases)
            rows.append(
                f'<tr class="llm-persona-row"><td>{self._mark(p.name)}</td>'
                f'<td style="border-left:4px solid {esc(p.color)}">{esc(p.emoji)}</td>'
                f"<td style='text-align:left'><b>{esc(p.name)}</b></td><td style='text-align:left'>{esc(p.role)}</td>"
                f"<td style='text-align:left'>{esc(p.bio)}</td>"
                f"<td style='text-align:left'><code>{esc(aliases)}</code></td><td style='text-align:left'>{esc(p.source)}</td></tr>"
            )
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("", "", "Name", "Role", "Bio", "Also answers to", "Source"))
        foot = "".join(f"<p>{esc(line)}</p>" for line in self._footer())
        return (
            f'<table class="llm-persona-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{foot}"
        )

    def _repr_markdown_(self) -> str:
        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        lines = ["| | Name | Role | Bio | Also answers to |", "|:---|:---|:---|:---|:---|"]
        for p in self.items:
            lines.append(
                f"| {self._mark(p.name)} {p.emoji} | **{cell(p.name)}** | {cell(p.role)} | {cell(p.bio)} | {cell(', '.join(p.aliases))} |"
            )
        return "\n".join(lines + [""] + [cell(x) for x in self._footer()]).rstrip()

    def __repr__(self) -> str:
        width = max((len(p.name) for p in self.items), default=4)
        lines = [f"{self._mark(p.name):1} {p.name:<{width}}  {p.role}" + ("" if p.source == "built-in" else f"  [{p.source}]") for p in self.items]
        return "\n".join(lines + self._footer())


def _list(argv: list[str]) -> Any:
    parser = SubParser("%llm personas", "The personas a discussion can use.")
    parser.add_argument("--pick", action="store_true", help="show the PersonaPicker widget")
    args = parse(parser, argv)
    if args is None:
        return None
    import llm_magics.personas.model as P  # noqa: F811

    if args.pick:
        from llm_magics.magics.live import in_kernel

        if not in_kernel():
            print('The picker needs Jupyter. Here, use: %llm personas select "Noor Okafor, Sasha"')
            return _table(P)
        from llm_magics.ui.pickers import PersonaPicker

        return PersonaPicker()
    return _table(P)


def _table(P: Any) -> PersonaTable:
    items = P.list_personas()  # warns about bad files once; the table lists them every time
    return PersonaTable(items, [p.name for p in P.selection()], P.persona_errors())


def _show(argv: list[str]) -> None:
    parser = SubParser("%llm personas show", "One persona with its full system prompt.")
    parser.add_argument("name", nargs="+", help="name, role, first name or alias")
    args = parse(parser, argv)
    if args is None:
        return None
    from llm_magics.personas.model import get_persona

    p = get_persona(" ".join(args.name))
    print(p.label)
    if p.bio:
        print(p.bio)
    print(f"aliases: {', '.join(p.aliases) or '-'}   colour: {p.color}   source: {p.source}\n")
    print(p.system_prompt)
    return None


def _add(argv: list[str], cell: str | None) -> None:
    parser = SubParser(
        "%%llm personas add",
        "Save a user persona to LLM_MAGICS_HOME/personas/. The cell is its system prompt (without a cell you are asked).",
    )
    parser.add_argument("name", nargs="+", help='the persona\'s name, e.g. "Kai Varga"')
    parser.add_argument("--role", "-r", required=True, help='e.g. "Data Engineer"')
    parser.add_argument("--bio", default="", help="one line shown in the picker")
    parser.add_argument("--emoji", default="", help="shown before the name")
    parser.add_argument("--color", default=None, help="CSS colour, e.g. #0f766e")
    parser.add_argument("--alias", "-a", action="append", default=[], help="extra lookup name (repeatable)")
    parser.add_argument("--prompt", default=None, help="the system prompt (instead of the cell)")
    parser.add_argument("--force", action="store_true", help="replace an existing file for this name")
    args = parse(parser, argv)
    if args is None:
        return None
    from llm_magics.personas.store import write_user_persona
    from llm_magics.personas.model import Persona, builtin_personas

    name = " ".join(args.name)
    prompt = args.prompt if args.prompt is not None else (cell if cell and cell.strip() else None)
    if prompt is None:
        prompt = input(f"System prompt for {name} ({args.role}), one paragraph: ")
    if not prompt.strip():
        raise ConfigurationError(
            f"No system prompt given for '{name}'.",
            hint=f"Put it in the cell: %%llm personas add {name} --role \"{args.role}\" and the prompt below.",
        )
    persona = Persona(
        name=name, role=args.role, system_prompt=prompt, bio=args.bio, emoji=args.emoji,
        color=args.color, aliases=tuple(args.alias), source="user",
    )
    if any(b.name.casefold() == persona.name.casefold() for b in builtin_personas()) and not args.force:
        raise ConfigurationError(
            f"'{persona.name}' is a built-in persona.", hint="Add --force to override it with your own version."
        )
    path = write_user_persona(persona, overwrite=args.force)
    from llm_magics.config import display_path

    print(f"Saved {persona.label} to {display_path(path)}.")
    return None


def _remove(argv: list[str]) -> None:
    parser = SubParser("%llm personas remove", "Delete a user persona file.")
    parser.add_argument("name", nargs="+")
    args = parse(parser, argv)
    if args is None:
        return None
    from llm_magics.personas.store import remove_user_persona

    for path in remove_user_persona(" ".join(args.name)):
        print(f"Removed {path}.")
    return None


def _select(argv: list[str]) -> None:
    parser = SubParser("%llm personas select", "Set the personas %%discuss uses when --personas is omitted.")
    parser.add_argument("names", nargs="*", help='e.g. "Noor Okafor, Sasha"')
    parser.add_argument("--clear", action="store_true", help="back to the default (all six built-ins)")
    args = parse(parser, argv)
    if args is None:
        return None
    import llm_magics.personas.model as P  # noqa: F811

    if args.clear or not args.names:
        if not args.clear:
            raise ConfigurationError("No names given.", hint='e.g. %llm personas select "Noor Okafor, Sasha", or --clear.')
        P.select(None)
        print("Selection cleared: %%discuss uses all six built-in personas.")
        return None
    P.select(", ".join(args.names))
    print("Selected: " + ", ".join(p.name for p in P.selection()))
    return None


def main(shell: Any, argv: list[str], cell: str | None) -> Any:
    action = argv[0] if argv else ""
    rest = argv[1:]
    if action == "add":
        return _add(rest, cell)
    if action == "show":
        return _show(rest)
    if action == "remove":
        return _remove(rest)
    if action == "select":
        return _select(rest)
    if action and not action.startswith("-"):
        from IPython.core.error import UsageError

        from llm_magics.providers.suggest import did_you_mean

        hint = did_you_mean(action, _ACTIONS) or "Actions: " + ", ".join(_ACTIONS) + "."
        raise UsageError(f"%llm personas: unknown action '{action}'. {hint}")
    return _list(argv)
