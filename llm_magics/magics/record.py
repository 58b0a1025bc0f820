"""`%llm record PATH | record stop | record`: record provider streams into a replay cassette."""

from __future__ import annotations

from typing import Any

from llm_magics.magics.args import SubParser, parse
from llm_magics.providers.registry import PROVIDERS

HELP = "record real streams to a JSONL cassette that the replay provider plays back"

_USAGE = f"""Record every provider call (its prompt and streamed chunks with their timing, never the key)
to a JSONL cassette. Publish the cassette with your notebook; anyone can then run it with no key:

  %env LLM_MAGICS_CASSETTE=PATH
  %llm config provider={PROVIDERS.REPLAY}
"""


def _parser() -> SubParser:
    import argparse

    p = SubParser("%llm record", description=_USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", nargs="?", help="cassette file to write (appended to), or 'stop'")
    p.add_argument("--overwrite", action="store_true", help="start the file afresh instead of appending")
    return p


def main(shell: Any, argv: list[str], cell: str | None = None) -> None:
    from llm_magics.providers import record

    args = parse(_parser(), argv)
    if args is None:
        return
    if args.path is None:
        rec = record.recording()
        if rec is None:
            print("Not recording. Start with `%llm record PATH`.")
        else:
            print(f"Recording to {rec.path}: {rec.count} request(s) so far. Stop with `%llm record stop`.")
        return
    if args.path == "stop":
        rec = record.stop_recording()
        if rec is None:
            print("Not recording; nothing to stop.")
            return
        print(f"Stopped recording: {rec.count} request(s) in {rec.path}.")
        print(f"Replay it with no key: `%env LLM_MAGICS_CASSETTE={rec.path}` then `%llm config provider={PROVIDERS.REPLAY}`.")
        return
    rec = record.start_recording(args.path, overwrite=args.overwrite)
    print(
        f"Recording every provider call to {rec.path} (prompts and streamed answers with their timing; "
        "never the key). Stop with `%llm record stop`."
    )
