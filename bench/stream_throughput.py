"""Streaming throughput: our `kimi` provider vs the `openai` SDK on the same loopback server.

The fake server (tests/fakeserver.py) runs in a child process so it does not share our GIL; it
pre-encodes the SSE body and writes it in 64 KiB pieces, so the client is the bottleneck. Each
client streams N chunks (default 20,000) several times; the best run counts. Prints chunks/s for
both and the ratio (goal: >= 2x the SDK).

    python bench/stream_throughput.py [--chunks 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL = "kimi-k2-0905-preview"
KEY = "sk-bench-000000000000"

_SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.fakeserver import FakeLLMServer
srv = FakeLLMServer().start()
n = int(sys.argv[1])
srv.responder = lambda req: "tok " * n
print(srv.base_url, flush=True)
sys.stdin.read()
srv.close()
"""


async def ours(base_url: str, runs: int) -> tuple[float, int]:
    from llm_magics.keys.resolve import get_provider

    provider = get_provider("kimi", api_key=KEY, base_url=base_url, model=MODEL)
    msgs = [{"role": "user", "content": "go"}]
    best, count = float("inf"), 0
    for _ in range(runs):
        t0 = time.perf_counter()
        count = 0
        async for chunk in provider.stream(msgs):
            if chunk.text:
                count += 1
        best = min(best, time.perf_counter() - t0)
    await provider.aclose()
    return best, count


async def sdk(base_url: str, runs: int) -> tuple[float, int]:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key=KEY)
    best, count = float("inf"), 0
    for _ in range(runs):
        t0 = time.perf_counter()
        count = 0
        stream = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "go"}], stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                count += 1
        best = min(best, time.perf_counter() - t0)
    await client.close()
    return best, count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    server = subprocess.Popen([sys.executable, "-c", _SERVER.format(root=str(ROOT)), str(args.chunks)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        asyncio.run(ours(base_url, 1))  # warm-up (imports, server body cache)
        t_ours, n_ours = asyncio.run(ours(base_url, args.runs))
        try:
            t_sdk, n_sdk = asyncio.run(sdk(base_url, args.runs))
        except ImportError:
            print("openai SDK not installed (pip install 'llm-magics[bench]'); ours only.")
            t_sdk, n_sdk = float("nan"), 0
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
    rate_ours = n_ours / t_ours
    print(f"chunks per stream: {args.chunks}, best of {args.runs} runs")
    print(f"llm-magics kimi provider: {rate_ours:12,.0f} chunks/s  ({n_ours} chunks in {t_ours:.3f} s)")
    if n_sdk:
        rate_sdk = n_sdk / t_sdk
        print(f"openai SDK (AsyncOpenAI): {rate_sdk:12,.0f} chunks/s  ({n_sdk} chunks in {t_sdk:.3f} s)")
        print(f"ratio: {rate_ours / rate_sdk:.2f}x the openai SDK (goal >= 2x)")


if __name__ == "__main__":
    main()
