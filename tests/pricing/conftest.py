"""Each pricing test starts with no session spending recorded against the budget."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def fresh_budget() -> Iterator[None]:
    from llm_magics.pricing import budget

    budget.reset()
    yield
    budget.reset()
