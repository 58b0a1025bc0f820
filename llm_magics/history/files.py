"""The history database file on disk: private modes, damaged files, the writing process.

`history.db` holds every prompt and answer, so it is created 0600 (like the key store) before
SQLite opens it; SQLite gives its `-wal` and `-shm` files the database's mode. Files made by an
older version (0644) are tightened once they open cleanly. A file that is not a database is
reported in one line naming it, and left as it is.

A run being written records its writer (`owner_token()`: host, pid and the process's start
time); a run still "running" whose writer is gone on this host is shown as "crashed".
"""

from __future__ import annotations

import os
import socket
import sqlite3
from pathlib import Path

from llm_magics.errors import ConfigurationError

__all__ = ["ensure_private", "tighten", "damaged", "owner_token", "owner_alive"]

_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def ensure_private(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist (never readable by others, not even briefly)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    except FileExistsError:  # another process created it meanwhile
        return
    os.close(fd)


def tighten(path: Path) -> None:
    """chmod 0600 the database and its WAL/SHM/journal files where others could read them."""
    for suffix in _SIDE_FILES:
        p = Path(f"{path}{suffix}")
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except OSError:  # missing side file, or a filesystem without modes
            pass


def damaged(path: Path, exc: sqlite3.Error, what: str = "history database") -> ConfigurationError:
    """The one-line error for a database SQLite cannot use; the file is never modified."""
    if isinstance(exc, sqlite3.OperationalError):
        return ConfigurationError(
            f"Cannot use the {what} {path}: {exc}.",
            hint="Check that the folder is writable and not full (set LLM_MAGICS_HOME to use another folder).",
        )
    return ConfigurationError(
        f"The {what} {path} is damaged ({exc}); it was left untouched.",
        hint=f"Move it aside (e.g. rename it to {path.name}.bad) and a new one is created; "
        "or set LLM_MAGICS_HOME to use another folder.",
    )


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), "" where unknown; "Z" for a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()  # after "(comm)", which may contain spaces
    if len(fields) < 20:
        return ""
    if fields[0] in ("Z", "X"):  # state: zombie / dead
        return "Z"
    return fields[19]  # field 22 of the whole line: starttime


_TOKENS: dict[int, str] = {}


def owner_token() -> str:
    """"host:pid:start" of this process (start guards against pid reuse); per pid, so a fork gets its own."""
    pid = os.getpid()
    token = _TOKENS.get(pid)
    if token is None:
        token = _TOKENS[pid] = f"{socket.gethostname()}:{pid}:{_start_time(pid)}"
    return token


def owner_alive(token: str | None) -> bool:
    """False when the process that wrote `token` is gone; True when it lives or cannot be checked
    (another host, no token: older rows)."""
    if not token:
        return True
    if token == owner_token():
        return True
    parts = token.rsplit(":", 2)
    if len(parts) != 3:
        return True
    host, pid_text, start = parts
    if host != socket.gethostname():
        return True
    try:
        pid = int(pid_text)
    except ValueError:
        return True
    if pid == os.getpid():  # our pid, another start time: an earlier process (containers reuse pids)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        pass
    except OSError:
        return True
    now = _start_time(pid)
    if now == "Z":
        return False
    return not (start and now and now != start)  # a different process now has this pid
