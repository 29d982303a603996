"""Terminal output: progress on stderr, a summary table at the end. Quiet mode prints nothing.

Only counts, reasons, option values and paths are ever printed, never row contents.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table


class Reporter:
    """Progress and summaries for one command; ``quiet`` silences everything but errors."""

    def __init__(self, quiet: bool = False, step_tables: bool = True):
        self.quiet = quiet
        self.step_tables = step_tables
        self.console = Console(stderr=True, quiet=quiet, highlight=False)

    @contextlib.contextmanager
    def phase(self, label: str, total: int | None = None) -> Iterator[Any]:
        """A spinner (or a bar when ``total`` is known); yields ``advance(n)``."""
        if self.quiet or not self.console.is_terminal:
            yield lambda n=1: None
            return
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total:
            columns += [BarColumn(), TextColumn("{task.completed:,}/{task.total:,}")]
        columns.append(TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(label, total=total)
            yield lambda n=1: progress.advance(task, n)

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/] {message}")

    def info(self, message: str) -> None:
        self.console.print(message)

    def summary(self, stats: dict[str, Any]) -> None:
        """Rows in / kept / removed / rejected, by reason, for one step."""
        if self.quiet or not self.step_tables:
            return
        table = Table(title=f"curate {stats['step']}", title_justify="left")
        table.add_column("", style="bold")
        table.add_column("rows", justify="right")
        table.add_row("in", f"{stats['rows_in']:,}")
        table.add_row("kept", f"{stats['rows_kept']:,}")
        for reason, count in stats["removed"].items():
            table.add_row(f"removed: {reason}", f"{count:,}")
        for reason, count in stats["rejected"].items():
            table.add_row(f"rejected: {reason}", f"{count:,}")
        for name, value in stats.get("extra", {}).get("splits", {}).items():
            table.add_row(f"split {name}", f"{value['rows']:,} rows, {value['users']:,} users")
        table.add_row("seconds", f"{stats['seconds']:.2f}")
        self.console.print(table)
        for out in stats["outputs"]:
            self.console.print(f"  wrote {out}")

    def pipeline_summary(self, rows: list[dict[str, Any]]) -> None:
        """One line per step of a pipeline run."""
        if self.quiet:
            return
        table = Table(title="pipeline summary", title_justify="left")
        for column in ("step", "in", "kept", "removed", "rejected", "s", "output"):
            table.add_column(
                column, justify="left" if column in ("step", "output") else "right", overflow="fold"
            )
        for row in rows:
            table.add_row(
                row["step"],
                f"{row['rows_in']:,}",
                f"{row['rows_kept']:,}",
                _reasons(row["removed"]),
                _reasons(row["rejected"]),
                f"{row['seconds']:.2f}",
                row["output"],
            )
        self.console.print(table)


def _reasons(counts: dict[str, int]) -> str:
    """Total, with the largest reason named: '1,834 (later_turn 563, …)'."""
    if not counts:
        return "0"
    top = max(counts, key=lambda reason: counts[reason])
    more = ", …" if len(counts) > 1 else ""
    return f"{sum(counts.values()):,} ({top} {counts[top]:,}{more})"
