"""`%llm balance [PROVIDER]`: the account balance, for providers that publish one (Kimi).

Kimi: ``GET /v1/users/me/balance`` → available (cash + voucher), voucher, cash; USD on
api.moonshot.ai, CNY on api.moonshot.cn. Other providers have no balance endpoint: one line says so.
"""

from __future__ import annotations

from typing import Any

from llm_magics.magics.args import SubParser, parse

HELP = "account balance (Kimi: available, voucher, cash; USD on .ai, CNY on .cn)"

__all__ = ["HELP", "main", "abalance_lines", "balance_lines", "describe_balance"]


def describe_balance(bal: Any) -> list[str]:
    """"available $49.59 (cash $3.00 + voucher $46.59)", plus a line when cash < 0 or nothing is left."""
    from llm_magics.pricing.cost import format_amount

    c = bal.currency
    lines = [f"available {format_amount(bal.available, c)} "
             f"(cash {format_amount(bal.cash, c)} + voucher {format_amount(bal.voucher, c)})"]
    if bal.cash < 0:
        lines.append("cash is negative: the account owes money; only the voucher balance is usable.")
    if bal.available <= 0:
        lines.append("available ≤ 0: the API refuses inference requests until you top up.")
    return lines


async def abalance_lines(provider_name: str | None = None, *, provider: Any = None) -> list[str]:
    """The balance as lines of text; one line when the provider has no balance endpoint or no key."""
    from llm_magics.errors import LLMError
    from llm_magics.keys.resolve import get_provider

    own = provider is None
    p = provider if provider is not None else get_provider(provider_name)
    try:
        fetch = getattr(p, "balance", None)
        if fetch is None:
            return [f"{p.name} has no balance endpoint; check your spending on the provider's console "
                    "(`%llm usage` totals what llm-magics recorded)."]
        if p.key is None:
            return [f"{p.name}: no key, so no balance (`%llm keys add {p.name}`)."]
        try:
            bal = await fetch()
        except LLMError as exc:
            return [f"{p.name} balance: could not read it — {str(exc).splitlines()[0]}"]
        first, *rest = describe_balance(bal)
        return [f"{p.name} balance at {p.base_url}: {first}", *(f"  {line}" for line in rest)]
    finally:
        if own:
            await p.aclose()


def balance_lines(provider_name: str | None = None) -> list[str]:
    from llm_magics.sync import run_sync

    return run_sync(abalance_lines(provider_name))


def main(shell: Any, argv: list[str], cell: str | None) -> Any:
    p = SubParser("%llm balance", description=HELP)
    p.add_argument("provider", nargs="?", default=None, help="provider name; default: the configured one")
    args = parse(p, argv)
    if args is None:
        return None
    print("\n".join(balance_lines(args.provider)))
    return None
