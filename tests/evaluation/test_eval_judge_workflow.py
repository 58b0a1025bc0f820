"""The LLM judge (blind: the server log shows no target name in any judge prompt) and workflow mode."""

from __future__ import annotations

import re
from typing import Any

import pytest

from llm_magics import evaluate
from llm_magics.evaluation.judge import JUDGE_SYSTEM, parse_verdict
from tests.evaluation.conftest import TEMPLATE, Rules, dataset, posts
from tests.fakeserver import FakeLLMServer

TARGETS = ["kimi:kimi-k2-0905-preview", "kimi:kimi-k2-turbo-preview"]


def _is_judge(req: dict[str, Any]) -> bool:
    return any(m.get("role") == "system" and m.get("content") == JUDGE_SYSTEM for m in req.get("messages", []))


def test_parse_verdict() -> None:
    assert parse_verdict("VERDICT: PASS\nREASON: same number") == (True, "same number")
    assert parse_verdict("**Verdict:** fail — wrong") == (False, "")
    assert parse_verdict("I would say PASS.") == (True, "")
    with pytest.raises(ValueError, match="no PASS/FAIL verdict"):
        parse_verdict("PASS or FAIL, hard to say")


def test_judge_grades_blind(kimi_fake: FakeLLMServer) -> None:
    answers = Rules({"kimi-k2-0905-preview": lambda i, n: i % 3 != 0, "kimi-k2-turbo-preview": lambda i, n: True})

    def responder(req: dict[str, Any]) -> str:
        if _is_judge(req):
            prompt = req["messages"][-1]["content"]
            ref = re.search(r"REFERENCE ANSWER:\n<<<\n(.*?)\n>>>", prompt, re.S)
            cand = re.search(r"CANDIDATE ANSWER:\n<<<\n(.*?)\n>>>", prompt, re.S)
            assert ref and cand
            ok = re.search(rf"\b{re.escape(ref.group(1))}\b", cand.group(1)) is not None
            return f"VERDICT: {'PASS' if ok else 'FAIL'}\nREASON: {'matches' if ok else 'differs from'} the reference."
        return f"I am {req['model']} by kimi. " + answers(req)  # a model that signs its answers

    kimi_fake.responder = responder
    res = evaluate(dataset(6), TEMPLATE, TARGETS, scorer="judge", judge="kimi:kimi-k2.6")
    a, b = res.summary
    assert a["score"] == pytest.approx(4 / 6) and b["score"] == 1.0
    assert res.calls[(TARGETS[0], 0, 0)].reason == "differs from the reference."
    judged = [r.json for r in posts(kimi_fake) if _is_judge(r.json)]
    assert len(judged) == 12 and {j["model"] for j in judged} == {"kimi-k2.6"}
    for j in judged:  # blind: neither model ID nor provider name reaches the judge
        text = " ".join(m["content"] for m in j["messages"])
        assert "kimi-k2-0905-preview" not in text and "kimi-k2-turbo-preview" not in text
        assert "kimi" not in text.lower().replace("[model]", "") and "I am [model] by [model]." in text
    assert "Judge `kimi:kimi-k2.6`: 12 calls" in res.to_markdown()  # the judge's share, shown apart


def test_judge_without_verdict_is_a_scoring_error(kimi_fake: FakeLLMServer) -> None:
    kimi_fake.responder = lambda req: "no idea" if _is_judge(req) else "The answer is 1."
    res = evaluate(dataset(2), TEMPLATE, TARGETS[:1], scorer="judge", judge="kimi:kimi-k2.6")
    row = res.summary[0]
    assert (row["scored"], row["scoring_errors"], row["errors"]) == (0, 2, 0)
    assert "no PASS/FAIL verdict" in (res.calls[(TARGETS[0], 0, 0)].scoring_error or "")


def test_security_audit_workflow_on_the_shipped_snippets() -> None:
    res = evaluate("vulnerable-snippets", "Language: {{ language }}\n\n{{ code }}", ["offline:kimi-k2.6"],
                   scorer="cwe", expected="cwe", workflow="security-audit", step="findings", limit=4)
    assert res.workflow == "security-audit" and res.step == "findings" and res.status == "done"
    row = res.summary[0]
    assert row["scored"] == 4 and row["errors"] == 0 and row["output_tokens"] > 0
    call = res.calls[("offline:kimi-k2.6", 0, 0)]
    assert "CWE-" in call.output and call.output.startswith("[offline demo")  # the findings step, labelled offline
    assert "workflow `security-audit` (scored step `findings`)" in res.to_markdown()


def test_workflow_step_failure_is_an_error(kimi_fake: FakeLLMServer, fail_items: Any) -> None:
    kimi_fake.responder = lambda req: "F1 — SQL injection (CWE-89)."
    kimi_fake.fail_next(400, "invalid_request_error", times=1)  # the first step of the first item fails
    res = evaluate([{"code": "q = 'SELECT ' + x", "cwe": ["CWE-89"]}], "{{ code }}", ["kimi:kimi-k2-0905-preview"],
                   scorer="cwe", expected="cwe", workflow="security-audit", step="findings")
    call = res.calls[("kimi:kimi-k2-0905-preview", 0, 0)]
    assert call.error and call.error.startswith("step 'attack_surface' failed") and call.score is None
    assert res.summary[0]["errors"] == 1 and res.summary[0]["scored"] == 0
