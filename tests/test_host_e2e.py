"""The large-model path end to end, with real processes: a host on loopback (the embedded
SmolLM2 at F32, llama.cpp), two tenants each with its own device home (SmolLM2 Q4_1), each
importing two revisions and pushing both (the second as a delta); greedy answers through the
host match each device's own adapter and differ from the bare base; neither tenant reaches
the other's revision; the host SIGKILLed mid-push shows no partial revision and the push
completes after a restart; `sync pull` onto a fresh home restores the revisions bit for bit.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from personal.adapters.registry import Registry
from personal.models import catalog
from tests.revisions import TARGETS, nudge, random_weights, write_adapter

pytestmark = [pytest.mark.slow, pytest.mark.model]
FRANCE = "What is the capital of France?"
GREEDY = ("--temperature", "0", "--max-tokens", "8", "--no-tools", "--json")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "personal.cli.main", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **env},
                          stdin=subprocess.DEVNULL)  # fmt: skip


class Host:
    def __init__(self, root: Path, home: Path):
        self.root, self.home, self.port = root, home, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"PERSONAL_HOME": str(home), "PERSONAL_HOST_ROOT": str(root)}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "personal.cli.main", "host", "serve", "--port",
             str(self.port), "--resident", "3", "--threads", "2", "--n-ctx", "2048"],
            env={**os.environ, **self.env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()[-2000:]
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.5)
        raise AssertionError("the host did not come up")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def tenant(self, name: str) -> str:
        r = run(self.env, "host", "tenant", "add", name)
        assert r.returncode == 0, r.stderr
        return next(line for line in r.stdout.splitlines() if line.startswith("pt_"))


class Device:
    def __init__(self, home: Path, models: Path, host: Host, token: str):
        home.mkdir(parents=True)
        (home / "models").symlink_to(models)  # one conversion of the base for every home
        self.home, self.env, self.token = home, {"PERSONAL_HOME": str(home)}, token
        assert run(self.env, "sync", "login", host.url, "--token", token).returncode == 0

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return run(self.env, *args)

    def import_(self, weights, name: str) -> str:
        base = catalog.resolve("smollm2-135m")
        src = write_adapter(self.home.parent / f"{self.home.name}-{name}", base, weights, 20.0)
        r = self.cli("adapters", "import", str(src))
        assert r.returncode == 0, r.stderr
        rev = r.stdout.split("revision ")[1].split()[0]
        assert self.cli("adapters", "rollback", rev).returncode == 0
        return Registry(self.home / "adapters").get(rev).id

    def answer(self, *extra: str) -> str:
        r = self.cli("ask", FRANCE, *GREEDY, *extra)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["message"]["content"]


def watch_for_partial(host: Host, token: str, rev: str, stop: threading.Event, seen: list):
    """While a push is in flight: any listing of `rev` must be of a complete revision."""
    headers = {"Authorization": f"Bearer {token}"}
    while not stop.is_set():
        try:
            state = httpx.get(f"{host.url}/sync/v1/state", headers=headers, timeout=2).json()
            if any(r["id"] == rev for r in state.get("revisions", [])):
                info = httpx.get(f"{host.url}/sync/v1/revisions/{rev}", headers=headers).json()
                seen.append(set(info["files"]) >= {"adapter.gguf", "mlx/adapters.safetensors"})
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)


def test_two_tenants_through_a_host(tmp_path):
    base = catalog.resolve("smollm2-135m")
    models = tmp_path / "models"
    models.mkdir()
    host = Host(tmp_path / "host-root", tmp_path / "host-home")
    host.start()
    try:
        tokens = {name: host.tenant(name) for name in ("sam", "ada")}
        devices = {n: Device(tmp_path / n, models, host, t) for n, t in tokens.items()}
        revs: dict[str, list[str]] = {}
        for seed, (name, dev) in enumerate(devices.items()):
            weights = random_weights(base, seed=seed, rank=8, layers=3, std=0.03,
                                     targets=(*TARGETS, "mlp.up_proj"))  # fmt: skip
            first = dev.import_(weights, "one")
            r = dev.cli("sync", "push")
            assert r.returncode == 0 and "whole" in r.stdout, r.stderr
            second = dev.import_(nudge(weights, seed=seed + 10), "two")
            r = dev.cli("sync", "push")
            assert r.returncode == 0 and f"as a delta against {first[:12]}" in r.stdout, r.stdout
            revs[name] = [first, second]

        for name, dev in devices.items():  # the host answers as the device's own adapter
            remote, local = dev.answer("--remote"), dev.answer("--local")
            bare = dev.answer("--local", "--no-adapter")
            assert remote == local != bare, (name, remote, local, bare)

        for me, other in (("sam", "ada"), ("ada", "sam")):  # nothing of the other tenant
            headers = {"Authorization": f"Bearer {tokens[me]}"}
            theirs = revs[other][1]
            r = httpx.post(f"{host.url}/v1/chat/completions", headers=headers, json={
                "model": f"personal@{theirs[:12]}", "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
            assert r.status_code == 404
            assert httpx.get(f"{host.url}/sync/v1/revisions/{theirs}",
                             headers=headers).status_code == 404  # fmt: skip
            listed = httpx.get(f"{host.url}/v1/models", headers=headers).text
            assert theirs[:12] not in listed and revs[me][1][:12] in listed

        sam = devices["sam"]  # SIGKILL the host in the middle of a push
        third = sam.import_(nudge(random_weights(base, seed=0, rank=8, layers=3, std=0.03,
                                                 targets=(*TARGETS, "mlp.up_proj")), seed=20), "three")  # fmt: skip
        sam.env["PERSONAL_SYNC_CHUNK"] = "8192"
        stop, seen = threading.Event(), []
        watcher = threading.Thread(target=watch_for_partial, args=(host, tokens["sam"], third,
                                                                  stop, seen))  # fmt: skip
        watcher.start()
        push = subprocess.Popen([sys.executable, "-m", "personal.cli.main", "sync", "push"],
                                env={**os.environ, **sam.env}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        uploads = host.root / "uploads"
        deadline = time.monotonic() + 300
        while sum(1 for p in uploads.rglob("*") if p.is_file()) < 4:
            assert time.monotonic() < deadline and push.poll() is None, push.communicate()
            time.sleep(0.05)
        host.kill()
        out, err = push.communicate(timeout=120)
        assert push.returncode == 1 and "did not answer" in err, (out, err)
        host.start()
        state = httpx.get(f"{host.url}/sync/v1/state",
                          headers={"Authorization": f"Bearer {tokens['sam']}"}).json()  # fmt: skip
        assert third not in [r["id"] for r in state["revisions"]]
        r = sam.cli("sync", "push")
        assert r.returncode == 0 and f"pushed {third[:12]}" in r.stdout, r.stderr
        received = float(next(line.split()[-1] for line in httpx.get(f"{host.url}/metrics").text
                              .splitlines() if line.startswith("personal_host_chunk_bytes_total")))  # fmt: skip
        sent_before = sum(p.stat().st_size for p in uploads.rglob("*") if p.is_file())
        assert sent_before == 0  # the chunks were used and cleared
        stop.set()
        watcher.join()
        assert all(seen)  # whenever listed, it was complete
        assert received > 0

        fresh = Device(tmp_path / "fresh", models, host, tokens["sam"])  # a new device
        r = fresh.cli("sync", "pull")
        assert r.returncode == 0 and "restored 3 revisions" in r.stdout, r.stdout + r.stderr
        old, new = Registry(sam.home / "adapters"), Registry(fresh.home / "adapters")
        for rev in [*revs["sam"], third]:
            a, b = old.get(rev), new.get(rev)
            for rel in ("mlx/adapters.safetensors", "mlx/adapter_config.json", "adapter.gguf",
                        "peft/adapter_model.safetensors", "peft/adapter_config.json"):  # fmt: skip
                assert (a.path / rel).read_bytes() == (b.path / rel).read_bytes(), (rev, rel)
        assert new.pointer(base.fingerprint)["revision"] == third
    finally:
        host.kill()
