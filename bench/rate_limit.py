"""The shared scheduler against a server that enforces its limits; printed, never asserted.

A loopback fake Moonshot (tests/fakeserver.py with a `RateGate`) allows N requests per window and C
at a time, announces its limit in X-RateLimit-* headers and refuses anything over with Moonshot's
429 texts. Many callers at once (like a long eval or a big parallel discussion) send M requests
through one Kimi provider. The "minute" is shortened to --window seconds on both sides so the run
takes seconds; the arithmetic is the same.

Prints: the achieved rate ÷ the limit (the share of the allowance used in the first --windows
windows after the first request; goal ≥ 0.9: at the limit, not far under it), the busiest
window ÷ the limit (goal ≤ 1.0) and the requests the server refused (goal 0: not over it).

    python bench/rate_limit.py [--rpm 200] [--concurrency 50] [--window 10] [--windows 3] [--callers 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LLM_MAGICS_HOME", tempfile.mkdtemp(prefix="llm-magics-bench-"))

from llm_magics.keys.resolve import get_provider  # noqa: E402
from tests._fakelimits import RateGate  # noqa: E402
from tests.fakeserver import FakeLLMServer  # noqa: E402

MODEL = "kimi-k2-0905-preview"


async def run(srv: FakeLLMServer, calls: int, callers: int, window: float) -> float:
    p = get_provider("kimi", api_key="sk-bench-rate-0000000000", base_url=srv.base_url, model=MODEL,
                     rate_window=window)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(calls):
        queue.put_nowait(i)

    async def caller() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            await p.complete([{"role": "user", "content": f"item {i}"}])

    t0 = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    took = time.perf_counter() - t0
    await p.aclose()
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rpm", type=int, default=200, help="requests the server allows per window (Moonshot Tier1)")
    ap.add_argument("--concurrency", type=int, default=50, help="requests the server allows at once (Tier1)")
    ap.add_argument("--window", type=float, default=10.0, help="seconds standing in for a minute")
    ap.add_argument("--windows", type=int, default=3, help="run length, in windows")
    ap.add_argument("--callers", type=int, default=64)
    args = ap.parse_args()
    srv = FakeLLMServer().start()
    try:
        srv.default_pacing = (0.02, 0.0)  # each answer takes 20 ms
        srv.gate = RateGate(rpm=args.rpm, concurrency=args.concurrency, window_s=args.window)
        calls = args.rpm * args.windows
        took = asyncio.run(run(srv, calls, args.callers, args.window))
        ok = sorted(r.started_at for r in srv.requests if r.status == 200)
        refused = sum(1 for r in srv.requests if r.status == 429)
        # Achieved: the share of the allowance used in the first `windows` windows from the first
        # accepted request (a perfect client sends rpm requests in each of them: 1.0).
        used = sum(1 for t in ok if t < ok[0] + args.windows * args.window)
        rate = used / args.windows
        busiest = max(sum(1 for t in ok[i:] if t < s + args.window) for i, s in enumerate(ok))
    finally:
        srv.close()
    print(f"rate limit: {calls} calls by {args.callers} callers against {args.rpm} per {args.window:g} s "
          f"and {args.concurrency} at a time: {took:.1f} s")
    print(f"rate limit: achieved {rate / args.rpm:.2f} of the limit (goal ≥ 0.9); "
          f"busiest window {busiest / args.rpm:.2f} of it (goal ≤ 1.0); {refused} requests refused (goal 0); "
          f"peak {srv.gate.max_active} at once (limit {args.concurrency})")


if __name__ == "__main__":
    main()
