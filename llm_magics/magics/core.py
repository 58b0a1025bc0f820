"""The IPython magics: %llm, %%discuss, %%workflow, %%compare.

Thin on purpose: parse arguments (IPython `magic_arguments`, so `%%discuss?` prints help and bad
flags raise `UsageError`), hand over to a handler module in `llm_magics.magics`, which calls the
Python API and renders. Handlers are imported on first use, keeping `%load_ext` fast.
"""

from __future__ import annotations

import importlib
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_cell_magic, magics_class, needs_local_scope
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

__all__ = ["LLMMagics", "register", "SUBCOMMANDS"]

#: `%llm SUB …` → handler module (each has `main(shell, argv, cell)` and a one-line `HELP`).
SUBCOMMANDS: dict[str, str] = {
    "keys": "llm_magics.magics.keys",
    "models": "llm_magics.magics.models",
    "check": "llm_magics.magics.check",
    "config": "llm_magics.magics.config",
    "personas": "llm_magics.magics.personas",
    "workflows": "llm_magics.magics.workflows",
    "history": "llm_magics.magics.history",
    "record": "llm_magics.magics.record",
    "prices": "llm_magics.magics.prices",
    "usage": "llm_magics.magics.usage",
    "balance": "llm_magics.magics.balance",
}

_LLM_HELP = """Keys, models, diagnostics, personas, history and settings.

Usage::

  %llm keys add PROVIDER [--label L]     add a key (hidden prompt; tested at once)
  %llm keys list | keys test [ID] | keys remove ID
  %llm models [PROVIDER] [--refresh|--pick]  model IDs (/v1/models, cached an hour) or the model picker
  %llm check [PROVIDER]                  where the key came from, base URL, reachability
  %llm config [KEY=VALUE ...] [--save]   provider, model, temperature, max_tokens, rpm, budget
  %llm personas [--pick]                 the personas (table, or the picker widget)
  %%llm personas add NAME --role R       a user persona; the cell is its system prompt
  %llm workflows                         built-in workflows
  %llm history [N] [--kind K] [--search TEXT] | history show ID | history export ID --format md|json|csv
  %llm record PATH | record stop         record real streams to a JSONL cassette (replay provider)
  %llm prices [PROVIDER]                 prices per million tokens, with date and source (user overrides)
  %llm usage [--since 7d] [--by model|provider|day|kind]   tokens and cost from the history
  %llm balance [PROVIDER]                account balance (Kimi); %llm config budget=2.50 caps a session

`%llm SUB --help` prints the flags of one subcommand.
"""


def _handler(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise UsageError(f"'{what}' is not available in this version of llm-magics.") from None
        raise


def _call(module: str, what: str, *args: Any) -> Any:
    """Run a handler; our errors become one clean UsageError line (no traceback)."""
    from llm_magics.errors import LLMError

    try:
        return _handler(module, what).main(*args)
    except LLMError as exc:
        raise UsageError(str(exc)) from None


@magics_class
class LLMMagics(Magics):
    @line_cell_magic
    def llm(self, line: str, cell: str | None = None) -> Any:
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%llm: {exc}") from None
        if not argv or argv[0] in {"-h", "--help", "help"}:
            print(_LLM_HELP)
            return None
        sub, rest = argv[0], argv[1:]
        module = SUBCOMMANDS.get(sub)
        if module is None:
            from llm_magics.providers.suggest import did_you_mean

            hint = did_you_mean(sub, SUBCOMMANDS) or "Subcommands: " + ", ".join(SUBCOMMANDS) + "."
            raise UsageError(f"%llm: unknown subcommand '{sub}'. {hint}")
        return _call(module, f"%llm {sub}", self.shell, rest, cell)

    llm.__doc__ = _LLM_HELP

    @magic_arguments(name="%discuss")  # IPython prefixes one '%': the usage line reads %%discuss
    @argument("--personas", "-p", default=None, help='comma-separated names or roles, each optionally @provider:model, e.g. "Noor Okafor@kimi:kimi-k2.6, Sasha@kimi-k2-thinking, Avery"; default: the picker selection (with its models), else all six')
    @argument("--mode", "-m", default="sequential", choices=["sequential", "parallel", "consensus"], metavar="MODE", help="sequential, parallel or consensus: how the personas take turns (default: %(default)s)")
    @argument("--rounds", "-r", type=int, default=None, metavar="N", help="passes (sequential) or debate rounds (parallel/consensus); at least 1 (default: 1, or 3 for consensus)")
    @argument("--aggregator", default=None, choices=["synthesize", "vote", "rank"], metavar="HOW", help="consensus: synthesize, vote or rank — how the final answer is formed (default: synthesize)")
    @argument("--chair", default=None, metavar="PERSONA", help="persona who writes the summary/synthesis, optionally NAME@provider:model (flagged when it also spoke; default: the first persona)")
    @argument("--baselines", action="store_true", help="consensus/parallel: also report the independent first answers, their majority vote, agreement, flips and the token multiple")
    @argument("--seed", type=int, default=None, help="seed for the anonymous labels and per-judge answer orders (vote/rank); random when omitted, always recorded")
    @argument("--temperature", "-t", type=float, default=None, metavar="T", help="sampling temperature (default: %%llm config temperature, else the model's)")
    @argument("--max-tokens", type=int, default=None, metavar="N", help="cap on tokens per answer (default: %%llm config max_tokens, else the model's)")
    @argument("--provider", "-P", default=None, metavar="P", help="provider name, see PROVIDERS (default: %%llm config provider, else kimi when a Kimi key is found, else offline)")
    @argument("--model", "-M", default=None, metavar="M", help="model ID, see %%llm models (default: %%llm config model, else the provider's default)")
    @argument("--out", "-o", default=None, metavar="VAR", help="also store the Transcript in this variable (it is always in %%llm history)")
    @argument("--estimate", action="store_true", help="show the number of calls, prompt tokens and cost range; send no chat request")
    @argument("--thinking", default=None, choices=["on", "off"], help="Kimi thinking models: turn thinking on or off (kimi-k2.6, kimi-k2.5)")
    @argument("--interpolate", action="store_true", help="expand {variables} from the namespace in the topic")
    @needs_local_scope
    @cell_magic
    def discuss(self, line: str, cell: str, local_ns: dict[str, Any] | None = None) -> Any:
        """Several personas discuss the cell's topic, streaming live."""
        args = parse_argstring(self.discuss, line)
        return _call("llm_magics.magics.discuss", "%%discuss", self.shell, args, cell, local_ns)

    @magic_arguments(name="%workflow")  # usage line: %%workflow
    @argument("name", nargs="?", default=None, metavar="NAME", help="a workflow from %%llm workflows; omit it to write a YAML spec in the cell")
    @argument("--provider", "-P", default=None, metavar="P", help="provider name (default: the spec's, else %%llm config provider, else kimi with a key, else offline)")
    @argument("--model", "-M", default=None, metavar="M", help="model ID, checked before any step runs (default: the spec's, else the provider's default)")
    @argument("--out", "-o", default=None, metavar="VAR", help="also store the WorkflowRun in this variable (it is always in %%llm history)")
    @argument("--resume", default=None, metavar="RUN_ID", help="re-run only the failed, skipped and pending steps of RUN_ID (as a line magic: %%workflow --resume RUN_ID)")
    @argument("--estimate", action="store_true", help="show the number of calls, prompt tokens and cost range; send no chat request")
    @argument("--thinking", default=None, choices=["on", "off"], help="Kimi thinking models: turn thinking on or off (kimi-k2.6, kimi-k2.5)")
    @line_cell_magic
    def workflow(self, line: str, cell: str | None = None) -> Any:
        """Run a multi-step workflow: the cell is its input (with NAME) or its YAML spec.

        Also a line magic, because IPython rejects a cell magic with an empty body: resume a run
        with `%workflow --resume RUN_ID` on one line.
        """
        args = parse_argstring(self.workflow, line)
        return _call("llm_magics.magics.workflow", "%%workflow", self.shell, args, cell or "")

    @magic_arguments(name="%compare")  # usage line: %%compare
    @argument("targets", nargs="*", metavar="TARGET", help="provider:model, a model ID of the default provider, or a provider name (its default model)")
    @argument("--repeat", "-n", type=int, default=1, metavar="N", help="runs per target; the table shows the median and the min–max spread (default: %(default)s)")
    @argument("--temperature", "-t", type=float, default=None, metavar="T", help="sampling temperature (default: %%llm config temperature, else the model's)")
    @argument("--max-tokens", type=int, default=None, metavar="N", help="cap on tokens per answer (default: %%llm config max_tokens, else the model's)")
    @argument("--out", "-o", default=None, metavar="VAR", help="also store the Comparison in this variable (it is always in %%llm history)")
    @argument("--estimate", action="store_true", help="show the number of calls, prompt tokens and cost range; send no chat request")
    @argument("--thinking", default=None, choices=["on", "off"], help="Kimi thinking models: turn thinking on or off (kimi-k2.6, kimi-k2.5)")
    @cell_magic
    def compare(self, line: str, cell: str) -> Any:
        """Send the cell's prompt to several models at once; TTFT, latency, tok/s side by side."""
        args = parse_argstring(self.compare, line)
        if not args.targets:
            raise UsageError("%%compare needs at least one TARGET, e.g. %%compare kimi:kimi-k2-0905-preview kimi-k2-turbo-preview")
        return _call("llm_magics.magics.compare", "%%compare", self.shell, args, cell)


def register(ipython: Any) -> None:
    ipython.register_magics(LLMMagics)
    if getattr(ipython, "pt_app", None) is not None:  # terminal IPython: Markdown/YAML cell bodies
        from llm_magics.magics.highlight import register_terminal_lexers

        register_terminal_lexers(ipython)
