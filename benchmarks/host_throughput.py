"""Host throughput over 100 tenants' adapters ÷ the same requests on one adapter, and cold
loads.

    python benchmarks/host_throughput.py [--tenants 100] [--resident 8] [--requests 120]

A host (the real app under uvicorn on loopback, llama.cpp, the default base at F32) with
`--tenants` tenants, each with one revision of its own (random rank-8 LoRA weights on the
last 3 blocks, all seven projections: the default training layout), and K = `--resident`
adapters resident at most. Four client threads send greedy chat requests (16 tokens) over
HTTP. The same requests run two ways, in alternating blocks so the machine's load affects
both alike:

- spread: each request from a random tenant (with K ≪ 100 nearly every one is a miss: a
  cold load, an eviction);
- one: every request from the same tenant (always a hit).

Printed: completion tokens/s and requests/s of each, their ratio (target ≥ 0.8), the
residency counters, and the cold-load latency p50/p95 — as the host's /metrics histogram
measured it while serving, and in isolation (each adapter loaded into an idle engine).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PROMPTS = ["Tell me about the ocean.", "Describe a walk in the park.", "What makes a good "
           "breakfast?", "Explain how rain forms.", "Write two lines about autumn."]  # fmt: skip


def build(root: Path, n: int, resident: int, model: str | None):
    from personal.adapters.formats import export_gguf
    from personal.host.base import prepare_base
    from personal.host.catalog import RevisionRecord
    from personal.host.runtime import HostConfig, HostRuntime
    from personal.host.tenants import new_token, token_hash
    from tests.revisions import random_weights, write_adapter

    base = prepare_base(root, model, "F32")
    runtime = HostRuntime(HostConfig(root=root, resident=resident, queue=256), base=base).open()
    tokens = []
    for i in range(n):
        token = new_token()
        tenant = runtime.catalog.add_tenant(f"t{i}", token_hash(token))
        weights = random_weights(base.model, seed=i, rank=8, layers=3, std=0.02,
                                 targets=("self_attn.q_proj", "self_attn.k_proj",
                                          "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                                          "mlp.up_proj", "mlp.down_proj"))  # fmt: skip
        mlx = write_adapter(root / "tmp" / f"mlx{i}", base.model, weights, scale=20.0)
        gguf = export_gguf(mlx, base.model, root / "tmp" / f"a{i}.gguf")
        sha = runtime.store.put_file(gguf)
        rid = f"{i:064x}"
        runtime.catalog.register(RevisionRecord(tenant.id, rid, None, {"id": rid},
                                                {"adapter.gguf": sha}, gguf.stat().st_size,
                                                "2026"), move=True)  # fmt: skip
        tokens.append(token)
    return runtime, tokens


def serve(runtime):
    import uvicorn

    from personal.host.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="off"))  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


def block(url: str, tokens: list[str], requests: int, clients: int, seed: int) -> tuple[float, int]:
    """(seconds, completion tokens) for `requests` requests from random `tokens`."""
    import httpx

    rng = random.Random(seed)
    jobs = [(rng.choice(tokens), PROMPTS[i % len(PROMPTS)]) for i in range(requests)]
    lock, done = threading.Lock(), [0]

    def client() -> None:
        with httpx.Client(base_url=url, timeout=600) as http:
            while True:
                with lock:
                    if not jobs:
                        return
                    token, prompt = jobs.pop()
                r = http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {token}"},
                              json={"model": "personal", "temperature": 0, "max_tokens": 16,
                                    "messages": [{"role": "user", "content": prompt}]})  # fmt: skip
                r.raise_for_status()
                with lock:
                    done[0] += r.json()["usage"]["completion_tokens"]

    t = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t, done[0]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--resident", type=int, default=8)
    parser.add_argument("--requests", type=int, default=120, help="per condition")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="host-bench-") as tmp:
        runtime, tokens = build(Path(tmp), args.tenants, args.resident, args.model)
        loads: list[float] = []
        observe = runtime.residency.on_load
        runtime.residency.on_load = lambda s: (loads.append(s), observe(s))
        server, url = serve(runtime)
        block(url, tokens[:2], 4, 1, seed=99)  # warm-up
        totals = {"spread": [0.0, 0, 0], "one": [0.0, 0, 0]}
        per = args.requests // args.rounds
        for r in range(args.rounds):
            for name, pool in (("one", tokens[:1]), ("spread", tokens)):
                s, toks = block(url, pool, per, args.clients, seed=r)
                totals[name][0] += s
                totals[name][1] += toks
                totals[name][2] += per
        stats = runtime.residency.stats()
        # cold loads in isolation: each adapter into an idle engine, after evicting it
        from personal.host.runtime import _key

        isolated = []
        for record_tenant in runtime.catalog.tenants()[:40]:
            record = runtime.catalog.revisions(record_tenant.id)[0]
            ref = runtime.served.ref(record, runtime.store)
            runtime.residency.forget(_key(ref))
            t = time.perf_counter()
            with runtime.residency.lease(_key(ref), ref):
                isolated.append(time.perf_counter() - t)
        server.should_exit = True
        runtime.close()
    rate = {k: {"tok_s": v[1] / v[0], "req_s": v[2] / v[0], "tokens": v[1], "requests": v[2]}
            for k, v in totals.items()}  # fmt: skip
    ratio = rate["spread"]["tok_s"] / rate["one"]["tok_s"]
    print(f"{args.tenants} tenants, K={args.resident} resident, {args.clients} clients, "
          f"{args.requests} requests per condition in {args.rounds} alternating blocks")  # fmt: skip
    for k, v in rate.items():
        print(f"  {k:<7} {v['tok_s']:6.2f} completion tok/s  {v['req_s']:5.2f} req/s  "
              f"({v['tokens']} tokens)")  # fmt: skip
    print(f"  spread ÷ one: {ratio:.3f} tokens/s (target ≥ 0.8), "
          f"{rate['spread']['req_s'] / rate['one']['req_s']:.3f} requests/s")  # fmt: skip
    print(f"  residency: {stats.hits} hits, {stats.misses} misses, {stats.evictions} evictions")
    ms = [x * 1000 for x in loads]
    iso = [x * 1000 for x in isolated]
    print(f"  cold load while serving: p50 {statistics.median(ms):.2f} ms, p95 {pct(ms, .95):.2f} ms "
          f"({len(ms)} loads); in isolation: p50 {statistics.median(iso):.2f} ms, "
          f"p95 {pct(iso, .95):.2f} ms")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"rate": rate, "ratio": ratio, "loads_ms": ms,
                                         "isolated_ms": iso, "stats": stats.__dict__}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
