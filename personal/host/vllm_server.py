"""A vLLM OpenAI server on loopback, started (or attached to) by the host.

    server = VLLMServer(settings).start()      # waits for /health, checks the CPU LoRA fix
    server.url                                 # http://127.0.0.1:<port>, never reachable by tenants
    server.stop()                              # the whole process group (API server, engine, worker)

The server runs with the vLLM venv's interpreter (`vllm_env`), listens on 127.0.0.1 only,
loads adapters at run time (`/v1/load_lora_adapter`, which takes server-side paths: that is
why only the host may reach it) and loads our `personal_lora_cpu_fix` plugin by name (the
VLLM_PLUGINS allow-list). Its log must show the fix active before the host routes a single
request to it. Prefix caching is off: the host answers every request as a fresh engine (no
KV state crosses from one tenant's request to another's, not even as timing).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from personal.errors import EngineUnavailable

FIX_LINE = "personal_lora_cpu_fix: CPU LoRA ops now skip rows with LoRA index -1"
PROJECTIONS = ("self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj")


@dataclass(frozen=True)
class VLLMSettings:
    python: Path  # the vLLM venv's interpreter
    model_dir: Path  # HF-format directory (config.json, model.safetensors, tokenizer)
    workdir: Path  # logs, caches, IPC sockets of this server
    served_name: str = "base"
    max_loras: int = 2  # adapters in one batch
    max_cpu_loras: int = 8  # adapters resident (the host's K)
    max_lora_rank: int = 8
    layers: tuple[int, ...] = ()  # blocks the adapters train (empty: every block wrapped)
    max_model_len: int = 2048
    kv_cache_gb: int = 1
    threads: int | None = None  # compute threads (None: vLLM's default binding)
    port: int | None = None  # None: a free loopback port
    start_timeout_s: float = 420.0
    env: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def target_modules(layers: tuple[int, ...]) -> list[str]:
    """vLLM wraps every linear of every block with LoRA unless told; wrapping only the
    blocks the adapters train makes an adapter request cost about a base request on CPU
    (adapters with tensors elsewhere are refused by the host before loading)."""
    return [f"model.layers.{i}.{m}" for i in layers for m in PROJECTIONS]


def environment(workdir: Path, threads: int | None, extra: dict[str, str]) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PIP_FIND_LINKS", "SSL_CERT_FILE")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update({
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True", "VLLM_PLUGINS": "personal_lora_cpu_fix",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1", "VLLM_CACHE_ROOT": str(workdir / "cache"),
        "VLLM_CONFIG_ROOT": str(workdir / "config"), "HF_HOME": str(workdir / "hf"),
        "VLLM_RPC_BASE_PATH": str(workdir / "rpc"), "TMPDIR": str(workdir / "tmp"),
    })  # fmt: skip
    if threads:  # one thread per core given; no binding (the box may be shared)
        env.update({"VLLM_CPU_OMP_THREADS_BIND": "nobind", "OMP_NUM_THREADS": str(threads)})
    env.update(extra)
    for d in ("cache", "config", "hf", "rpc", "tmp"):
        (workdir / d).mkdir(parents=True, exist_ok=True)
    return env


class VLLMServer:
    def __init__(self, settings: VLLMSettings):
        self.settings = settings
        self.port = settings.port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(settings.workdir) / "vllm.log"
        self.proc: subprocess.Popen | None = None
        self.ready_s: float | None = None

    def command(self) -> list[str]:
        s = self.settings
        cmd = [str(s.python), "-m", "vllm.entrypoints.openai.api_server",
               "--model", str(s.model_dir), "--served-model-name", s.served_name,
               "--dtype", "float32", "--host", "127.0.0.1", "--port", str(self.port),
               "--max-model-len", str(s.max_model_len), "--max-logprobs", "1024",
               "--no-enable-prefix-caching", "--enable-lora", "--max-lora-rank",
               str(s.max_lora_rank), "--max-loras", str(s.max_loras), "--max-cpu-loras",
               str(s.max_cpu_loras)]  # fmt: skip
        if s.layers:
            cmd += ["--lora-target-modules", *target_modules(s.layers)]
        return cmd

    def start(self) -> VLLMServer:
        s = self.settings
        Path(s.workdir).mkdir(parents=True, exist_ok=True)
        env = environment(Path(s.workdir), s.threads, {"VLLM_CPU_KVCACHE_SPACE": str(s.kv_cache_gb),
                                                       **s.env})  # fmt: skip
        started = time.monotonic()
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, cwd=s.workdir,
                                         start_new_session=True)  # fmt: skip
        try:
            self._wait_ready(started)
            self._check_fix()
        except BaseException:
            self.stop()
            raise
        self.ready_s = time.monotonic() - started
        return self

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.settings.start_timeout_s
        while True:
            if self.proc.poll() is not None:
                raise EngineUnavailable(f"vLLM exited (code {self.proc.returncode}) while "
                                        f"starting:\n{self.log_tail()}",
                                        hint=f"its whole log: {self.log_path}")  # fmt: skip
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise EngineUnavailable(f"vLLM did not answer /health within "
                                        f"{self.settings.start_timeout_s:.0f} s",
                                        hint=f"see its log: {self.log_path}")  # fmt: skip
            time.sleep(0.5)

    def _check_fix(self) -> None:
        """The CPU mixed-batch defect would give base requests another tenant's adapter:
        refuse to serve unless the fix says it is active (in the engine processes)."""
        if self.settings.env.get("PERSONAL_VLLM_LORAFIX") == "0":
            return  # tests that show the defect
        if FIX_LINE not in self.log_path.read_text(errors="replace"):
            raise EngineUnavailable("vLLM started without personal's CPU LoRA fix (base "
                                    "requests batched with adapter requests would get an "
                                    "adapter's delta)",
                                    hint="reinstall the vLLM venv: python -m personal.host.vllm_env install")  # fmt: skip

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """The server's processes (API server, engine core, worker)."""
        if self.proc is None:
            return []
        return [self.proc.pid, *descendants(self.proc.pid)]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        stop_tree(self.proc, timeout)
        self.proc = None


def stop_tree(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever of the tree is left — vLLM's engine
    core puts itself and the worker in a process group of their own, so the tree is taken
    before anything dies (orphans are re-parented and could not be found after)."""
    tree = [proc.pid, *descendants(proc.pid)]
    groups = set()
    for pid in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            groups.add(os.getpgid(pid))
    for group in groups - {os.getpgrp()}:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in tree[1:]):
        time.sleep(0.2)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out
