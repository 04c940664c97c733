"""What `personal serve` adds on top of the engine: decode rate, time to first token, and
throughput with concurrent clients.

One run, side by side: the engine direct in this process and `personal serve` in another
(same model, same threads, each request with a fresh KV cache: `fresh=True` / `--isolate`),
rounds interleaved so background load hits both alike. Same prompt, greedy, tools off.

- decode: pieces/s as the client receives them (SSE chunks) ÷ pieces/s from the engine
  (target >= 0.95)
- added time to first token (<= 10 ms): the client's TTFT minus the engine's TTFT for the
  same request, which the server reports in its `Server-Timing` header (side by side, the
  two engines' TTFTs differ by far more than 10 ms on a shared machine; both are printed)
- 8 concurrent clients: requests/s against one client in a row, and what they wait
  (client latency, and the server's own queue wait from /health)

    .venv/bin/python benchmarks/serve_speed.py [--tokens 128] [--rounds 7] [--clients 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from personal.engine import GenerationParams  # noqa: E402
from personal.engine.llama import LlamaEngine  # noqa: E402
from personal.models import catalog  # noqa: E402

SYSTEM = {"role": "system", "content": "You are a helpful, concise assistant."}
PROMPT = [SYSTEM, {"role": "user", "content": "Write a long, detailed story about a lighthouse."}]
SHORT = [SYSTEM, {"role": "user", "content": "Name a color."}]


def direct(engine: LlamaEngine, n: int) -> tuple[float, float, int]:
    """(decode pieces/s, ttft ms, pieces) straight from the engine."""
    start = time.perf_counter()
    stream = engine.chat(PROMPT, GenerationParams(max_tokens=n, temperature=0.0), fresh=True)
    times = [time.perf_counter() for _ in stream]
    return (len(times) - 1) / (times[-1] - times[0]), (times[0] - start) * 1000, len(times)


def served(port: int, n: int) -> tuple[float, float, int, float]:
    """The same through the server, timed where a client reads the SSE chunks; and the
    engine's own TTFT for this request, from the Server-Timing header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    body = json.dumps({"model": "personal", "messages": PROMPT, "max_tokens": n,
                       "temperature": 0, "stream": True, "tool_choice": "none"})  # fmt: skip
    start = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    timing = dict(
        part.strip().split(";dur=") for part in response.headers["Server-Timing"].split(",")
    )
    times = []
    for line in response:
        if line.startswith(b"data: {") and b'"content":"' in line and b'"content":""' not in line:
            times.append(time.perf_counter())
    conn.close()
    ttft = (times[0] - start) * 1000
    return (len(times) - 1) / (times[-1] - times[0]), ttft, len(times), float(timing["engine-ttft"])


def ask(port: int, n: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = json.dumps({"model": "personal", "messages": SHORT, "max_tokens": n,
                       "temperature": 0, "tool_choice": "none"})  # fmt: skip
    start = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 200, response.status
    return time.perf_counter() - start


def throughput(port: int, clients: int, per_client: int, n: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(per_client):
            t = ask(port, n)
            with lock:
                latencies.append(t)

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return clients * per_client / (time.perf_counter() - start), latencies


def health(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/health")
    return json.loads(conn.getresponse().read())


def start_server(model: str, threads: int) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PERSONAL_HOME": tempfile.mkdtemp(prefix="serve-bench-")}
    proc = subprocess.Popen([sys.executable, "-m", "personal.cli.main", "serve", "--port",
                             str(port), "--model", model, "--threads", str(threads),
                             "--isolate"], env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(600):
        try:
            health(port)
            return proc, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=3, help="per client")
    ap.add_argument("--short-tokens", type=int, default=24)
    args = ap.parse_args()

    model = catalog.resolve(args.model)
    engine = LlamaEngine(model, n_ctx=2048, n_threads=args.threads)
    proc, port = start_server(args.model, args.threads)
    try:
        direct(engine, args.tokens), served(port, args.tokens)  # warm-up
        d_rate, s_rate, d_ttft, s_ttft, ratios, added = [], [], [], [], [], []
        for _ in range(args.rounds):
            dr, dt, dn = direct(engine, args.tokens)
            sr, st, sn, engine_ttft = served(port, args.tokens)
            assert dn == sn, f"different answers ({dn} vs {sn} pieces)"
            d_rate.append(dr), s_rate.append(sr), d_ttft.append(dt), s_ttft.append(st)
            ratios.append(sr / dr), added.append(st - engine_ttft)
        engine.close()  # the server alone from here on
        one, one_lat = throughput(port, 1, args.requests * 2, args.short_tokens)
        many, lat = throughput(port, args.clients, args.requests, args.short_tokens)
        queue = health(port)["queue"]
        again, _ = throughput(port, 1, args.requests * 2, args.short_tokens)
    finally:
        proc.terminate()
        proc.wait(15)

    def runs(xs: list[float]) -> str:
        return ", ".join(f"{x:.1f}" for x in xs)

    q = statistics.quantiles(lat, n=20)
    print(f"model            {model.name}, threads={args.threads}, fresh KV per request")
    print(f"decode           {dn} pieces per run, {args.rounds} interleaved rounds, greedy")
    print(f"engine direct    {statistics.median(d_rate):6.1f} pieces/s  (runs: {runs(d_rate)})")
    print(f"through server   {statistics.median(s_rate):6.1f} pieces/s  (runs: {runs(s_rate)})")
    print(f"ratio            {statistics.median(ratios):.3f}  median of per-round ratios "
          "(target >= 0.95)")  # fmt: skip
    print(f"TTFT side by side  direct {statistics.median(d_ttft):.1f} ms, through the server "
          f"{statistics.median(s_ttft):.1f} ms (client-side; different engines)")  # fmt: skip
    print(f"added TTFT       {statistics.median(added):6.1f} ms  client TTFT - the server engine's "
          f"TTFT, same request (runs: {runs(added)}; target <= 10)")  # fmt: skip
    print(f"1 client         {one:6.2f} req/s  ({args.requests * 2} requests of "
          f"{args.short_tokens} tokens, latency median {statistics.median(one_lat):.2f} s); "
          f"again after: {again:.2f} req/s")  # fmt: skip
    print(f"{args.clients} clients        {many:6.2f} req/s  ({args.clients * args.requests} "
          f"requests; ratio to 1 client {many / ((one + again) / 2):.2f})")  # fmt: skip
    print(f"they wait        latency median {statistics.median(lat):.2f} s, p95 {q[18]:.2f} s, "
          f"max {max(lat):.2f} s; server queue wait mean {queue['mean_wait_s']:.2f} s, "
          f"service mean {queue['mean_service_s']:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
