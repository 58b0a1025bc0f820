"""The SSE decoder against the WHATWG spec's own examples and a literal transcription of its algorithm.

Expected values come from the spec text (html.spec.whatwg.org/multipage/server-sent-events.html,
"9.2.6 Interpreting an event stream" and the examples under it), never from the decoder's output.
Events are compared field by field as tuples, so a broken `SSEvent.__eq__` cannot make them pass.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from hypothesis import given, settings
from hypothesis import strategies as st

from llm_magics.providers.sse import SSEDecoder, SSEvent, aiter_events, decode_all

BOM = "\ufeff".encode()


def fields(events: list[SSEvent]) -> list[tuple[str, str, str, int | None]]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


# -- the spec's examples -----------------------------------------------------------------------
def test_spec_example_three_data_lines_make_one_event_joined_by_newlines() -> None:
    # "...would cause an event message with the interface MessageEvent to be dispatched on the
    # EventSource object. The event's data attribute would contain the string "YHOO\n+2\n10""
    raw = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    assert fields(decode_all([raw])) == [("message", "YHOO\n+2\n10", "", None)]


def test_spec_example_four_blocks_comment_id_reset_and_leading_space() -> None:
    # The first block is a comment and fires nothing; "first event" sets the last event ID to "1";
    # "second event" has an `id` field with no value, which resets the last event ID to ""; the last
    # block fires " third event" with a single leading space (only one space is dropped).
    raw = (b": test stream\n\n"
           b"data: first event\nid: 1\n\n"
           b"data:second event\nid\n\n"
           b"data:  third event\n\n")
    assert fields(decode_all([raw])) == [
        ("message", "first event", "1", None),
        ("message", "second event", "", None),
        ("message", " third event", "", None),
    ]


def test_spec_example_empty_data_and_a_single_newline_and_an_unterminated_block() -> None:
    # "The first block fires events with the data set to the empty string [...]. The middle block
    # fires an event with the data set to a single newline character. The last block is discarded
    # because it is not followed by a blank line."
    raw = b"data\n\ndata\ndata\n\ndata:"
    assert fields(decode_all([raw])) == [("message", "", "", None), ("message", "\n", "", None)]


def test_spec_example_space_after_colon_is_optional() -> None:
    # "The following stream fires two identical events"
    raw = b"data:test\n\ndata: test\n\n"
    assert fields(decode_all([raw])) == [("message", "test", "", None), ("message", "test", "", None)]


# -- the rules, one at a time --------------------------------------------------------------------
def test_exactly_two_data_lines_keep_both() -> None:
    assert [e.data for e in decode_all([b"data: first\ndata: second\n\n"])] == ["first\nsecond"]
    assert [e.data for e in decode_all([b"data: one\n\n"])] == ["one"]


def test_field_name_without_colon_and_unknown_fields() -> None:
    # a line without a colon is a field with an empty value; unknown fields are ignored
    raw = b"event\nfoo: bar\ndata: x\n\n"
    assert fields(decode_all([raw])) == [("message", "x", "", None)]


def test_retry_must_be_all_ascii_digits_and_persists() -> None:
    raw = b"retry: 1500\ndata: a\n\nretry: 12x\ndata: b\n\nretry: 3000\ndata: c\n\n"
    assert [(e.data, e.retry) for e in decode_all([raw])] == [("a", 1500), ("b", 1500), ("c", 3000)]


def test_event_type_is_reset_after_each_dispatch_and_after_an_empty_block() -> None:
    raw = b"event: a\ndata: 1\n\ndata: 2\n\nevent: b\n\ndata: 3\n\n"
    assert [(e.event, e.data) for e in decode_all([raw])] == [("a", "1"), ("message", "2"), ("message", "3")]


def test_invalid_utf8_becomes_replacement_characters() -> None:
    # the stream is decoded with UTF-8 decode: an invalid byte becomes U+FFFD, the rest is kept
    raw = b"event: e\xffv\nid: i\xfed\ndata: a\xc3b\n\n"
    assert fields(decode_all([raw])) == [("e\ufffdv", "a\ufffdb", "i\ufffdd", None)]


def test_bom_is_stripped_only_at_the_start_of_the_stream() -> None:
    # after the first bytes a BOM is an ordinary character: "\ufeffdata" is an unknown field name
    assert fields(decode_all([b"data: a\n\n", BOM + b"data: b\n\n"])) == [("message", "a", "", None)]
    assert fields(decode_all([BOM + b"data: a\n\n" + BOM + b"data: b\n\n"])) == [("message", "a", "", None)]


def test_bom_split_over_reads_and_a_read_that_is_exactly_the_bom() -> None:
    d = SSEDecoder()
    assert d.feed(BOM) == []
    assert not d.pending  # the BOM was consumed, nothing of an event is buffered
    assert fields(d.feed(b"data: a\n\n")) == [("message", "a", "", None)]
    d = SSEDecoder()
    assert [d.feed(BOM[i:i + 1]) for i in range(3)] == [[], [], []]
    assert fields(d.feed(b"data: b\n\n")) == [("message", "b", "", None)]


def test_short_first_reads_that_are_not_a_bom() -> None:
    d = SSEDecoder()
    assert d.feed(b"da") == [] and d.pending
    assert fields(d.feed(b"ta: x\n\n")) == [("message", "x", "", None)]


def test_close_discards_the_unfinished_event_but_keeps_the_last_event_id() -> None:
    # like EventSource reconnecting: buffers are cleared, the last event ID survives
    d = SSEDecoder()
    assert d.feed(b"id: 5\n\nevent: e\ndata: cut\n") == []
    assert d.pending
    assert d.close() == []
    assert not d.pending
    assert fields(d.feed(b"data: x\n\n")) == [("message", "x", "5", None)]
    d.feed(b"data: half a line")
    d.close()
    assert not d.pending


def test_pending_means_bytes_of_an_unfinished_event() -> None:
    d = SSEDecoder()
    assert not d.pending
    d.feed(b"data: a\n")
    assert d.pending  # a data line without its blank line
    d.feed(b"\n")
    assert not d.pending
    d.feed(b"\r\n")
    assert not d.pending  # line breaks alone are not an event


def test_sse_event_equality_hash_and_repr() -> None:
    a = SSEvent("x", "e", "1", 10)
    assert a == SSEvent("x", "e", "1", 10) and hash(a) == hash(SSEvent("x", "e", "1", 10))
    assert a != SSEvent("y", "e", "1", 10)
    assert a != SSEvent("x", "f", "1", 10)
    assert a != SSEvent("x", "e", "2", 10)
    assert a != SSEvent("x", "e", "1", 11)
    assert a != ("e", "x", "1", 10)
    assert len({a, SSEvent("x", "e", "1", 10), SSEvent("y")}) == 2
    assert repr(a) == "SSEvent(event='e', data='x', id='1', retry=10)"
    assert (SSEvent("d").event, SSEvent("d").id, SSEvent("d").retry) == ("message", "", None)


def test_aiter_events_decodes_an_async_byte_stream() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for piece in (b"data: a", b"\r", b"\n\r\ndata: b\n", b"\nevent: tail\ndata: cut"):
            yield piece

    async def collect() -> list[SSEvent]:
        return [e async for e in aiter_events(chunks())]

    assert fields(asyncio.run(collect())) == [("message", "a", "", None), ("message", "b", "", None)]


# -- property: the decoder agrees with the spec's algorithm, transcribed ------------------------
def spec_decode(raw: bytes) -> list[tuple[str, str, str, int | None]]:
    """9.2.6 line by line: UTF-8 decode (one leading BOM dropped), split on CRLF/LF/CR, dispatch on
    a blank line; an unterminated last line and an undispatched event are discarded."""
    text = raw.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split(r"\r\n|\r|\n", text)[:-1]
    out: list[tuple[str, str, str, int | None]] = []
    data, event_type, last_id, retry = "", "", "", None
    for line in lines:
        if line == "":
            if data == "":
                event_type = ""
                continue
            if data.endswith("\n"):
                data = data[:-1]
            out.append((event_type or "message", data, last_id, retry))
            data, event_type = "", ""
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            name, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "event":
            event_type = value
        elif name == "data":
            data += value + "\n"
        elif name == "id":
            if "\0" not in value:
                last_id = value
        elif name == "retry":
            if value and all(c in "0123456789" for c in value):
                retry = int(value)
    return out


_text = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=12)
_line = st.one_of(
    st.builds(lambda name, v: f"{name}:{v}", st.sampled_from(["data", "event", "id", "retry", "other", ""]), _text),
    st.builds(lambda name, v: f"{name}: {v}", st.sampled_from(["data", "event", "id", "retry"]), _text),
    st.sampled_from(["data", "event", "id", "retry", "", "data: [DONE]", "retry: 250", ": ping"]),
    st.builds(lambda n: f"retry: {n}", st.integers(0, 99999)),
)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.tuples(_line, st.sampled_from(["\n", "\r\n", "\r"])), max_size=14),
       bom=st.booleans(), tail=_text, cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_decoder_matches_the_spec_algorithm_for_any_split(
        lines: list[tuple[str, str]], bom: bool, tail: str, cuts: list[int]) -> None:
    raw = (("\ufeff" if bom else "") + "".join(a + b for a, b in lines) + tail).encode()
    expected = spec_decode(raw)
    points = sorted({c % (len(raw) + 1) for c in cuts})
    pieces = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)])]
    assert fields(decode_all(pieces)) == expected
    assert fields(decode_all([raw[i:i + 1] for i in range(len(raw))])) == expected


def test_cr_line_endings_dispatch_without_waiting_for_the_next_read() -> None:
    # "data: x" CR, then a blank line CR: the event is complete when these bytes arrive (it used to
    # wait for the next read, and was lost when the stream ended right there)
    assert fields(SSEDecoder().feed(b"data: x\r\r")) == [("message", "x", "", None)]
    assert fields(decode_all([b"data: x\r\r"])) == [("message", "x", "", None)]
    d = SSEDecoder()
    assert fields(d.feed(b"data: a\r\n\r")) == [("message", "a", "", None)]
    assert d.feed(b"") == []  # an empty read changes nothing
    assert d.feed(b"\n") == []  # the LF of that CRLF, not another blank line
    assert d.feed(b"data: b\r\n\r\n") != [] and not d.pending
    assert fields(decode_all([b"data: 1\r", b"\r", b"\n", b"data: 2\r", b"\n", b"\r\n"])) == [
        ("message", "1", "", None), ("message", "2", "", None)]
