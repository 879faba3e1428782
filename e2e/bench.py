"""``make bench-boot``: boot timings and the initramfs cost of igngen, printed.

- initramfs size with and without igngen's dracut module (compressed file, unpacked);
- one provisioning boot: kernel start → igngen's hand-off (journal monotonic clock,
  which starts with the kernel), igngen's own time in the initrd (its unit's start to
  finish, less the IMDS waits its ``t=`` log stamps show; and the CPU time systemd
  accounts to the unit), Ignition's stages, switch root and multi-user for context;
- the emulator's slow-down (interpreter start-up timed in the guest and on the host), to
  turn the guest's CPU seconds into an estimate for real hardware: under TCG every
  guest second is several host seconds.

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
from e2e.host import note, ssh_keypair

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


_CONSUMED = re.compile(r": Consumed (?:(\d+)min )?([0-9.]+)(ms|s) CPU time")


def cpu_seconds(entries: list[Entry], unit: str) -> float | None:
    """The CPU time systemd says ``unit`` consumed ("Consumed 1min 2.3s CPU time.")."""
    for e in entries:
        if e.message.startswith(unit + ":") and (m := _CONSUMED.search(e.message)):
            minutes, value, scale = m.groups()
            return int(minutes or 0) * 60 + float(value) / (1000 if scale == "ms" else 1)
    return None


def network_wait(lines: list[Entry]) -> float:
    """Seconds igngen spent waiting on IMDS: from each ``imds: requesting`` line to the
    next imds line (the answer, a retry warning or giving up), by igngen's own clock."""
    total = 0.0
    pending: float | None = None
    for e in lines:
        m = _T.search(e.message)
        if m is None or "imds:" not in e.message:
            continue
        t = float(m.group(1))
        if pending is not None:
            total += t - pending
            pending = None
        if "imds: requesting" in e.message:
            pending = t
    return total


def timeline(entries: list[Entry]) -> list[str]:
    lines: list[str] = []
    switch = _first(entries, lambda e: e.message.startswith("Switching root"))
    initrd = [e for e in entries if switch is None or e.mono <= switch.mono]
    ign_lines = [
        e for e in initrd if e.message.startswith("igngen:") or "igngen:" in e.message[:12]
    ]
    if ign_lines:
        # the provisioning unit, not the in-progress reporter that runs beside it
        units = {e.unit for e in ign_lines}
        unit = (
            "igngen-provision.service" if "igngen-provision.service" in units else ign_lines[0].unit
        )
        ign_lines = [e for e in ign_lines if e.unit == unit]
        started = _first(initrd, lambda e: e.pid1_unit == unit and e.message.startswith("Starting"))
        done = _first(
            initrd, lambda e: e.pid1_unit == unit and e.message.startswith(("Finished", "Started"))
        )
        handoff = done or ign_lines[-1]
        lines.append(f"kernel start -> igngen hand-off ({unit} done): {handoff.mono:.2f} s")
        if started and done:
            wall = done.mono - started.mono
            waited = network_wait(ign_lines)
            lines.append(f"igngen unit in the initrd (start -> finish): {wall:.2f} s")
            lines.append(f"  of which waiting on IMDS: {waited:.2f} s")
            lines.append(f"  igngen's time excluding network waits: {wall - waited:.2f} s")
        cpu = cpu_seconds(entries, unit)
        if cpu is not None:
            lines.append(f"igngen unit CPU time (systemd's account): {cpu:.2f} s")
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
    key, pub = ssh_keypair(boot.run_dir("bench-ssh"))
    p = azure.Provisioning(user="benchuser", host="bench-vm", ssh_key=pub)
    with scenario.provisioning_boot(art, p, name="bench-boot") as run:
        booted = run.vm.wait_booted()
        run.vm.login_as(p.user, key)
        run.vm.wait_ssh()
        raw = run.vm.ssh("sudo -n journalctl -b -o json --no-pager", check=True).stdout
        guest_start = float(run.vm.ssh(_STARTUP_PROBE.format(python="python3"), check=True).stdout)
        run.vm.poweroff()
    entries = journal(raw)
    for line in timeline(entries):
        print(line)
    print(f"multi-user reached at guest uptime {_uptime(booted)} s")
    _print_native_estimate(entries, guest_start)
    return 0


# Best of five interpreter start-ups: the same work on the guest and the host gives the
# emulator's slow-down, which turns the guest's seconds into an estimate for real hardware.
_STARTUP_PROBE = (
    "{python} -c 'import subprocess, sys, time\n"
    "def once():\n t = time.perf_counter()\n"
    ' subprocess.run([sys.executable, "-c", "pass"], check=True)\n'
    " return time.perf_counter() - t\n"
    "print(min(once() for _ in range(5)))'"
)


def _print_native_estimate(entries: list[Entry], guest_start: float) -> None:
    host = subprocess.run(
        ["sh", "-c", _STARTUP_PROBE.format(python="/usr/bin/python3")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    host_start = float(host.stdout)
    factor = guest_start / host_start
    print(
        f"interpreter start-up: guest {guest_start * 1000:.0f} ms, host {host_start * 1000:.0f} ms"
        f" -> the guest runs {factor:.1f}x slower than this host"
    )
    unit = "igngen-provision.service"
    cpu = cpu_seconds(entries, unit)
    if cpu is not None:
        print(
            f"estimate on this host's CPU: igngen's CPU time in the initrd ~{cpu / factor * 1000:.0f} ms"
            " (target <= 300 ms; network waits are not CPU time)"
        )


def _boot_plain(art: Artifacts) -> int:
    note("bench: no igngen module yet, timing a plain-Ignition boot for reference")
    key, pub = ssh_keypair(boot.run_dir("bench-ssh"))
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
