"""How numbers read everywhere (panes, transcripts, workflow steps, compare tables): one place."""

from __future__ import annotations

import re
from collections.abc import Sequence

#: Inline CSS for table cells. JupyterLab right-aligns every table cell by default, which leaves
#: text ragged: text columns say left explicitly, number columns right (with even-width digits).
LEFT = "text-align:left"
RIGHT = "text-align:right;font-variant-numeric:tabular-nums"
_NUMBER = re.compile(
    r"^[-+]?[$€£¥]?\d[\d,]*(\.\d+)?\s*(%|ms|s|tok|tok/s|k|M)?(\s*\(.*\))?(\s*★)?$"
)

__all__ = [
    "fmt_seconds", "fmt_rate", "fmt_tokens", "tokens_per_s", "stream_summary",
    "is_numeric", "numeric_columns", "cell_style", "LEFT", "RIGHT",
]


def fmt_seconds(x: float) -> str:
    """0.0042 → '4 ms', 0.314 → '0.31 s', 2.43 → '2.4 s', 31.2 → '31 s'."""
    if x < 0.1:
        return f"{x * 1000:.0f} ms"
    if x < 1:
        return f"{x:.2f} s"
    if x < 10:
        return f"{x:.1f} s"
    return f"{x:.0f} s"


def fmt_rate(x: float) -> str:
    return f"{x:.0f} tok/s" if x >= 10 else f"{x:.1f} tok/s"


def tokens_per_s(output_tokens: int | float | None, ttft_s: float | None, latency_s: float | None) -> float | None:
    """Generation speed: output tokens ÷ (latency − TTFT), so a slow first token is not counted twice."""
    if not output_tokens or latency_s is None:
        return None
    gen = latency_s - (ttft_s or 0.0)
    return output_tokens / gen if gen > 0 else None


def fmt_tokens(prompt: int | None, output: int | None, reasoning: int | None = None) -> str:
    """'prompt 1,204 tok · output 512 tok (reasoning 120)': every count says which kind it is.

    Reasoning tokens are part of the output tokens (they are billed as output), hence in brackets.
    """
    parts = []
    if prompt is not None:
        parts.append(f"prompt {prompt:,} tok")
    if output is not None:
        parts.append(f"output {output:,} tok" + (f" (reasoning {reasoning:,})" if reasoning else ""))
    return " · ".join(parts)


def stream_summary(ttft_s: float | None, latency_s: float | None, output_tokens: int | None) -> str:
    """'TTFT 0.31 s · 2.4 s · 412 output tok · 171 tok/s' — the parts that are known."""
    parts: list[str] = []
    if ttft_s is not None:
        parts.append("TTFT " + fmt_seconds(ttft_s))
    if latency_s is not None:
        parts.append(fmt_seconds(latency_s))
    if output_tokens:
        parts.append(f"{output_tokens:,} output tok")
        rate = tokens_per_s(output_tokens, ttft_s, latency_s)
        if rate is not None:
            parts.append(fmt_rate(rate))
    return " · ".join(parts)


def is_numeric(text: str) -> bool:
    """'1,204', '0.31 s', '$0.0042', '12 %', '171 tok/s (160–180)' → True; words → False."""
    return bool(_NUMBER.match(text.strip().strip("*")))


def numeric_columns(rows: Sequence[Sequence[str]]) -> list[bool]:
    """Per column: True when every filled cell is a number ('—' and '' count as empty)."""
    width = max((len(r) for r in rows), default=0)
    out = []
    for c in range(width):
        cells = [str(r[c]).strip() for r in rows if c < len(r) and str(r[c]).strip() not in ("", "—", "-")]
        out.append(bool(cells) and all(is_numeric(x) for x in cells))
    return out


def cell_style(numeric: bool) -> str:
    return RIGHT if numeric else LEFT
