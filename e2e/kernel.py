"""Debian's stock kernel, unpacked (never installed): ``apt-get download`` + ``dpkg -x``.

Installing ``linux-image-amd64`` on the host would run its postinst and initramfs hooks;
unpacking gives the same files without touching the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from e2e import cache
from e2e.host import BuildError, note, run

META_PACKAGE = "linux-image-amd64"


@dataclass(frozen=True)
class Kernel:
    root: Path  # the unpacked package tree
    version: str  # e.g. 6.1.0-56-amd64

    @property
    def vmlinuz(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.version}"

    @property
    def moddir(self) -> Path:
        return self.root / "lib" / "modules" / self.version


def _image_package() -> str:
    """The versioned image package the meta package currently depends on."""
    for attempt in range(2):
        try:
            out = run(["apt-cache", "show", META_PACKAGE])
        except BuildError:
            if attempt:
                raise
            run(["apt-get", "update", "-qq"])
            continue
        for line in out.splitlines():
            if line.startswith("Depends:"):
                return line.split(":", 1)[1].split(",")[0].split()[0]
    raise BuildError(f"apt-cache show {META_PACKAGE}: no Depends line")


def build() -> Kernel:
    package = _image_package()
    key = cache.recipe_key("kernel", "kernel").add("package", package)

    def make(out: Path) -> None:
        note(f"kernel: downloading and unpacking {package}")
        dl = out / "deb"
        dl.mkdir()
        run(["apt-get", "download", package], cwd=dl)
        (deb,) = dl.glob("*.deb")
        run(["dpkg", "-x", deb, out / "root"])
        deb.unlink()
        dl.rmdir()
        (version,) = [p.name for p in (out / "root" / "lib" / "modules").iterdir()]
        run(["depmod", "-b", out / "root", version])

    root = cache.cached(key, make) / "root"
    (version,) = [p.name for p in (root / "lib" / "modules").iterdir()]
    return Kernel(root=root, version=version)
