"""`%llm config [KEY=VALUE ...] [--unset KEY] [--save]`: settings for this session or saved.

Without `--save` values apply to this Python session only; with it they are written to
`LLM_MAGICS_HOME/config.json` (and the session override for them is dropped so the saved value
shows). With no arguments: every effective setting and where it came from.
"""

from __future__ import annotations

import os
from typing import Any

from llm_magics.magics.args import SubParser, parse

HELP = "show or set provider, model, temperature, max_tokens, rpm (session, or --save to persist)"

__all__ = ["HELP", "main"]


def _parse_pairs(pairs: list[str]) -> dict[str, str]:
    from llm_magics.errors import ConfigurationError

    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(
                f"'{pair}' is not KEY=VALUE.", hint="Example: `%llm config model=kimi-k2-0905-preview temperature=0.3`."
            )
        out[name.strip().replace("-", "_")] = value.strip()
    return out


def _table() -> Any:
    from llm_magics import config
    from llm_magics.magics.table import Table

    rows = []
    for name, (value, source) in config.effective().items():
        setting = config.SETTINGS[name]
        rows.append((name, "(not set)" if value is None else value, source, setting.env, setting.help))
    where = config.display_path(config.home() / "config.json")  # no temp folder in a saved notebook
    return Table(
        ["setting", "value", "source", "env var", "meaning"], rows,
        title=f"llm-magics settings (precedence: session > environment > saved in {where} > default)",
    )


def main(shell: Any, argv: list[str], cell: str | None) -> Any:
    p = SubParser("%llm config", description=HELP)
    p.add_argument("pairs", nargs="*", metavar="KEY=VALUE", help="settings to change")
    p.add_argument("--unset", action="append", default=[], metavar="KEY", help="remove a setting (repeatable)")
    p.add_argument("--save", action="store_true", help="persist to config.json instead of this session only")
    args = parse(p, argv)
    if args is None:
        return None
    from llm_magics import config
    from llm_magics.magics.table import show
    from llm_magics.providers.registry import PROVIDERS

    values: dict[str, Any] = _parse_pairs(args.pairs)
    for name in args.unset:
        values[name.strip().replace("-", "_")] = None
    if not values:
        show(_table())
        return None
    # Validate everything before changing anything: one bad value changes nothing.
    for name, raw in values.items():
        config._lookup(name).parse(raw)
        if name == "provider" and raw:
            values[name] = PROVIDERS[raw].name
    if values.get("model"):
        # A typo here would only surface at the next run, as a 404: check it against the list of
        # the provider it will be used with, and name the closest IDs.
        from llm_magics.keys import resolve
        from llm_magics.keys.models import check_model

        check_model(values.get("provider") or resolve.default_provider_name(), str(values["model"]))
    if args.save:
        path = config.save(**values)
        config.set_session(**{name: None for name in values})
        where = f"saved to {path}"
    else:
        config.set_session(**values)
        where = "set for this session (add --save to keep it)"
    changed = ", ".join(f"{k}={'(unset)' if v is None else v}" for k, v in values.items())
    print(f"{changed} — {where}.")
    for name in values:
        env = config.SETTINGS[name].env
        if args.save and os.environ.get(env):
            print(f"Note: {env} is set in the environment and takes precedence over the saved value.")
    return None
