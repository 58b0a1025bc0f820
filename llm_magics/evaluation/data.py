"""Eval datasets: load rows from a DataFrame, a list of dicts or a file; check the template against them.

Everything here runs before the first request, so a typo in a column name costs nothing: the
error names the missing column, the columns that exist and the closest one.

Rows keep their position in the loaded dataset as their item id (`Item.index`), so a resumed run,
a sampled run and a paired comparison all refer to the same item by the same number.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_magics.errors import ConfigurationError

__all__ = [
    "Item",
    "Dataset",
    "load_data",
    "template_columns",
    "check_template",
    "render",
    "select",
    "check_expected_column",
    "SUFFIXES",
]

SUFFIXES = (".jsonl", ".csv", ".json", ".parquet")


@dataclass(frozen=True)
class Item:
    """One dataset row and its position in the loaded dataset (the item id everywhere)."""

    index: int
    row: Mapping[str, Any]


@dataclass(frozen=True)
class Dataset:
    items: tuple[Item, ...]
    columns: tuple[str, ...]
    #: Where the rows came from ("DataFrame", "list of 3 dicts", the file path): shown and stored.
    source: str

    def __len__(self) -> int:
        return len(self.items)


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    from llm_magics.providers.suggest import did_you_mean

    return did_you_mean(name, candidates)


def _plain(value: Any) -> Any:
    """numpy/pandas scalars → Python; NaN / NaT / pd.NA → None (so rows are JSON for the history)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    tolist = getattr(value, "tolist", None)  # numpy arrays (e.g. a list column read from parquet)
    ndim: Any = getattr(value, "ndim", None)
    if callable(tolist) and ndim:
        return _plain(tolist())
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return _plain(item())
        except (TypeError, ValueError):
            pass
    isoformat = getattr(value, "isoformat", None)  # datetime / Timestamp
    if callable(isoformat):
        return str(isoformat())
    return str(value)


def _from_records(records: Sequence[Any], source: str) -> Dataset:
    items: list[Item] = []
    columns: dict[str, None] = {}
    for i, rec in enumerate(records):
        if isinstance(rec, str):
            rec = {"input": rec}
        if not isinstance(rec, Mapping):
            raise ConfigurationError(
                f"Dataset row {i + 1} ({source}) is {type(rec).__name__}, not an object with named columns.",
                hint="Give a list of dicts (one per item), a DataFrame, or a .jsonl/.csv/.json file.",
            )
        row = {str(k): _plain(v) for k, v in rec.items()}
        for k in row:
            columns.setdefault(k, None)
        items.append(Item(i, row))
    if not items:
        raise ConfigurationError(f"The dataset is empty ({source}): there is nothing to evaluate.")
    return Dataset(tuple(items), tuple(columns), source)


def _read_path(path: Path) -> Dataset:
    suffix = path.suffix.lower()
    if not path.is_file():
        siblings = [p.name for p in path.parent.iterdir() if p.suffix.lower() in SUFFIXES] if path.parent.is_dir() else []
        hint = _did_you_mean(path.name, siblings) or None
        raise ConfigurationError(f"No dataset file at '{path}'.", hint=hint)
    if suffix not in SUFFIXES:
        raise ConfigurationError(
            f"Cannot read '{path}': unknown file type '{suffix or '(none)'}'.",
            hint="Use a .jsonl, .csv, .json or .parquet file, or pass a DataFrame / list of dicts.",
        )
    source = str(path)
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise ConfigurationError(
                f"Reading {path.name} needs pyarrow, which is not installed.",
                hint="pip install pyarrow  (or save the data as .jsonl / .csv)",
            ) from None
        return _from_records(pq.read_table(path).to_pylist(), source)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"Cannot read '{path}': {exc}.") from None
    if suffix == ".csv":
        return _from_records(list(csv.DictReader(text.splitlines())), source)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigurationError(f"'{path}' is not valid JSON: {exc}.") from None
        if isinstance(data, Mapping):  # {"data": [...]} / {"rows": [...]} / a single key holding the list
            lists = [v for v in data.values() if isinstance(v, list)]
            if len(lists) != 1:
                raise ConfigurationError(f"'{path}' holds a JSON object; expected a list of rows (or an object with exactly one list).")
            data = lists[0]
        if not isinstance(data, list):
            raise ConfigurationError(f"'{path}' holds JSON {type(data).__name__}; expected a list of rows.")
        return _from_records(data, source)
    records = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError as exc:
            raise ConfigurationError(f"'{path}', line {lineno}: not valid JSON ({exc}).") from None
    return _from_records(records, source)


def load_data(data: Any) -> Dataset:
    """Rows from a pandas DataFrame, a list of dicts (or strings → column 'input'), or a file path.

    Raises ConfigurationError for an empty dataset, an unreadable file or a row that is not a mapping.
    """
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (str, Path)):
        return _read_path(Path(data).expanduser())
    to_dict = getattr(data, "to_dict", None)
    if callable(to_dict) and hasattr(data, "columns"):  # a pandas DataFrame, without importing pandas
        records = to_dict(orient="records")
        if not records:
            raise ConfigurationError("The dataset is empty (a DataFrame with no rows): there is nothing to evaluate.")
        ds = _from_records(records, f"DataFrame ({len(records)} rows)")
        return Dataset(ds.items, tuple(str(c) for c in data.columns), ds.source)
    if isinstance(data, Mapping):
        raise ConfigurationError("data is a single dict; give a list of dicts (one per item), a DataFrame or a file path.")
    if isinstance(data, Iterable):
        records = list(data)
        return _from_records(records, f"list of {len(records)} rows")
    raise ConfigurationError(
        f"Cannot evaluate on {type(data).__name__}: give a DataFrame, a list of dicts, or a .jsonl/.csv/.json/.parquet path."
    )


# --------------------------------------------------------------------------- templates


def _spec() -> Any:
    from llm_magics.workflow import spec

    return spec


def template_columns(template: str) -> list[str]:
    """The columns a template reads, in first-mention order (`{{ q }}` and `{{ inputs.q }}` both read 'q')."""
    refs, problems = _spec().template_refs(template, [])
    for text, message, _ in problems:
        raise ConfigurationError(f"The template's {text}: {message}")
    out: list[str] = []
    for ref in refs:
        if ref.kind == "step":
            raise ConfigurationError(
                f"The template's {ref.text} reads a workflow step; an eval template reads dataset columns only ({{{{ column }}}}).",
                hint="With --workflow, the rendered template is the workflow's input and --step picks the step to score.",
            )
        if ref.name not in out:
            out.append(ref.name)
    return out


def check_template(template: str, columns: Sequence[str]) -> list[str]:
    """Every column the template reads exists; returns them. The error names the missing one."""
    if not template or not template.strip():
        raise ConfigurationError("The prompt template is empty.", hint="Write the prompt with {{ column }} placeholders, e.g. {{ question }}.")
    used = template_columns(template)
    if not used:
        raise ConfigurationError(
            "The template uses no column, so every item would get the same prompt.",
            hint="Insert a column with {{ column }}. Columns: " + ", ".join(columns) + ".",
        )
    for name in used:
        if name not in columns:
            hint = _did_you_mean(name, columns)
            raise ConfigurationError(
                f"The template uses {{{{ {name} }}}}, but the data has no column '{name}'. Columns: {', '.join(columns)}.",
                hint=hint or None,
            )
    return used


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render(template: str, row: Mapping[str, Any]) -> str:
    """The prompt for one row: the workflow template engine, one pass, nothing evaluated."""
    text: str = _spec().render_prompt(template, {k: _text(v) for k, v in row.items()}, {})
    return text


# --------------------------------------------------------------------------- selection


def select(ds: Dataset, *, limit: int | None = None, sample: int | None = None, seed: int = 0) -> list[Item]:
    """`limit` keeps the first N items; `sample` then draws N at random (seeded), kept in dataset order."""
    items = list(ds.items)
    if limit is not None:
        if limit < 1:
            raise ConfigurationError(f"limit must be at least 1, got {limit}.")
        items = items[:limit]
    if sample is not None:
        if sample < 1:
            raise ConfigurationError(f"sample must be at least 1, got {sample}.")
        if sample > len(items):
            raise ConfigurationError(f"sample={sample} but the dataset has only {len(items)} items{' (after limit)' if limit else ''}.",
                                     hint="Drop --sample to use every item, or sample fewer.")
        picked = set(random.Random(seed).sample(range(len(items)), sample))
        items = [it for i, it in enumerate(items) if i in picked]
    return items


def check_expected_column(items: Sequence[Item], column: str, columns: Sequence[str], problem: Any) -> None:
    """The expected column exists and every selected row's value is usable by the scorer.

    `problem(value) -> str | None` is the scorer's `check_expected`. The error lists up to five
    bad rows (1-based, as a person counts them) so they can be fixed in one go.
    """
    if column not in columns:
        hint = _did_you_mean(column, columns)
        raise ConfigurationError(
            f"The expected column '{column}' is not in the data. Columns: {', '.join(columns)}.",
            hint=hint or "Pick it with --expected COLUMN (API: expected='column').",
        )
    bad: list[str] = []
    count = 0
    for it in items:
        value = it.row.get(column)
        why = "is empty" if value is None or (isinstance(value, str) and not value.strip()) else problem(value)
        if why:
            count += 1
            if len(bad) < 5:
                bad.append(f"row {it.index + 1} {why}")
    if bad:
        more = f" (and {count - len(bad)} more)" if count > len(bad) else ""
        raise ConfigurationError(f"Expected column '{column}': " + "; ".join(bad) + more + ".")
