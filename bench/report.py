"""Plain-text tables and the machine description printed with every run."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version


@dataclass(frozen=True)
class Table:
    """One benchmark's result: a titled grid of strings plus notes printed under it."""

    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        """The table as aligned text: first column left-aligned, the others right-aligned."""
        grid = [self.headers, *self.rows]
        widths = [max(len(row[i]) for row in grid) for i in range(len(self.headers))]

        def line(cells: tuple[str, ...]) -> str:
            first, *rest = cells
            parts = [first.ljust(widths[0])]
            parts += [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
            return "  ".join(parts).rstrip()

        rule = "-" * len(line(self.headers))
        out = [f"== {self.title}", line(self.headers), rule, *(line(row) for row in self.rows)]
        out += [f"   {note}" for note in self.notes]
        return "\n".join(out)


def _version(package: str) -> str:
    """Installed version of `package`, or "-" when it is missing."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "-"


def _cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for text in cpuinfo:
                if text.startswith("model name"):
                    return text.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> list[str]:
    """Lines describing the machine, interpreter and library versions of this run."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "-"
    libraries = ", ".join(
        f"{name} {_version(name)}" for name in ("numpy", "pandas", "pyarrow", "duckdb", "ta-lib")
    )
    return [
        f"machine: {_cpu_model()}; cpus {os.cpu_count()} (usable {usable}); load avg {load}",
        f"python {platform.python_version()} on {platform.platform()}",
        f"libraries: {libraries}",
    ]


def rate(count: float, seconds: float) -> str:
    """`count / seconds` with a k/M suffix, e.g. "1.25M"."""
    per_second = count / seconds
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if per_second >= factor:
            return f"{per_second / factor:.2f}{suffix}"
    return f"{per_second:.1f}"
