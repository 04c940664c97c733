"""Kill one Ray Serve LLM replica mid-load: what happens to the tenants' requests.

The host on `--engine ray` with 2 vLLM replicas (SmolLM2 F32, adapters of 8 tenants
published to the loopback object store), 8 clients sending requests round-robin over the
tenants for `--seconds`; after `--kill-at` s the replica that used the most CPU in the 2 s
before gets SIGKILL with its process tree (a machine lost). Printed: requests answered and
failed per 5-s window, what the failures said, the longest a request took around the kill,
and when Ray had a replacement replica process.

    .venv/bin/python benchmarks/ray_failover.py [--seconds 90] [--kill-at 20] [--json out]

Needs the vLLM venv and ~10 GB free (two replicas).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

import httpx  # noqa: E402

from benchmarks.host_engines import PROMPTS, populate  # noqa: E402
from personal.host.base import prepare_base  # noqa: E402
from personal.host.runtime import HostConfig, HostRuntime  # noqa: E402
from personal.host.vllm_server import descendants  # noqa: E402
from personal.models import catalog  # noqa: E402
from tests.vllmkit import gateway  # noqa: E402


def replicas(runtime: HostRuntime) -> list[int]:
    """Pids of the LLM replicas' actor processes (Ray titles them ServeReplica:...LLM...)."""
    found = []
    for proc in runtime.served.server.procs:
        for pid in descendants(proc.pid):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "ServeReplica" in title and "LLM" in title and "Ingress" not in title:
                found.append(pid)
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=90)
    ap.add_argument("--kill-at", type=float, default=20)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    src = catalog.resolve("smollm2-135m")
    with tempfile.TemporaryDirectory(prefix="ray-failover-") as tmp:
        root = Path(tmp) / "host"
        config = HostConfig(root=root, engine="ray", resident=8, n_ctx=1024, queue=256,
                            engine_options={"replicas": 2, "lora_layers": 3,
                                            "batch_adapters": 4})  # fmt: skip
        started = time.perf_counter()
        runtime = HostRuntime(config, base=prepare_base(root, str(src.path), "F32")).open()
        result: dict = {"deploy_s": round(time.perf_counter() - started, 1)}
        try:
            with tempfile.TemporaryDirectory(dir=root) as work:
                tokens = populate(runtime, src, 8, Path(work))
            with gateway(runtime) as url:
                result.update(load_and_kill(runtime, url, tokens, args))
        finally:
            runtime.close()
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


def load_and_kill(runtime: HostRuntime, url: str, tokens: list[str], args) -> dict:
    for i, token in enumerate(tokens):  # warm: every adapter published and loaded somewhere
        ask(url, token, i)
    before = replicas(runtime)
    log: list[tuple[float, float, int, str]] = []  # (start, end, status, error)
    lock, stop, t0 = threading.Lock(), threading.Event(), time.perf_counter()
    counter = iter(range(10**9))

    def client() -> None:
        while not stop.is_set():
            with lock:
                i = next(counter)
            start = time.perf_counter() - t0
            status, error = ask(url, tokens[i % len(tokens)], i)
            with lock:
                log.append((start, time.perf_counter() - t0, status, error))

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for t in threads:
        t.start()
    time.sleep(max(0.0, args.kill_at - 2))
    busy = cpu_seconds(before, 2.0)  # the replica doing the work, not an idle one
    victim = max(before, key=lambda pid: busy[pid])
    tree = [victim, *descendants(victim)]
    killed_at = time.perf_counter() - t0
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    back_at = None
    while time.perf_counter() - t0 < args.seconds:
        now = [p for p in replicas(runtime) if p not in tree]
        if back_at is None and len(now) >= len(before):
            back_at = time.perf_counter() - t0
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(300)
    windows: dict[int, dict[str, int]] = {}
    for start, _, status, _ in log:
        w = windows.setdefault(int(start // 5) * 5, {"ok": 0, "failed": 0})
        w["ok" if status == 200 else "failed"] += 1
    failed = [(round(s, 1), status, err[:160]) for s, _, status, err in log if status != 200]
    around = [end - start for start, end, _, _ in log if start <= killed_at <= end]
    return {
        "replicas_before": len(before), "killed_pid": victim, "killed_at_s": round(killed_at, 1),
        "cpu_s_per_replica_2s_before_kill": {str(p): round(busy[p], 2) for p in before},
        "replica_back_at_s": round(back_at, 1) if back_at else None,
        "requests": len(log), "failed": len(failed),
        "failures": failed[:12], "windows_5s": windows,
        "longest_in_flight_at_kill_s": round(max(around), 2) if around else None,
    }  # fmt: skip


def cpu_seconds(pids: list[int], window: float) -> dict[int, float]:
    """CPU seconds each process tree used over the next `window` seconds."""

    def used(pid: int) -> float:
        total = 0
        for p in [pid, *descendants(pid)]:
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / os.sysconf("SC_CLK_TCK")

    start = {pid: used(pid) for pid in pids}
    time.sleep(window)
    return {pid: used(pid) - start[pid] for pid in pids}


def ask(url: str, token: str, i: int) -> tuple[int, str]:
    try:
        r = httpx.post(f"{url}/v1/chat/completions", timeout=300,
                       headers={"Authorization": f"Bearer {token}"},
                       json={"model": "personal", "temperature": 0, "max_tokens": 16,
                             "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]})  # fmt: skip
        return r.status_code, "" if r.status_code == 200 else r.text
    except httpx.HTTPError as e:
        return 0, f"{type(e).__name__}: {e}"


if __name__ == "__main__":
    main()
