"""The SSE decoder: WHATWG rules, and no dependence on how the bytes were split."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llm_magics.providers.sse import DONE, SSEDecoder, SSEvent, decode_all


def test_basic_fields_comments_and_multiline_data() -> None:
    raw = (
        b": keep-alive\n\n"
        b"event: message_start\ndata: {\"a\": 1}\n\n"
        b"data: line one\ndata:line two\ndata\n\n"
        b"id: 7\nretry: 1500\ndata: x\n\n"
        b"data: y\n\n"
        b"data: [DONE]\n\n"
    )
    events = decode_all([raw])
    assert events == [
        SSEvent('{"a": 1}', "message_start"),
        SSEvent("line one\nline two\n", "message"),
        SSEvent("x", "message", "7", 1500),
        SSEvent("y", "message", "7", 1500),  # id and retry persist
        SSEvent(DONE, "message", "7", 1500),
    ]


def test_line_endings_cr_lf_crlf_and_bom() -> None:
    raw = b"\xef\xbb\xbfdata: a\r\n\r\ndata: b\r\rdata: c\n\nevent: e\r\ndata: d\r\n\r\n"
    assert [(e.event, e.data) for e in decode_all([raw])] == [
        ("message", "a"), ("message", "b"), ("message", "c"), ("e", "d")]


def test_event_without_data_is_not_dispatched_and_unterminated_is_discarded() -> None:
    d = SSEDecoder()
    assert d.feed(b"event: ping\n\n") == []
    assert d.feed(b"data: after\n\n") == [SSEvent("after")]  # event name was reset
    assert d.feed(b"data: cut") == []
    assert d.pending
    assert d.close() == []


def test_crlf_split_across_reads_is_one_line_break() -> None:
    d = SSEDecoder()
    assert d.feed(b"data: a\r") == []
    assert d.feed(b"\n") == []  # the LF completes the CRLF: not a second (blank) line
    assert d.feed(b"\r") == [SSEvent("a")]  # a CR is a whole line break: dispatched at once
    assert d.feed(b"\ndata: b\n\n") == [SSEvent("b")]


def test_utf8_sequence_split_across_reads() -> None:
    body = "data: héllo 🌍\n\n".encode()
    cut = body.index("🌍".encode()) + 2
    assert decode_all([body[:cut], body[cut:]]) == [SSEvent("héllo 🌍")]


def test_id_with_nul_is_ignored() -> None:
    assert decode_all([b"id: 1\ndata: a\n\nid: x\0y\ndata: b\n\n"])[1].id == "1"


# -- property: any split of a byte stream into chunks decodes to the same events ----------------
_text = st.text(alphabet=st.characters(blacklist_characters="\r\n\0", blacklist_categories=("Cs",)), max_size=20)
_line_end = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def _stream(draw: st.DrawFn) -> bytes:
    parts: list[str] = []
    if draw(st.booleans()):
        parts.append("\ufeff")
    for _ in range(draw(st.integers(0, 8))):
        nl = draw(_line_end)
        kind = draw(st.sampled_from(["data", "event", "comment", "id", "retry", "multi", "blank", "done"]))
        if kind == "data":
            parts.append(f"data: {draw(_text)}{nl}{nl}")
        elif kind == "event":
            parts.append(f"event: {draw(_text)}{nl}data:{draw(_text)}{nl}{nl}")
        elif kind == "comment":
            parts.append(f": {draw(_text)}{nl}")
        elif kind == "id":
            parts.append(f"id: {draw(_text)}{nl}")
        elif kind == "retry":
            parts.append(f"retry: {draw(st.integers(0, 99999))}{nl}")
        elif kind == "multi":
            lines = draw(st.lists(_text, min_size=1, max_size=4))
            parts.append("".join(f"data: {x}{draw(_line_end)}" for x in lines) + nl)
        elif kind == "blank":
            parts.append(nl)
        else:
            parts.append(f"data: [DONE]{nl}{nl}")
    return "".join(parts).encode()


@settings(max_examples=150, deadline=None)
@given(data=_stream(), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_random_chunk_splits_never_change_the_events(data: bytes, cuts: list[int]) -> None:
    whole = decode_all([data])
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]
    assert decode_all(pieces) == whole
    # byte-by-byte is the worst case of all
    assert decode_all([data[i:i + 1] for i in range(len(data))]) == whole
