"""The provisioning media edge: directory reading, read-only mounts that always unmount,
discovery of udf/iso9660 block devices with a bounded wait.

Mounts use real loop devices. This kernel may lack UDF (then the UDF media is still
found by blkid, and its mount failure is what is checked); the always-unmount
behaviour is checked with an ext4 image, which every test kernel can mount.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.consumers import require

from igngen.azure import media
from igngen.errors import MediaError, MissingInputError


def write_media(d: Path, files: dict[str, bytes]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (d / name).write_bytes(data)
    return d


def test_directory_with_and_without_custom_data(tmp_path: Path) -> None:
    d = write_media(tmp_path / "a", {"ovf-env.xml": b"<x/>", "CustomData.bin": b"cd"})
    got = media.read_directory(str(d))
    assert (got.ovf, got.custom_data, got.origin) == (b"<x/>", b"cd", str(d))
    d2 = write_media(tmp_path / "b", {"ovf-env.xml": b"<y/>"})
    assert media.read_directory(str(d2)).custom_data is None


def test_missing_ovf_is_a_located_missing_input(tmp_path: Path) -> None:
    d = write_media(tmp_path / "m", {"CustomData.bin": b"x"})
    with pytest.raises(MediaError) as err:
        media.read_directory(str(d), origin="/dev/sr0")
    assert isinstance(err.value, MissingInputError)
    assert str(err.value) == "/dev/sr0: no ovf-env.xml on the provisioning media"


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    d = write_media(tmp_path / "m", {"ovf-env.xml": b"<x/>", "CustomData.bin": b""})
    with open(d / "CustomData.bin", "wb") as fh:
        fh.truncate(media.MAX_FILE + 1)
    with pytest.raises(MediaError, match=r"CustomData\.bin is .* over the"):
        media.read_directory(str(d))


def test_wait_is_bounded_and_logs_progress(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    now = [0.0]
    monkeypatch.setattr(media, "candidates", lambda: [])

    def sleep(s: float) -> None:
        now[0] += s

    with pytest.raises(MediaError) as err:
        media.find_and_read(wait=12, clock=lambda: now[0], sleep=sleep)
    assert "no provisioning media after 12s (no udf/iso9660 device)" in str(err.value)
    assert 12 <= now[0] <= 13
    progress = [ln for ln in capsys.readouterr().err.splitlines() if "waiting for" in ln]
    assert 2 <= len(progress) <= 4  # one line every 5 s, not one per poll


def test_sr0_is_tried_first(monkeypatch: pytest.MonkeyPatch) -> None:
    class Proc:
        def __init__(self, out: str) -> None:
            self.stdout = out

    answers = {"TYPE=udf": "/dev/sdc\n/dev/sr0\n", "TYPE=iso9660": "/dev/sda\n"}
    monkeypatch.setattr(media, "_run", lambda argv, timeout=30.0: Proc(answers[argv[-1]]))
    assert media.candidates() == [
        ("/dev/sr0", "udf"),
        ("/dev/sda", "iso9660"),
        ("/dev/sdc", "udf"),
    ]


def need_root_mount() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    require("mount", "umount", "mkfs.ext4", "losetup", "blkid")


def ext4_image(tmp: Path, files: dict[str, bytes]) -> Path:
    need_root_mount()
    src = write_media(tmp / "content", files)
    img = tmp / "media.ext4"
    with open(img, "wb") as fh:
        fh.truncate(8 * 1024 * 1024)
    proc = subprocess.run(
        ["mkfs.ext4", "-q", "-d", str(src), str(img)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"mkfs.ext4 -d unavailable: {proc.stderr.strip()}")
    return img


@contextlib.contextmanager
def loop(img: Path) -> Iterator[str]:
    proc = subprocess.run(
        ["losetup", "--find", "--show", "--read-only", str(img)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"loop devices unavailable: {proc.stderr.strip()}")
    dev = proc.stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def mounted_on(target: str) -> bool:
    return any(line.split()[1] == target for line in Path("/proc/mounts").read_text().splitlines())


@pytest.mark.root
def test_mount_is_read_only_and_always_unmounted(tmp_path: Path) -> None:
    img = ext4_image(tmp_path, {"ovf-env.xml": b"<ovf/>"})
    base = tmp_path / "mnt"
    with loop(img) as dev:
        seen = ""
        with pytest.raises(RuntimeError), media.mounted(dev, "ext4", base=str(base)) as where:
            seen = where
            assert mounted_on(where)
            assert (Path(where) / "ovf-env.xml").read_bytes() == b"<ovf/>"
            with pytest.raises(OSError):
                (Path(where) / "new").write_bytes(b"x")  # read-only
            raise RuntimeError("a parse failure in the caller")
        assert seen and not mounted_on(seen) and not os.path.exists(seen)


@pytest.mark.root
def test_bad_media_content_still_unmounts(tmp_path: Path) -> None:
    img = ext4_image(tmp_path, {"CustomData.bin": b"only custom data"})
    with loop(img) as dev:
        with pytest.raises(MediaError, match=r"no ovf-env\.xml"):
            media.read_device(dev, "ext4")
        assert dev not in Path("/proc/mounts").read_text()


@pytest.mark.root
def test_udf_media_is_discovered_by_blkid(tmp_path: Path) -> None:
    need_root_mount()
    require("mkudffs")
    img = tmp_path / "ovf.udf"
    subprocess.run(
        [
            "mkudffs",
            "--new-file",
            "--media-type=hd",
            "--blocksize=2048",
            "--label=OVFENV",
            str(img),
            "8192",
        ],
        check=True,
        capture_output=True,
    )
    with loop(img) as dev:
        assert (dev, "udf") in media.candidates()
        if "udf" in Path("/proc/filesystems").read_text():
            # An empty UDF volume: found, mounted, refused for lacking ovf-env.xml, unmounted.
            with pytest.raises(MediaError, match=r"no ovf-env\.xml"):
                media.read_device(dev, "udf")
        else:
            with pytest.raises(MediaError) as err:
                media.find_and_read(wait=0)
            assert dev in str(err.value) and "mount -t udf failed" in str(err.value)
        assert dev not in Path("/proc/mounts").read_text()
