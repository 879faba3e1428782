"""igngen provision end to end: media (directory and a real UDF image) + loopback IMDS → hand-off
directory → the real Ignition (fetch-offline + files with IGNITION_SYSTEM_CONFIG_DIR) → checks."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from sim.http import Reply, Step
from sim.imds import imds_routes, imds_server, instance_document, ok
from support.consumers import require, run_ignition
from support.ovf_builder import ED25519, RSA3072, ovf_xml

from igngen.azure import kvp

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Provision-Passw0rd!"
CUSTOM = json.dumps(
    {
        "ignition": {"version": "3.3.0"},
        "storage": {
            "files": [
                {
                    "path": "/etc/from-customdata",
                    "mode": 420,
                    "contents": {"source": "data:,custom%0A"},
                }
            ]
        },
    }
).encode()


def provision(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "igngen", "provision", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def flags(**options: object) -> list[str]:
    """``imds_url="x"`` → ``["--imds-url", "x"]``: provision's options by name."""
    return [a for k, v in options.items() for a in (f"--{k.replace('_', '-')}", str(v))]


def media_dir(tmp: Path, *, password: str | None = PASSWORD, custom: bytes | None = CUSTOM) -> Path:
    d = tmp / "media"
    d.mkdir()
    (d / "ovf-env.xml").write_bytes(
        ovf_xml(
            password=password,
            disable_pw="false",
            custom_data=custom,
            keys=[("/home/azureuser/.ssh/authorized_keys", ED25519)],
        )
    )
    if custom is not None:
        (d / "CustomData.bin").write_bytes(custom)
    return d


def check_root(root: Path, *, user: str, keys: list[str], host: str, password: str | None) -> None:
    passwd = {ln.split(":")[0]: ln for ln in (root / "etc/passwd").read_text().splitlines()}
    assert user in passwd
    shadow = {
        ln.split(":")[0]: ln.split(":")[1] for ln in (root / "etc/shadow").read_text().splitlines()
    }
    if password:
        assert bcrypt.checkpw(password.encode(), shadow[user].encode())
    assert (root / f"home/{user}/.ssh/authorized_keys").read_text().splitlines() == keys
    assert (root / "etc/hostname").read_text() == host + "\n"
    assert (root / "etc/sudoers.d/igngen").stat().st_mode & 0o777 == 0o440
    kept = (root / "var/lib/waagent/ovf-env.xml").read_bytes()
    assert b"REDACTED" in kept or password is None
    if password:
        assert password.encode() not in kept


def test_directory_media_with_imds_to_real_ignition(tmp_path: Path) -> None:
    media = media_dir(tmp_path)
    handoff = tmp_path / "handoff"
    pool = tmp_path / "kvp_pool_1"
    doc = instance_document(
        user="azureuser", host="imdshost", keys=[RSA3072], disable_password_authentication="false"
    )
    with imds_server([ok(doc)]) as srv:
        proc = provision(
            *flags(
                media=media,
                imds_url=srv.url,
                imds_timeout="10",
                handoff_dir=handoff,
                image_dir=tmp_path / "no-image",
                kvp_pool=pool,
                state_dir=tmp_path / "state",
            )
        )
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD not in proc.stderr + proc.stdout
    assert sorted(p.name for p in handoff.iterdir()) == ["user.ign"]
    run = run_ignition(tmp_path / "ign", system_dir=handoff, platform="azure")
    check_root(run.root, user="azureuser", keys=[RSA3072], host="imdshost", password=PASSWORD)
    assert (run.root / "etc/from-customdata").read_text() == "custom\n"
    records = kvp.decode(pool.read_bytes())
    assert any(k == "PROVISIONING_REPORT" and v.startswith("result=success") for k, v in records)
    assert not any(PASSWORD in v for _, v in records)


def test_imds_without_user_data_asks_the_user_data_endpoint(tmp_path: Path) -> None:
    media = media_dir(tmp_path)  # CustomData.bin is there, but IMDS userData wins (as in Ignition)
    doc = instance_document(user="azureuser", host="imdshost", keys=[RSA3072])
    del doc["compute"]["userData"]  # an IMDS (Azure Stack, older) that leaves it out
    user_data = json.dumps(
        {
            "ignition": {"version": "3.3.0"},
            "storage": {
                "files": [{"path": "/etc/from-userdata", "contents": {"source": "data:,ud"}}]
            },
        }
    ).encode()
    routes: dict[str, list[Step]] = {
        "/metadata/instance": [ok(doc)],
        "/metadata/instance/compute/userData": [
            Reply(500, b""),
            Reply(200, base64.b64encode(user_data)),
        ],
    }
    handoff = tmp_path / "handoff"
    with imds_routes(routes) as srv:
        proc = provision(
            *flags(
                media=media,
                imds_url=srv.url,
                imds_timeout="20",
                handoff_dir=handoff,
                image_dir=tmp_path / "none",
                kvp_pool="",
                state_dir=tmp_path / "state",
            )
        )
    assert proc.returncode == 0, proc.stderr
    assert "userData received" in proc.stderr
    run = run_ignition(tmp_path / "ign", system_dir=handoff, platform="azure")
    assert (run.root / "etc/from-userdata").read_text() == "ud"
    assert not (run.root / "etc/from-customdata").exists()


def test_imds_down_continues_from_ovf_and_carries_image_base(tmp_path: Path) -> None:
    media = media_dir(tmp_path, custom=None)
    image = tmp_path / "image"
    (image / "base.d").mkdir(parents=True)
    (image / "base.d/10-image.ign").write_text(
        json.dumps(
            {
                "ignition": {"version": "3.3.0"},
                "storage": {
                    "files": [{"path": "/etc/image-base", "contents": {"source": "data:,base"}}]
                },
            }
        )
    )
    handoff = tmp_path / "handoff"
    proc = provision(
        *flags(
            media=media,
            imds_url="http://127.0.0.1:9",
            imds_timeout="1",
            handoff_dir=handoff,
            image_dir=image,
            kvp_pool=tmp_path / "kvp_pool_1",
        )
    )
    assert proc.returncode == 0, proc.stderr
    assert "continuing with ovf-env.xml only" in proc.stderr
    # the portal's boot diagnostics see why IMDS was skipped
    events = [v for _, v in kvp.decode((tmp_path / "kvp_pool_1").read_bytes())]
    assert any(v.startswith("instance document unavailable: ") for v in events), events
    run = run_ignition(tmp_path / "ign", system_dir=handoff, platform="azure")
    check_root(run.root, user="azureuser", keys=[ED25519], host="testhost", password=PASSWORD)
    assert (run.root / "etc/image-base").read_text() == "base"


def test_cloud_config_is_left_to_the_platform(tmp_path: Path) -> None:
    media = media_dir(tmp_path, custom=b"#cloud-config\nhostname: x\n")
    handoff = tmp_path / "handoff"
    proc = provision(
        *flags(
            media=media,
            imds_url="",
            handoff_dir=handoff,
            image_dir=tmp_path / "none",
            kvp_pool="",
        )
    )
    assert proc.returncode == 0, proc.stderr
    assert "cloud-config" in proc.stderr
    assert sorted(str(p.relative_to(handoff)) for p in handoff.rglob("*") if p.is_file()) == [
        "base.d/90-igngen.ign"
    ]


def test_failure_is_recorded_and_nothing_handed_off(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "ovf-env.xml").write_bytes(ovf_xml(user="root"))
    handoff = tmp_path / "handoff"
    state = tmp_path / "state"
    pool = tmp_path / "pool"
    proc = provision(
        *flags(
            media=media,
            imds_url="",
            handoff_dir=handoff,
            state_dir=state,
            kvp_pool=pool,
        )
    )
    assert proc.returncode == 65 and "Traceback" not in proc.stderr
    assert not handoff.exists()
    reason = (state / "failure-reason").read_text()
    assert reason.startswith("provisioning-data-invalid: ")
    assert "reserved" in reason and "UserName" in reason
    assert any(v.startswith("result=error") for _, v in kvp.decode(pool.read_bytes()))


def test_missing_media_directory_file(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = provision(
        *flags(
            media=tmp_path / "empty",
            imds_url="",
            handoff_dir=tmp_path / "h",
            state_dir=tmp_path / "s",
            kvp_pool="",
        )
    )
    assert proc.returncode == 66 and "no ovf-env.xml" in proc.stderr


def make_udf_image(tmp: Path, files: dict[str, bytes]) -> Path:
    """A UDF image written the way Azure's provisioning DVD looks, without any mount (udfclient)."""
    require("mkudffs", "udfclient")
    img = tmp / "ovf.udf"
    uuid, label = "0000000000000001", "OVFENV"
    subprocess.run(
        [
            "mkudffs",
            "--new-file",
            "--media-type=hd",
            "--blocksize=2048",
            f"--label={label}",
            f"--uuid={uuid}",
            str(img),
            "8192",
        ],
        check=True,
        capture_output=True,
    )
    staging = tmp / "udf-files"
    staging.mkdir()
    script = f"cd {uuid}LinuxUDF:{label}:{label}:LinuxUDF\n"
    for name, data in files.items():
        (staging / name).write_bytes(data)
        script += f"put {name}\n"
    script += "sync\nquit\n"
    subprocess.run(
        ["udfclient", "-W", "-b", "2048", str(img)],
        input=script,
        text=True,
        cwd=staging,
        capture_output=True,
        timeout=60,
    )
    info = subprocess.run(["udfinfo", str(img)], capture_output=True, text=True)
    assert f"numfiles={len(files)}" in info.stdout, info.stdout
    return img


def read_udf_image(img: Path, names: list[str], dest: Path) -> Path:
    """The files of a UDF image, read by udfclient (user space), into a directory."""
    dest.mkdir()
    script = "cd 0000000000000001LinuxUDF:OVFENV:OVFENV:LinuxUDF\n"
    script += "".join(f"get {name}\n" for name in names) + "quit\n"
    subprocess.run(
        ["udfclient", "-b", "2048", str(img)],
        input=script,
        text=True,
        cwd=dest,
        capture_output=True,
        timeout=60,
    )
    return dest


@contextlib.contextmanager
def loop_device(img: Path) -> Iterator[str | None]:
    """A read-only loop device for the image, or None where the kernel cannot mount UDF."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    require("losetup")
    if "udf" not in Path("/proc/filesystems").read_text():
        yield None
        return
    loop = subprocess.run(
        ["losetup", "--find", "--show", "--read-only", str(img)], capture_output=True, text=True
    )
    if loop.returncode != 0:
        pytest.skip(f"loop devices unavailable: {loop.stderr.strip()}")
    try:
        yield loop.stdout.strip()
    finally:
        subprocess.run(["losetup", "-d", loop.stdout.strip()], capture_output=True)


@pytest.mark.root
def test_real_udf_image(tmp_path: Path) -> None:
    ovf = ovf_xml(password=PASSWORD, disable_pw="false", custom_data=CUSTOM)
    img = make_udf_image(tmp_path, {"ovf-env.xml": ovf, "CustomData.bin": CUSTOM})
    handoff = tmp_path / "handoff"
    args = ["--imds-url", "", "--handoff-dir", str(handoff), "--kvp-pool", ""]
    args += ["--image-dir", str(tmp_path / "none"), "--state-dir", str(tmp_path / "state")]
    with loop_device(img) as dev:
        if dev is None:
            # This kernel has no UDF driver (the QEMU end-to-end test mounts real UDF
            # media): the same image, read in user space, is provisioned as a directory.
            media = read_udf_image(img, ["ovf-env.xml", "CustomData.bin"], tmp_path / "udf")
            assert (media / "ovf-env.xml").read_bytes() == ovf
            proc = provision("--media", str(media), *args)
        else:
            proc = provision("--media", dev, *args)
            assert dev not in Path("/proc/mounts").read_text(), "the media must be unmounted"
        assert proc.returncode == 0, proc.stderr
    run = run_ignition(tmp_path / "ign", system_dir=handoff, platform="azure")
    check_root(run.root, user="azureuser", keys=[ED25519], host="testhost", password=PASSWORD)
    assert (run.root / "etc/from-customdata").read_text() == "custom\n"


def test_runtime_layout_defaults_to_run_ignition() -> None:
    from igngen.boot.sequence import options_from_settings
    from igngen.settings import Settings

    opts = options_from_settings(Settings(), layout="runtime")
    assert opts.handoff_dir == "/run/ignition"
    assert options_from_settings(Settings()).handoff_dir == "/run/igngen/ignition"
    assert options_from_settings(Settings(), layout="runtime", handoff_dir="/x").handoff_dir == "/x"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("imds:\n  timeout: soon\n", "imds.timeout: expected a number of seconds"),
        ("provision:\n  layout: new\n", "provision.layout: expected sysdir or runtime"),
        ("provision:\n  media: [a]\n", "provision.media: expected a string"),
        ("provision:\n  mdia: auto\n", "provision.mdia: unknown key"),
    ],
)
def test_bad_provision_settings_are_located(tmp_path: Path, text: str, needle: str) -> None:
    config = tmp_path / "igngen.yaml"
    config.write_text(text)
    proc = provision("--config", str(config), "--media", str(tmp_path), "--kvp-pool", "")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert needle in proc.stderr and str(config) in proc.stderr


# -- local NVMe disks: looked for at provisioning ------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_local_disks_all_present_cost_no_wait() -> None:
    from igngen.boot.sequence import find_local_disks

    clock = FakeClock()
    settled: list[bool] = []
    found = find_local_disks(
        ("/d/1", "/d/2"), 3.0, exists=lambda _: True, clock=clock, sleep=clock.sleep,
        settle=lambda: settled.append(True),
    )  # fmt: skip
    assert found == {"/d/1", "/d/2"} and clock.slept == [] and settled == [True]


def test_local_disks_late_one_is_waited_for_and_absent_ones_until_the_deadline() -> None:
    from igngen.boot.sequence import find_local_disks

    clock = FakeClock()
    late = find_local_disks(
        ("/d/1", "/d/2"), 3.0, exists=lambda d: d == "/d/1" or clock.now >= 0.5,
        clock=clock, sleep=clock.sleep, settle=lambda: None,
    )  # fmt: skip
    assert late == {"/d/1", "/d/2"} and 0.4 < clock.now < 0.7
    clock = FakeClock()
    none = find_local_disks(
        ("/d/1",), 2.0, exists=lambda _: False, clock=clock, sleep=clock.sleep, settle=lambda: None
    )
    assert none == frozenset() and 2.0 <= clock.now < 2.2


def test_nvme_settings_on_a_vm_without_local_disks_provision_without_them(tmp_path: Path) -> None:
    config = tmp_path / "igngen.yaml"
    config.write_text("disks:\n  nvme: {mode: raid0, count: 2}\nprovision: {local_disk_wait: 0}\n")
    handoff = tmp_path / "handoff"
    proc = provision(
        "--config", str(config),
        *flags(media=media_dir(tmp_path), imds_url="", handoff_dir=handoff,
               image_dir=tmp_path / "none", kvp_pool=""),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "local NVMe disks configured=2 found=0" in proc.stderr
    config_text = (handoff / "user.ign").read_text()
    assert "/dev/md/" not in config_text and "by-index" not in config_text
    assert "igngen-nvme-raid.service" not in config_text
