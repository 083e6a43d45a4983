"""Run every benchmark module in bench/ (each has a main()); results go to bench/RESULTS.md by hand."""

import importlib
import pkgutil
import sys
from pathlib import Path

only = sys.argv[1:]
for mod in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
    if not mod.name.startswith("bench_") or (only and mod.name not in only):
        continue
    print(f"== {mod.name}", flush=True)
    importlib.import_module(f"bench.{mod.name}").main()
