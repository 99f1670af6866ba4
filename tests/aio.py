"""Running a coroutine from a test, whatever the main thread is doing.

Once the browser tests have started Playwright's sync API, the main thread has an
event loop running for the rest of the session, and ``asyncio.run`` refuses to start
another there; a thread of its own always can."""

from __future__ import annotations

import asyncio
import concurrent.futures


def run(coro):
    """``asyncio.run(coro)`` on a thread of its own; returns or raises what it did."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
