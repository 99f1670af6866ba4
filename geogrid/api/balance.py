"""Keep-alive connections spread evenly over the worker processes.

``geogrid serve`` gives each worker a listening socket of its own on the same port
(``SO_REUSEPORT``), and the kernel hands each new connection to one of them by a hash of
its addresses.  That is even on average only: 50 keep-alive clients were split 30:20
between two workers, so the clients of the busier one waited half as long again (bbox
pages, SpatiaLite: median 147 ms against 100 ms), and since keep-alive connections live
as long as their client, it stays that way.

:class:`ConnectionBalancer` lets a worker that holds more than its share hand some back.
Every :data:`CHECK_S` seconds (on a request: an idle worker does nothing) it reads from
``/proc`` how many connections are established on its port, how many sockets listen
there (the workers) and how many of the connections are its own; holding more than
``ceil(connections / workers)``, it answers that many of its next responses with
``Connection: close``.  HTTP/1.1 clients then open a new connection, which the kernel
hashes afresh: to another worker with probability ``(W-1)/W``.  The split converges in
a few checks, at the cost of one TCP handshake per connection moved.

Linux only; elsewhere, with one worker, or where ``/proc`` cannot be read, it does
nothing.  It never closes a connection in the middle of a response.
"""

from __future__ import annotations

import math
import os
import time

__all__ = ["ConnectionBalancer", "connection_counts", "tables_for", "CHECK_S"]

#: How often a worker compares its connections with its share (seconds).
CHECK_S = 0.25
_LISTEN, _ESTABLISHED = "0A", "01"


def connection_counts(port: int, own_inodes: set[str] | None = None,
                      tables: tuple[str, ...] = ("tcp", "tcp6")) -> tuple[int, int, int]:
    """``(listening sockets, established connections, those among them whose socket
    inode is in own_inodes)`` on local ``port``, from ``/proc/net/<table>``.

    Each table costs the kernel a walk of all TCP sockets (about a millisecond with a
    few hundred), so callers read only the family they listen on (:func:`tables_for`).
    """
    listening = established = own = 0
    hexport = f"{port:04X}"
    token = f":{hexport} "
    for name in tables:
        try:
            with open(f"/proc/net/{name}") as f:
                next(f, None)
                for line in f:
                    if token not in line:  # neither address is on this port
                        continue
                    fields = line.split()
                    if len(fields) < 10 or fields[1].rsplit(":", 1)[-1] != hexport:
                        continue
                    if fields[3] == _LISTEN:
                        listening += 1
                    elif fields[3] == _ESTABLISHED:
                        established += 1
                        if own_inodes is not None and fields[9] in own_inodes:
                            own += 1
        except OSError:
            continue
    return listening, established, own


def tables_for(host: str) -> tuple[str, ...]:
    """The ``/proc/net`` tables that hold the connections of a server on ``host``: an
    IPv4 address's in ``tcp`` alone; an IPv6 one's (IPv4 clients of a dual-stack ``::``
    included, as mapped addresses) in ``tcp6``, and ``tcp`` for good measure."""
    return ("tcp", "tcp6") if ":" in host else ("tcp",)


def _own_socket_inodes() -> set[str]:
    out = set()
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return out
    for fd in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


class ConnectionBalancer:
    """ASGI middleware: ``Connection: close`` on responses while this worker holds more
    than its share of the port's connections (see the module's docstring)."""

    def __init__(self, app, *, check_s: float = CHECK_S, enabled: bool = True):
        self.app = app
        self.check_s = check_s
        self.enabled = enabled and os.path.exists("/proc/net/tcp")
        self._next_check = 0.0
        self._to_shed = 0
        #: connections handed back so far
        self.shed = 0

    def _check(self, host: str, port: int) -> None:
        listening, established, own = connection_counts(port, _own_socket_inodes(), tables_for(host))
        if listening < 2 or established == 0:
            self._to_shed = 0
            return
        self._to_shed = max(0, own - math.ceil(established / listening))

    async def __call__(self, scope, receive, send):
        if (not self.enabled or scope["type"] != "http"
                or scope.get("http_version") not in ("1.1", "1.0") or not scope.get("server")):
            return await self.app(scope, receive, send)
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self.check_s
            host, port = scope["server"][:2]
            if port:
                self._check(str(host or ""), int(port))
        if self._to_shed <= 0:
            return await self.app(scope, receive, send)

        async def closing_send(message):
            if message["type"] == "http.response.start" and self._to_shed > 0:
                self._to_shed -= 1
                self.shed += 1
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": headers + [(b"connection", b"close")]}
            await send(message)

        return await self.app(scope, receive, closing_send)
