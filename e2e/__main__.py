"""``python -m e2e build|bench`` (the Makefile's ``e2e`` and ``bench-boot`` targets use these)."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "build"
    if command == "build":
        from e2e.build import build_all, unavailable

        reason = unavailable()
        if reason:
            print(f"e2e: cannot build here: {reason}", file=sys.stderr)
            return 1
        art = build_all()
        print(f"kernel  {art.kernel.vmlinuz}")
        print(f"root    {art.root.path}")
        print(f"initrd  {art.initrd_base} (baseline)")
        print(f"initrd  {art.initrd_igngen or '(no dracut/ module in the repo yet)'} (igngen)")
        print(f"accel   {art.accel.name}: {art.accel.reason}")
        print(f"build   {art.seconds:.1f} s")
        return 0
    if command == "bench":
        from e2e.bench import main as bench_main

        return bench_main()
    print(f"usage: python -m e2e build|bench (got {command!r})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
