"""Browse and export stored runs (discussions, workflows, comparisons) from Python and `%llm history`.

    history_runs(10, kind="compare", search="CRDT")   # a table: id, kind, title, status, provider:model, when
    show_run("r1a2b3c4d5e6")                           # the run as Markdown
    export_run("r1a2b3c4d5e6", "json")                 # → Path('r1a2b3c4d5e6.json') in the cwd

A run is rendered by its own type (`KINDS` in `llm_magics.history.store`: `from_dict(data).to_markdown()`);
when that type cannot be loaded (module missing, older data) a generic rendering of the stored data
is used instead, so history stays readable whatever happens to the code.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm_magics.errors import ConfigurationError

if TYPE_CHECKING:
    from llm_magics.history.store import History, RunRecord

__all__ = ["history_runs", "show_run", "export_run", "load_run", "RunTable", "RunMarkdown", "FORMATS"]

#: format name → file extension
FORMATS = {"md": "md", "markdown": "md", "json": "json", "csv": "csv"}


def _history(history: History | None) -> History:
    if history is not None:
        return history
    from llm_magics.history.store import default_history

    return default_history()


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _target(rec: RunRecord) -> str:
    if rec.provider and rec.model:
        return f"{rec.provider}:{rec.model}"
    return rec.provider or rec.model or "—"


def _cost(rec: RunRecord) -> str:
    """The run's cost as it was shown when it ran ("—" when nothing in it was priced)."""
    from llm_magics.pricing.ledger import run_cost

    if rec.kind == "eval":  # an eval's calls live in their own table (history.calls)
        from llm_magics.history.calls import CallLog
        from llm_magics.history.store import default_history
        from llm_magics.pricing.cost import CostTotal

        total = CostTotal()
        try:
            for target, _item, _rep, data in CallLog(default_history().path).read(rec.id):
                provider, _, model = target.partition(":")
                part = run_cost(data, provider or rec.provider, model or rec.model)
                total.calls += part.calls
                total.unpriced += part.unpriced
                for cur, amount in part.amounts.items():
                    total.amounts[cur] = total.amounts.get(cur, 0.0) + amount
        except Exception:  # noqa: BLE001 - a listing must not fail on one run's call rows
            return "—"
        return total.format() if total.calls else "—"
    total = run_cost(rec.data, rec.provider, rec.model)
    return total.format() if total.calls else "—"


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class RunTable(list):  # type: ignore[type-arg]
    """A list of `RunRecord`s, newest first, that displays as a table (HTML in notebooks)."""

    COLUMNS = ("id", "kind", "title", "status", "provider:model", "cost", "when")

    def _rows(self, clip: bool) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        for r in self:
            title, target = (_clip(r.title, 50), _clip(_target(r), 56)) if clip else (r.title, _target(r))
            out.append((r.id, r.kind, title, r.status, target, _cost(r), _when(r.created_at)))
        return out

    def __str__(self) -> str:
        if not self:
            return "No runs found."
        rows = [self.COLUMNS, *self._rows(clip=True)]
        widths = [max(len(r[c]) for r in rows) for c in range(len(self.COLUMNS))]
        from llm_magics.fmt import numeric_columns

        numeric = numeric_columns(rows[1:])
        lines = ["  ".join(cell.rjust(w) if num else cell.ljust(w) for cell, w, num in zip(r, widths, numeric)).rstrip()
                 for r in rows]
        lines.insert(1, "  ".join("─" * w for w in widths))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        import html

        if not self:
            return "<em>No runs found.</em>"
        th = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(c)}</th>" for c in self.COLUMNS)
        trs = []
        for row in self._rows(clip=False):
            tds = "".join(f"<td style='text-align:left;padding:2px 8px'>{html.escape(c)}</td>" for c in row)
            trs.append(f"<tr>{tds}</tr>")
        return f"<table style='border-collapse:collapse'><thead><tr>{th}</tr></thead><tbody>{''.join(trs)}</tbody></table>"


class RunMarkdown(str):
    """Markdown text that renders as Markdown in notebooks and as itself in terminals."""

    def _repr_markdown_(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


def _check_kind(kind: str | None) -> str | None:
    if kind is None:
        return None
    from llm_magics.history.store import KINDS

    key = kind.strip().lower()
    if key not in KINDS:
        from llm_magics.providers.suggest import did_you_mean

        hint = did_you_mean(key, KINDS) or "Kinds: " + ", ".join(KINDS) + "."
        raise ConfigurationError(f"Unknown run kind '{kind}'.", hint=hint)
    return key


def history_runs(
    n: int = 20, *, kind: str | None = None, search: str | None = None, history: History | None = None
) -> RunTable:
    """The newest `n` runs, optionally of one kind and/or containing `search` (title or stored text)."""
    if int(n) < 1:
        raise ConfigurationError(f"n={n} must be at least 1.", hint="e.g. %llm history 10")
    return RunTable(_history(history).list(int(n), kind=_check_kind(kind), search=search or None))


def load_run(run_id: str, *, history: History | None = None) -> Any:
    """The stored run as its own type (Transcript, WorkflowRun, Comparison)."""
    return _history(history).get(run_id.strip()).load()


def _footer(rec: RunRecord) -> str:
    return f"_llm-magics run `{rec.id}` · {rec.kind} · {rec.status} · {_target(rec)} · {_when(rec.created_at)}_"


def _generic_markdown(rec: RunRecord, reason: str) -> str:
    """Readable without the kind's code: scalar fields as a list, the rest as JSON."""
    out = [f"## {rec.kind}: {rec.title or rec.id}", ""]
    scalars = {k: v for k, v in rec.data.items() if isinstance(v, (str, int, float, bool)) and v != ""}
    nested = {k: v for k, v in rec.data.items() if k not in scalars and v not in (None, "", [], {})}
    for key, value in scalars.items():
        text = str(value)
        if "\n" in text:
            out += [f"**{key}:**", "", *("> " + ln for ln in text.splitlines()), ""]
        else:
            out.append(f"- **{key}:** {text}")
    if nested:
        out += ["", "```json", json.dumps(nested, ensure_ascii=False, indent=2, default=str), "```"]
    out += ["", f"_(generic rendering: {reason})_"]
    return "\n".join(out)


def _markdown(rec: RunRecord) -> str:
    try:
        body = rec.load().to_markdown()
        if not isinstance(body, str):
            raise TypeError(f"{rec.kind}.to_markdown() returned {type(body).__name__}")
    except ImportError as exc:
        body = _generic_markdown(rec, f"the {rec.kind} module is not available ({exc})")
    except Exception as exc:  # old or foreign data: still show what was stored
        body = _generic_markdown(rec, f"{type(exc).__name__}: {exc}")
    return body.rstrip() + "\n\n---\n" + _footer(rec) + "\n"


def show_run(run_id: str, *, history: History | None = None) -> RunMarkdown:
    """The run rendered as Markdown (by its kind's `to_markdown()`, else generically)."""
    return RunMarkdown(_markdown(_history(history).get(run_id.strip())))


def _json(rec: RunRecord) -> str:
    data = rec.data
    if rec.kind == "eval":  # an eval's calls live in their own table: export them too
        data = rec.load().to_dict()
    envelope = {
        "id": rec.id,
        "kind": rec.kind,
        "title": rec.title,
        "status": rec.status,
        "provider": rec.provider,
        "model": rec.model,
        "created_at": rec.created_at,
        "updated_at": rec.updated_at,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(rec.created_at)),
        "data": data,
    }
    return json.dumps(envelope, ensure_ascii=False, indent=2, default=str) + "\n"


def export_run(
    run_id: str, format: str = "md", path: str | Path | None = None, *, history: History | None = None
) -> Path:
    """Write the run to a file and return its path (default `<id>.md` / `<id>.json` in the cwd).

    Markdown is `show_run`'s text; JSON is the stored record: id, kind, title, status, provider,
    model, timestamps and `data` (the run's own `to_dict()`, loadable with its `from_dict`).
    """
    ext = FORMATS.get(format.strip().lower().lstrip("."))
    if ext is None:
        raise ConfigurationError(f"Unknown export format '{format}'.", hint="Use --format md, json or csv (evals).")
    rec = _history(history).get(run_id.strip())
    if ext == "csv":  # one row per call: only runs made of many calls (evals) have a table to export
        to_csv = getattr(rec.load(), "to_csv", None)
        if to_csv is None:
            raise ConfigurationError(f"Run {rec.id} is a {rec.kind}; CSV export is for evals.", hint="Use --format md or json.")
        text = str(to_csv())
    else:
        text = _markdown(rec) if ext == "md" else _json(rec)
    target = Path(path).expanduser() if path else Path.cwd() / f"{rec.id}.{ext}"
    if target.is_dir():
        target = target / f"{rec.id}.{ext}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot write {target}: {exc.strerror or exc}.", hint="Choose another path with --output PATH."
        ) from None
    return target.resolve()
