"""`%%eval TARGET … --data VAR_OR_PATH [--scorer S] …` (the cell is the template) and `%eval --resume RUN_ID`.

Thin: parse the flags, turn `--data` / `--scorer` names into objects from the user's namespace
when they name a variable, call `aevaluate` (or `aresume_eval`) under `run_live` with the eval
view (widgets in a kernel, a one-line progress and the table in a terminal). Errors are one
`UsageError` line; Ctrl-C keeps every finished call, stores the partial result in `--out` and
ends the cell as interrupted.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, needs_local_scope
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

__all__ = ["EvalMagics", "EvalTextView", "main"]


class EvalTextView:
    """Terminal rendering: one progress line (rewritten in place on a tty, at most 4 times a second),
    notices as they come, a "[wait] waiting for the rate limit: … (~N s)" line when calls start
    queueing for the shared scheduler (again only when the reason changes), and the table once
    the run ends."""

    def __init__(self, stream: Any = None, *, tty: bool | None = None) -> None:
        self.out = stream or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.run: Any = None
        self._last = 0.0
        self._t0: float | None = None
        self._first = 0
        self._line = False
        self.final_markdown: str | None = None
        #: call → its Waiting text while it queues for the rate limit; the reason last printed.
        self.waiting: dict[str, str] = {}
        self._wait_reason: str | None = None

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def __call__(self, event: Any) -> None:
        from llm_magics.evaluation.render import progress_text
        from llm_magics.events import Notice, Progress, RunFinished, RunStarted, Waiting

        if isinstance(event, RunStarted):
            self.run = event.run
            self._write(f"{event.title}\n")
        elif isinstance(event, Progress):
            now = time.monotonic()
            if self._t0 is None:
                self._t0, self._first = now, event.done
            final = event.done >= event.total
            if self.tty and (final or now - self._last >= 0.25):
                self._last = now
                queued = f" · {len(self.waiting)} waiting for the rate limit" if self.waiting and not final else ""
                self._write("\r" + progress_text(event.done, event.total, event.done - self._first, now - self._t0)
                            + queued + "   ")
                self._line = True
        elif isinstance(event, Waiting):
            self.waiting.pop(event.pane, None)
            if event.text:
                self.waiting[event.pane] = event.text
                reason = event.text.split(" (~")[0]  # without the expected wait, which differs per call
                if reason != self._wait_reason:
                    self._wait_reason = reason
                    self._end_line()
                    self._write(f"[wait] {event.text}\n")
            elif not self.waiting:
                self._wait_reason = None  # every queued call was sent: the next wait is news again
        elif isinstance(event, Notice):
            self._end_line()
            self._write(f"[{event.level}] {event.text}\n")
        elif isinstance(event, RunFinished):
            self._end_line()
            self.final_markdown = event.markdown
            self._write((str(self.run) if self.run is not None else event.markdown) + "\n")

    def _end_line(self) -> None:
        if self._line:
            self._write("\n")
            self._line = False

    def close(self, status: str = "done") -> None:
        self._end_line()
        self.out.flush()


def _make_view() -> Any:
    from llm_magics.magics.live import in_kernel

    if in_kernel():
        try:
            from llm_magics.ui.eval_view import EvalView
        except ImportError:
            return EvalTextView()
        return EvalView()
    return EvalTextView()


def _lookup(shell: Any, local_ns: dict[str, Any] | None, name: str) -> tuple[bool, Any]:
    for ns in (local_ns or {}, getattr(shell, "user_ns", {}) or {}):
        if name in ns:
            return True, ns[name]
    return False, None


def _data(shell: Any, local_ns: dict[str, Any] | None, spec: str) -> Any:
    found, value = _lookup(shell, local_ns, spec)
    if found:
        return value
    from pathlib import Path

    if Path(spec).expanduser().exists() or "/" in spec or "." in spec:
        return spec
    from llm_magics.evaluation.datasets import DATASETS

    if spec.strip().lower().replace("_", "-") in DATASETS:
        return spec
    names = [k for k, v in (getattr(shell, "user_ns", {}) or {}).items()
             if not k.startswith("_") and (isinstance(v, list) or hasattr(v, "to_dict"))]
    from llm_magics.providers.suggest import did_you_mean

    hint = did_you_mean(spec, names + list(DATASETS))
    raise UsageError(f"%%eval: --data {spec} is not a variable, a file or a shipped dataset ({', '.join(DATASETS)}). "
                     + (hint or "Give a DataFrame or list of dicts variable, or a .jsonl/.csv/.json/.parquet path."))


def _scorer(shell: Any, local_ns: dict[str, Any] | None, spec: str) -> Any:
    if spec.isidentifier():
        found, value = _lookup(shell, local_ns, spec)
        if found and callable(value):
            return value
    return spec


def main(shell: Any, args: Any, cell: str, local_ns: dict[str, Any] | None = None) -> None:
    """Run (or `--estimate`, or `--resume`) an eval with its live view; the result goes to `--out`."""
    from llm_magics.magics.live import run_live

    if args.resume:
        if args.targets or args.data or (cell or "").strip():
            raise UsageError("%eval --resume RUN_ID continues a stored run: give no targets, --data or template.")
        from llm_magics.evaluation.api import aresume_eval

        run_live(shell, lambda sink: aresume_eval(args.resume, concurrency=args.concurrency, on_event=sink),
                 out=args.out, view=_make_view())
        return
    template = (cell or "").strip("\n")
    if not template.strip():
        raise UsageError("%%eval needs a prompt template in the cell body, e.g. {{ question }}.")
    if not args.targets:
        raise UsageError("%%eval needs at least one TARGET, e.g. %%eval kimi:kimi-k2.6 kimi-k2-turbo-preview --data df")
    if not args.data:
        raise UsageError("%%eval needs --data VAR_OR_PATH (a DataFrame or list of dicts variable, a file, or 'arithmetic').")
    options: dict[str, Any] = dict(
        scorer=_scorer(shell, local_ns, args.scorer), expected=args.expected, repeat=args.repeat, limit=args.limit,
        sample=args.sample, seed=args.seed, judge=args.judge, workflow=args.workflow, step=args.step,
        system=args.system, temperature=args.temperature, max_tokens=args.max_tokens, concurrency=args.concurrency,
    )
    data = _data(shell, local_ns, args.data)
    if args.estimate:
        from llm_magics.evaluation.api import estimate_eval

        est = estimate_eval(data, template, list(args.targets), **options)
        from IPython.display import Markdown, display

        display(Markdown(est.to_markdown()))
        if args.out and shell is not None:
            shell.user_ns[args.out] = est
        return
    from llm_magics.evaluation.api import aevaluate

    run_live(shell, lambda sink: aevaluate(data, template, list(args.targets), on_event=sink, **options),
             out=args.out, view=_make_view())


@magics_class
class EvalMagics(Magics):
    @magic_arguments()
    @argument("targets", nargs="*", help="provider:model or a model ID of the default provider, e.g. kimi:kimi-k2.6 kimi-k2-turbo-preview")
    @argument("--data", "-d", default=None, metavar="VAR_OR_PATH", help="a DataFrame / list-of-dicts variable, a .jsonl/.csv/.json/.parquet path, or a shipped set: arithmetic, vulnerable-snippets")
    @argument("--scorer", "-s", default="exact", help="exact (default), contains, regex:PATTERN, number, choice, json[:SCHEMA.json], cwe, judge, or the name of a function (output, row) -> bool | float")
    @argument("--expected", "-e", default="answer", metavar="COL", help="the column holding the expected answer (default: answer)")
    @argument("--repeat", "-k", type=int, default=1, metavar="K", help="calls per item and target; K > 1 adds pass@K, maj@K and consistency")
    @argument("--limit", type=int, default=None, metavar="N", help="only the first N items")
    @argument("--sample", type=int, default=None, metavar="N", help="N items drawn at random (with --seed)")
    @argument("--seed", type=int, default=0, metavar="S", help="seed for --sample and the bootstrap (default 0)")
    @argument("--judge", default=None, metavar="TARGET", help="the model that grades answers with --scorer judge (blind: it never sees which model answered)")
    @argument("--workflow", "-w", default=None, metavar="NAME", help="run each item through this workflow (e.g. security-audit) per target and score its final step")
    @argument("--step", default=None, metavar="ID", help="with --workflow: the step whose output is scored (default: the last)")
    @argument("--system", default=None, help="a system prompt sent with every item")
    @argument("--temperature", "-t", type=float, default=None, help="sampling temperature")
    @argument("--max-tokens", type=int, default=None, help="cap on tokens per answer")
    @argument("--concurrency", "-c", type=int, default=None, metavar="N", help="calls in flight per provider (default: the scheduler's / %%llm config concurrency, else 8)")
    @argument("--out", "-o", default=None, metavar="VAR", help="store the EvalResult (or the Estimate) in this variable; kept on Ctrl-C too")
    @argument("--estimate", action="store_true", help="show calls, prompt tokens and the cost range; send no chat request")
    @argument("--resume", default=None, metavar="RUN_ID", help="send only the calls RUN_ID is missing (and retry failed ones): %%eval --resume RUN_ID")
    @needs_local_scope
    @line_cell_magic
    def eval(self, line: str, cell: str | None = None, local_ns: dict[str, Any] | None = None) -> Any:  # noqa: A003 - the magic's name
        """Evaluate model IDs on a labelled dataset: the cell is the prompt template ({{ column }}).

        Shows one progress bar and a live table per target (score ± 95% CI, errors, pass@K,
        maj@K, latency, tokens, cost), then a static table (and a chart when matplotlib is
        installed). Every call is stored in the history as it lands; `%eval --resume RUN_ID`
        (a line magic) continues an interrupted or stopped run. Example::

            %%eval kimi:kimi-k2.6 kimi-k2-turbo-preview --data arithmetic --scorer number --repeat 3 --out res
            {{ question }}
            Reply with the number only.
        """
        from llm_magics.errors import LLMError

        args = parse_argstring(self.eval, line)
        try:
            return main(self.shell, args, cell or "", local_ns)
        except LLMError as exc:
            raise UsageError(str(exc)) from None
