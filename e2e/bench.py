"""``make bench-boot``: boot timings and the initramfs cost of igngen, printed.

- initramfs size with and without igngen's dracut module (compressed file, unpacked);
- one provisioning boot: kernel start → igngen's hand-off (journal monotonic clock,
  which starts with the kernel), igngen's own time in the initrd (its unit's start to
  finish, and the ``t=`` stamps igngen puts on its log lines), Ignition's stages, switch
  root and multi-user for context.

Measured once per run (a boot under TCG takes about a minute); numbers vary by ±20 %
run to run here, so compare within one run, not across machines.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from e2e import azure, boot, initramfs, scenario
from e2e.build import Artifacts, build_all, unavailable
from e2e.host import note

_T = re.compile(r"\bt=([0-9.]+)s\b")


def unpacked_size(initrd: Path) -> int:
    """Bytes of the main (compressed) archive once decompressed."""
    skip = subprocess.Popen(["/usr/lib/dracut/skipcpio", str(initrd)], stdout=subprocess.PIPE)
    out = subprocess.run(["zstd", "-dc"], stdin=skip.stdout, capture_output=True, check=True)
    skip.wait()
    return len(out.stdout)


@dataclass(frozen=True)
class Entry:
    mono: float  # seconds since kernel start
    message: str
    unit: str  # the unit that logged it (_SYSTEMD_UNIT) or that PID 1 talks about (UNIT)
    pid1_unit: str


def journal(run_ssh: str) -> list[Entry]:
    out: list[Entry] = []
    for line in run_ssh.splitlines():
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        msg = e.get("MESSAGE")
        if not isinstance(msg, str):
            continue
        out.append(
            Entry(
                int(e["__MONOTONIC_TIMESTAMP"]) / 1e6,
                msg,
                str(e.get("_SYSTEMD_UNIT", "")),
                str(e.get("UNIT", "")),
            )
        )
    return out


def _first(entries: list[Entry], pred: object) -> Entry | None:
    return next((e for e in entries if pred(e)), None)  # type: ignore[operator]


def timeline(entries: list[Entry]) -> list[str]:
    lines: list[str] = []
    switch = _first(entries, lambda e: e.message.startswith("Switching root"))
    initrd = [e for e in entries if switch is None or e.mono <= switch.mono]
    ign_lines = [
        e for e in initrd if e.message.startswith("igngen:") or "igngen:" in e.message[:12]
    ]
    if ign_lines:
        unit = ign_lines[0].unit
        started = _first(initrd, lambda e: e.pid1_unit == unit and e.message.startswith("Starting"))
        done = _first(
            initrd, lambda e: e.pid1_unit == unit and e.message.startswith(("Finished", "Started"))
        )
        handoff = done or ign_lines[-1]
        lines.append(f"kernel start -> igngen hand-off ({unit} done): {handoff.mono:.2f} s")
        if started and done:
            lines.append(
                f"igngen unit in the initrd (start -> finish): {done.mono - started.mono:.2f} s"
            )
        stamps = [float(m.group(1)) for e in ign_lines if (m := _T.search(e.message))]
        if stamps:
            lines.append(f"igngen's own log clock at its last initrd line: {max(stamps):.2f} s")
        lines.append(f"igngen log lines in the initrd: {len(ign_lines)}")
    else:
        lines.append("igngen: no igngen lines in the initrd journal (module not present or silent)")
    for label, unit in (
        ("ignition-fetch-offline start", "ignition-fetch-offline.service"),
        ("ignition-files done", "ignition-files.service"),
    ):
        e = _first(
            entries,
            lambda x, u=unit: x.pid1_unit == u and x.message.startswith(("Start", "Finish")),
        )
        if label.endswith("done"):
            e = _first(
                entries, lambda x, u=unit: x.pid1_unit == u and x.message.startswith("Finished")
            )
        if e:
            lines.append(f"kernel start -> {label}: {e.mono:.2f} s")
    if switch:
        lines.append(f"kernel start -> switch root: {switch.mono:.2f} s")
    return lines


def main() -> int:
    reason = unavailable()
    if reason:
        print(f"bench-boot: cannot run here: {reason}")
        return 1
    art = build_all()
    print(f"accelerator: {art.accel.name} ({art.accel.reason})")
    base_size = art.initrd_base.stat().st_size
    base_unpacked = unpacked_size(art.initrd_base)
    print(
        f"initramfs without igngen: {base_size / 2**20:.1f} MiB ({base_unpacked / 2**20:.1f} MiB unpacked)"
    )
    if art.initrd_igngen is None:
        print("initramfs with igngen: (igngen's dracut module is not in the repo yet)")
        return _boot_plain(art)
    size = art.initrd_igngen.stat().st_size
    unpacked = unpacked_size(art.initrd_igngen)
    print(
        f"initramfs with igngen: {size / 2**20:.1f} MiB ({unpacked / 2**20:.1f} MiB unpacked); "
        f"igngen adds {(size - base_size) / 2**20:+.1f} MiB ({size / base_size:.2f}x), "
        f"{(unpacked - base_unpacked) / 2**20:+.1f} MiB unpacked"
    )
    key, pub = _keypair()
    p = azure.Provisioning(user="benchuser", host="bench-vm", ssh_key=pub)
    with scenario.provisioning_boot(art, p, name="bench-boot") as run:
        booted = run.vm.wait_booted()
        run.vm.login_as(p.user, key)
        run.vm.wait_ssh()
        raw = run.vm.ssh("sudo -n journalctl -b -o json --no-pager", check=True).stdout
        run.vm.poweroff()
    for line in timeline(journal(raw)):
        print(line)
    print(f"multi-user reached at guest uptime {_uptime(booted)} s")
    return 0


def _boot_plain(art: Artifacts) -> int:
    note("bench: no igngen module yet, timing a plain-Ignition boot for reference")
    key, pub = _keypair()
    user_ign = json.dumps(
        {
            "ignition": {"version": "3.3.0"},
            "passwd": {"users": [{"name": "benchuser", "sshAuthorizedKeys": [pub]}]},
            "storage": {
                "files": [
                    {
                        "path": "/etc/sudoers.d/bench",
                        "mode": 0o440,
                        "contents": {
                            "source": "data:,benchuser%20ALL%3D(ALL)%20NOPASSWD%3A%20ALL%0A"
                        },
                    }
                ]
            },
        }
    ).encode()
    work = boot.run_dir("bench-plain")
    initrd = initramfs.overlay(
        art.initrd_base, {"usr/lib/ignition/user.ign": user_ign}, work / "initrd.img"
    )
    vm = boot.machine(
        art,
        work,
        name="bench-plain",
        initrd=initrd,
        cmdline=boot.cmdline(firstboot=True, platform="qemu"),
    )
    with vm:
        booted = vm.wait_booted()
        vm.login_as("benchuser", key)
        vm.wait_ssh()
        raw = vm.ssh("sudo -n journalctl -b -o json --no-pager", check=True).stdout
        vm.poweroff()
    for line in timeline(journal(raw)):
        print(line)
    print(f"multi-user reached at guest uptime {_uptime(booted)} s")
    return 0


def _uptime(marker: str) -> str:
    m = re.search(r"uptime=([0-9.]+)", marker)
    return m.group(1) if m else "?"


def _keypair() -> tuple[Path, str]:
    d = boot.run_dir("bench-ssh")
    key = d / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key, key.with_suffix(".pub").read_text().strip()
