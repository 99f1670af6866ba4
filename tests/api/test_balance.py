"""geogrid.api.balance: the counts it reads from /proc, and the responses it marks."""

from __future__ import annotations

import socket

import pytest

from geogrid.api import balance
from tests import aio


def test_connection_counts_reads_listeners_connections_and_own_ones():
    a = socket.socket()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    a.bind(("127.0.0.1", 0))
    port = a.getsockname()[1]
    b = socket.socket()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    b.bind(("127.0.0.1", port))
    a.listen(8)
    b.listen(8)
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
    try:
        assert balance.connection_counts(port)[:2] == (2, 6)
        # accepted ones are ours; those still in an accept queue have no descriptor
        accepted = []
        for s in (a, b):
            s.setblocking(False)
            try:
                accepted.append(s.accept()[0])
            except BlockingIOError:
                pass
        listening, established, own = balance.connection_counts(port, balance._own_socket_inodes())
        assert (listening, established, own) == (2, 6, len(accepted)) and own >= 1
    finally:
        for s in clients + [a, b] + locals().get("accepted", []):
            s.close()


def _run(middleware, n: int) -> list[list]:
    """Headers of ``n`` responses through ``middleware``."""
    out = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"connection", b"keep-alive")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def one():
        async def send(message):
            if message["type"] == "http.response.start":
                out.append(message["headers"])
        scope = {"type": "http", "http_version": "1.1", "server": ("127.0.0.1", 8000)}
        await middleware(scope, None, send)

    middleware.app = app

    async def main():
        for _ in range(n):
            await one()

    aio.run(main())
    return out


@pytest.mark.parametrize("host, family", [("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)])
def test_the_table_of_the_servers_family_holds_its_connections(host, family):
    """The balancer reads only the /proc table of the address it serves on."""
    if family == socket.AF_INET6 and not socket.has_ipv6:
        pytest.skip("no IPv6")
    server = socket.socket(family)
    try:
        server.bind((host, 0))
    except OSError:
        server.close()
        pytest.skip(f"cannot bind {host}")
    port = server.getsockname()[1]
    server.listen(8)
    clients = [socket.create_connection((host, port)) for _ in range(3)]
    try:
        assert balance.connection_counts(port, tables=balance.tables_for(host))[:2] == (1, 3)
    finally:
        for s in clients + [server]:
            s.close()
    assert balance.tables_for("127.0.0.1") == ("tcp",)


@pytest.mark.parametrize("own, established, listening, closed", [
    (13, 20, 2, 3),   # 13 of 20 on two workers: 3 over its share of 10
    (10, 20, 2, 0),   # its share exactly
    (11, 21, 2, 0),   # 21 on two: a share is 11
    (20, 20, 1, 0),   # one worker: nowhere to send them
    (5, 0, 2, 0),     # nothing established (counts out of date)
])
def test_only_the_connections_over_the_share_are_told_to_close(monkeypatch, own, established,
                                                                listening, closed):
    monkeypatch.setattr(balance, "connection_counts", lambda port, inodes=None, tables=None: (listening, established, own))
    monkeypatch.setattr(balance, "_own_socket_inodes", lambda: set())
    mw = balance.ConnectionBalancer(None, check_s=3600)
    heads = _run(mw, 6)
    marked = [h for h in heads if (b"connection", b"close") in h]
    assert len(marked) == closed and mw.shed == closed
    for h in marked:  # the app's own Connection header is replaced, not doubled
        assert [k for k, _ in h].count(b"connection") == 1


def test_other_scopes_and_disabled_balancers_pass_through(monkeypatch):
    monkeypatch.setattr(balance, "connection_counts", lambda port, inodes=None, tables=None: (2, 20, 20))
    monkeypatch.setattr(balance, "_own_socket_inodes", lambda: set())
    off = balance.ConnectionBalancer(None, enabled=False)
    assert not any((b"connection", b"close") in h for h in _run(off, 3))
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    mw = balance.ConnectionBalancer(app)
    aio.run(mw({"type": "websocket", "server": ("127.0.0.1", 8000)}, None, None))
    aio.run(mw({"type": "http", "http_version": "2", "server": ("127.0.0.1", 8000)}, None, None))
    assert seen == ["websocket", "http"] and mw.shed == 0
