"""Discussions between personas: sequential, parallel and consensus modes, and the transcript."""

from __future__ import annotations

from llm_magics.discussion.api import AGGREGATORS, MODES, adiscuss, discuss
from llm_magics.discussion.transcript import Outcome, Transcript, Turn

__all__ = ["discuss", "adiscuss", "Transcript", "Turn", "Outcome", "MODES", "AGGREGATORS"]
