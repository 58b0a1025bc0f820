"""`%%workflow [NAME] [--provider P] [--model M] [--out VAR]` and `%workflow --resume RUN_ID`.

With NAME the cell is the workflow's input; without it the cell is a YAML spec (which may carry
its input in an `input:` field). A failed step does not raise: its pane shows the error and the
view's last line names the step and says how to resume. `--out VAR` receives the WorkflowRun either
way (also when interrupted).
"""

from __future__ import annotations

import sys
from typing import Any

from llm_magics.errors import ConfigurationError

__all__ = ["main"]


def main(shell: Any, args: Any, cell: str) -> None:
    from llm_magics.magics.live import run_live
    from llm_magics.events import EventSink
    from llm_magics.workflow.api import WorkflowRun, arun_workflow

    text = cell or ""
    kwargs: dict[str, Any] = {"provider": args.provider, "model": args.model}
    if args.resume:
        if args.name:
            raise ConfigurationError(
                f"%%workflow --resume {args.resume} takes no NAME: the run stores its own workflow and input.",
                hint=f"Use `%workflow --resume {args.resume}` on its own.",
            )
        if text.strip():
            print("Note: the cell is ignored with --resume (the run's stored input is used).", file=sys.stderr)
        kwargs["resume"] = args.resume
    elif args.name:
        kwargs["spec_or_name"] = args.name
        kwargs["input"] = text if text.strip() else None
    else:
        if not text.strip():
            raise ConfigurationError(
                "%%workflow needs a workflow NAME (the cell is then its input) or a YAML spec in the cell.",
                hint="Try `%%workflow security-audit` with code in the cell; `%llm workflows` lists the workflows.",
            )
        kwargs["spec_or_name"] = text
    from llm_magics.magics import preflight

    # --estimate shows the plan and sends nothing; a budget that cannot fit the run raises here.
    if "spec_or_name" in kwargs and preflight.workflow_gate(args, kwargs["spec_or_name"], kwargs.get("input")):
        return None
    thinking = preflight.thinking_options(args)
    box: dict[str, WorkflowRun] = {}

    async def start(sink: EventSink) -> WorkflowRun:
        from llm_magics.keys.resolve import get_provider

        prov = get_provider(args.provider, model=args.model, **thinking) if thinking else None
        try:
            run = await arun_workflow(on_event=sink, **{**kwargs, **({"provider": prov} if prov else {})})
        finally:
            if prov is not None:
                await prov.aclose()
        box["run"] = run
        return run

    # A failed step is shown in its pane, and the view's last line names it with the resume hint.
    run_live(shell, start, out=args.out)
