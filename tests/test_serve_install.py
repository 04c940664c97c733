"""`personal daemon install --serve`: a user service keeps the server running after login."""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys

from personal.daemon import install


def test_install_serve_writes_a_service_that_runs_the_server(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "personal.cli.main", "daemon", "install",
                          "--serve", "--port", "8399", "--no-enable"], capture_output=True,
                         text=True, env=os.environ, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    unit_dir = tmp_path / "systemd" / "user"
    service = (unit_dir / "personal-serve.service").read_text()
    exec_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    assert exec_start.endswith(' "serve" "--port" "8399"')  # every word quoted
    assert f"PERSONAL_HOME={os.environ['PERSONAL_HOME']}" in service
    assert "Restart=on-failure" in service and "WantedBy=default.target" in service
    assert (unit_dir / "personal-train.timer").exists()  # the nightly timer as before
    assert "systemctl --user enable --now personal-serve.service" in out.stdout
    removed = " ".join(install.uninstall(enable=False))
    assert "personal-serve.service" in removed and not list(unit_dir.iterdir())


def test_without_serve_no_server_unit_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    install.install("30 3 * * *", enable=False)
    assert not (tmp_path / "systemd" / "user" / "personal-serve.service").exists()


def test_the_launchd_agent_keeps_the_server_alive():
    plist = plistlib.loads(install.launchd_serve_plist(8399))
    assert plist["ProgramArguments"][-3:] == ["serve", "--port", "8399"]
    assert plist["RunAtLoad"] and plist["KeepAlive"]
