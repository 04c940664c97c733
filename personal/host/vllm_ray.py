"""`personal host serve --engine ray`: the host's inference on Ray Serve LLM.

    served = open_ray(base, root=root, resident=8, replicas=2)    # a HostEngine

The gateway stays in front (tenants, tokens, catalog, residency accounting); behind it, Ray
Serve's OpenAI app runs `replicas` vLLM replicas of the base (`personal_vllm.ray_app`, in
the vLLM venv). Adapters reach the replicas through an object store: the host publishes a
revision's PEFT export under its immutable name (`personal_vllm.publish`) the first time a
request needs it, and names it `base:<name>` in the request; Ray routes it to a replica
that holds it, or one that downloads and loads it. With no object store given, the host
runs a loopback S3-compatible one (moto) under its root — one machine; several machines
share a real one (docs/scale-out.md).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from personal.engine.base import AdapterRef
from personal.errors import AdapterError, EngineUnavailable
from personal.host.base import HostBase
from personal.host.engines import HostEngine, peft_ref
from personal.host.vllm_engine import VLLMEngine, lora_name
from personal.host.vllm_host import hf_dir
from personal.host.vllm_server import environment, free_port, target_modules

log = logging.getLogger("personal.host.ray")
S3_DUMMY = {"AWS_ACCESS_KEY_ID": "personal", "AWS_SECRET_ACCESS_KEY": "personal",
            "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


class Published:
    """Adapters by name in Ray's object store: `load` publishes once (names are immutable)."""

    def __init__(self, python: Path, adapters_url: str, env: dict[str, str]):
        self.python, self.adapters_url, self.env = python, adapters_url, env
        self.published: set[str] = set()

    def name(self, ref: AdapterRef) -> str:
        return f"base:{lora_name(ref)}"

    def load(self, ref: AdapterRef) -> None:
        name = lora_name(ref)
        if name in self.published:
            return
        if not (Path(ref.path) / "adapter_config.json").is_file():
            raise AdapterError(f"no PEFT adapter at {ref.path}")
        out = subprocess.run([str(self.python), "-m", "personal_vllm.publish", self.adapters_url,
                              f"{name}={ref.path}"], env=self.env, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
        if out.returncode != 0:
            raise AdapterError(f"publishing the adapter to {self.adapters_url} failed: "
                               f"{out.stderr.strip().splitlines()[-1:]}")  # fmt: skip
        self.published.add(name)

    def unload(self, ref: AdapterRef) -> None:
        """Nothing: each replica keeps its own LRU of adapters (Ray's multiplexing)."""


class RayApp:
    """The Ray Serve app process (and the loopback object store, when the host runs one)."""

    def __init__(self, python: Path, workdir: Path, config: dict[str, Any], env: dict[str, str],
                 store_port: int | None):  # fmt: skip
        self.python, self.workdir, self.config, self.env = python, workdir, config, env
        self.url = f"http://127.0.0.1:{config['port']}"
        self.store_port = store_port
        self.procs: list[subprocess.Popen] = []
        self.ready_s: float | None = None

    def _spawn(self, cmd: list[str], log_name: str) -> subprocess.Popen:
        with (self.workdir / log_name).open("w") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                    stdin=subprocess.DEVNULL, cwd=self.workdir,
                                    start_new_session=True)  # fmt: skip
        self.procs.append(proc)
        return proc

    def start(self, timeout_s: float = 600.0) -> RayApp:
        started = time.monotonic()
        try:
            if self.store_port:
                moto = str(Path(self.python).parent / "moto_server")
                self._spawn([moto, "-H", "127.0.0.1", "-p", str(self.store_port)], "s3.log")
            path = self.workdir / "ray_app.json"
            path.write_text(json.dumps(self.config, indent=1))
            app = self._spawn([str(self.python), "-m", "personal_vllm.ray_app", str(path)],
                              "ray_app.log")  # fmt: skip
            while not self._ready():
                if app.poll() is not None:
                    raise EngineUnavailable(f"the Ray Serve app exited (code {app.returncode})",
                                            hint=f"see {self.workdir / 'ray_app.log'} and "
                                            f"{self.config['temp_dir']}/session_latest/logs")  # fmt: skip
                if time.monotonic() - started > timeout_s:
                    raise EngineUnavailable(f"Ray Serve LLM was not ready in {timeout_s:.0f} s",
                                            hint=f"see {self.workdir / 'ray_app.log'}")  # fmt: skip
                time.sleep(1.0)
        except BaseException:
            self.stop()
            raise
        self.ready_s = time.monotonic() - started
        return self

    def _ready(self) -> bool:
        try:
            r = httpx.get(self.url + "/v1/models", timeout=5)
            return r.status_code == 200 and any(m["id"] == "base" for m in r.json()["data"])
        except (httpx.HTTPError, ValueError, KeyError):
            return False

    def stop(self) -> None:
        from personal.host.vllm_server import stop_tree

        for proc in reversed(self.procs):  # the app first: it shuts Serve and Ray down
            stop_tree(proc, 60.0)
        self.procs.clear()
        shutil.rmtree(self.config["temp_dir"], ignore_errors=True)  # Ray's session, logs


def open_ray(base: HostBase, *, root: Path, resident: int = 8, threads: int | None = None,
             n_ctx: int = 2048, batch_adapters: int | None = None, replicas: int = 1,
             adapters_url: str | None = None, s3_endpoint: str | None = None,
             python: str | Path | None = None, lora_layers: int | None = None,
             max_lora_rank: int = 16, concurrency: int = 32, kv_cache_gb: int = 1,
             env: dict[str, str] | None = None, start_timeout_s: float = 600.0,
             **_: Any) -> HostEngine:  # fmt: skip
    from personal.host.vllm_env import vllm_python

    python = Path(python) if python else vllm_python()
    model_dir = hf_dir(base, root)
    n_layers = int(json.loads((model_dir / "config.json").read_text())["num_hidden_layers"])
    layers = tuple(range(n_layers - lora_layers, n_layers)) if lora_layers else ()
    workdir = Path(root) / "ray"
    workdir.mkdir(parents=True, exist_ok=True)
    batch = batch_adapters or min(resident, 4)
    store_port = None if s3_endpoint else free_port()
    endpoint = s3_endpoint or f"http://127.0.0.1:{store_port}"
    adapters_url = adapters_url or "s3://personal-adapters/adapters"
    extra = {"VLLM_CPU_KVCACHE_SPACE": str(kv_cache_gb), "AWS_ENDPOINT_URL": endpoint,
             "RAYLLM_HOME_DIR": str(workdir / "rayllm"), **(S3_DUMMY if store_port else {}),
             **(env or {})}  # fmt: skip
    full_env = environment(workdir, threads, extra)
    engine_kwargs = {"dtype": "float32", "enable_lora": True, "max_lora_rank": max_lora_rank,
                     "max_loras": batch, "max_cpu_loras": max(resident, batch),
                     "max_model_len": n_ctx, "max_logprobs": 1024,
                     "enable_prefix_caching": False}  # fmt: skip
    if layers:
        engine_kwargs["lora_target_modules"] = target_modules(layers)
    config = {"model_dir": str(model_dir), "port": free_port(), "replicas": replicas,
              "adapters_url": adapters_url, "env": {k: v for k, v in full_env.items()
                                                    if k not in ("PATH", "HOME")},
              "engine": engine_kwargs, "adapters_per_replica": max(resident, batch),
              "temp_dir": str(_short_tmp(workdir)), "num_cpus": max(os.cpu_count() or 2, replicas)}  # fmt: skip
    app = RayApp(python, workdir, config, full_env, store_port).start(start_timeout_s)
    log.info("Ray Serve LLM ready at %s in %.0f s (%d replicas)", app.url, app.ready_s, replicas)
    try:
        engine = VLLMEngine(app.url, model_dir, model=base.model.name, backend="ray",
                            fingerprint=base.identity.fingerprint, n_ctx=n_ctx,
                            adapters=Published(python, adapters_url, full_env), logprobs_top=64,
                            extra={"max_loras": batch, "replicas": replicas,
                                   "max_cpu_loras": max(resident, batch)})  # fmt: skip
    except BaseException:
        app.stop()
        raise
    served = HostEngine("ray", engine, peft_ref, concurrency=concurrency, on_close=app.stop)
    served.server = app  # type: ignore[attr-defined]
    return served


def _short_tmp(workdir: Path) -> Path:
    """Ray's session directory holds unix sockets, whose paths may not exceed 107 bytes:
    a short directory in the system's temp dir, one per host root."""
    import hashlib
    import tempfile

    digest = hashlib.sha1(str(Path(workdir).resolve()).encode()).hexdigest()[:10]
    path = Path(tempfile.gettempdir()) / f"personal-ray-{digest}"
    path.mkdir(parents=True, exist_ok=True)
    return path
