"""The host's inference on Ray Serve LLM: vLLM replicas behind Ray's OpenAI app, on loopback.

    python -m personal_vllm.ray_app CONFIG.json     # runs until SIGTERM; the host starts it

CONFIG (written by `personal.host.vllm_ray`): model_dir, port, replicas, adapters_url
(s3://bucket/prefix: the host publishes each revision there under its immutable name),
env (the object store's endpoint and credentials, vLLM's settings), engine (vLLM engine
arguments), adapters_per_replica, temp_dir, num_cpus.

A request for `base:<name>` goes to a replica that holds adapter <name> already (Serve's
model multiplexing), else to one that downloads it from the object store and loads it. The
same CPU LoRA fix as the standalone server loads in every replica (VLLM_PLUGINS). Every
listener stays on 127.0.0.1: Ray's node IP is forced to loopback
(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 keeps ray.init from replacing it with the external IP),
the dashboard is off, Serve's HTTP proxy binds 127.0.0.1, and `ray_loopback.setup` moves the
replicas' gRPC servers off the wildcard address. Ray's token auth gets a random token by
environment (nothing written to ~/.ray).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import threading

HOOK = {"worker_process_setup_hook": "personal_vllm.ray_loopback.setup"}


def app_config(config: dict, env: dict) -> dict:
    """`build_openai_app`'s argument: one LLM (the base, its adapters from the object store)
    on `replicas` vLLM replicas, and the OpenAI ingress. Neither reserves a CPU — Serve's
    default is one per replica, and with as many vLLM replicas as CPUs (whose placements
    hold them all) the ingress could never be scheduled."""
    llm = {
        "model_loading_config": {"model_id": "base", "model_source": config["model_dir"]},
        "accelerator_config": {"kind": "cpu"},
        "engine_kwargs": config["engine"],
        "lora_config": {"dynamic_lora_loading_path": config["adapters_url"],
                        "max_num_adapters_per_replica": config["adapters_per_replica"]},
        "deployment_config": {"num_replicas": config["replicas"],
                              "ray_actor_options": {"num_cpus": 0}},
        "runtime_env": {"env_vars": env, **HOOK},
        "log_engine_metrics": False,
    }  # fmt: skip
    return {"llm_configs": [llm],
            "ingress_deployment_config": {"num_replicas": 1, "autoscaling_config": None,
                                          "ray_actor_options": {"num_cpus": 0}}}  # fmt: skip


def main(path: str) -> int:
    with open(path) as f:
        config = json.load(f)
    env = dict(config["env"])
    os.environ.update(env)
    os.environ.update({"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
                       "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)})  # fmt: skip
    import ray
    from ray import serve
    from ray.serve.llm import build_openai_app

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    ray.init(num_cpus=config.get("num_cpus", 2), _node_ip_address="127.0.0.1",
             include_dashboard=False, dashboard_host="127.0.0.1", log_to_driver=False,
             _temp_dir=config["temp_dir"], runtime_env={"env_vars": env, **HOOK})  # fmt: skip
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": config["port"]})
        serve.run(build_openai_app(app_config(config, env)), blocking=False)
        print(f"personal ray app deployed on 127.0.0.1:{config['port']}", flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
