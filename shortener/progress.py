"""The command line's progress bars (rich, on standard error): import, export, cleanup and
migrate draw the same one, and only for a person watching. Standard error that is not a
terminal (a pipe, a log file, cron) gets no bar; TTY_COMPATIBLE=1 or FORCE_COLOR=1 force it."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def stderr_console() -> Console:
    """Standard error, for the bar and the messages around it. soft_wrap: a message stays one
    line however long (rich would break it at 80 columns where there is no terminal, so a
    log, a pipe to grep or a test saw half a line)."""
    return Console(stderr=True, soft_wrap=True)


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def watched(console: Console) -> bool:
    """Whether a bar would show: work done only for the bar (counting rows) can be skipped."""
    return console.is_terminal
