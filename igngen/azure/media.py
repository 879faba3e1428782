"""The provisioning media: find it, mount it read-only, read it, always unmount (edge).

Azure attaches a DVD (UDF; iso9660 on Azure Stack) holding ``ovf-env.xml`` and,
on most VMs, ``CustomData.bin``. ``/dev/sr0`` is tried first, then every block
device blkid reports as udf/iso9660. The device can take a moment to appear
after boot, so discovery waits up to a bounded timeout with a progress line.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

from igngen import log, paths
from igngen.errors import MediaError
from igngen.limits import MAX_MEDIA_FILE_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple

OVF_NAME = "ovf-env.xml"
CUSTOM_DATA_NAME = "CustomData.bin"
FILESYSTEMS = ("udf", "iso9660")
DEFAULT_WAIT = 60.0
MOUNT_BASE = paths.MEDIA_MOUNT_BASE
MAX_FILE = MAX_MEDIA_FILE_BYTES


class MediaContents(NamedTuple):
    ovf: bytes
    custom_data: bytes | None
    origin: str  # device or directory it was read from


def read_directory(directory: str, *, origin: str | None = None) -> MediaContents:
    """Read ``ovf-env.xml`` (required) and ``CustomData.bin`` (optional) from a directory."""
    where = origin or directory

    def read(name: str, required: bool) -> bytes | None:
        path = os.path.join(directory, name)
        try:
            size = os.path.getsize(path)
            if size > MAX_FILE:
                raise MediaError(f"{name} is {size} bytes, over the {MAX_FILE}-byte limit", where)
            with open(path, "rb") as fh:
                return fh.read(MAX_FILE + 1)
        except FileNotFoundError:
            if required:
                raise MediaError(f"no {name} on the provisioning media", where) from None
            return None
        except OSError as exc:
            raise MediaError(f"cannot read {name}: {exc.strerror}", where) from None

    ovf = read(OVF_NAME, True)
    assert ovf is not None
    return MediaContents(ovf, read(CUSTOM_DATA_NAME, False), where)


def _run(argv: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    # Imported here: media given as a directory (tests, `provision --media DIR`) runs no tool.
    import subprocess

    try:
        # Tools print what they like (labels, localised messages): never a decode error.
        return subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise MediaError(f"{argv[0]} is not installed", argv[0]) from None
    except subprocess.TimeoutExpired:
        raise MediaError(f"{argv[0]} did not finish in {timeout:g}s", " ".join(argv)) from None


def candidates() -> list[tuple[str, str]]:
    """(device, fstype) of every block device with a udf/iso9660 filesystem, /dev/sr0 first."""
    found: list[tuple[str, str]] = []
    for fstype in FILESYSTEMS:
        proc = _run(["blkid", "-o", "device", "-t", f"TYPE={fstype}"])
        found += [(dev, fstype) for dev in proc.stdout.split() if dev]
    found.sort(key=lambda item: (item[0] != "/dev/sr0", item[0]))
    return found


@contextlib.contextmanager
def mounted(device: str, fstype: str, *, base: str = MOUNT_BASE) -> Iterator[str]:
    """Mount ``device`` read-only on a private directory; unmount and remove it, always."""
    os.makedirs(base, mode=0o700, exist_ok=True)
    target = os.path.join(base, os.path.basename(device))
    os.makedirs(target, mode=0o700, exist_ok=True)
    proc = _run(["mount", "-o", "ro,nosuid,nodev,noexec", "-t", fstype, device, target])
    if proc.returncode != 0:
        with contextlib.suppress(OSError):
            os.rmdir(target)
        raise MediaError(
            f"mount -t {fstype} failed: {proc.stderr.strip() or proc.returncode}", device
        )
    try:
        yield target
    finally:
        umount = _run(["umount", target])
        if umount.returncode != 0:
            log.warning("media", "unmount failed", device=device, error=umount.stderr.strip())
        else:
            with contextlib.suppress(OSError):
                os.rmdir(target)


def read_device(device: str, fstype: str | None = None) -> MediaContents:
    types = (fstype,) if fstype else FILESYSTEMS
    last: MediaError | None = None
    for fs in types:
        try:
            with mounted(device, fs) as directory:
                return read_directory(directory, origin=device)
        except MediaError as exc:
            last = exc
    assert last is not None
    raise last


def find_and_read(
    *,
    wait: float = DEFAULT_WAIT,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> MediaContents:
    """Wait (bounded) for a udf/iso9660 device holding ovf-env.xml and read it."""
    deadline = clock() + wait
    next_progress = clock()
    problems: dict[str, str] = {}
    while True:
        for device, fstype in candidates():
            try:
                contents = read_device(device, fstype)
            except MediaError as exc:
                problems[device] = exc.message
                continue
            log.info(
                "media",
                "read provisioning media",
                device=device,
                fstype=fstype,
                custom_data="yes" if contents.custom_data is not None else "no",
            )
            return contents
        now = clock()
        if now >= deadline:
            detail = (
                "; ".join(f"{d}: {m}" for d, m in sorted(problems.items()))
                or "no udf/iso9660 device"
            )
            raise MediaError(f"no provisioning media after {wait:g}s ({detail})", "auto")
        if now >= next_progress:
            log.info(
                "media", "waiting for the provisioning media", remaining=f"{deadline - now:.0f}s"
            )
            next_progress = now + 5
        sleep(min(1.0, max(0.0, deadline - now)))


# Optical drives only: WALinuxAgent does not eject vd* devices either (a virtio disk
# holding the media, as in some test rigs, has nothing to eject).
_EJECTABLE = ("sr", "cdrom", "cd", "dvd")


def ejectable(device: str) -> bool:
    """Whether ``device`` (after links) is an optical drive's node under /dev."""
    if not device.startswith("/dev/"):
        return False
    name = os.path.basename(os.path.realpath(device))
    return any(name.startswith(p) and name[len(p) :].isdigit() for p in _EJECTABLE)


def eject(device: str, *, timeout: float) -> str | None:
    """Eject the (already unmounted) media: None when done, else why not. Never raises:
    the media has been read, so a drive that will not eject must not cost the boot."""
    from igngen.errors import _one_line

    try:
        proc = _run(["eject", device], timeout=timeout)
    except MediaError as exc:  # not installed, or no answer in time
        return exc.message
    except OSError as exc:
        return f"eject could not run: {exc.strerror}"
    if proc.returncode != 0:
        return _one_line(f"eject failed: {proc.stderr.strip()[:200] or proc.returncode}")
    return None
