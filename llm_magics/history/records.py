"""Round-tripping result records (a turn, a workflow step) through the history DB's JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from llm_magics.providers.base import Cost, Usage

__all__ = ["UsageRecord"]

R = TypeVar("R", bound="UsageRecord")


class UsageRecord:
    """Mixin for a dataclass with a `usage: Usage | None` field (and optionally `cost: Cost | None`).

    Unknown keys in stored data are ignored, so runs saved by an older version still load. The
    stored cost is the one the run showed when it ran (prices change; history must not).
    """

    usage: Usage | None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)  # type: ignore[call-overload]
        d["usage"] = self.usage.to_dict() if self.usage else None
        cost = getattr(self, "cost", None)
        if "cost" in d:
            d["cost"] = cost.to_dict() if isinstance(cost, Cost) else None
        return d  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls: type[R], d: Mapping[str, Any]) -> R:
        names = cls.__dataclass_fields__  # type: ignore[attr-defined]
        data = {k: v for k, v in d.items() if k in names}
        data["usage"] = Usage.from_dict(d.get("usage"))
        if "cost" in names:
            data["cost"] = Cost.from_dict(d["cost"]) if isinstance(d.get("cost"), Mapping) else None
        return cls(**data)
