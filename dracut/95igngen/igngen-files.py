"""List the files the initramfs needs to run igngen: the interpreter's own start-up
modules, and every module igngen's boot commands can import (found statically with
modulefinder, which also sees imports inside functions), with their destinations.

Run by module-setup.sh with the image's Python: ``python3 igngen-files.py SITE_DEST``.
Output lines: ``<source>\t<destination>``. Stdlib files keep their path (the
interpreter finds them from its prefix); third-party files (igngen and its
dependencies) go below SITE_DEST, which the ``igngen`` wrapper puts on sys.path.
"""

import modulefinder
import os
import sys
import sysconfig

ENTRY = [
    "igngen.cli",
    "igngen.commands.provision",
    "igngen.commands.report",
    "igngen.azure.reporter",
    "igngen.commands.status",
    "igngen.boot.sequence",
    "igngen.render.pipeline",
]
# Modules the interpreter loads before any script runs.
STARTUP = ["encodings", "codecs", "io", "abc", "os", "stat", "posixpath", "genericpath", "_collections_abc",
           "_sitebuiltins", "site", "runpy", "importlib", "importlib.util", "importlib.machinery"]
# Never needed at boot: optional command paths that would drag in large trees.
EXCLUDE = ["jsonschema", "referencing", "rpds", "attrs", "attr", "tkinter", "unittest", "pydoc", "doctest",
           "test", "idlelib", "lib2to3", "ensurepip", "distutils", "setuptools", "pip", "pytest", "hypothesis",
           "IPython", "numpy", "_pytest", "cryptography", "OpenSSL", "brotli", "brotlicffi", "zstandard", "socks",
           "simplejson", "chardet", "pygments", "yaml._yaml", "asyncio", "multiprocessing", "concurrent",
           "xmlrpc", "sqlite3", "curses", "pdb", "webbrowser", "tracemalloc", "lzma", "bz2",
           # site.py imports these if present: the build host's customisations (Debian's
           # apport hook, a test harness's guard) are not the initramfs' business.
           "sitecustomize", "usercustomize"]

ENCODINGS = ["aliases", "ascii", "latin_1", "utf_8", "utf_8_sig", "utf_16", "utf_16_le", "utf_16_be",
             "utf_32", "utf_32_le", "utf_32_be", "idna", "punycode", "charmap", "cp1252", "iso8859_15",
             "raw_unicode_escape", "unicode_escape"]


def main() -> None:
    site_dest = sys.argv[1]
    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
    platstdlib = os.path.realpath(sysconfig.get_paths()["platstdlib"])
    extra = [d for d in os.environ.get("IGNGEN_PYTHONPATH", "").split(":") if d]
    sys.path[:0] = extra  # so the igngen import below finds the same tree
    finder = modulefinder.ModuleFinder(path=extra + sys.path, excludes=EXCLUDE)
    import pkgutil

    import igngen as package

    # Every igngen module (small); jsonschema, needed only by `igngen validate`, stays out.
    everything = [m.name for m in pkgutil.walk_packages(package.__path__, "igngen.")]
    for name in STARTUP + ENTRY + everything:
        try:
            finder.import_hook(name)
        except ImportError:
            # igngen.commands.report/status exist only once health reporting is installed.
            if not name.startswith("igngen.commands."):
                raise
    # Imported from compiled code, invisible to modulefinder: bcrypt < 4 is a cffi extension.
    for name in ["_cffi_backend"]:
        try:
            finder.import_hook(name)
        except ImportError:
            pass
    # Codecs are looked up by name at run time, invisible to modulefinder. Only those
    # igngen's inputs can need: UTF-8/16/32 (XML, YAML, JSON), Latin-1 (HTTP headers),
    # IDNA (host names), a few Western code pages an ovf-env.xml could declare.
    for name in ENCODINGS:
        finder.import_hook(f"encodings.{name}")
    out = set()
    for mod in finder.modules.values():
        path = mod.__file__
        if not path:
            continue
        real = os.path.realpath(path)
        if real.startswith((stdlib + os.sep, platstdlib + os.sep)) and "site-packages" not in real \
                and "dist-packages" not in real:
            out.add((real, real))
            continue
        root = _sys_path_root(real, mod.__name__)
        out.add((real, os.path.join(site_dest, os.path.relpath(real, root))))
    # Package data igngen reads at run time (compiled templates).
    pkg_dir = os.path.dirname(os.path.realpath(package.__file__))
    data = os.path.join(pkg_dir, "data")
    for dirpath, _, files in os.walk(data):
        for fn in files:
            src = os.path.join(dirpath, fn)
            out.add((src, os.path.join(site_dest, "igngen", os.path.relpath(src, pkg_dir))))
    for src, dest in sorted(out):
        print(f"{src}\t{dest}")


def _sys_path_root(path: str, module: str) -> str:
    depth = module.count(".") + (1 if os.path.basename(path).startswith("__init__.") else 0)
    root = os.path.dirname(path)
    for _ in range(depth):
        root = os.path.dirname(root)
    return root


if __name__ == "__main__":
    main()
