"""A progress bar on stderr for long commands (``rich``), fed by the library's
``progress(stage, done, total)`` callbacks: one bar per stage."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["progress_bar"]


@contextlib.contextmanager
def progress_bar(quiet: bool = False, console=None) -> Iterator:
    """Yields ``progress(stage, done, total)``, which draws a bar per stage on stderr
    (``total`` None: a pulsing bar) and nothing with ``quiet``; the bars go when the
    block ends.  Off a terminal, rich draws nothing."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = console or Console(stderr=True, quiet=quiet)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=None if total is None else max(total, 1))
            bar.update(tasks[stage], completed=done, total=None if total is None else max(total, 1))

        yield progress
