"""Run a command against a throwaway PostgreSQL cluster on loopback, then remove the cluster.

    python scripts/with_postgres.py pytest [ARGS...]

initdb makes the cluster in a temporary folder, pg_ctl starts it on 127.0.0.1 at a free port,
DATABASE_URL points the command at it, and the cluster is stopped and deleted afterwards,
whatever the command's outcome. PostgreSQL refuses to run as root, so as root the server runs
as the `postgres` system user that Debian's package creates.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    sys.exit(f"{name} not found: install Debian's postgresql package (make system-deps)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    command = sys.argv[1:]
    if not command:
        sys.exit(__doc__)
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    folder = Path(tempfile.mkdtemp(prefix="telederm-pg-"))
    data, sockets = folder / "data", folder / "run"
    sockets.mkdir()
    if as_root:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    log = folder / "postgres.log"
    try:
        subprocess.run(
            [
                *prefix,
                pg_bin("initdb"),
                "-D",
                str(data),
                "-U",
                "telederm",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [
                *prefix,
                pg_bin("pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-o",
                options,
                "-w",
                "start",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://telederm@127.0.0.1:{port}/telederm",
            # The test suite wraps each test in a transaction on one connection that the in-test
            # worker shares; a pool would take that connection back mid-test. Servers pool.
            "TELEDERM_DB_POOL": os.environ.get("TELEDERM_DB_POOL", "0"),
        }
        print(f"PostgreSQL on 127.0.0.1:{port} ({folder})", flush=True)
        return subprocess.run(command, env=env, check=False).returncode
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*prefix, pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                check=False,
                stdout=subprocess.DEVNULL,
            )
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
