"""Workflow YAML: parsing, safe templates and validation errors that name the line and field."""

from __future__ import annotations

import textwrap

import pytest

from llm_magics.workflow.spec import parse_spec, render_prompt
from llm_magics.errors import ConfigurationError
from llm_magics.workflow.api import builtin_workflows, load_workflow


def spec(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


GOOD = spec(
    """
    name: demo
    description: two steps
    steps:
      - id: risks
        persona: security
        prompt: |
          List risks in {{ input }}.
      - id: plan
        persona: Sasha Lindqvist
        temperature: 0.1
        prompt: |
          Plan for {{steps.risks.output}} given {{ input }}; keep {braces} and {{ not a ref }}.
    """
)


def one_error(text: str) -> str:
    with pytest.raises(ConfigurationError) as exc:
        load_workflow(text)
    return str(exc.value)


def test_good_spec_parses_with_implied_needs() -> None:
    s = load_workflow(GOOD)
    assert s.name == "demo" and s.inputs == ("input",)
    assert s.step("plan").needs == ("risks",) and s.step("plan").temperature == 0.1
    assert s.order() == ["risks", "plan"] and s.dependents("risks") == ["plan"]
    assert s.step("risks").line == 4


def test_render_is_single_pass_and_leaves_other_braces() -> None:
    prompt = load_workflow(GOOD).step("plan").prompt
    out = render_prompt(prompt, {"input": "x {{ steps.risks.output }}"}, {"risks": "R1 {{ input }}"})
    # substituted text is never re-expanded; non-reference braces stay literal
    assert out.startswith("Plan for R1 {{ input }} given x {{ steps.risks.output }};")
    assert "{braces} and {{ not a ref }}" in out


def test_malformed_yaml_reports_line() -> None:
    msg = one_error("name: x\nsteps:\n  - id: a\n    prompt: [unclosed\n  - id: b\n")
    assert "line 5, column 7: malformed YAML" in msg
    bad_indent = one_error("name: x\nsteps:\n  - id: a\n    prompt: hi\n   persona: Noor\n")
    assert "line 5" in bad_indent and "malformed YAML" in bad_indent


def test_unquoted_placeholder_gets_a_hint() -> None:
    msg = one_error("steps:\n  - id: a\n    prompt: {{ input }}\n")
    assert "line 3, steps.a.prompt: expected text, got a mapping" in msg and "must be quoted" in msg


def test_unknown_step_reference_reports_line_and_field() -> None:
    text = spec(
        """
        name: demo
        steps:
          - id: attack_surface
            prompt: Map {{ input }}
          - id: findings
            prompt: |
              First line.
              Use {{ steps.atack_surface.output }} here.
        """
    )
    msg = one_error(text)
    assert "line 8" in msg and "steps.findings.prompt" in msg
    assert "unknown step 'atack_surface'" in msg and "Did you mean 'attack_surface'" in msg


def test_unknown_needs_reports_its_line() -> None:
    msg = one_error("steps:\n  - id: a\n    prompt: x\n  - id: b\n    needs: [a, c]\n    prompt: y\n")
    assert "line 5" in msg and "unknown step 'c'" in msg and "steps.b.needs" in msg


def test_cycle_is_named_with_its_path() -> None:
    text = spec(
        """
        steps:
          - id: a
            needs: c
            prompt: "{{ input }}"
          - id: b
            prompt: "{{ steps.a.output }}"
          - id: c
            prompt: "{{ steps.b }}"
        """
    )
    msg = one_error(text)
    assert "dependency cycle" in msg and "a → c → b → a" in msg
    assert "line 6, steps.b.prompt" in msg  # where the cycle closes


def test_self_reference_is_a_cycle() -> None:
    msg = one_error("steps:\n  - id: a\n    prompt: again {{ steps.a.output }}\n")
    assert "line 3" in msg and "depends on itself" in msg


def test_unknown_persona_suggests() -> None:
    msg = one_error("steps:\n  - id: a\n    persona: Noor Okafr\n    prompt: x\n")
    assert "line 3" in msg and "steps.a.persona" in msg and "Did you mean 'Noor Okafor'" in msg


def test_undeclared_input_and_unknown_key() -> None:
    msg = one_error("inputs: [code]\nsteps:\n  - id: a\n    prompt: |\n      x\n      {{ cod }}\n")
    assert "line 6" in msg and "'cod'" in msg and "Did you mean 'code'" in msg
    msg = one_error("steps:\n  - id: a\n    promt: x\n")
    assert "line 3" in msg and "unknown key 'promt'" in msg and "Did you mean 'prompt'" in msg
    msg = one_error("nmae: x\nsteps:\n  - id: a\n    prompt: x\n")
    assert "line 1" in msg and "Did you mean 'name'" in msg


def test_duplicate_id_and_duplicate_key() -> None:
    msg = one_error("steps:\n  - id: a\n    prompt: x\n  - id: a\n    prompt: y\n")
    assert "line 4" in msg and "used twice (first at line 2)" in msg
    msg = one_error("steps:\n  - id: a\n    prompt: x\n    prompt: y\n")
    assert "line 4" in msg and "given twice" in msg


def test_type_and_range_errors() -> None:
    assert "line 3" in one_error("steps:\n  - id: a\n    temperature: hot\n    prompt: x\n")
    assert "out of range" in one_error("steps:\n  - id: a\n    temperature: 3\n    prompt: x\n")
    assert "no 'prompt'" in one_error("steps:\n  - id: a\n")
    assert "non-empty list" in one_error("name: x\nsteps: []\n")
    assert "Did you mean 'kimi'" in one_error("steps:\n  - id: a\n    provider: kimmi\n    prompt: x\n")
    assert "only .output" in one_error("steps:\n  - id: a\n    prompt: x\n  - id: b\n    prompt: '{{ steps.a.text }}'\n")


def test_input_field_in_yaml() -> None:
    s = load_workflow("inputs: [code, context]\ninput:\n  code: print(1)\n  context: tests\nsteps:\n  - id: a\n    prompt: '{{ code }} {{ inputs.context }}'\n")
    assert dict(s.input) == {"code": "print(1)", "context": "tests"}
    assert "must map each name" in one_error("inputs: [a, b]\ninput: text\nsteps:\n  - id: s\n    prompt: x\n")


def test_unknown_workflow_name_suggests() -> None:
    with pytest.raises(ConfigurationError, match="Did you mean 'security-audit'"):
        load_workflow("security-audi")


def test_builtins_are_valid_and_use_the_named_personas() -> None:
    specs = {s.name: s for s in builtin_workflows()}
    assert list(specs)[:4] == ["security-audit", "code-review", "marketing-campaign", "ux-review"]
    audit = specs["security-audit"]
    assert audit.order() == ["attack_surface", "findings", "severity_ranking", "fixes", "executive_summary"]
    assert set(audit.personas) == {"Noor Okafor", "Sasha Lindqvist"}
    assert set(specs["marketing-campaign"].personas) == {"Morgan Castellano", "Riley Engstrom"}
    assert specs["ux-review"].personas == ["Avery Nakamura"]
    for s in specs.values():
        assert s.description and all(step.persona and len(step.prompt) > 200 for step in s.steps)
        # the stored YAML re-parses to the same spec (resume depends on it)
        assert parse_spec(s.to_yaml()).steps == s.steps


def test_user_workflow_dir_is_searched(isolated_home) -> None:  # type: ignore[no-untyped-def]
    (isolated_home / "workflows").mkdir(parents=True)
    (isolated_home / "workflows" / "mine.yaml").write_text("name: mine\nsteps:\n  - id: a\n    prompt: '{{ input }}'\n")
    assert load_workflow("mine").name == "mine"
    assert "mine" in [s.name for s in builtin_workflows()]
