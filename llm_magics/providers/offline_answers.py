"""The offline provider's answers to the eval sets shipped in `llm_magics/data/eval/`.

So that `%%eval` demos (notebook 06, Binder) show real statistics without a key, the offline
provider recognises an item of a shipped set inside a prompt and answers it — right with a
model-dependent probability, wrong otherwise — still under the offline label, so nobody takes
it for a model's output. It is a simulation for demos and tests, not a measurement.

Accuracy depends on the model ID (thinking > kimi-k2.6 > kimi-k2.5 > turbo > others) and on a
fixed per-item difficulty. Repeats of one prompt are numbered per (model, item) in this process
and each number gives its own deterministic draw, so `repeat=3` shows pass@k, majority@k and
consistency below 100% exactly as a sampled model would, and a fresh process gives the same
answers in the same order.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

__all__ = ["known_answer", "accuracy", "reset_counts"]

_DATA = Path(__file__).resolve().parent.parent / "data" / "eval"
_lock = threading.Lock()
_counts: dict[tuple[str, str], int] = {}
_index: list[tuple[str, str, dict[str, Any]]] | None = None  # (needle, kind, row)

#: A near-miss CWE for each family, used for wrong security answers.
_WRONG_CWE = {"CWE-89": "CWE-20", "CWE-79": "CWE-116", "CWE-22": "CWE-73", "CWE-78": "CWE-77"}


def _u(*parts: object) -> float:
    """A deterministic uniform draw in [0, 1) from the parts."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def accuracy(model: str) -> float:
    m = model.lower()
    if "thinking" in m:
        return 0.92
    if "k2.6" in m:
        return 0.88
    if "k2.5" in m:
        return 0.83
    if "turbo" in m or "fast" in m:
        return 0.72
    return 0.78


def _load() -> list[tuple[str, str, dict[str, Any]]]:
    global _index
    if _index is None:
        out: list[tuple[str, str, dict[str, Any]]] = []
        for name, kind, field in (("arithmetic.jsonl", "number", "question"), ("vulnerable_snippets.jsonl", "cwe", "code")):
            try:
                lines = (_DATA / name).read_text(encoding="utf-8").splitlines()
            except OSError:
                continue
            for line in lines:
                if line.strip():
                    row = json.loads(line)
                    out.append((str(row[field]).strip(), kind, row))
        _index = out
    return _index


def reset_counts() -> None:
    """Forget how many times each item was asked (tests)."""
    with _lock:
        _counts.clear()


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _number(row: dict[str, Any], ok: bool, draw: float) -> str:
    answer = float(row["answer"])
    if ok:
        return f"The answer is {_fmt(answer)}."
    offsets = (1, -1, 10, -2)
    wrong = answer * 2 if draw < 0.2 else answer + offsets[int(draw * 97) % len(offsets)]
    return f"The answer is {_fmt(wrong)}."


def _cwe(row: dict[str, Any], ok: bool, draw: float) -> str:
    groups = [str(g).split("|") for g in row["cwe"]]
    found = []
    for i, alts in enumerate(groups):
        if ok or (len(groups) > 1 and i == 0):
            found.append(alts[int(draw * 13) % len(alts)])
        else:
            found.append(_WRONG_CWE.get(alts[0], "CWE-20"))
    lines = [f"F{i} — {row['title']}: likely weakness {cwe}." for i, cwe in enumerate(found, 1)]
    return "Findings:\n" + "\n".join(f"- {line}" for line in lines)


def known_answer(prompt: str, model: str) -> str | None:
    """The simulated answer when `prompt` contains an item of a shipped set, else None."""
    if not prompt:
        return None
    for needle, kind, row in _load():
        if needle and needle in prompt:
            item = str(row.get("id") or needle[:40])
            with _lock:
                n = _counts.get((model, item), 0)
                _counts[(model, item)] = n + 1
            hard = _u("difficulty", item) < 0.25
            p = accuracy(model) - (0.3 if hard else 0.0)
            draw = _u(model, item, n)
            ok = draw < p
            return _number(row, ok, _u("wrong", model, item, n)) if kind == "number" else _cwe(row, ok, _u("wrong", model, item, n))
    return None
