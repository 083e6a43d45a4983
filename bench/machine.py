"""The machine and date a benchmark ran on, for bench/RESULTS.md."""

import os
import platform
from datetime import UTC, datetime


def describe() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f", {int(fh.readline().split()[1]) // 1024 // 1024} GiB RAM"
    except OSError:
        pass
    return (f"{datetime.now(UTC):%Y-%m-%d} · {cpu} · {os.cpu_count()} cores{mem} · "
            f"Python {platform.python_version()}")
