"""`%%eval` throughput: (a) at the rate limit, not over it; (b) the eval machinery's own overhead.

(a) A loopback Moonshot-compatible server (tests/fakeserver.py with its `RateGate`, in a child
    process) enforces N requests per rolling minute: a request that would be the (N+1)-th in the
    last 60 s gets Moonshot's 429 ("request reached organization max RPM: N"), and every answer
    carries `X-RateLimit-Limit/Remaining/Reset`. An eval with far more calls than fit runs against it through the real `kimi`
    provider and the shared scheduler for one window (`--seconds`, default 60) and is then
    stopped. Prints the requests the server accepted in that window ÷ N (goal >= 0.9) and the
    requests above the limit, i.e. the ones the server had to refuse (goal 0).
(b) 5,000 calls (1,000 items × repeat 5) on the offline provider at zero delay, history on:
    calls/s of the whole machinery (plan, workers, scoring, history rows, events, summary with
    bootstrap CIs) (goal >= 2,000) and the RSS growth of the process (goal <= 100 MB).

    python bench/eval_throughput.py [--part a|b|both] [--rpm 60] [--seconds 60] [--calls 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = "sk-bench-eval-0000000000000"

_SERVER = r"""
import sys, threading, time
sys.path.insert(0, {root!r})
from tests.fakeserver import FakeLLMServer
from tests._fakelimits import RateGate

class CountingGate(RateGate):
    # RateGate forgets starts older than the window; keep every admitted start for the report.
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.admitted = []
    def enter(self):
        refusal = super().enter()
        if refusal is None:
            self.admitted.append(time.monotonic())
        return refusal

srv = FakeLLMServer().start()
srv.gate = CountingGate(rpm=int(sys.argv[1]), window_s=60.0)
srv.responder = lambda req: "The answer is 4."
srv.default_pacing = (0.05, 0.01)
print(srv.base_url, flush=True)
for line in sys.stdin:
    print(srv.gate.refused, *srv.gate.admitted, flush=True)
srv.close()
"""


def part_a(rpm: int, seconds: float) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _SERVER.format(root=str(ROOT)), str(rpm)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin and proc.stdout
    base_url = proc.stdout.readline().strip()
    os.environ.update(KIMI_API_KEY=KEY, KIMI_BASE_URL=base_url)
    from llm_magics.evaluation import aevaluate

    rows = [{"q": f"What is {i} + 1?", "answer": i + 1} for i in range(rpm * 4)]
    t_start = time.monotonic()

    async def run() -> None:
        task = asyncio.ensure_future(aevaluate(rows, "{{ q }}", ["kimi:kimi-k2-0905-preview"], scorer="contains",
                                               history=False))
        await asyncio.sleep(seconds + 5)  # the window starts at the first request (soon after t_start)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(run())
    proc.stdin.write("report\n")
    proc.stdin.flush()
    refused_s, *times_s = proc.stdout.readline().split()
    proc.stdin.close()
    proc.wait(timeout=10)
    starts = sorted(float(t) for t in times_s)
    first = starts[0] if starts else t_start
    in_window = sum(1 for t in starts if t < first + seconds)
    ratio = in_window / (rpm * seconds / 60.0)
    print(f"(a) limit {rpm} requests/min, window {seconds:.0f} s: accepted {in_window} → "
          f"{in_window * 60.0 / seconds:.1f} requests/min = {ratio:.3f} of the limit (goal ≥ 0.9); "
          f"requests above the limit: {int(refused_s)} (goal 0)")


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def part_b(calls: int) -> None:
    os.environ["LLM_MAGICS_OFFLINE_DELAY"] = "0"
    from llm_magics.evaluation import evaluate

    repeat = 5
    rows = [{"question": f"What is {i} + {i}?", "answer": 2 * i} for i in range(max(calls // repeat, 1))]
    evaluate(rows[:20], "{{ question }}", ["offline:kimi-k2.6"], scorer="number")  # warm up imports, loop, DB
    import gc

    gc.collect()
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    res = evaluate(rows, "{{ question }}", ["offline:kimi-k2.6"], scorer="number", repeat=repeat)
    dt = time.perf_counter() - t0
    n = len(res.calls)
    gc.collect()
    rss1 = _rss_mb()
    print(f"(b) {n:,} offline calls in {dt:.2f} s = {n / dt:,.0f} calls/s (goal ≥ 2,000); "
          f"RSS {rss0:.0f} → {rss1:.0f} MB, growth {rss1 - rss0:.1f} MB (goal ≤ 100 MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["a", "b", "both"], default="both")
    ap.add_argument("--rpm", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--calls", type=int, default=5000)
    args = ap.parse_args()
    os.environ.setdefault("LLM_MAGICS_HOME", tempfile.mkdtemp(prefix="llm-magics-bench-"))
    os.environ["LLM_MAGICS_NO_KEYRING"] = "1"
    for var in ("KIMI_API_KEY", "MOONSHOT_API_KEY", "LLM_MAGICS_PROVIDER", "LLM_MAGICS_RPM"):
        os.environ.pop(var, None)
    if args.part in ("b", "both"):
        part_b(args.calls)
    if args.part in ("a", "both"):
        part_a(args.rpm, args.seconds)


if __name__ == "__main__":
    main()
