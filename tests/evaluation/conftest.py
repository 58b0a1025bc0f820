"""Fixtures for eval tests: Kimi pointed at the fake server, and a server whose answers we can compute.

The responder answers "Item N: What is A + B?" per model by a fixed rule, so every statistic of
an eval against it can be worked out by hand (see the tests). `fail_items` makes the server
refuse chosen (model, item) requests with a 400, which the provider does not retry: a failed call.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakeserver import FakeLLMServer

KEY = "sk-test-eval-00000000000000notreal"
_ITEM = re.compile(r"Item (\d+): What is (\d+) \+ (\d+)\?")


def dataset(n: int) -> list[dict[str, Any]]:
    """n rows: id, question, answer (the sum)."""
    return [{"id": i, "question": f"What is {i} + {2 * i + 1}?", "answer": 3 * i + 1} for i in range(n)]


TEMPLATE = "Item {{ id }}: {{ question }}\nReply with the number only."


def last_user(req: dict[str, Any]) -> str:
    msgs = req.get("messages") or []
    return str(next((m.get("content") for m in reversed(msgs) if m.get("role") == "user"), ""))


def parse_item(req: dict[str, Any]) -> tuple[int, int] | None:
    """(item, correct answer) from an eval request, None for anything else."""
    m = _ITEM.search(last_user(req))
    return (int(m.group(1)), int(m.group(2)) + int(m.group(3))) if m else None


class Rules:
    """model → rule(item, nth call for that (model, item)) → right?"""

    def __init__(self, rules: dict[str, Callable[[int, int], bool]]) -> None:
        self.rules = rules
        self.counts: dict[tuple[str, int], int] = {}
        self.lock = threading.Lock()

    def __call__(self, req: dict[str, Any]) -> str:
        parsed = parse_item(req)
        if parsed is None:
            return "ok"
        item, answer = parsed
        model = str(req.get("model"))
        with self.lock:
            n = self.counts.get((model, item), 0)
            self.counts[(model, item)] = n + 1
        right = self.rules.get(model, lambda i, n: True)(item, n)
        return f"The answer is {answer if right else answer + 1}."


@pytest.fixture
def kimi_fake(fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> FakeLLMServer:
    monkeypatch.setenv("KIMI_API_KEY", KEY)
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    return fake_server


@pytest.fixture
def fail_items(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Callable[[str, int], bool]]]:
    """A list of predicates (model, item) -> bool; matching generation requests get a 400."""
    from tests.fakeserver import _Handler

    preds: list[Callable[[str, int], bool]] = []
    orig = _Handler._refuse

    def refuse(self: Any, rec: Any, anthropic: bool, generation: bool) -> bool:
        if generation and isinstance(rec.json, dict):
            parsed = parse_item(rec.json)
            if parsed is not None and any(p(str(rec.json.get("model")), parsed[0]) for p in preds):
                self._send_json(rec, 400, self._error_body(anthropic, "invalid_request_error", "simulated bad request"))
                return True
        return orig(self, rec, anthropic, generation)

    monkeypatch.setattr(_Handler, "_refuse", refuse)
    yield preds


def posts(server: FakeLLMServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and "chat/completions" in r.path]
