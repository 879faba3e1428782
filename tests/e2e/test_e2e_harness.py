"""The harness on its own: plain Ignition provisions the stand-in OS from a baked
``user.ign``, the guest reaches host loopback listeners at the Azure addresses through
``guestfwd``, and nothing else."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

from e2e import boot, initramfs
from e2e.build import Artifacts
from e2e.qemu import IMDS_ADDRESS, WIRESERVER_ADDRESS, hostfwd_only
from e2e.services import RecordingServer

USER = "plainuser"
HOST = "plain-ignition-vm"


def _data(text: str) -> dict[str, object]:
    return {"source": "data:," + urllib.parse.quote(text)}


def _user_ign(pubkey: str) -> bytes:
    config = {
        "ignition": {"version": "3.3.0"},
        "passwd": {"users": [{"name": USER, "sshAuthorizedKeys": [pubkey], "shell": "/bin/bash"}]},
        "storage": {
            "files": [
                {
                    "path": "/etc/hostname",
                    "mode": 0o644,
                    "overwrite": True,
                    "contents": _data(HOST + "\n"),
                },
                {
                    "path": "/etc/sudoers.d/e2e",
                    "mode": 0o440,
                    "contents": _data(f"{USER} ALL=(ALL) NOPASSWD: ALL\n"),
                },
                {"path": "/etc/e2e-plain", "mode": 0o644, "contents": _data("baked user.ign\n")},
            ]
        },
    }
    return json.dumps(config).encode()


# In the initrd, before Ignition: bring the network up the way an initrd unit that
# needs IMDS would (network-online.target → systemd-networkd + DHCP) and fetch from the
# IMDS address with bash's /dev/tcp (the initrd has no HTTP client). The answer goes to
# the harness's marker port.
_INITRD_NET_UNIT = """[Unit]
Description=e2e: fetch from the IMDS address in the initrd
DefaultDependencies=no
Wants=network-online.target
After=network-online.target
Before=initrd.target ignition-fetch-offline.service

[Service]
Type=oneshot
ExecStart=/bin/bash -c 'exec 3<>/dev/tcp/169.254.169.254/80 && printf "GET /initrd-probe HTTP/1.0\\r\\nMetadata: true\\r\\n\\r\\n" >&3 && while read -r l <&3; do b=$$l; done; echo "E2E-INITRD-NET $$b" > /dev/ttyS1'
"""

_PROBE = """python3 - <<'PY'
import socket, urllib.request
for addr in ("{imds}", "{ws}"):
    print(addr, urllib.request.urlopen(f"http://{{addr}}/e2e-probe", timeout=20).read().decode().strip())
try:
    socket.create_connection(("1.1.1.1", 80), timeout=5)
    print("outside reachable")
except OSError:
    print("outside unreachable")
PY"""


def test_plain_ignition_boot_and_loopback_forwards(
    artifacts: Artifacts, ssh_keypair: tuple[Path, str]
) -> None:
    key, pub = ssh_keypair
    work = boot.run_dir("plain-ignition")
    initrd = initramfs.overlay(
        artifacts.initrd_base,
        {
            "usr/lib/ignition/user.ign": _user_ign(pub),
            "etc/systemd/system/e2e-initrd-net.service": _INITRD_NET_UNIT.encode(),
            "etc/systemd/system/initrd.target.d/e2e-net.conf": b"[Unit]\nWants=e2e-initrd-net.service\n",
        },
        work / "initrd.img",
    )
    with RecordingServer(b"imds-here\n") as imds, RecordingServer(b"wireserver-here\n") as ws:
        vm = boot.machine(
            artifacts,
            work,
            name="plain-ignition",
            initrd=initrd,
            cmdline=boot.cmdline(firstboot=True, platform="qemu"),
            imds_port=imds.port,
            wireserver_port=ws.port,
        )
        assert hostfwd_only(vm.argv())
        with vm:
            booted = vm.wait_booted()
            assert "failed=[]" in booted, booted
            # the initrd reached the IMDS forward (DHCP from slirp, then guestfwd)
            assert "E2E-INITRD-NET imds-here" in vm.marker_lines(), vm.marker_lines()
            assert [r.path for r in imds.seen()] == ["/initrd-probe"]
            vm.login_as(USER, key)
            vm.wait_ssh()
            assert vm.ssh("hostname", check=True).stdout.strip() == HOST
            assert vm.ssh("cat /etc/e2e-plain", check=True).stdout == "baked user.ign\n"
            assert vm.ssh("sudo -n true").returncode == 0
            probe = vm.ssh(
                _PROBE.format(imds=IMDS_ADDRESS, ws=WIRESERVER_ADDRESS), check=True
            ).stdout
            assert f"{IMDS_ADDRESS} imds-here" in probe
            assert f"{WIRESERVER_ADDRESS} wireserver-here" in probe
            assert "outside unreachable" in probe
            assert [r.path for r in imds.seen()] == ["/initrd-probe", "/e2e-probe"]
            assert [r.path for r in ws.seen()] == ["/e2e-probe"]
            vm.poweroff()
