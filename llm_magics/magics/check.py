"""`%llm check [PROVIDER]`: one report that says what is wrong with a setup and how to fix it.

Where the key came from (explicit / env / store, masked), the base URL and its region,
`/v1/models` reachability and latency, whether the default model exists (else the closest IDs),
and on a 401 the region diagnosis: the other region is tried with the same key.
"""

from __future__ import annotations

import os
from typing import Any

from llm_magics.magics.args import SubParser, parse

HELP = "diagnose a provider: key source, base URL/region, /v1/models latency, default model"

__all__ = ["HELP", "main", "build_report", "abuild_report"]


def _url_source(spec: Any, url: str) -> str:
    for var in spec.base_url_env:
        if os.environ.get(var, "").strip():
            return f"from {var}"
    return "built-in default" if url == spec.default_base_url.rstrip("/") else "given"


def _region_line(name: str, url: str) -> str | None:
    from llm_magics.keys.check import region_urls

    regions = region_urls(name)
    if not regions:
        return None
    if url in regions:
        others = [r for r in regions if r != url]
        return f"region {regions.index(url) + 1} of {len(regions)}" + (f" (other: {', '.join(others)})" if others else "")
    return f"not one of the known regions ({', '.join(regions)})"


def _skipped_lines(name: str) -> list[str]:
    """Why each stored key of this provider was not used (wrong region, invalid)."""
    from llm_magics.keys import store as keys
    from llm_magics.keys.check import base_url_var

    out = []
    for k in keys.list_keys(name):
        other = keys.wrong_region(k)
        if other:
            out.append(f"  stored key: {k.describe()} works only at {other} → set {base_url_var(name)}={other}")
        elif k.status == keys.INVALID:
            out.append(f"  stored key: {k.describe()} is marked invalid ({k.note or 'rejected'}) → `%llm keys test {k.id}`")
    return out


async def abuild_report(provider_name: str | None = None) -> list[str]:
    """The report's lines (async; runs the checks)."""
    from llm_magics.keys.check import adiagnose_region, region_urls
    from llm_magics.keys.resolve import get_provider
    from llm_magics.providers.http import DIAGNOSTIC_OPTIONS

    # Every request of the check is bounded (one attempt, short timeouts), so the report comes within 15 s.
    p = get_provider(provider_name, **DIAGNOSTIC_OPTIONS)
    spec = p.spec
    name = p.name
    title = spec.title if spec else name
    lines = [f"{title} — check"]
    key = p.key
    if key is not None:
        lines.append(f"  key:        {key.describe()}")
    elif spec is not None and spec.needs_key:
        envs = " or ".join(spec.key_env)
        lines.append(f"  key:        none usable (looked at: explicit argument, {envs}, the key store)")
        lines.extend(_skipped_lines(name))
    else:
        lines.append("  key:        not needed")
    url = p.base_url
    if url:
        region = _region_line(name, url)
        src = _url_source(spec, url) if spec else "given"
        lines.append(f"  base URL:   {url} ({src})" + (f"; {region}" if region else ""))
    if key is None and spec is not None and spec.needs_key:
        lines.append(f"  verdict:    cannot check without a key → `%llm keys add {name}` (hidden prompt) or set {spec.key_env[0] if spec.key_env else 'its key variable'}.")
        await p.aclose()
        return lines
    try:
        report = await p.check()
        if report.models_reachable:
            ms = f"{report.latency_s * 1000:.0f} ms" if report.latency_s is not None else "?"
            lines.append(f"  /v1/models: reachable, {report.model_count} models in {ms}")
        else:
            first = (report.error or "").splitlines()[0] if report.error else "unknown error"
            lines.append(f"  /v1/models: FAILED — {first}")
        if report.default_model:
            if report.default_model_present:
                lines.append(f"  default model: {report.default_model} — present")
            elif report.default_model_present is False:
                close = ", ".join(report.suggestions) or "none close"
                lines.append(f"  default model: {report.default_model} — NOT offered by this server; closest: {close}")
            else:
                lines.append(f"  default model: {report.default_model} — not verified (models unreachable)")
        status = getattr(p, "rate_limit_status", None)
        if report.models_reachable and callable(status):
            snap = status()
            seen = snap.get("headers")
            said = f"; last X-RateLimit headers: {seen.describe()}" if seen is not None else "; no X-RateLimit headers seen"
            lines.append(f"  rate limit: {snap.get('limits') or 'no limit known'}{said}")
        if report.models_reachable and getattr(p, "balance", None) is not None:
            from llm_magics.errors import LLMError
            from llm_magics.magics.balance import describe_balance

            try:
                first, *rest = describe_balance(await p.balance())  # type: ignore[attr-defined]
                lines.append(f"  balance:    {first}")
                lines.extend(f"              {line}" for line in rest)
            except LLMError as exc:
                lines.append(f"  balance:    could not read it — {str(exc).splitlines()[0]}")
        fix: str | None = None
        if report.error_status == 401 and key is not None:
            other = await adiagnose_region(name, key.secret, url)
            var = spec.base_url_env[0] if spec and spec.base_url_env else "base_url"
            if other:
                fix = f"the key is valid on the other region: set {var}={other} (e.g. `%env {var}={other}`)"
            elif region_urls(name):
                fix = f"no region accepts this key ({', '.join(region_urls(name))}); it is revoked or mistyped"
            else:
                fix = "the server rejected the key; it is revoked or mistyped"
            if key.key_id and other:
                from llm_magics.keys import store as keys

                keys.mark(key.key_id, keys.VALID, note=f"valid only at {other}", verified_url=other)
                fix += f"; stored key {key.key_id} stays valid for that region"
            elif key.key_id:
                fix += f"; stored key {key.key_id} is now marked invalid"
        if report.ok:
            lines.append("  verdict:    OK")
        elif fix:
            lines.append(f"  verdict:    key rejected (401) — {fix}.")
        elif report.error:
            hint = report.error.split("→", 1)[1].strip() if "→" in report.error else ""
            lines.append("  verdict:    not working" + (f" — {hint}" if hint else "."))
        else:
            pick = report.suggestions[0] if report.suggestions else "an ID from `%llm models`"
            lines.append(f"  verdict:    reachable, but set a model that exists: `%llm config model={pick}`.")
    finally:
        await p.aclose()
    return lines


def build_report(provider_name: str | None = None) -> str:
    from llm_magics.sync import run_sync

    return "\n".join(run_sync(abuild_report(provider_name)))


def main(shell: Any, argv: list[str], cell: str | None) -> Any:
    p = SubParser("%llm check", description=HELP)
    p.add_argument("provider", nargs="?", default=None, help="provider name; default: the configured one")
    args = parse(p, argv)
    if args is None:
        return None
    print(build_report(args.provider))
    return None
