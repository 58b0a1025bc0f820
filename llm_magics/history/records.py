"""Round-tripping result records (a turn, a workflow step) through the history DB's JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from llm_magics.providers.base import Usage

__all__ = ["UsageRecord"]

R = TypeVar("R", bound="UsageRecord")


class UsageRecord:
    """Mixin for a dataclass with a `usage: Usage | None` field: `to_dict` / `from_dict`.

    Unknown keys in stored data are ignored, so runs saved by an older version still load.
    """

    usage: Usage | None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)  # type: ignore[call-overload]
        d["usage"] = self.usage.to_dict() if self.usage else None
        return d  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls: type[R], d: Mapping[str, Any]) -> R:
        names = cls.__dataclass_fields__  # type: ignore[attr-defined]
        data = {k: v for k, v in d.items() if k in names}
        data["usage"] = Usage.from_dict(d.get("usage"))
        return cls(**data)
