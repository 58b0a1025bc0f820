"""Settings: session (`%llm config`) > environment > saved file > built-in default.

Each effective value knows where it came from, so `%llm config` can say it. The saved file is
`LLM_MAGICS_HOME/config.json`; it never holds keys (those live in the key store).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_magics.errors import ConfigurationError

__all__ = [
    "home",
    "Setting",
    "SETTINGS",
    "effective",
    "get",
    "set_session",
    "save",
    "reset_session",
    "first_time",
    "display_path",
    "request_defaults",
]


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    kind: type
    help: str
    minimum: float | None = None
    maximum: float | None = None

    def parse(self, raw: Any) -> Any:
        if raw is None or raw == "":
            return None
        try:
            value = self.kind(raw)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"{self.name}={raw!r} is not a valid {self.kind.__name__}.", hint=f"{self.name}: {self.help}"
            ) from None
        if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
            raise ConfigurationError(
                f"{self.name}={raw} is out of range [{self.minimum}, {self.maximum}].", hint=self.help
            )
        return value


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("provider", "LLM_MAGICS_PROVIDER", str, "default provider for magics and the API"),
        Setting("model", "LLM_MAGICS_MODEL", str, "default model ID for the default provider"),
        Setting("temperature", "LLM_MAGICS_TEMPERATURE", float, "sampling temperature", 0.0, 2.0),
        Setting("max_tokens", "LLM_MAGICS_MAX_TOKENS", int, "cap on tokens per answer", 1, 1_000_000),
        Setting("rpm", "LLM_MAGICS_RPM", int,
                "requests per minute per provider+key (a lower limit the server announces still wins)", 1, 100_000),
        Setting("concurrency", "LLM_MAGICS_CONCURRENCY", int,
                "requests in flight at once per provider+key (a lower limit the server announces still wins)",
                1, 10_000),
        Setting("connect_timeout", "LLM_MAGICS_CONNECT_TIMEOUT", float,
                "seconds to wait for a connection to the provider (default 10)", 0.1, 600.0),
        Setting("read_timeout", "LLM_MAGICS_READ_TIMEOUT", float,
                "longest wait in seconds for the next piece of an answer; keep-alive comments do not count "
                "(default 120)", 0.1, 3600.0),
        Setting("deadline", "LLM_MAGICS_DEADLINE", float,
                "seconds one call may take in all, retries included; waiting for the rate limit is not counted "
                "(default 1800)", 1.0, 86_400.0),
        Setting("budget", "LLM_MAGICS_BUDGET", float,
                "session spending cap in the price currency; runs that would exceed it are refused", 0.0, 1e9),
    )
}

_session: dict[str, Any] = {}


def home() -> Path:
    """Folder for the key store, history DB and model cache (`LLM_MAGICS_HOME` or the user data dir)."""
    env = os.environ.get("LLM_MAGICS_HOME")
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("llm-magics", appauthor=False))
    if path not in _homes_made:  # once per folder and process: hot paths (prices, budget) call this per request
        path.mkdir(parents=True, exist_ok=True)
        _homes_made.add(path)
    return path


_homes_made: set[Path] = set()


def _config_file() -> Path:
    return home() / "config.json"


def _saved() -> dict[str, Any]:
    path = _config_file()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigurationError(
            f"Cannot read {path}: {exc}.", hint="Fix or delete the file; `%llm config --save` rewrites it."
        ) from None
    return data if isinstance(data, dict) else {}


def _lookup(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        from llm_magics.providers.suggest import did_you_mean

        hint = did_you_mean(name, SETTINGS) or "Settings: " + ", ".join(SETTINGS) + "."
        raise ConfigurationError(f"Unknown setting '{name}'.", hint=hint) from None


def effective() -> dict[str, tuple[Any, str]]:
    """Every setting → (value, source) where source is session / env:VAR / saved / default."""
    saved = _saved()
    out: dict[str, tuple[Any, str]] = {}
    for name, setting in SETTINGS.items():
        if name in _session:
            out[name] = (_session[name], "session")
        elif os.environ.get(setting.env):
            out[name] = (setting.parse(os.environ[setting.env]), f"env:{setting.env}")
        elif name in saved:
            out[name] = (setting.parse(saved[name]), "saved")
        else:
            out[name] = (None, "default")
    return out


def get(name: str) -> Any:
    _lookup(name)
    return effective()[name][0]


def set_session(**values: Any) -> None:
    """Validate and set values for this Python session (None removes one)."""
    parsed = {name: _lookup(name).parse(raw) for name, raw in values.items()}
    for name, value in parsed.items():
        if name == "provider" and value is not None:
            from llm_magics.providers.registry import PROVIDERS

            value = PROVIDERS[value].name  # raises with did-you-mean
        if value is None:
            _session.pop(name, None)
        else:
            _session[name] = value


def reset_session() -> None:
    _session.clear()
    _seen.clear()


_seen: set[str] = set()


def display_path(path: Path | str) -> str:
    """A path as output should show it: under LLM_MAGICS_HOME (when that is set) as
    `$LLM_MAGICS_HOME/...`, under the user's home as `~/...`. A demo's or a test's temp folder
    then never ends up in a saved notebook, and nobody's user name does either."""
    text = str(path)
    set_home = os.environ.get("LLM_MAGICS_HOME", "").strip()
    for prefix, name in ((set_home and str(Path(set_home).expanduser()), "$LLM_MAGICS_HOME"),
                         (os.path.expanduser("~"), "~")):
        if prefix and (text == prefix or text.startswith(prefix.rstrip(os.sep) + os.sep)):
            return name + text[len(prefix.rstrip(os.sep)):]
    return text


def first_time(key: str) -> bool:
    """True the first time `key` is asked about in this session (a notice shown once per kernel)."""
    if key in _seen:
        return False
    _seen.add(key)
    return True


def save(**values: Any) -> Path:
    """Persist values (validated) to LLM_MAGICS_HOME/config.json; None removes one."""
    data = _saved()
    for name, raw in values.items():
        value = _lookup(name).parse(raw)
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    path = _config_file()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return path


#: Settings passed to every provider as options when set (see `llm_magics.providers.http`).
PROVIDER_OPTIONS = ("temperature", "max_tokens", "rpm", "concurrency", "connect_timeout", "read_timeout", "deadline")


def request_defaults() -> dict[str, Any]:
    """Settings that become provider options (`PROVIDER_OPTIONS`) when set."""
    eff = effective()
    return {k: eff[k][0] for k in PROVIDER_OPTIONS if eff[k][0] is not None}
