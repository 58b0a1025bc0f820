"""A pytest plugin `tools/mutate.py` loads for the unmutated run: which lines of the target module
(``MUTATE_TRACE``, an absolute path) each test executes, written as JSON to ``MUTATE_TRACE_OUT``.

A mutant then runs only the tests that reach its lines. Lines run outside any test (imports,
collection) are stored under "" and make a mutant run every listed test. Threads started during
the run are traced too (the providers' event loop thread, the fake server).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

_TARGET = os.environ["MUTATE_TRACE"]
_lines: dict[str, set[int]] = {"": set()}
_current = _lines[""]


def _local(frame: FrameType, event: str, arg: Any) -> Any:
    if event == "line":
        _current.add(frame.f_lineno)
    return _local


def _global(frame: FrameType, event: str, arg: Any) -> Any:
    if frame.f_code.co_filename == _TARGET:
        _current.add(frame.f_lineno)
        return _local
    return None


sys.settrace(_global)
threading.settrace(_global)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    global _current
    _current = _lines.setdefault(item.nodeid, set())
    yield
    _current = _lines[""]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    sys.settrace(None)
    with open(os.environ["MUTATE_TRACE_OUT"], "w") as f:
        json.dump({k: sorted(v) for k, v in _lines.items()}, f)
