"""llama.cpp vs vLLM behind the host: the same workload, side by side in one run.

100 tenants, one revision each (rank 8, the last 3 blocks, all 7 projections: the trainer's
defaults), on the embedded SmolLM2 at F32. Each engine in turn serves the host's gateway
(real uvicorn, real HTTP clients); requests go round-robin over the 100 tenants'
`personal` (so most adapters are cold at K resident), greedy, 16 new tokens (llama.cpp
may stop earlier: output tokens/s counts what came back). For 1, 8 and 32 concurrent
clients: requests/s, output tokens/s, latency p50/p95; per engine: cold load of an
adapter (p50/p95, the engine's own load call), memory per resident adapter (the engine's
processes' RSS after loading K adapters minus before, ÷ K) and start-up. At the end, the
engine the host would pick per concurrency (the one with more requests/s).

    .venv/bin/python benchmarks/host_engines.py [--tenants 100] [--resident 32] [--json out]

Needs the vLLM venv (personal.host.vllm_env install; $PERSONAL_VLLM_VENV). Runs one engine
at a time (vLLM needs ~4 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from personal.adapters.formats import export_all  # noqa: E402
from personal.host.base import prepare_base  # noqa: E402
from personal.host.catalog import RevisionRecord  # noqa: E402
from personal.host.runtime import HostConfig, HostRuntime  # noqa: E402
from personal.host.tenants import new_token, token_hash  # noqa: E402
from personal.models import catalog  # noqa: E402
from tests.revisions import random_weights, write_adapter  # noqa: E402
from tests.vllmkit import gateway  # noqa: E402

TARGETS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")  # fmt: skip
PROMPTS = ["What is the capital of France?", "Give me one tip for sleeping better.",
           "Name three colors.", "What is 12 times 12?", "Say something kind."]  # fmt: skip


def populate(runtime: HostRuntime, src, n: int, work: Path) -> list[str]:
    """n tenants with one registered revision each (made here, as intake would store it)."""
    tokens = []
    for i in range(n):
        token = new_token()
        tenant = runtime.catalog.add_tenant(f"t{i:03d}", token_hash(token))
        weights = random_weights(src, seed=1000 + i, rank=8, layers=3, std=0.05, targets=TARGETS)
        mlx = write_adapter(work / f"a{i}" / "mlx", src, weights, scale=20.0)
        out = work / f"a{i}" / "out"
        export_all(mlx, runtime.base.model, out)
        files = {str(p.relative_to(out)): runtime.store.put_file(p)
                 for p in sorted(out.rglob("*")) if p.is_file()}  # fmt: skip
        rid = files["mlx/adapters.safetensors"]
        runtime.catalog.register(RevisionRecord(tenant.id, rid, None, {"id": rid}, files,
                                                1, "2026-01-01T00:00:00Z"), move=True)  # fmt: skip
        tokens.append(token)
    return tokens


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def engine_pids(runtime: HostRuntime) -> list[int]:
    server = getattr(runtime.served, "server", None)
    return server.pids() if server is not None else [os.getpid()]


def load_figures(runtime: HostRuntime, resident: int) -> dict:
    """Cold loads (the engine's own call, idle engine) and memory per resident adapter."""
    records = [runtime.catalog.revisions(t.id)[0] for t in runtime.catalog.tenants()]
    refs = [runtime.served.ref(r, runtime.store) for r in records]
    engine = runtime.engine
    for ref in refs[:resident]:
        engine.evict(ref)
    time.sleep(1)
    before = rss_mb(engine_pids(runtime))
    loads = []
    for ref in refs[:resident]:
        t = time.perf_counter()
        engine.preload(ref)
        loads.append(time.perf_counter() - t)
    # vLLM reads an adapter's weights into memory when a request first uses it
    from personal.engine.base import GenerationParams

    for ref in refs[:resident]:
        engine.chat([{"role": "user", "content": "hi"}], GenerationParams(max_tokens=1,
                    temperature=0.0), adapter=ref).complete()  # fmt: skip
    time.sleep(1)
    after = rss_mb(engine_pids(runtime))
    for ref in refs[:resident]:
        engine.evict(ref)
    loads.sort()
    return {"cold_load_p50_ms": round(1000 * loads[len(loads) // 2], 1),
            "cold_load_p95_ms": round(1000 * loads[int(len(loads) * 0.95) - 1], 1),
            "rss_mb_before": round(before), "rss_mb_after": round(after),
            "mb_per_resident_adapter": round((after - before) / resident, 2)}  # fmt: skip


def workload(url: str, tokens: list[str], clients: int, requests: int) -> dict:
    lock, latencies, out_tokens, errors = threading.Lock(), [], [0], [0]
    todo = iter(range(requests))

    def client() -> None:
        with httpx.Client(timeout=600) as http:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                t = time.perf_counter()
                r = http.post(f"{url}/v1/chat/completions",
                              headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"},
                              json={"model": "personal", "temperature": 0, "max_tokens": 16,
                                    "messages": [{"role": "user",
                                                  "content": PROMPTS[i % len(PROMPTS)]}]})  # fmt: skip
                with lock:
                    if r.status_code != 200:
                        errors[0] += 1
                        continue
                    latencies.append(time.perf_counter() - t)
                    out_tokens[0] += r.json()["usage"]["completion_tokens"]

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {"clients": clients, "requests": len(latencies), "errors": errors[0],
            "req_per_s": round(len(latencies) / wall, 2),
            "out_tok_per_s": round(out_tokens[0] / wall, 1),
            "p50_s": round(statistics.median(latencies), 3),
            "p95_s": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 3)}  # fmt: skip


def run_engine(kind: str, root: Path, src, args, tokens_box: list) -> dict:
    options = {"lora_layers": 3, "batch_adapters": args.batch_adapters} if kind == "vllm" else {}
    config = HostConfig(root=root, engine=kind, resident=args.resident, n_ctx=1024,
                        threads=args.threads, queue=256, engine_options=options)  # fmt: skip
    started = time.perf_counter()
    runtime = HostRuntime(config, base=prepare_base(root, str(src.path), "F32")).open()
    result: dict = {"engine": kind, "start_s": round(time.perf_counter() - started, 1)}
    try:
        if not tokens_box:
            with tempfile.TemporaryDirectory(dir=root) as work:
                tokens_box.extend(populate(runtime, src, args.tenants, Path(work)))
        tokens = tokens_box
        result.update(load_figures(runtime, args.resident))
        with gateway(runtime) as url:
            workload(url, tokens, 4, 8)  # warm-up
            result["runs"] = [workload(url, tokens, c, max(args.per_client * c, 16))
                              for c in (1, 8, 32)]  # fmt: skip
        s = runtime.residency.stats()
        result["residency"] = {"hits": s.hits, "misses": s.misses, "evictions": s.evictions}
    finally:
        runtime.close()
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--resident", type=int, default=32)
    ap.add_argument("--batch-adapters", type=int, default=8)
    ap.add_argument("--per-client", type=int, default=3, help="requests per client")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--engines", default="llama.cpp,vllm")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    src = catalog.resolve("smollm2-135m")
    with tempfile.TemporaryDirectory(prefix="host-engines-", dir=args.json and Path(args.json).parent) as tmp:
        root, tokens = Path(tmp) / "host", []
        results = [run_engine(kind, root, src, args, tokens) for kind in args.engines.split(",")]
    print(f"\n{args.tenants} tenants, K={args.resident} resident, 16 new tokens, greedy "
          "(SmolLM2-135M F32, 2 shared cores)\n")
    print(f"{'engine':10} {'start':>6} {'load p50/p95 ms':>16} {'MB/adapter':>10}")
    for r in results:
        print(f"{r['engine']:10} {r['start_s']:>5}s {r['cold_load_p50_ms']:>7}/{r['cold_load_p95_ms']:<8}"
              f" {r['mb_per_resident_adapter']:>10}")
    print(f"\n{'clients':>7} " + " ".join(f"{r['engine'] + ' req/s tok/s p50/p95':>38}" for r in results) + "  pick")
    for i, c in enumerate((1, 8, 32)):
        cells, best = [], max(results, key=lambda r: r["runs"][i]["req_per_s"])
        for r in results:
            x = r["runs"][i]
            cells.append(f"{x['req_per_s']:>8} {x['out_tok_per_s']:>7} {x['p50_s']:>6}/{x['p95_s']:<6}"
                         f"{'' if not x['errors'] else ' err' + str(x['errors']):>8}")
        print(f"{c:>7} " + " ".join(f"{cell:>38}" for cell in cells) + f"  {best['engine']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
