"""The labelled sets shipped with llm-magics (written for this project, MIT like the code).

- ``arithmetic`` — 45 short arithmetic and reasoning questions with numeric answers
  (columns: id, category, question, answer); score with ``number``.
- ``vulnerable-snippets`` — 29 short code snippets in Python, JavaScript, C, Go, Java and PHP,
  each with the CWE IDs of its weakness (columns: id, language, title, code, cwe); score with
  ``cwe``. ``"CWE-916|CWE-328"`` means either ID counts (parent/child entries for one bug).

Pass the name as `data` to `evaluate` / `%%eval --data`, or `dataset_path(name)` for the file.
"""

from __future__ import annotations

from pathlib import Path

from llm_magics.errors import ConfigurationError

__all__ = ["DATASETS", "dataset_path", "load_dataset"]

#: name → file under llm_magics/data/eval/
DATASETS: dict[str, str] = {
    "arithmetic": "arithmetic.jsonl",
    "vulnerable-snippets": "vulnerable_snippets.jsonl",
}


def dataset_path(name: str) -> Path:
    """The file of a shipped dataset ('vulnerable_snippets' and 'vulnerable-snippets' both work)."""
    key = name.strip().lower().replace("_", "-")
    if key.endswith(".jsonl"):
        key = key[: -len(".jsonl")]
    if key not in DATASETS:
        from llm_magics.providers.suggest import did_you_mean

        hint = did_you_mean(key, DATASETS) or ""
        raise ConfigurationError(
            f"'{name}' is neither a shipped dataset ({', '.join(DATASETS)}) nor a file path.",
            hint=(hint + " " if hint else "") + "Give a DataFrame, a list of dicts, or a .jsonl/.csv/.json/.parquet path.",
        )
    return Path(__file__).resolve().parent.parent / "data" / "eval" / DATASETS[key]


def load_dataset(name: str) -> list[dict[str, object]]:
    """A shipped dataset's rows as a list of dicts (to look at, filter or extend before evaluating)."""
    import json

    text = dataset_path(name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]
