"""`personal sync` and `ask --remote` as a person runs them: real CLI processes against a
real host (uvicorn on loopback, in this process) serving the tiny model at F32; the device
runs it at Q8_0."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from personal.adapters.manifest import Audit, Manifest
from personal.adapters.registry import Registry
from personal.host.app import create_app
from personal.host.tenants import new_token, token_hash
from personal.log import Log
from tests.hostkit import device_base, open_host
from tests.revisions import nudge, random_weights, write_adapter


@pytest.fixture(scope="module")
def host(module_dir):
    d = module_dir
    base = device_base(d)
    runtime = open_host(d / "host", base)
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="off"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    yield runtime, url, base, d
    server.should_exit = True
    thread.join(10)
    runtime.close()


@pytest.fixture
def device(host, tmp_path):
    runtime, url, base, _ = host
    token = new_token()
    name = f"t{len(runtime.catalog.tenants())}"
    runtime.catalog.add_tenant(name, token_hash(token))
    home = tmp_path / "home"
    env = {"PERSONAL_HOME": str(home), "PERSONAL_MODEL": str(base.path)}
    return {"env": env, "home": home, "url": url, "token": token, "base": base, "name": name}


def cli(device, *args: str, timeout: float = 300):
    return subprocess.run([sys.executable, "-m", "personal.cli.main", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **device["env"]}, stdin=subprocess.DEVNULL)  # fmt: skip


def imported(device, seed: int, parent_weights=None) -> tuple[str, dict]:
    weights = nudge(parent_weights, seed=seed) if parent_weights else random_weights(
        device["base"], seed=seed, std=0.5)  # fmt: skip
    src = write_adapter(device["home"].parent / f"src{seed}", device["base"], weights)
    r = cli(device, "adapters", "import", str(src))
    assert r.returncode == 0, r.stderr
    rev = registry(device).get(r.stdout.split("revision ")[1].split()[0]).id  # printed short
    assert cli(device, "adapters", "rollback", rev).returncode == 0
    return rev, weights


def registry(device) -> Registry:
    return Registry(device["home"] / "adapters")


def test_login_keeps_the_token_private_and_a_wrong_one_is_refused(device):
    r = cli(device, "sync", "login", device["url"], "--token", "pt_wrong")
    assert r.returncode == 1 and "401" in r.stderr and "hint:" in r.stderr
    assert not (device["home"] / "sync.json").exists()
    r = cli(device, "sync", "login", device["url"], "--token", device["token"])
    assert r.returncode == 0, r.stderr
    assert f"tenant {device['name']}" in r.stdout and "same-weights" in r.stdout
    mode = stat.S_IMODE((device["home"] / "sync.json").stat().st_mode)
    assert mode == 0o600


def test_push_audits_records_probes_and_the_host_follows_rollbacks(device, host):
    runtime = host[0]
    cli(device, "sync", "login", device["url"], "--token", device["token"])
    first, weights = imported(device, 1)
    r = cli(device, "sync", "push")
    assert r.returncode == 0, r.stderr
    assert f"pushed {first[:12]} whole" in r.stdout
    second, _ = imported(device, 2, weights)
    r = cli(device, "sync", "push")
    assert r.returncode == 0 and f"as a delta against {first[:12]}" in r.stdout, r.stdout
    manifest = registry(device).get(second).manifest
    assert manifest.probes is not None and manifest.audit is not None and manifest.audit.passed
    tenant = runtime.catalog.tenant(device["name"]).id
    assert runtime.catalog.pointer(tenant).revision == second
    r = cli(device, "adapters", "rollback", first)
    assert r.returncode == 0 and runtime.catalog.pointer(tenant).revision == first, r.stdout
    r = cli(device, "adapters", "pin")
    assert runtime.catalog.pointer(tenant).pinned
    status = json.loads(cli(device, "sync", "status", "--json").stdout)
    assert status["host_current"] == first and all(row["on_host"] for row in status["revisions"])
    assert cli(device, "sync", "push").stdout.startswith("nothing to push")


def _rewrite(device, rev_id: str, change) -> None:
    path = registry(device).get(rev_id).path / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.chmod(0o644)
    path.write_text(json.dumps(data))


def test_push_refuses_private_text_and_a_failed_audit_with_evidence(device):
    cli(device, "sync", "login", device["url"], "--token", device["token"])
    with Log(device["home"] / "log.db") as log:
        conv = log.create_conversation(source="chat")
        log.append(conv.id, {"role": "user", "content": "zebra7731secret"})
    rev, _ = imported(device, 3)
    _rewrite(device, rev, lambda m: m["config"].update(targets=["zebra7731secret"]))
    r = cli(device, "sync", "push")
    assert r.returncode == 1 and "zebra7731secret" in r.stderr and "nothing was sent" in r.stderr
    _rewrite(device, rev, lambda m: m["config"].update(targets=["self_attn.q_proj"]))
    failed = Audit(False, canaries=2, exposure_max=17.2, exposure_limit=16.0,
                   reasons=("a planted canary has exposure 17.2 bits (limit 16)",))  # fmt: skip
    _rewrite(device, rev, lambda m: m.update(audit=Manifest.from_dict(
        {**m, "audit": failed.__dict__}).to_dict()["audit"]))  # fmt: skip
    r = cli(device, "sync", "push")
    assert r.returncode == 1 and "failed the privacy audit" in r.stderr and "17.2 bits" in r.stderr
    r = cli(device, "sync", "push", "--allow-memorized")
    assert r.returncode == 0, r.stderr
    assert "WARNING" in r.stderr and "FAILED the privacy audit" in r.stderr
    assert registry(device).get(rev).manifest.audit.allowed


def test_ask_remote_answers_with_the_hosts_model_and_logs_where_from(device):
    cli(device, "sync", "login", device["url"], "--token", device["token"])
    rev, _ = imported(device, 4)
    r = cli(device, "ask", "--remote", "hello world", "--json", "--temperature", "0",
            "--max-tokens", "6", "--no-tools")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "pushing it first" in r.stderr  # the host lacked the current revision
    assert out["backend"] == "remote" and out["adapter"] == rev
    local = json.loads(cli(device, "ask", "--local", "hello world", "--json", "--temperature",
                           "0", "--max-tokens", "6", "--no-tools").stdout)  # fmt: skip
    assert out["message"]["content"] == local["message"]["content"]  # the same answer
    with Log(device["home"] / "log.db") as log:
        meta = log.message(out["message_id"]).meta
    assert meta["provenance"]["remote"] and meta["provenance"]["host"] == device["url"]
    r = cli(device, "sync", "route", "always")
    assert r.returncode == 0
    routed = json.loads(cli(device, "ask", "hello", "--json", "--max-tokens", "2",
                            "--no-tools").stdout)  # fmt: skip
    assert routed["backend"] == "remote"


def test_pull_restores_onto_a_fresh_home(device, tmp_path):
    cli(device, "sync", "login", device["url"], "--token", device["token"])
    rev, _ = imported(device, 5)
    assert cli(device, "sync", "push").returncode == 0
    fresh = {**device, "env": {**device["env"], "PERSONAL_HOME": str(tmp_path / "fresh")},
             "home": tmp_path / "fresh"}  # fmt: skip
    cli(fresh, "sync", "login", device["url"], "--token", device["token"])
    r = cli(fresh, "sync", "pull")
    assert r.returncode == 0 and "restored 1 revisions" in r.stdout, r.stdout + r.stderr
    original, copy = registry(device).get(rev), registry(fresh).get(rev)
    for rel in ("mlx/adapters.safetensors", "adapter.gguf", "peft/adapter_model.safetensors"):
        assert (copy.path / rel).read_bytes() == (original.path / rel).read_bytes()
    assert Registry(Path(fresh["home"]) / "adapters").pointer(device["base"].fingerprint)[
        "revision"] == rev  # fmt: skip
