"""Pytest plugin: private Redis servers for the test run.

Load it with ``pytest_plugins = ["tests.redis_fixtures"]``. Tests just ask for a fixture:

- ``redis_url``: a clean database on a private server (flushed before and after the test).
- ``redis_server``: the :class:`RedisServer` behind ``redis_url``, for tests that kill, pause or
  restart it. Ask for ``redis_url`` as well: its setup and teardown bring a killed or paused
  server back, so the next test finds it answering.
- ``redis_cluster_url`` / ``redis_cluster``: the same for a three-master Redis Cluster.

Servers start the first time a test asks for them and stop at the end of the run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jibe_alerts.testing.redis_server import RedisClusterServers, RedisServer


def ensure_serving(server: RedisServer) -> None:
    """Bring a paused, killed or stopped server back to answering commands."""
    if server.is_paused:
        server.resume()
    if not server.is_running:
        server.start()


def flush_server(server: RedisServer) -> None:
    """Empty every database of a running server."""
    with server.client() as client:
        client.flushall()


def ensure_cluster_serving(cluster: RedisClusterServers) -> None:
    """Resume paused nodes; if any node died, rebuild the cluster (its ports change)."""
    for node in cluster.nodes:
        if node.is_paused:
            node.resume()
    if not cluster.is_running:
        cluster.stop()
        cluster.start()


def flush_cluster(cluster: RedisClusterServers) -> None:
    """Empty every master of the cluster."""
    for client in cluster.node_clients():
        with client:
            client.flushall()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server for the whole run; a test may kill, pause or restart it."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """URL of an empty database on the session server, healed and flushed around the test."""
    ensure_serving(redis_server)
    flush_server(redis_server)
    yield redis_server.url
    ensure_serving(redis_server)
    flush_server(redis_server)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServers]:
    """One private three-master Redis Cluster for the whole run."""
    with RedisClusterServers(masters=3) as cluster:
        yield cluster


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisClusterServers) -> Iterator[str]:
    """URL of the empty session cluster (for ``RedisCluster.from_url``), flushed around the test."""
    ensure_cluster_serving(redis_cluster)
    flush_cluster(redis_cluster)
    yield redis_cluster.url
    ensure_cluster_serving(redis_cluster)
    flush_cluster(redis_cluster)
