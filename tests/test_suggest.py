"""'Did you mean …': how many suggestions, in which order, how close, and the sentence around them.

Similarities are difflib ratios worked out by hand: 2 * matching characters / total characters
("abcd" vs "abxy": 2 * 2 / 8 = 0.5, exactly the cutoff; "abcd" vs "axyz": 2 * 1 / 8 = 0.25).
"""

from __future__ import annotations

from llm_magics.providers.suggest import closest, did_you_mean


def test_at_most_three_completions_shortest_first() -> None:
    # four completions of "gpt": 5, 6, 7 and 13 characters long; the three shortest are kept
    assert closest("gpt", ["gpt-3.5-turbo", "gpt-4o", "o1", "gpt-4.1", "gpt-4"]) == ["gpt-4", "gpt-4o", "gpt-4.1"]
    assert closest("gpt", ["gpt-3.5-turbo", "gpt-4o", "gpt-4.1", "gpt-4"], n=4) == [
        "gpt-4", "gpt-4o", "gpt-4.1", "gpt-3.5-turbo"]
    assert closest("gpt", ["gpt-4o", "gpt-4"], n=1) == ["gpt-4"]


def test_completions_then_the_closest_other_names() -> None:
    # two completions, then "kimi-x3" (ratio 2 * 5 / 14 = 0.71); the fuzzy search must look past
    # the completions it also finds (they are its two best matches) to reach it
    assert closest("kimi-k2", ["kimi-x3", "kimi-k2-bb", "kimi-k2-a"]) == ["kimi-k2-a", "kimi-k2-bb", "kimi-x3"]


def test_cutoff_is_a_ratio_of_one_half_inclusive() -> None:
    assert closest("abcd", ["abxy"]) == ["abxy"]  # 0.5
    assert closest("abcd", ["axyz"]) == []  # 0.25
    assert closest("abcd", ["axyz"], cutoff=0.25) == ["axyz"]


def test_case_insensitive_duplicates_once_and_original_spelling_kept() -> None:
    assert closest("GPT", ["gpt-4", "gpt-4"]) == ["gpt-4"]
    assert closest("gpt4", ["GPT-4", "gpt-4"]) == ["GPT-4"]  # same name in two cases: the first spelling
    assert closest("Kimi-K2", ["kimi-k2-a"]) == ["kimi-k2-a"]  # a completion is also a fuzzy match: once


def test_nothing_to_suggest() -> None:
    assert closest("", ["a", "b"]) == []
    assert closest("gpt", []) == []
    assert closest("zzzz", ["gpt-4"]) == []
    assert did_you_mean("", ["a"]) == ""
    assert did_you_mean("zzzz", ["gpt-4"]) == ""


def test_did_you_mean_sentence_for_one_two_and_three_names() -> None:
    assert did_you_mean("gpt-4", ["gpt-4o"]) == "Did you mean 'gpt-4o'?"
    assert did_you_mean("gpt", ["gpt-4o", "gpt-4"]) == "Did you mean 'gpt-4' or 'gpt-4o'?"
    assert did_you_mean("gpt", ["gpt-4.1", "gpt-4o", "gpt-4"]) == "Did you mean 'gpt-4', 'gpt-4o' or 'gpt-4.1'?"
