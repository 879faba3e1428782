"""Boot a VM under QEMU and watch it from the outside.

- Accelerator: KVM when it can really boot a stock kernel (probed once per host, kernel
  and QEMU version; the verdict is cached), TCG otherwise. ``IGNGEN_E2E_ACCEL=kvm|tcg``
  overrides the probe.
- Network: QEMU user networking with ``restrict=on``: the guest cannot reach anything
  but the explicit forwards, all of which end on the host's 127.0.0.1. The virtual
  network is 168.0.0.0/7 because slirp only accepts ``guestfwd`` addresses inside it and
  Azure's two endpoints (169.254.169.254, 168.63.129.16) are both in that /7.
- Lifecycle: QEMU is started directly (its PID is ours to kill), serial 0 → console.log,
  serial 1 → marker.log; every wait has a hard timeout; ``close`` kills QEMU by PID and
  keeps the logs under ``.cache/e2e/artifacts`` when the boot went wrong.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from e2e import cache
from e2e.host import note
from e2e.kernel import Kernel

IMDS_ADDRESS = "169.254.169.254"
WIRESERVER_ADDRESS = "168.63.129.16"
GUEST_NETWORK = "168.0.0.0/7"
RELAY_CMD = f"/usr/bin/python3 -I {Path(__file__).with_name('relay.py')}"
# Under TCG a boot to multi-user takes 35-70 s on 2 cores; a stuck boot must still end.
BOOT_TIMEOUT = float(os.environ.get("IGNGEN_E2E_BOOT_TIMEOUT", "300"))
_FATAL = re.compile(
    r"Kernel panic|Entering emergency mode|dracut-emergency|emergency\.target|You are in emergency mode"
)

T = TypeVar("T")


class VmError(AssertionError):
    """The VM did not do what the harness waited for; the message carries the evidence."""


@dataclass(frozen=True)
class Accel:
    name: str  # "kvm" or "tcg"
    args: tuple[str, ...]
    reason: str


_TCG = ("-accel", "tcg,thread=multi,tb-size=256", "-cpu", "max")
_KVM = ("-accel", "kvm", "-cpu", "host")


def _kvm_hint() -> str | None:
    """Why KVM cannot work here, or None when it might."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not usable"
    if Path("/sys/module/kvm_pvm").exists():
        return "/dev/kvm is PVM (kvm_pvm), which cannot run a stock Debian kernel"
    flags = Path("/proc/cpuinfo").read_text()
    if not re.search(r"\b(vmx|svm)\b", flags):
        return "no vmx/svm CPU flag"
    return None


def probe_accel(kernel: Kernel) -> Accel:
    forced = os.environ.get("IGNGEN_E2E_ACCEL")
    if forced in ("kvm", "tcg"):
        return Accel(forced, _KVM if forced == "kvm" else _TCG, "IGNGEN_E2E_ACCEL")
    qemu_version = subprocess.run(
        ["qemu-system-x86_64", "--version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    key = cache.Key("accel").add("host", os.uname().release).add("qemu", qemu_version)
    key.add("kernel", kernel.version).add("kvm", os.path.exists("/dev/kvm"))
    verdict = cache.CACHE_ROOT / f"accel-{key.digest()}.json"
    if verdict.exists():
        data = json.loads(verdict.read_text())
        return Accel(data["name"], tuple(data["args"]), data["reason"])
    hint = _kvm_hint()
    accel = _try_kvm(kernel) if hint is None else Accel("tcg", _TCG, hint)
    cache.CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    verdict.write_text(json.dumps({"name": accel.name, "args": accel.args, "reason": accel.reason}))
    note(f"accelerator: {accel.name} ({accel.reason})")
    return accel


def _try_kvm(kernel: Kernel) -> Accel:
    """Boot the kernel without a root file system: under working KVM it panics in seconds."""
    log = cache.CACHE_ROOT / "kvm-probe.log"
    cache.CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    cmd = [
        "qemu-system-x86_64", *_KVM, "-m", "256", "-nodefaults", "-display", "none",
        "-no-reboot", "-serial", f"file:{log}", "-kernel", str(kernel.vmlinuz),
        "-append", "console=ttyS0 panic=-1",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    text = log.read_text(errors="replace") if log.exists() else ""
    if "Kernel panic" in text:
        return Accel("kvm", _KVM, "KVM booted the kernel to its expected panic")
    return Accel("tcg", _TCG, "KVM did not boot the kernel within 60 s")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Drive:
    path: Path
    fmt: str = "raw"
    serial: str | None = None  # virtio: /dev/disk/by-id/virtio-<serial>; nvme: required
    # "virtio" (virtio-blk-pci) or "nvme": an NVMe controller with this drive as its one
    # namespace, the way Azure presents local NVMe disks (/dev/nvmeXn1).
    bus: str = "virtio"


@dataclass
class VmSpec:
    kernel: Path
    initrd: Path
    cmdline: str
    drives: list[Drive]
    cdrom: Path | None = None
    # guest (address, port) → host port on 127.0.0.1
    guestfwd: dict[tuple[str, int], int] = field(default_factory=dict)
    memory_mb: int = 1024
    cpus: int = 2


class Vm:
    """One QEMU process. Use as a context manager; ``close`` always kills it."""

    def __init__(self, spec: VmSpec, accel: Accel, workdir: Path, *, name: str) -> None:
        self.spec = spec
        self.accel = accel
        self.workdir = workdir
        self.name = name
        self.console = workdir / "console.log"
        self.marker = workdir / "marker.log"
        self.ssh_key: Path | None = None
        self.ssh_user: str | None = None
        self.ssh_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.failed = False
        self.boots_seen = 0
        self.qmp_socket = workdir / "qmp.sock"
        # Every frame the guest NIC sends or receives (pcap), for checks on what the guest
        # said on the wire (its DHCP hostname); cut at 2 KiB a frame, enough for DHCP.
        self.network_capture = workdir / "network.pcap"

    # -- lifecycle ---------------------------------------------------------------------
    def argv(self) -> list[str]:
        s = self.spec
        netdev = (
            f"user,id=n0,restrict=on,net={GUEST_NETWORK},hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22"
        )
        for (addr, port), host_port in sorted(s.guestfwd.items()):
            # cmd: (one relay process per guest connection), see relay.py for why
            netdev += f",guestfwd=tcp:{addr}:{port}-cmd:{RELAY_CMD} {host_port}"
        argv = [
            "qemu-system-x86_64", "-machine", "pc", *self.accel.args,
            "-smp", str(s.cpus), "-m", str(s.memory_mb),
            "-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot",
            "-serial", f"file:{self.console}", "-serial", f"file:{self.marker}",
            "-kernel", str(s.kernel), "-initrd", str(s.initrd), "-append", s.cmdline,
            "-netdev", netdev, "-device", "virtio-net-pci,netdev=n0,romfile=",
            "-pidfile", str(self.workdir / "qemu.pid"),
            "-qmp", f"unix:{self.qmp_socket},server=on,wait=off",
            "-object", f"filter-dump,id=cap0,netdev=n0,file={self.network_capture},maxlen=2048",
        ]  # fmt: skip
        for i, d in enumerate(s.drives):
            opts = f"file={d.path},if=none,id=d{i},format={d.fmt}"
            if d.bus == "nvme":
                if not d.serial:
                    raise ValueError(f"{d.path}: an NVMe drive needs a serial")
                dev = f"nvme,drive=d{i},serial={d.serial}"
            elif d.bus == "virtio":
                dev = f"virtio-blk-pci,drive=d{i}" + (f",serial={d.serial}" if d.serial else "")
            else:
                raise ValueError(f"{d.path}: unknown drive bus {d.bus!r}")
            argv += ["-drive", opts, "-device", dev]
        if s.cdrom is not None:
            argv += [
                "-drive", f"file={s.cdrom},if=none,id=cd0,media=cdrom,format=raw,readonly=on",
                "-device", "ide-cd,drive=cd0,bus=ide.1",
            ]  # fmt: skip
        return argv

    def start(self) -> Vm:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for f in (self.console, self.marker, self.workdir / "qemu.pid", self.qmp_socket):
            f.unlink(missing_ok=True)
        self.ssh_port = free_port()
        argv = self.argv()
        (self.workdir / "qemu.argv").write_text("\n".join(argv) + "\n")
        note(f"{self.name}: starting QEMU ({self.accel.name}), logs in {self.workdir}")
        with (self.workdir / "qemu.log").open("ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.started = time.monotonic()
        return self

    def __enter__(self) -> Vm:
        return self.start() if self.proc is None else self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if et is not None:
            self.failed = True
        self.close()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Kill our QEMU by its PID (TERM, then KILL)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self) -> None:
        self.kill()
        if self.failed:
            self.keep_artifacts()

    def keep_artifacts(self) -> Path:
        dest = cache.ARTIFACTS / f"{time.strftime('%Y%m%d-%H%M%S')}-{self.name}"
        dest.mkdir(parents=True, exist_ok=True)
        for f in self.workdir.iterdir():
            if f.is_file() and f.suffix in (".log", ".argv", ".txt", ".json", ".xml", ".yaml"):
                shutil.copy2(f, dest / f.name)
        note(f"{self.name}: logs kept in {dest}")
        return dest

    # -- watching ----------------------------------------------------------------------
    def console_text(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def marker_lines(self) -> list[str]:
        if not self.marker.exists():
            return []
        return [
            ln.strip() for ln in self.marker.read_text(errors="replace").splitlines() if ln.strip()
        ]

    def _evidence(self) -> str:
        tail = "\n".join(self.console_text().splitlines()[-40:])
        return f"\n--- console tail ({self.console}) ---\n{tail}"

    def wait_for(
        self,
        what: str,
        probe: Callable[[], T | None],
        *,
        timeout: float = BOOT_TIMEOUT,
        interval: float = 0.5,
        fatal_console: bool = True,
    ) -> T:
        """Poll ``probe`` until it returns non-None; fail on timeout, QEMU exit or a fatal console line."""
        deadline = time.monotonic() + timeout
        while True:
            result = probe()
            if result is not None:
                return result
            if fatal_console and (m := _FATAL.search(self.console_text())):
                time.sleep(2)  # let the emergency shell's explanation reach the log
                self.failed = True
                raise VmError(
                    f"{self.name}: {m.group(0)!r} on the console while waiting for {what}{self._evidence()}"
                )
            if not self.running():
                result = probe()  # the guest may have finished between two polls
                if result is not None:
                    return result
                self.failed = True
                raise VmError(
                    f"{self.name}: QEMU exited while waiting for {what}{self._evidence()}"
                )
            if time.monotonic() > deadline:
                self.failed = True
                raise VmError(f"{self.name}: no {what} within {timeout:.0f} s{self._evidence()}")
            time.sleep(interval)

    def wait_booted(self, *, timeout: float = BOOT_TIMEOUT) -> str:
        """Wait for the next E2E-BOOTED marker line (one per boot of the real root)."""
        index = self.boots_seen

        def probe() -> str | None:
            lines = [ln for ln in self.marker_lines() if ln.startswith("E2E-BOOTED")]
            return lines[index] if len(lines) > index else None

        line = self.wait_for("boot to multi-user.target", probe, timeout=timeout)
        self.boots_seen += 1
        note(f"{self.name}: booted after {time.monotonic() - self.started:.1f} s: {line}")
        return line

    def wait_exit(self, *, timeout: float = 120) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.failed = True
            raise VmError(
                f"{self.name}: QEMU still running {timeout:.0f} s after poweroff{self._evidence()}"
            ) from None

    # -- talking to the guest ----------------------------------------------------------
    def login_as(self, user: str, key: Path) -> None:
        self.ssh_user, self.ssh_key = user, key

    def ssh(
        self, command: str, *, timeout: float = 120, check: bool = False, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        assert self.ssh_user and self.ssh_key, "login_as() first"
        argv = [
            "ssh", "-F", "/dev/null", "-i", str(self.ssh_key), "-p", str(self.ssh_port),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20",
            f"{self.ssh_user}@127.0.0.1", command,
        ]  # fmt: skip
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",  # journal exports may carry binary fields
            timeout=timeout,
            input=input or "",  # stdin is never the harness's own
        )
        if check and proc.returncode != 0:
            raise VmError(
                f"{self.name}: ssh {command!r} exited {proc.returncode}: {proc.stderr.strip()}"
            )
        return proc

    def wait_ssh(self, *, timeout: float = 120) -> None:
        def probe() -> bool | None:
            try:
                return True if self.ssh("true", timeout=30).returncode == 0 else None
            except subprocess.TimeoutExpired:
                return None

        self.wait_for(f"ssh login as {self.ssh_user}", probe, timeout=timeout, interval=2)

    def poweroff(self, *, timeout: float = 120) -> None:
        """Clean shutdown (so a reused disk is consistent), then wait for QEMU to exit.

        Asks over ssh first (works for a passwordless-sudo user), then presses the ACPI
        power button through QMP; logind powers the guest off either way.
        """
        if self.ssh_user:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.ssh("sudo -n systemctl --no-block poweroff", timeout=30)
        with contextlib.suppress(subprocess.TimeoutExpired):
            assert self.proc is not None
            self.proc.wait(timeout=20)
        if self.running():
            self.qmp("system_powerdown")
        self.wait_exit(timeout=timeout)

    def qmp(self, command: str) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(str(self.qmp_socket))
            f = s.makefile("rwb")
            f.readline()  # greeting
            for cmd in ("qmp_capabilities", command):
                f.write(json.dumps({"execute": cmd}).encode() + b"\n")
                f.flush()
                while b'"return"' not in (line := f.readline()) and b'"error"' not in line and line:
                    pass


def make_overlay(base: Path, dest: Path) -> Path:
    """A qcow2 overlay so the cached base image stays pristine."""
    dest.unlink(missing_ok=True)
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(dest)],
        check=True,
    )
    return dest


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])


def hostfwd_only(argv: Sequence[str]) -> bool:
    """The network is restricted and every forward ends on 127.0.0.1 (relay.py only dials loopback)."""
    netdevs = [argv[i + 1] for i, a in enumerate(argv) if a == "-netdev"]
    for nd in netdevs:
        if "restrict=on" not in nd.split(","):
            return False
        for opt in nd.split(","):
            if opt.startswith("hostfwd=") and not opt.startswith("hostfwd=tcp:127.0.0.1:"):
                return False
            if opt.startswith("guestfwd=") and f"-cmd:{RELAY_CMD} " not in opt:
                return False
    return True
