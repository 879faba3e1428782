"""`make bench`: run every bench/bench_*.py and print its lines.

Each benchmark module defines ``run() -> list[str]`` and measures igngen
against a baseline taken in the same run (ratios, not absolute times), so the
numbers mean something on any machine. Benchmarks never assert timings.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    sys.path.insert(0, str(here))
    names = sys.argv[1:]
    failed = 0
    for path in sorted(here.glob("bench_*.py")):
        if names and path.stem.removeprefix("bench_") not in names:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"== {path.stem}", flush=True)
        try:
            for line in module.run():
                print(f"   {line}", flush=True)
        except Exception as exc:  # a broken benchmark must not hide the others
            failed += 1
            print(f"   FAILED: {type(exc).__name__}: {exc}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
