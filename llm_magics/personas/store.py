"""Where personas come from on disk: the packaged built-ins and the user's persona folder.

User files (`LLM_MAGICS_HOME/personas/*.yaml|*.yml|*.toml`) hold one persona (a mapping of
fields), a list of them, or a mapping with a `personas:` list (TOML: `[[personas]]`). Files are
re-read only when they change. A bad file becomes ONE ConfigurationError naming the file and the
field; it is kept in `user_errors()` and warned about once, and never stops the others loading.
"""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path
from typing import Any

from llm_magics.errors import ConfigurationError
from llm_magics.personas.model import Persona

__all__ = [
    "load_builtins",
    "load_user_personas",
    "user_errors",
    "personas_dir",
    "load_file",
    "write_user_persona",
    "remove_user_persona",
    "SUFFIXES",
]

SUFFIXES = (".yaml", ".yml", ".toml")

# path → ((mtime_ns, size), personas, error)
_cache: dict[str, tuple[tuple[int, int], list[Persona], ConfigurationError | None]] = {}
_last_errors: list[ConfigurationError] = []
_warned: set[str] = set()


@functools.lru_cache(maxsize=1)
def load_builtins() -> tuple[Persona, ...]:
    """The packaged personas (data/personas.yaml), parsed once per session."""
    from importlib.resources import files

    text = files("llm_magics").joinpath("data/personas.yaml").read_text(encoding="utf-8")
    return tuple(_parse(text, "built-in personas.yaml", ".yaml", source="built-in"))


def personas_dir() -> Path:
    from llm_magics import config

    return config.home() / "personas"


def _yaml_error(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"invalid YAML at line {mark.line + 1}: {problem}" if mark is not None else f"invalid YAML: {problem}"


def _load_toml(text: str) -> Any:
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]  # Python 3.11+
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
        except ModuleNotFoundError:
            raise ConfigurationError(
                "TOML persona files need Python 3.11+ or the 'tomli' package.",
                hint="`pip install tomli`, or write the persona as YAML instead.",
            ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"invalid TOML: {exc}") from None


def _parse(text: str, where: str, suffix: str, *, source: str) -> list[Persona]:
    """Personas in one file's text; any problem → ConfigurationError naming `where` and the field."""
    try:
        if suffix == ".toml":
            data = _load_toml(text)
        else:
            import yaml

            try:
                data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # C loader: ~5x faster
            except yaml.YAMLError as exc:
                raise ConfigurationError(_yaml_error(exc)) from None
            except RecursionError:
                raise ConfigurationError("the YAML is nested too deeply to read") from None
        if data is None or data == {} or data == []:
            raise ConfigurationError("the file is empty")
        if isinstance(data, dict) and "personas" in data:
            data = data["personas"]
        entries = data if isinstance(data, list) else [data]
        out: list[Persona] = []
        for i, entry in enumerate(entries, 1):
            try:
                out.append(Persona.from_dict(entry, source=source))
            except ConfigurationError as exc:
                if len(entries) == 1:
                    raise
                who = f" ({entry.get('name')!r})" if isinstance(entry, dict) and entry.get("name") else ""
                raise ConfigurationError(f"entry {i}{who}: {exc.message}", hint=exc.hint) from None
        return out
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"Cannot load persona file {where}: {exc.message}",
            hint=exc.hint or "Fix or delete the file; the other personas still work.",
        ) from None


def load_file(path: str | Path) -> list[Persona]:
    """The personas in one user file (raises one ConfigurationError naming file and field)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"Cannot read persona file {p}: {exc}.", hint="Check the file's permissions and encoding.") from None
    return _parse(text, str(p), p.suffix.lower(), source=str(p))


def _scan() -> tuple[list[Persona], list[ConfigurationError]]:
    folder = personas_dir()
    if not folder.is_dir():
        return [], []
    found: list[Persona] = []
    errors: list[ConfigurationError] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in SUFFIXES or path.name.startswith("."):
            continue
        try:
            st = path.stat()
        except OSError:
            continue
        stamp = (st.st_mtime_ns, st.st_size)
        key = str(path)
        cached = _cache.get(key)
        if cached is None or cached[0] != stamp:
            try:
                cached = (stamp, load_file(path), None)
            except ConfigurationError as exc:
                cached = (stamp, [], exc)
            _cache[key] = cached
        found.extend(cached[1])
        if cached[2] is not None:
            errors.append(cached[2])
    return found, errors


def load_user_personas() -> list[Persona]:
    """Every loadable user persona; problems go to `user_errors()` and one warning each."""
    found, errors = _scan()
    _last_errors[:] = errors
    for err in errors:
        if err.message not in _warned:
            _warned.add(err.message)
            warnings.warn(str(err), UserWarning, stacklevel=3)
    return found


def user_errors() -> list[ConfigurationError]:
    return list(_scan()[1])


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "persona"


def _dump(persona: Persona) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    d = persona.to_dict()
    d.pop("source", None)
    data = {k: d[k] for k in ("name", "role", "emoji", "color", "bio", "aliases", "system_prompt") if d.get(k)}
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def write_user_persona(persona: Persona, *, overwrite: bool = False) -> Path:
    """Save `persona` as `personas/<slug>.yaml`; refuses to replace a file unless `overwrite`."""
    folder = personas_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_slug(persona.name)}.yaml"
    if path.exists() and not overwrite:
        raise ConfigurationError(
            f"A persona file for '{persona.name}' already exists: {path}.",
            hint="Add --force to replace it, or choose another name.",
        )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(_dump(persona), encoding="utf-8")
    tmp.replace(path)
    _cache.pop(str(path), None)
    return path


def remove_user_persona(name: str) -> list[Path]:
    """Delete the user file(s) defining `name`; built-ins cannot be removed."""
    key = " ".join(name.split()).casefold()
    hits: list[Path] = []
    found, _ = _scan()
    for p in found:
        if p.name.casefold() == key or p.first_name.casefold() == key:
            path = Path(p.source)
            if path.exists() and path not in hits:
                hits.append(path)
    if not hits:
        builtin = any(b.name.casefold() == key or b.first_name.casefold() == key for b in load_builtins())
        raise ConfigurationError(
            f"No user persona file defines '{name}'.",
            hint="Built-in personas cannot be removed." if builtin else f"User personas live in {personas_dir()}.",
        )
    for path in hits:
        path.unlink()
        _cache.pop(str(path), None)
    return hits
