"""The machine a benchmark ran on, recorded in every bench/results JSON."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine(**extra) -> dict:
    """Host name, CPU model, core count, memory and Python version, plus any
    `extra` fields (versions of the peers measured in the same run)."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"hostname": platform.node(), "cpu": cpu, "cores": os.cpu_count(),
            "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
            "python": platform.python_version()}
    info.update(extra)
    return info
