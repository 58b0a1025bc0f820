"""YAML workflows: spec parsing and validation, the step executor, runs that resume, and the
built-in workflows (`builtin/*.yaml`)."""

from __future__ import annotations

from llm_magics.workflow.api import (
    StepResult,
    StepSpec,
    WorkflowRun,
    WorkflowSpec,
    arun_workflow,
    builtin_workflows,
    load_workflow,
    run_workflow,
    user_workflows_dir,
)

__all__ = [
    "run_workflow",
    "arun_workflow",
    "WorkflowRun",
    "WorkflowSpec",
    "StepSpec",
    "StepResult",
    "load_workflow",
    "builtin_workflows",
    "user_workflows_dir",
]
