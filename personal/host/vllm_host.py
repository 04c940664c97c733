"""`personal host serve --engine vllm`: the host's base in a vLLM server, adapters as PEFT.

    served = open_vllm(base, root=root, resident=8, n_ctx=2048)   # a HostEngine
    served.engine.chat(..., adapter=served.ref(record, store))

What it does, in order:
 1. the base as an HF-format directory: the project's converter run on the GGUF the host
    serves (`root/base/hf-<fingerprint>`: config.json, fp32 safetensors, tokenizer, chat
    template) — the same weights the device's trainer trains on;
 2. a vLLM server on 127.0.0.1 (`VLLMServer`), or an operator's server (`url=`) on loopback;
 3. a `VLLMEngine` on it. The host's residency maps onto vLLM's: K (`resident`) is
    `max_cpu_loras`, and `batch_adapters` is `max_loras` (adapters in one batch). Residency
    loads a revision (`/v1/load_lora_adapter`) when a request needs it and unloads it when
    it is evicted — never while a request holds it. Each revision has its own immutable
    name (tenant and revision): vLLM never reloads a name in place.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from personal.engine.base import AdapterRef
from personal.errors import AdapterError, EngineUnavailable
from personal.host.base import HostBase
from personal.host.engines import HostEngine, peft_ref
from personal.host.vllm_engine import RuntimeLoRA, VLLMEngine
from personal.host.vllm_server import VLLMServer, VLLMSettings

log = logging.getLogger("personal.host.vllm")
RANKS = (1, 8, 16, 32, 64)  # what vLLM accepts as max_lora_rank, up to the host's limit


def hf_dir(base: HostBase, root: Path) -> Path:
    """The served base converted to an HF-format directory (once; found again after)."""
    from personal.models.convert import convert_gguf, is_current

    out = Path(root) / "base" / f"hf-{base.identity.fingerprint[:16]}"
    if not is_current(out, base.model.path, base.identity.fingerprint):
        convert_gguf(base.model.path, out, fingerprint=base.identity.fingerprint)
    return out


class CheckedLoRA(RuntimeLoRA):
    """Runtime loading, after checking what vLLM would get wrong silently or with a 500:
    the rank above the server's limit, tensors in blocks the server does not wrap."""

    def __init__(self, url: str, client: Any, max_rank: int, layers: tuple[int, ...]):
        super().__init__(url, client)
        self.max_rank, self.layers = max_rank, set(layers)

    def load(self, ref: AdapterRef) -> None:
        try:
            config = json.loads((Path(ref.path) / "adapter_config.json").read_text())
        except (OSError, ValueError) as e:
            raise AdapterError(f"no readable PEFT adapter at {ref.path}: {e}") from None
        if int(config.get("r", 0)) > self.max_rank:
            raise AdapterError(f"LoRA rank {config.get('r')} is above this host's vLLM limit "
                               f"({self.max_rank}; personal host serve --max-lora-rank)")  # fmt: skip
        outside = set(config.get("layers_to_transform") or []) - self.layers
        if self.layers and outside:
            raise AdapterError(f"the adapter trains blocks {sorted(outside)}, which this "
                               f"host's vLLM does not wrap (--lora-layers)")  # fmt: skip
        super().load(ref)


def open_vllm(base: HostBase, *, root: Path, resident: int = 8, threads: int | None = None,
              n_ctx: int = 2048, batch_adapters: int | None = None, url: str | None = None,
              python: str | Path | None = None, lora_layers: int | None = None,
              max_lora_rank: int = 16, concurrency: int = 32, kv_cache_gb: int = 1,
              start_timeout_s: float = 420.0, env: dict[str, str] | None = None,
              **_: Any) -> HostEngine:  # fmt: skip
    if max_lora_rank not in RANKS:
        raise EngineUnavailable(f"max LoRA rank {max_lora_rank} is not one vLLM takes",
                                hint=f"use one of {', '.join(map(str, RANKS))}")  # fmt: skip
    model_dir = hf_dir(base, root)
    n_layers = int(json.loads((model_dir / "config.json").read_text())["num_hidden_layers"])
    layers = tuple(range(n_layers - lora_layers, n_layers)) if lora_layers else ()
    batch = batch_adapters or min(resident, 4)
    server = None
    if url is None:
        from personal.host.vllm_env import vllm_python

        settings = VLLMSettings(
            python=Path(python) if python else vllm_python(), model_dir=model_dir,
            workdir=Path(root) / "vllm", max_loras=batch, max_cpu_loras=max(resident, batch),
            max_lora_rank=max_lora_rank, layers=layers, max_model_len=n_ctx,
            kv_cache_gb=kv_cache_gb, threads=threads, start_timeout_s=start_timeout_s,
            env=dict(env or {}),
        )  # fmt: skip
        server = VLLMServer(settings).start()
        url = server.url
        log.info("vLLM ready at %s in %.0f s", url, server.ready_s)
    else:
        _check_loopback(url)
        log.warning("attached to the vLLM server at %s: the host cannot see its log, so it "
                    "cannot check the CPU LoRA fix is loaded (VLLM_PLUGINS must name "
                    "personal_lora_cpu_fix)", url)  # fmt: skip
    try:
        engine = VLLMEngine(url, model_dir, model=base.model.name,
                            fingerprint=base.identity.fingerprint, n_ctx=n_ctx,
                            extra={"max_loras": batch, "max_cpu_loras": max(resident, batch),
                                   "max_lora_rank": max_lora_rank, "lora_layers": list(layers)})  # fmt: skip
        engine.adapters = CheckedLoRA(engine.url, engine.client, max_lora_rank, layers)
    except BaseException:
        if server is not None:
            server.stop()
        raise
    served = HostEngine("vllm", engine, peft_ref, concurrency=concurrency,
                        on_close=server.stop if server else None)  # fmt: skip
    served.server = server  # type: ignore[attr-defined]  # tests and benchmarks read it
    return served


def _check_loopback(url: str) -> None:
    """vLLM's runtime-LoRA endpoints take server paths: it must never be reachable by
    anyone but the host, so the host only talks to one on its own machine."""
    host = urlparse(url).hostname or ""
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = host == "localhost"
    if not ok:
        raise EngineUnavailable(f"the vLLM server at {url} is not on loopback",
                                hint="run vLLM on 127.0.0.1 beside the host; tenants reach "
                                "only the host's gateway")  # fmt: skip
