"""%%discuss in a real IPython shell (offline provider): flags, --out, verbatim topic, --interpolate."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from llm_magics.magics.discuss import interpolate
from llm_magics.discussion.api import Transcript
from llm_magics.history.store import default_history


@pytest.fixture
def ip() -> Any:
    shell = InteractiveShell.instance()  # reuses a globalipapp TerminalInteractiveShell if one exists
    shell.run_line_magic("load_ext", "llm_magics")
    yield shell
    for name in ("t", "who"):
        shell.user_ns.pop(name, None)


def test_discuss_magic_stores_transcript_and_sends_topic_verbatim(ip: Any, capsys: Any) -> None:
    cell = "Review this:\ndef f(x):\n    return {'a': x, **{}}  # {who}\n"
    ip.user_ns["who"] = "SHOULD-NOT-APPEAR"
    ip.run_cell_magic("discuss", '--personas "Noor Okafor, Sasha" --mode parallel --rounds 2 --out t', cell)
    tr = ip.user_ns["t"]
    assert isinstance(tr, Transcript) and tr.topic == cell and tr.mode == "parallel" and tr.rounds == 2
    assert [m.persona for m in tr.messages] == ["Noor Okafor", "Sasha Lindqvist"] * 2
    assert default_history().get(tr.id).status == "done"
    out = capsys.readouterr().out
    assert "Noor Okafor" in out and "offline demo" in out  # terminal TextView


def test_discuss_magic_interpolates_only_when_asked(ip: Any) -> None:
    ip.user_ns["who"] = "the billing team"
    ip.run_cell_magic("discuss", "-p Noor --interpolate -o t --max-tokens 5", "Advise {who} on {missing} and {{braces}}")
    tr = ip.user_ns["t"]
    assert tr.topic == "Advise the billing team on {missing} and {braces}"
    assert tr.messages[0].finish_reason == "length"


def test_discuss_magic_consensus_with_aggregator_and_chair(ip: Any) -> None:
    ip.run_cell_magic("discuss", "-p 'Noor, Sasha' -m consensus -r 2 --aggregator rank -o t", "Pick a database")
    tr = ip.user_ns["t"]
    assert tr.final is not None and tr.final.kind == "rank" and tr.final.ranking
    ip.run_cell_magic("discuss", "-p 'Noor, Sasha' --chair Avery -o t", "Pick a queue")
    assert ip.user_ns["t"].final.by == "Avery Nakamura"


def test_discuss_magic_errors_are_one_line(ip: Any) -> None:
    with pytest.raises(UsageError, match="needs a topic"):
        ip.run_cell_magic("discuss", "", "   \n")
    with pytest.raises(UsageError, match="Unknown persona"):
        ip.run_cell_magic("discuss", "-p Nobody", "Topic")
    with pytest.raises(UsageError, match="Unknown provider"):
        ip.run_cell_magic("discuss", "-p Noor --provider kimmi", "Topic")


def test_interpolate_is_safe() -> None:
    ns = {"x": 1, "obj": object()}
    assert interpolate("{x} {x.__class__} {obj[0]} {y} {{x}}", ns) == "1 {x.__class__} {obj[0]} {y} {x}"
