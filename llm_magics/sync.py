"""run_sync: run a coroutine to completion from synchronous code, anywhere.

Jupyter kernels already run an asyncio loop in the main thread, so `asyncio.run` fails there and
patching the loop (nest_asyncio) hangs with httpx/anyio. Instead we keep ONE private event loop in a
daemon worker thread for the whole session: coroutines are submitted to it and the caller's thread
waits. This works the same in a Jupyter kernel, terminal IPython, plain Python and nbclient.
Keeping one loop also lets httpx connection pools be reused across cells.

Ctrl-C / kernel interrupt (KeyboardInterrupt in the waiting thread) cancels the task; the task gets
`grace_s` seconds to save its partial work, then KeyboardInterrupt is re-raised to the caller.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

__all__ = ["run_sync", "sync_twin", "background_loop", "in_background_loop"]

T = TypeVar("T")
P = ParamSpec("P")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """The session's private event loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed() or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def runner() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            thread = threading.Thread(target=runner, name="llm-magics-loop", daemon=True)
            thread.start()
            ready.wait()
            _loop, _thread = loop, thread
        return _loop


def in_background_loop() -> bool:
    return _thread is not None and threading.current_thread() is _thread


def run_sync(coro: Coroutine[Any, Any, T], *, grace_s: float = 2.0) -> T:
    """Run `coro` on the private loop and return its result (its exception is re-raised).

    Called from inside the private loop's own thread it would deadlock, so that raises instead.
    """
    if in_background_loop():
        coro.close()
        raise RuntimeError("run_sync() called from the llm-magics loop thread; await the coroutine instead")
    loop = background_loop()
    future: concurrent.futures.Future[T] = concurrent.futures.Future()
    task_box: list[asyncio.Task[T]] = []

    def start() -> None:
        task = loop.create_task(coro)
        task_box.append(task)

        def done(t: asyncio.Task[T]) -> None:
            if t.cancelled():
                future.set_exception(KeyboardInterrupt())
            elif t.exception() is not None:
                future.set_exception(t.exception())
            else:
                future.set_result(t.result())

        task.add_done_callback(done)

    loop.call_soon_threadsafe(start)
    try:
        # Short waits keep the main thread responsive to KeyboardInterrupt on every platform.
        while True:
            try:
                return future.result(timeout=0.1)
            except concurrent.futures.TimeoutError:
                continue
    except KeyboardInterrupt:
        def cancel() -> None:
            if task_box:
                task_box[0].cancel()

        loop.call_soon_threadsafe(cancel)
        try:
            future.result(timeout=grace_s)
        except BaseException:
            pass
        raise


def sync_twin(afn: Callable[P, Coroutine[Any, Any, T]], name: str) -> Callable[P, T]:
    """The blocking twin of an async API function (`discuss` for `adiscuss`, …).

    Same signature and docs as `afn` (help() and tab-completion show them), run via `run_sync`.
    """

    @functools.wraps(afn)
    def twin(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_sync(afn(*args, **kwargs))

    twin.__name__ = twin.__qualname__ = name
    twin.__doc__ = f"Blocking twin of `{afn.__name__}`: works in Jupyter, terminal IPython and scripts.\n\n" + (
        afn.__doc__ or ""
    )
    return twin
