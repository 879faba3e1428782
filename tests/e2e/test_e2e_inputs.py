"""Fast checks of the harness's own parts (no VM): the scenario inputs are what igngen
accepts offline, the appended initramfs archive is valid cpio, the loopback relay
carries bytes both ways, and health reports decode."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from e2e_support import BROKEN_CUSTOMDATA, CUSTOM_FILE, CUSTOM_UNIT, CUSTOMDATA, PASSWORD
from support.consumers import require

from e2e import azure, bench, initramfs, qemu
from e2e.services import Request

REPO = Path(__file__).resolve().parents[2]
KEY = (REPO / "tests/data/keys/ed25519.pub").read_text().strip()


def _render(tmp_path: Path, p: azure.Provisioning) -> subprocess.CompletedProcess[str]:
    (tmp_path / "ovf-env.xml").write_bytes(azure.ovf_env(p))
    (tmp_path / "imds.json").write_text(json.dumps(azure.imds_instance(p)))
    argv = [sys.executable, "-m", "igngen", "render", "--ovf", str(tmp_path / "ovf-env.xml")]
    argv += ["--imds", str(tmp_path / "imds.json")]
    if p.customdata is not None:
        (tmp_path / "CustomData.bin").write_bytes(p.customdata)
        argv += ["--customdata", str(tmp_path / "CustomData.bin")]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO)


def test_scenario_media_render_offline(tmp_path: Path) -> None:
    p = azure.Provisioning(
        user="azureuser", host="e2e-pw-vm", ssh_key=KEY, password=PASSWORD, customdata=CUSTOMDATA
    )
    res = _render(tmp_path, p)
    assert res.returncode == 0, res.stderr
    config = json.loads(res.stdout)
    assert [u["name"] for u in config["passwd"]["users"]] == ["azureuser"]
    assert CUSTOM_FILE in [f["path"] for f in config["storage"]["files"]]
    assert CUSTOM_UNIT in [u["name"] for u in config["systemd"]["units"]]
    assert PASSWORD not in res.stdout + res.stderr


def test_broken_customdata_is_refused_offline(tmp_path: Path) -> None:
    p = azure.Provisioning(
        user="azureuser", host="e2e-broken-vm", ssh_key=KEY, customdata=BROKEN_CUSTOMDATA
    )
    res = _render(tmp_path, p)
    assert res.returncode == 65, res.stderr
    assert "Traceback" not in res.stderr


def test_overlay_archive_is_valid_cpio(tmp_path: Path) -> None:
    require("cpio")
    blob = initramfs.newc_archive(
        {"usr/lib/ignition/user.ign": b"{}", "etc/x/run.sh": b"#!/bin/sh\n"}
    )
    listing = subprocess.run(
        ["cpio", "-itv", "--quiet"], input=blob, capture_output=True, check=True
    ).stdout.decode()
    names = [line.split()[-1] for line in listing.splitlines()]
    assert names == [
        "etc",
        "etc/x",
        "etc/x/run.sh",
        "usr",
        "usr/lib",
        "usr/lib/ignition",
        "usr/lib/ignition/user.ign",
    ]
    assert listing.splitlines()[2].startswith("-rwxr-xr-x")


def test_relay_carries_both_directions() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def echo_upper() -> None:
        conn, _ = server.accept()
        with conn:
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
            conn.sendall(data.upper())

    t = threading.Thread(target=echo_upper, daemon=True)
    t.start()
    guest, relay_end = socket.socketpair()
    cmd = [*qemu.RELAY_CMD.split(), str(port)]
    proc = subprocess.Popen(cmd, stdin=relay_end.fileno(), stdout=relay_end.fileno())
    relay_end.close()
    guest.sendall(b"hello imds" * 1000)
    guest.shutdown(socket.SHUT_WR)
    got = b""
    while chunk := guest.recv(65536):
        got += chunk
    assert got == b"HELLO IMDS" * 1000
    assert proc.wait(timeout=10) == 0
    server.close()


def test_health_reports_decode() -> None:
    xml = (
        b'<?xml version="1.0"?><Health><GoalStateIncarnation>1</GoalStateIncarnation><Container>'
        b"<ContainerId>c</ContainerId><RoleInstanceList><Role><InstanceId>i</InstanceId><Health>"
        b"<State>NotReady</State><Details><SubStatus>ProvisioningFailed</SubStatus>"
        b"<Description>customdata: bad JSON</Description></Details></Health></Role>"
        b"</RoleInstanceList></Container></Health>"
    )
    reports = azure.health_reports(
        [
            Request("GET", "/machine/?comp=goalstate", {}, b""),
            Request("POST", "/machine?comp=health", {}, xml),
            Request("POST", "/provisioning/health", {}, b'{"state": "Ready"}'),
        ]
    )
    assert reports == [
        azure.HealthReport("NotReady", "ProvisioningFailed", "customdata: bad JSON"),
        azure.HealthReport("Ready", "", ""),
    ]


def test_network_is_loopback_only() -> None:
    spec = qemu.VmSpec(Path("k"), Path("i"), "", [], guestfwd={(qemu.IMDS_ADDRESS, 80): 1234})
    vm = qemu.Vm(spec, qemu.Accel("tcg", (), "test"), Path("/nonexistent"), name="t")
    argv = vm.argv()
    assert qemu.hostfwd_only(argv)
    bad = [a.replace("restrict=on", "restrict=off") for a in argv]
    assert not qemu.hostfwd_only(bad)


# -- make bench-boot's reading of the guest journal ------------------------------------


def _entry(mono: float, message: str, unit: str = "", pid1_unit: str = "") -> bench.Entry:
    return bench.Entry(mono, message, unit, pid1_unit)


PROVISION = "igngen-provision.service"
REPORTER = "igngen-report-provisioning.service"
JOURNAL = [
    _entry(3.0, "Starting igngen-provision.service - igngen: provision", pid1_unit=PROVISION),
    _entry(3.2, "igngen: info provision: starting media=auto t=0.200s", PROVISION),
    _entry(3.3, "igngen: info report: Wireserver address=x t=0.290s", REPORTER),
    _entry(3.4, "igngen: info imds: requesting url=http://x budget=300s t=1.000s", PROVISION),
    _entry(3.5, "igngen: warning imds: retrying after status 500 t=1.500s", PROVISION),
    _entry(3.6, "igngen: info imds: requesting url=http://x budget=299s t=1.600s", PROVISION),
    _entry(3.7, "igngen: info imds: instance document received bytes=848 t=2.000s", PROVISION),
    _entry(3.8, "igngen: info provision: done t=2.750s", PROVISION),
    _entry(6.0, "Finished igngen-provision.service - igngen: provision", pid1_unit=PROVISION),
    _entry(6.0, "igngen-report-provisioning.service: Consumed 9.5s CPU time.", pid1_unit=REPORTER),
    _entry(6.1, "igngen-provision.service: Consumed 1min 2.5s CPU time.", pid1_unit=PROVISION),
    _entry(9.0, "Switching root."),
]


def test_bench_network_wait_pairs_each_request_with_its_answer() -> None:
    lines = [e for e in JOURNAL if e.unit == PROVISION]
    assert bench.network_wait(lines) == pytest.approx(0.5 + 0.4)


def test_bench_cpu_time_is_the_units_own() -> None:
    assert bench.cpu_seconds(JOURNAL, PROVISION) == pytest.approx(62.5)
    assert bench.cpu_seconds(JOURNAL, REPORTER) == pytest.approx(9.5)
    ms = [_entry(1.0, "x.service: Consumed 823ms CPU time.")]
    assert bench.cpu_seconds(ms, "x.service") == pytest.approx(0.823)
    assert bench.cpu_seconds(ms, "y.service") is None


def test_bench_timeline_reports_the_provisioning_unit() -> None:
    text = "\n".join(bench.timeline(JOURNAL))
    assert f"igngen hand-off ({PROVISION} done): 6.00 s" in text
    assert "start -> finish): 3.00 s" in text
    assert "waiting on IMDS: 0.90 s" in text
    assert "excluding network waits: 2.10 s" in text
    assert "CPU time (systemd's account): 62.50 s" in text
    assert "igngen log lines in the initrd: 6" in text
    assert "switch root: 9.00 s" in text
