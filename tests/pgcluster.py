"""A throwaway PostgreSQL cluster for a test session: socket-only, in a temp dir (test helper).

    with pg_cluster() as url:          # postgresql://personal@/postgres?host=<dir>&port=<port>
        PostgresCatalog(fresh_database(url)) ...

initdb + pg_ctl from Debian's `postgresql` package (./dev installs it). No TCP listener at
all (`listen_addresses=''`); the socket sits in a private directory, with trust auth for the
cluster's own user. PostgreSQL refuses to run as root: as root the cluster belongs to the
`postgres` account (runuser), as anyone else to the caller.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL's initdb is not installed: apt-get install postgresql "
                       "(./dev setup installs it)")  # fmt: skip


@contextmanager
def pg_cluster(port: int = 5439) -> Iterator[str]:
    bins = bindir()
    root = Path(tempfile.mkdtemp(prefix="personal-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    os.chmod(root, 0o700)
    data, run = root / "data", root / "run"

    def run_as(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)

    run_as("mkdir", str(run))
    run_as(str(bins / "initdb"), "-D", str(data), "-U", "personal", "--auth-local=trust",
           "--auth-host=reject", "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
    options = f"-c listen_addresses='' -c unix_socket_directories='{run}' -p {port} -c fsync=off"
    run_as(str(bins / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
           "-o", options, "start")  # fmt: skip
    try:
        yield f"postgresql://personal@/postgres?host={run}&port={port}"
    finally:
        subprocess.run([*as_user, str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(url: str) -> str:
    """A new, empty database on the cluster at `url`; its URL."""
    import secrets

    import psycopg

    name = "t_" + secrets.token_hex(6)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return url.replace("/postgres?", f"/{name}?")
