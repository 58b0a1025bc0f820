"""Workflow specs: YAML → validated `WorkflowSpec`, every problem reported with its line and field.

We walk PyYAML's composed node tree (not the loaded dicts) so each error can name the line it
comes from. Prompts are *safe templates*: only ``{{ input }}`` (or any declared input name),
``{{ inputs.NAME }}`` and ``{{ steps.ID.output }}`` / ``{{ steps.ID }}`` are replaced — there is no
expression language, nothing is evaluated, and any other braces are left untouched. A reference
to a step makes that step a dependency, just like listing it under ``needs``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from llm_magics.errors import ConfigurationError, LLMError
from llm_magics.providers.suggest import did_you_mean

if TYPE_CHECKING:
    import yaml

__all__ = ["StepSpec", "WorkflowSpec", "parse_spec", "render_prompt", "template_refs", "Ref"]

TOP_KEYS = ("name", "description", "inputs", "input", "steps", "provider", "model", "temperature", "max_tokens")
STEP_KEYS = ("id", "persona", "prompt", "needs", "provider", "model", "temperature", "max_tokens")
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
#: A placeholder is `{{ dotted.name }}`; anything else in braces is literal text.
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s*\}\}")


@dataclass(frozen=True)
class Ref:
    """One placeholder: `kind` is "input" or "step"; `name` the input name or step id."""

    kind: str
    name: str
    text: str  # the placeholder as written, e.g. "{{ steps.findings.output }}"
    start: int  # offset in the prompt


@dataclass(frozen=True)
class StepSpec:
    id: str
    prompt: str
    persona: str | None = None
    #: Explicit `needs` plus every step the prompt references, in first-mention order.
    needs: tuple[str, ...] = ()
    provider: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    line: int = 0


@dataclass(frozen=True)
class WorkflowSpec:
    """A validated workflow. Build one with `load_workflow(...)` (name, path or YAML text)."""

    name: str
    steps: tuple[StepSpec, ...]
    description: str = ""
    inputs: tuple[str, ...] = ("input",)
    #: Input values given in the YAML itself (`input:`), used when the caller gives none.
    input: Mapping[str, str] = field(default_factory=dict)
    provider: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    #: The YAML text this spec came from (stored with every run so resume needs nothing else).
    source: str = ""
    origin: str = ""

    def step(self, step_id: str) -> StepSpec:
        found = self._by_id.get(step_id)
        if found is not None:
            return found
        hint = did_you_mean(step_id, [s.id for s in self.steps]) or None
        raise ConfigurationError(f"Workflow '{self.name}' has no step '{step_id}'.", hint=hint)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.steps]

    def order(self) -> list[str]:
        """Step ids in dependency order (ties keep file order)."""
        return list(self._order)

    def dependents(self, step_id: str) -> list[str]:
        """Every step that needs `step_id`, directly or through others."""
        users = self._users
        out: set[str] = set()
        frontier = [step_id]
        while frontier:
            for user in users.get(frontier.pop(), ()):
                if user not in out:
                    out.add(user)
                    frontier.append(user)
        return [i for i in self._order if i in out]

    def needed_by(self, step_id: str) -> list[str]:
        """The steps that list `step_id` in their needs (direct users only)."""
        return self._users.get(step_id, [])

    def position(self, step_id: str) -> int:
        """Where `step_id` comes in `order()`."""
        return self._position[step_id]

    @cached_property
    def _position(self) -> dict[str, int]:
        return {sid: i for i, sid in enumerate(self._order)}

    # A spec is frozen, so these are computed once: the executor asks for them at every step,
    # and recomputing them made a 200-step chain cost O(n³) (issue 12, item 6).
    @cached_property
    def _by_id(self) -> dict[str, StepSpec]:
        return {s.id: s for s in self.steps}

    @cached_property
    def _users(self) -> dict[str, list[str]]:
        """Step id → the steps that list it in `needs` (file order)."""
        users: dict[str, list[str]] = {}
        for s in self.steps:
            for need in s.needs:
                users.setdefault(need, []).append(s.id)
        return users

    @cached_property
    def _order(self) -> tuple[str, ...]:
        """Layer by layer: a step's layer is one more than its deepest need; file order within a layer."""
        depth: dict[str, int] = {}
        by_id = self._by_id
        for s in self.steps:
            stack = [(s, False)]
            on_path: set[str] = set()
            while stack:
                node, expanded = stack.pop()
                if node.id in depth:
                    continue
                if expanded:
                    on_path.discard(node.id)
                    depth[node.id] = 1 + max((depth[n] for n in node.needs), default=-1)
                    continue
                if node.id in on_path:  # pragma: no cover - cycles are rejected at parse time
                    raise ConfigurationError(f"Workflow '{self.name}' has a dependency cycle.")
                on_path.add(node.id)
                stack.append((node, True))
                stack.extend((by_id[n], False) for n in node.needs if n not in depth)
        index = {s.id: i for i, s in enumerate(self.steps)}
        return tuple(sorted(depth, key=lambda i: (depth[i], index[i])))

    @property
    def personas(self) -> list[str]:
        return list(dict.fromkeys(s.persona for s in self.steps if s.persona))

    def to_yaml(self) -> str:
        """The YAML source (regenerated when the spec was not loaded from text)."""
        if self.source:
            return self.source
        import yaml

        data: dict[str, Any] = {"name": self.name, "description": self.description, "inputs": list(self.inputs)}
        for key in ("provider", "model", "temperature", "max_tokens"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        steps = []
        for s in self.steps:
            d: dict[str, Any] = {"id": s.id}
            for key in ("persona", "provider", "model", "temperature", "max_tokens"):
                if getattr(s, key) is not None:
                    d[key] = getattr(s, key)
            if s.needs:
                d["needs"] = list(s.needs)
            d["prompt"] = s.prompt
            steps.append(d)
        data["steps"] = steps
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


# --------------------------------------------------------------------------- templates


def template_refs(prompt: str, inputs: Iterable[str]) -> tuple[list[Ref], list[tuple[str, str, int]]]:
    """(references, problems) in a prompt; a problem is (placeholder text, message, offset)."""
    names = list(inputs)
    refs: list[Ref] = []
    problems: list[tuple[str, str, int]] = []
    for m in _PLACEHOLDER.finditer(prompt):
        parts = m.group(1).split(".")
        text, at = m.group(0), m.start()
        if parts[0] == "steps":
            if len(parts) == 2 or (len(parts) == 3 and parts[2] == "output"):
                refs.append(Ref("step", parts[1], text, at))
            elif len(parts) == 1:
                problems.append((text, "name a step: {{ steps.ID.output }}", at))
            else:
                problems.append((text, f"only .output can be read from a step (write {{{{ steps.{parts[1]}.output }}}})", at))
        elif parts[0] == "inputs" and len(parts) == 2:
            refs.append(Ref("input", parts[1], text, at))
        elif len(parts) == 1:
            refs.append(Ref("input", parts[0], text, at))
        else:
            hint = did_you_mean(m.group(1), names + ["steps"]) or ""
            problems.append((text, f"not a known reference. {hint}".strip(), at))
    return refs, problems


def render_prompt(prompt: str, inputs: Mapping[str, str], outputs: Mapping[str, str]) -> str:
    """Replace placeholders in one pass (substituted text is never re-scanned)."""

    def sub(m: re.Match[str]) -> str:
        parts = m.group(1).split(".")
        if parts[0] == "steps" and len(parts) >= 2 and parts[1] in outputs:
            return outputs[parts[1]]
        if parts[0] == "inputs" and len(parts) == 2 and parts[1] in inputs:
            return inputs[parts[1]]
        if len(parts) == 1 and parts[0] in inputs:
            return inputs[parts[0]]
        return m.group(0)

    return _PLACEHOLDER.sub(sub, prompt)


# --------------------------------------------------------------------------- parsing


class _Ctx:
    """Raises errors that say where: spec name, line, field."""

    def __init__(self, text: str, origin: str) -> None:
        self.text = text
        self.origin = origin

    def fail(self, line: int, where: str, message: str, hint: str | None = None) -> ConfigurationError:
        src = f" {self.origin}" if self.origin else ""
        loc = f", {where}" if where else ""
        return ConfigurationError(f"Workflow spec{src}, line {line}{loc}: {message}", hint=hint)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _mapping(ctx: _Ctx, node: yaml.Node, where: str, allowed: tuple[str, ...]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise ctx.fail(_line(node), where, f"expected a mapping (key: value), got {_kind(node)}.")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
        field_name = f"{where}.{key}" if where else key
        if key in out:
            raise ctx.fail(_line(key_node), field_name, f"'{key}' is given twice (first at line {_line(out[key][0])}).")
        if key not in allowed:
            hint = did_you_mean(key, allowed) or "Allowed keys: " + ", ".join(allowed) + "."
            raise ctx.fail(_line(key_node), field_name, f"unknown key '{key}'.", hint=hint)
        out[key] = (key_node, value_node)
    return out


def _kind(node: yaml.Node) -> str:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"'{node.value}'" if node.value != "" else "nothing"


def _scalar(ctx: _Ctx, loader: Any, node: yaml.Node, where: str, want: type, *, allow_null: bool = True) -> Any:
    import yaml

    if not isinstance(node, yaml.ScalarNode):
        hint = None
        if getattr(node, "flow_style", False) and isinstance(node, yaml.MappingNode):
            hint = "A value that starts with {{ must be quoted, or written as a `|` block on the next lines."
        wanted = "text" if want is str else ("a number" if want is float else "an integer")
        raise ctx.fail(_line(node), where, f"expected {wanted}, got {_kind(node)}.", hint=hint)
    value = loader.construct_object(node, deep=True)
    if value is None and allow_null:
        return None
    if want is str:
        if isinstance(value, bool) or value is None:
            raise ctx.fail(_line(node), where, f"expected text, got {_kind(node)}.")
        return str(value)
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, want) or isinstance(value, bool):
        raise ctx.fail(_line(node), where, f"expected {'a number' if want is float else 'an integer'}, got {_kind(node)}.")
    return value


def _names(ctx: _Ctx, loader: Any, node: yaml.Node, where: str) -> list[tuple[str, int]]:
    """A string or a list of strings, each with its line."""
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return [(_scalar(ctx, loader, n, f"{where}[{i}]", str, allow_null=False), _line(n)) for i, n in enumerate(node.value)]
    return [(_scalar(ctx, loader, node, where, str, allow_null=False), _line(node))]


def _ref_line(ctx: _Ctx, node: yaml.Node, ref_text: str, nth: int) -> int:
    """The line of the `nth` occurrence of a placeholder inside a scalar node's raw text."""
    raw = ctx.text[node.start_mark.index : node.end_mark.index]
    pos = -1
    for _ in range(nth + 1):
        pos = raw.find(ref_text, pos + 1)
        if pos < 0:
            return _line(node)
    return _line(node) + raw.count("\n", 0, pos)


def _check_persona(ctx: _Ctx, name: str, line: int, where: str, lookup: Callable[[str], Any] | None) -> None:
    if lookup is None:
        return
    try:
        lookup(name)
    except LLMError as exc:
        raise ctx.fail(line, where, getattr(exc, "message", str(exc)), hint=exc.hint) from None


def _check_provider(ctx: _Ctx, name: str | None, line: int, where: str) -> None:
    if name is None:
        return
    from llm_magics.providers.registry import PROVIDERS

    try:
        PROVIDERS[name]
    except ConfigurationError as exc:
        raise ctx.fail(line, where, exc.message, hint=exc.hint) from None


def parse_spec(text: str, *, origin: str = "", persona_lookup: Callable[[str], Any] | None = None) -> WorkflowSpec:
    """Parse and validate YAML text; the first problem raises one ConfigurationError with its line.

    `persona_lookup` (e.g. `get_persona`) checks persona names; None skips that check (used when
    re-reading a stored run, whose spec was validated when it ran).
    """
    import yaml

    ctx = _Ctx(text, origin)
    spec = f"Workflow spec{' ' + origin if origin else ''}"
    try:
        loader = yaml.SafeLoader(text)  # checks every character first (ReaderError: NUL, control codes)
    except yaml.YAMLError as exc:
        raise _yaml_error(spec, text, exc) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise ctx.fail(1, "", "the spec is empty.", hint="A workflow needs at least `steps:` with one step.")
        return _parse_root(ctx, loader, root, persona_lookup)
    except yaml.YAMLError as exc:  # also a tag like !!python/name met while reading a value
        raise _yaml_error(spec, text, exc) from None
    except RecursionError:
        raise ConfigurationError(
            f"{spec}: the YAML is nested too deeply to read (thousands of [ ] / {{ }} or indentation levels).",
            hint="A workflow spec is a mapping with a list of steps; nothing in it needs deep nesting.",
        ) from None
    finally:
        loader.dispose()


def _yaml_error(spec: str, text: str, exc: Exception) -> ConfigurationError:
    """One line for YAML that cannot be read: where, what, and what to do."""
    import yaml

    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(0, exc.position)) + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        return ConfigurationError(
            f"{spec}, line {line}: the character U+{char:04X} is not allowed in YAML.",
            hint="Remove it (a NUL or control character usually comes from pasted binary data).",
        )
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ConfigurationError(f"{spec}, line 1: malformed YAML: {exc}.")
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    col = f", column {mark.column + 1}" if mark else ""
    if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in (exc.problem or ""):
        tag = (exc.problem or "").rpartition("tag ")[2].strip("'").replace("tag:yaml.org,2002:", "!!")
        return ConfigurationError(
            f"{spec}, line {line}{col}: the YAML tag {tag} is not allowed.",
            hint="Workflow specs are plain YAML (text, numbers, lists, mappings); llm-magics never runs code from YAML.",
        )
    what = exc.problem or "cannot parse"
    ctx_mark = exc.context_mark
    if exc.context and ctx_mark is not None and mark is not None and ctx_mark.line != mark.line:
        what = f"{what} ({exc.context} that started at line {ctx_mark.line + 1}, column {ctx_mark.column + 1})"
    elif exc.context:
        what = f"{what} ({exc.context})"
    return ConfigurationError(
        f"{spec}, line {line}{col}: malformed YAML: {what}.",
        hint="Check indentation and quoting on that line (prompts with ':' or '{' are safest as `prompt: |` blocks).",
    )


def _parse_root(ctx: _Ctx, loader: Any, root: yaml.Node, persona_lookup: Callable[[str], Any] | None) -> WorkflowSpec:
    import yaml

    top = _mapping(ctx, root, "", TOP_KEYS)
    if "steps" not in top:
        raise ctx.fail(_line(root), "steps", "the spec has no 'steps'.", hint="Add `steps:` with a list of steps (id, persona, prompt).")
    get = {k: v for k, (_, v) in top.items()}
    name = _scalar(ctx, loader, get["name"], "name", str) if "name" in get else None
    description = _scalar(ctx, loader, get["description"], "description", str) if "description" in get else None
    inputs: list[tuple[str, int]] = _names(ctx, loader, get["inputs"], "inputs") if "inputs" in get else [("input", 0)]
    seen_inputs: dict[str, int] = {}
    for i, (inp, line) in enumerate(inputs):
        if not _ID.match(inp) or inp in ("steps", "inputs"):
            raise ctx.fail(line, f"inputs[{i}]", f"'{inp}' is not a valid input name (letters, digits, _ and -; not 'steps').")
        if inp in seen_inputs:
            raise ctx.fail(line, f"inputs[{i}]", f"input '{inp}' is declared twice.")
        seen_inputs[inp] = line
    input_names = [n for n, _ in inputs]
    defaults = _parse_input_values(ctx, loader, get.get("input"), input_names)
    level = {k: _scalar(ctx, loader, get[k], k, str) if k in get else None for k in ("provider", "model")}
    _check_provider(ctx, level["provider"], _line(get["provider"]) if "provider" in get else 0, "provider")
    temperature = _number(ctx, loader, get.get("temperature"), "temperature")
    max_tokens = _max_tokens(ctx, loader, get.get("max_tokens"), "max_tokens")

    steps_node = get["steps"]
    if not isinstance(steps_node, yaml.SequenceNode) or not steps_node.value:
        raise ctx.fail(_line(steps_node), "steps", f"expected a non-empty list of steps, got {_kind(steps_node)}.")
    raw_steps = [_parse_step(ctx, loader, i, n, input_names, persona_lookup) for i, n in enumerate(steps_node.value)]

    ids: dict[str, int] = {}
    for st, lines in raw_steps:
        if st.id in ids:
            raise ctx.fail(lines["id"], f"steps.{st.id}.id", f"step id '{st.id}' is used twice (first at line {ids[st.id]}).")
        ids[st.id] = lines["id"]
    for st, lines in raw_steps:
        for dep in st.needs:
            if dep not in ids:
                hint = did_you_mean(dep, list(ids)) or "Steps: " + ", ".join(ids) + "."
                raise ctx.fail(lines[f"needs:{dep}"], f"steps.{st.id}.{lines.get(f'field:{dep}', 'needs')}", f"unknown step '{dep}'.", hint=hint)
            if dep == st.id:
                raise ctx.fail(lines[f"needs:{dep}"], f"steps.{st.id}", f"step '{st.id}' depends on itself.")
    steps = tuple(st for st, _ in raw_steps)
    _check_cycles(ctx, steps, {st.id: lines for st, lines in raw_steps})
    return WorkflowSpec(
        name=name or "workflow",
        steps=steps,
        description=description or "",
        inputs=tuple(input_names),
        input=defaults,
        provider=level["provider"],
        model=level["model"],
        temperature=temperature,
        max_tokens=max_tokens,
        source=ctx.text,
        origin=ctx.origin,
    )


def _parse_input_values(ctx: _Ctx, loader: Any, node: yaml.Node | None, names: list[str]) -> dict[str, str]:
    import yaml

    if node is None:
        return {}
    if isinstance(node, yaml.MappingNode):
        values = _mapping(ctx, node, "input", tuple(names))
        return {k: _scalar(ctx, loader, v, f"input.{k}", str, allow_null=False) for k, (_, v) in values.items()}
    if len(names) != 1:
        raise ctx.fail(_line(node), "input", f"this workflow has {len(names)} inputs, so `input:` must map each name to its text.",
                       hint="Write `input:` then one indented `NAME: text` line per input.")
    return {names[0]: _scalar(ctx, loader, node, "input", str, allow_null=False)}


def _number(ctx: _Ctx, loader: Any, node: yaml.Node | None, where: str) -> float | None:
    if node is None:
        return None
    value: float | None = _scalar(ctx, loader, node, where, float)
    if value is not None and not 0.0 <= value <= 2.0:
        raise ctx.fail(_line(node), where, f"temperature {value} is out of range [0, 2].")
    return value


def _max_tokens(ctx: _Ctx, loader: Any, node: yaml.Node | None, where: str) -> int | None:
    if node is None:
        return None
    value: int | None = _scalar(ctx, loader, node, where, int)
    if value is not None and value < 1:
        raise ctx.fail(_line(node), where, "max_tokens must be at least 1.")
    return value


def _parse_step(
    ctx: _Ctx, loader: Any, index: int, node: yaml.Node, inputs: list[str], persona_lookup: Callable[[str], Any] | None
) -> tuple[StepSpec, dict[str, Any]]:
    where = f"steps[{index}]"
    m = _mapping(ctx, node, where, STEP_KEYS)
    lines: dict[str, Any] = {"step": _line(node)}
    if "id" not in m:
        raise ctx.fail(_line(node), where, "the step has no 'id'.", hint="Give each step a short unique id, e.g. `id: findings`.")
    id_node = m["id"][1]
    step_id = _scalar(ctx, loader, id_node, f"{where}.id", str, allow_null=False)
    if not _ID.match(step_id):
        raise ctx.fail(_line(id_node), f"{where}.id", f"'{step_id}' is not a valid step id (letters, digits, _ and -).")
    lines["id"] = _line(id_node)
    where = f"steps.{step_id}"
    if "prompt" not in m:
        raise ctx.fail(_line(node), where, "the step has no 'prompt'.", hint="Add `prompt: |` followed by the instructions, e.g. using {{ input }}.")
    prompt_node = m["prompt"][1]
    prompt = _scalar(ctx, loader, prompt_node, f"{where}.prompt", str, allow_null=False)
    persona = None
    if "persona" in m:
        pnode = m["persona"][1]
        persona = _scalar(ctx, loader, pnode, f"{where}.persona", str)
        if persona:
            _check_persona(ctx, persona, _line(pnode), f"{where}.persona", persona_lookup)
    needs: list[str] = []
    if "needs" in m:
        nnode = m["needs"][1]
        import yaml

        if not (isinstance(nnode, yaml.ScalarNode) and nnode.value in ("", "~", "null")):
            for dep, line in _names(ctx, loader, nnode, f"{where}.needs"):
                if dep not in needs:
                    needs.append(dep)
                    lines[f"needs:{dep}"] = line
    refs, problems = template_refs(prompt, inputs)
    counts: dict[str, int] = {}
    for text, message, _ in problems:
        line = _ref_line(ctx, prompt_node, text, 0)
        raise ctx.fail(line, f"{where}.prompt", f"{text}: {message}")
    for ref in refs:
        nth = counts.get(ref.text, 0)
        counts[ref.text] = nth + 1
        line = _ref_line(ctx, prompt_node, ref.text, nth)
        if ref.kind == "input":
            if ref.name not in inputs:
                hint = did_you_mean(ref.name, inputs) or ""
                extra = "" if hint else f" Declare it under `inputs:` (declared: {', '.join(inputs)})."
                raise ctx.fail(line, f"{where}.prompt", f"{ref.text} uses input '{ref.name}', which the workflow does not declare.{extra}", hint=hint or None)
        elif ref.name not in needs:
            needs.append(ref.name)
            lines[f"needs:{ref.name}"] = line
            lines[f"field:{ref.name}"] = "prompt"
    fields: dict[str, Any] = {}
    for key in ("provider", "model"):
        if key in m:
            fields[key] = _scalar(ctx, loader, m[key][1], f"{where}.{key}", str)
    _check_provider(ctx, fields.get("provider"), _line(m["provider"][1]) if "provider" in m else 0, f"{where}.provider")
    fields["temperature"] = _number(ctx, loader, m["temperature"][1] if "temperature" in m else None, f"{where}.temperature")
    fields["max_tokens"] = _max_tokens(ctx, loader, m["max_tokens"][1] if "max_tokens" in m else None, f"{where}.max_tokens")
    return StepSpec(id=step_id, prompt=prompt, persona=persona or None, needs=tuple(needs), line=lines["step"], **fields), lines


def _check_cycles(ctx: _Ctx, steps: tuple[StepSpec, ...], lines: dict[str, dict[str, Any]]) -> None:
    """Depth-first with an explicit stack (a 1,000-step chain would overflow Python's recursion)."""
    graph = {s.id: s.needs for s in steps}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = finished
    stack: list[str] = []  # the current path
    for s in steps:
        if s.id in state:
            continue
        todo: list[tuple[str, int]] = [(s.id, 0)]  # (node, index of the next need to visit)
        state[s.id] = 1
        stack.append(s.id)
        while todo:
            node, i = todo.pop()
            deps = graph[node]
            if i == len(deps):
                stack.pop()
                state[node] = 2
                continue
            todo.append((node, i + 1))
            dep = deps[i]
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep) :] + [dep]
                path = " → ".join(cycle)
                # Report where the cycle closes: the step whose need points back.
                raise ctx.fail(
                    lines[node][f"needs:{dep}"],
                    f"steps.{node}.{lines[node].get(f'field:{dep}', 'needs')}",
                    f"dependency cycle: {path} (each of these steps waits for the next).",
                    hint="Remove one of these dependencies (from `needs:` or a {{ steps.ID.output }} reference).",
                )
            if state.get(dep) is None:
                state[dep] = 1
                stack.append(dep)
                todo.append((dep, 0))
