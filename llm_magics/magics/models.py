"""`%llm models [PROVIDER] [--refresh] [--pick]`: the model IDs and where the list came from,
or (`--pick`) the provider/model picker whose choice becomes the session default."""

from __future__ import annotations

from typing import Any

from llm_magics.magics.args import SubParser, parse

HELP = "model IDs from /v1/models (cached for an hour; dated built-in list when offline)"

__all__ = ["HELP", "main"]


def main(shell: Any, argv: list[str], cell: str | None) -> Any:
    p = SubParser("%llm models", description=HELP)
    p.add_argument("provider", nargs="?", default=None, help="provider name; default: the configured one")
    p.add_argument("--refresh", action="store_true", help="fetch now instead of using the hour-old cache")
    p.add_argument("--pick", action="store_true",
                   help="show the provider/model picker; its choice becomes this session's default")
    p.add_argument("--details", action="store_true",
                   help="also show each model's fixed parameters and thinking switch (Kimi)")
    args = parse(p, argv)
    if args is None:
        return None
    if args.pick:
        from IPython.display import display

        from llm_magics.ui.pickers import ModelPicker

        display(ModelPicker(args.provider))
        return None
    from llm_magics.keys import models as catalog
    from llm_magics.magics.table import show

    listed = catalog.list_models(args.provider, refresh=args.refresh)
    if args.details or listed.source in ("live", "cache"):
        from llm_magics.magics.model_details import models_table

        # Lifecycle marks (new / not served), prices, and with --details the fixed parameters.
        show(models_table(listed, details=args.details))
    else:
        show(listed)
    return None
