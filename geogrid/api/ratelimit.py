"""A sliding-window rate limiter per key (used for reveals), in process."""

from __future__ import annotations

import collections
import threading
import time

from geogrid.api.errors import ThrottledError

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``limit`` events per ``window_s`` seconds per key."""

    def __init__(self, limit: int, window_s: float, clock=time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._events: dict[str, collections.deque] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, what: str = "requests", message_key: str | None = None) -> None:
        """Count one event for ``key`` or raise :class:`ThrottledError` if over the limit
        (its message keyed ``message_key``, with ``limit`` and ``minutes``, where given)."""
        now = self.clock()
        with self._lock:
            q = self._events.setdefault(key, collections.deque())
            while q and q[0] <= now - self.window_s:
                q.popleft()
            if len(q) >= self.limit:
                wait = q[0] + self.window_s - now
                raise ThrottledError(
                    f"at most {self.limit} {what} per {int(self.window_s // 60)} minutes; "
                    f"try again in {int(wait // 60) + 1} minutes", wait, key=message_key,
                    params={"limit": self.limit, "minutes": int(wait // 60) + 1})
            q.append(now)
