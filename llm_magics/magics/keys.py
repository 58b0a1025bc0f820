"""`%llm keys add PROVIDER [--label L] | list | test [ID] | remove ID`.

The key is typed at a hidden prompt (getpass; in Jupyter the frontend's password box), checked at
once and stored with the verdict. It never passes through the notebook, Out[] or the history.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from llm_magics.magics.args import SubParser, parse

HELP = "add, list, test and remove stored API keys (hidden prompt; checked at once)"

__all__ = ["HELP", "main"]


def _parser() -> SubParser:
    p = SubParser("%llm keys", description=HELP)
    sub = p.add_subparsers(dest="action", metavar="{add,list,test,remove}")
    add = sub.add_parser("add", help="ask for a key (hidden), check it, store it")
    add.add_argument("provider", help="provider name, e.g. the default Kimi one")
    add.add_argument("--label", "-l", default=None, help="a name for the key, e.g. work or personal")
    add.add_argument("--no-check", action="store_true", help="store without contacting the server")
    sub.add_parser("list", help="stored keys: masked, status, age")
    test = sub.add_parser("test", help="re-check one key (or every key) now")
    test.add_argument("id", nargs="?", default=None, help="key ID from `%%llm keys list`; all keys when omitted")
    rm = sub.add_parser("remove", help="delete a stored key")
    rm.add_argument("id", help="key ID from `%%llm keys list`")
    return p


def _ask_secret(prompt: str) -> str:
    # Looked up at call time: ipykernel swaps in its frontend-forwarding getpass per cell.
    import getpass

    return getpass.getpass(prompt)


def _cancelled() -> None:
    """The prompt was interrupted (kernel interrupt, Ctrl-C, Ctrl-D): one line, no password box left."""
    from llm_magics.magics.live import in_kernel

    if in_kernel():
        from IPython.display import clear_output

        clear_output()  # removes our line and, with it, the frontend's password box
    else:
        print()  # the terminal prompt left the cursor after "input hidden): "
    print("Cancelled — no key stored.")


def _env_note(provider: str) -> str:
    from llm_magics.providers.registry import PROVIDERS

    spec = PROVIDERS[provider]
    for var in spec.key_env:
        if os.environ.get(var, "").strip():
            return f"\nNote: {var} is set in the environment, so it is used before any stored key."
    return ""


def _add(args: argparse.Namespace) -> None:
    from llm_magics.keys import store as keys
    from llm_magics.errors import ConfigurationError
    from llm_magics.providers.registry import PROVIDERS
    from llm_magics.providers.base import Secret

    spec = PROVIDERS[args.provider]
    # A line before the password box: in Jupyter, clearing it also removes the box on cancel.
    print(f"Adding a {spec.title} key: checked at once, stored outside the notebook. Interrupt to cancel.")
    try:
        value = _ask_secret(f"Paste your {spec.title} API key (input hidden): ").strip()
    except (KeyboardInterrupt, EOFError):
        _cancelled()
        return
    if not value:
        raise ConfigurationError("No key was entered; nothing was stored.", hint=f"Run `%llm keys add {spec.name}` again.")
    secret = Secret(value)
    del value
    if args.no_check:
        stored = keys.add_key(spec.name, secret, args.label)
        print(f"Stored {spec.title} key {stored.describe()} — not checked (--no-check).{_env_note(spec.name)}")
        return
    from llm_magics.keys.check import check_secret

    result = check_secret(spec.name, secret)
    checked = time.time() if result.status != keys.UNCHECKED else None
    stored = keys.add_key(
        spec.name, secret, args.label,
        status=result.status, note=result.note, checked_at=checked, verified_url=result.working_url,
    )
    print(f"Stored {spec.title} key {stored.describe()} — {result.message}{_env_note(spec.name)}")


def _list() -> Any:
    from llm_magics.keys import store as keys
    from llm_magics.magics.table import Table, show

    stored = keys.list_keys()
    from llm_magics.config import display_path

    where = "the OS keyring" if keys.keyring_in_use() else f"{display_path(keys.db_path())} (mode 0600)"
    if not stored:
        print("No stored keys. Add one with `%llm keys add PROVIDER` (the key is asked for at a hidden prompt).")
        return None
    now = time.time()
    rows = [
        (k.id, k.provider, k.label, k.masked, k.status, keys.format_age(k.created_at, now),
         keys.format_age(k.last_checked_at, now), k.note)
        for k in stored
    ]
    show(Table(
        ["id", "provider", "label", "key", "status", "added", "checked", "note"], rows,
        title=f"{len(stored)} stored key(s); new secrets go to {where}. Newest non-invalid key per provider is used.",
    ))
    return None


def _test(args: argparse.Namespace) -> None:
    from llm_magics.keys import store as keys

    targets = [keys.get_key(args.id)] if args.id else keys.list_keys()
    if not targets:
        print("No stored keys to test. Add one with `%llm keys add PROVIDER`.")
        return
    for key in targets:
        result = keys.test_key(key.id)
        print(f"{key.provider} key {key.describe()}: {result.message}")


def _remove(args: argparse.Namespace) -> None:
    from llm_magics.keys import store as keys

    gone = keys.remove_key(args.id)
    print(f"Removed {gone.provider} key {gone.describe()}.")


def main(shell: Any, argv: list[str], cell: str | None) -> Any:
    parser = _parser()
    args = parse(parser, argv)
    if args is None:
        return None
    action = args.action or "list"
    if action == "add":
        _add(args)
    elif action == "list":
        return _list()
    elif action == "test":
        _test(args)
    elif action == "remove":
        _remove(args)
    return None
