"""One provisioning boot: media, resource disk, Azure endpoints on loopback, the VM."""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from e2e import azure, boot, cache, initramfs, media, qemu
from e2e.build import Artifacts
from e2e.services import Request

SIM_DIR = cache.REPO / "tests" / "sim"

RESOURCE_DISK_MIB = 256
# Each local NVMe disk (sparse): Azure names it nvme-1G-<index>; xfs needs 300 MiB at least.
NVME_DISK_MIB = 1024
# Where the image author puts igngen's settings in the initramfs (provision's contract).
IGNGEN_CONFIG_PATH = "etc/igngen/igngen.yaml"


class Endpoint(Protocol):
    port: int

    def seen(self) -> list[Request]: ...


@dataclass
class Run:
    """A booted (or booting) provisioning scenario."""

    vm: qemu.Vm
    provisioning: azure.Provisioning
    imds: Endpoint
    wireserver: Endpoint
    workdir: Path
    root_overlay: Path
    resource_disk: Path
    booted: str = ""  # the guest's E2E-BOOTED marker line (failed units included)
    nvme_disks: tuple[Path, ...] = ()  # local NVMe disk images, index 1 first

    def failed_units(self) -> list[str]:
        """The units the E2E-BOOTED line reported as failed (empty before it arrived)."""
        if "failed=[" not in self.booted:
            return []
        return self.booted.split("failed=[", 1)[1].split("]", 1)[0].split()

    def collect_journal(self) -> None:
        """Best effort: the guest's journal of this boot, for the kept artifacts."""
        pw = self.provisioning.password
        sudo = "sudo -S -p ''" if pw else "sudo -n"
        try:
            res = self.vm.ssh(f"{sudo} journalctl -b --no-pager", input=(pw + "\n") if pw else None)
        except Exception as exc:  # the VM may be gone; the console log is kept anyway
            res_text = f"(no journal: {exc})"
        else:
            res_text = res.stdout + res.stderr
        if pw:
            res_text = res_text.replace(pw, "<password>")
        (self.workdir / "journal.txt").write_text(res_text)

    def health(self) -> list[azure.HealthReport]:
        return azure.health_reports(self.wireserver.seen())

    def wait_health(
        self, predicate_name: str, count: int = 1, *, timeout: float = qemu.BOOT_TIMEOUT
    ) -> list[azure.HealthReport]:
        """Wait until ``count`` reports whose state or substatus is ``predicate_name`` arrived."""

        def probe() -> list[azure.HealthReport] | None:
            hits = [h for h in self.health() if predicate_name in (h.state, h.substatus)]
            return hits if len(hits) >= count else None

        return self.vm.wait_for(
            f"{count} {predicate_name} report(s) at the Wireserver",
            probe,
            timeout=timeout,
            fatal_console=False,
        )


class _SimAdapter:
    """The project's simulators (``tests/sim``) seen through the harness's interface."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.port: int = server.httpd.server_address[1]

    def seen(self) -> list[Request]:
        return [Request(r.method, r.path, dict(r.headers), r.body) for r in self.server.requests]


class _WireserverAdapter(_SimAdapter):
    """The project's Wireserver simulator: only the health reports it accepted count
    (one it refused, say with 410 for a stale incarnation, was not a report)."""

    def __init__(self, sim: Any) -> None:
        super().__init__(sim.server)
        self.sim = sim

    def seen(self) -> list[Request]:
        with self.sim.lock:
            accepted = sorted([*self.sim.health, *self.sim.json], key=lambda r: r.at)
        return [Request(r.method, r.path, dict(r.headers), r.body) for r in accepted]


def _project_sim(name: str) -> Any:
    """``tests/sim/<name>.py``: the project's one simulator set."""
    if str(SIM_DIR.parent) not in sys.path:
        sys.path.insert(0, str(SIM_DIR.parent))
    return importlib.import_module(f"sim.{name}")


@contextlib.contextmanager
def azure_endpoints(
    p: azure.Provisioning,
    *,
    json_health: bool = True,
    imds_steps: list[Any] | None = None,
    imds_sim: Any | None = None,
) -> Iterator[tuple[Endpoint, Endpoint]]:
    """IMDS and Wireserver on 127.0.0.1: the project's simulators (tests/sim).
    ``json_health=False`` makes the Wireserver answer 404 on the JSON health endpoint, as
    hosts without it do, so the guest has to report through the goal-state protocol.
    ``imds_steps``: a script of ``tests/sim/http.py`` steps for IMDS (faults) instead of
    the instance document. ``imds_sim``: a simulator of the caller's making (entered here),
    e.g. ``tests/sim/imds.py``'s ``PpsImds`` for a pre-provisioned VM."""
    doc = azure.imds_instance(p, resource_disk_mib=RESOURCE_DISK_MIB)
    sim_imds, sim_ws = _project_sim("imds"), _project_sim("wireserver")
    with contextlib.ExitStack() as stack:
        imds: Endpoint
        if imds_sim is not None:
            imds = _SimAdapter(stack.enter_context(imds_sim).server)
        else:
            steps = imds_steps if imds_steps is not None else [sim_imds.ok(doc)]
            imds = _SimAdapter(stack.enter_context(sim_imds.imds_server(steps)))
        sim = sim_ws.WireserverSim(
            json_enabled=json_health, goal_state_body=azure.goal_state(incarnation=1)
        )
        ws: Endpoint = _WireserverAdapter(stack.enter_context(sim))
        yield imds, ws


@contextlib.contextmanager
def provisioning_boot(
    art: Artifacts,
    p: azure.Provisioning,
    *,
    name: str,
    initrd_files: dict[str, bytes] | None = None,
    settings_yaml: str | None = None,
    extra_cmdline: str = "",
    resource: str = "ntfs",
    json_health: bool = True,
    nvme_disks: int = 0,
    imds_steps: list[Any] | None = None,
    imds_sim: Any | None = None,
    media_files: dict[str, bytes] | None = None,
) -> Iterator[Run]:
    """First boot of a fresh VM with igngen's initramfs; yields while QEMU runs.
    ``nvme_disks``: how many blank local NVMe disks the VM gets. ``media_files``: the
    provisioning media's files instead of ``p``'s (a pre-provisioned pool's document)."""
    assert art.initrd_igngen is not None
    work = boot.run_dir(name)
    initrd = art.initrd_igngen
    initrd_files = dict(initrd_files or {})
    if settings_yaml is not None:
        initrd_files[IGNGEN_CONFIG_PATH] = settings_yaml.encode()
    if initrd_files:
        initrd = initramfs.overlay(initrd, initrd_files, work / "initrd.img")
    cdrom = media.udf_cdrom(media_files or azure.media_files(p), work / "ovf.udf")
    disk = work / "resource.img"
    if resource == "ntfs":
        media.ntfs_resource_disk(disk, RESOURCE_DISK_MIB)
    else:
        media.blank_disk(disk, RESOURCE_DISK_MIB)
    nvme = tuple(
        media.blank_disk(work / f"nvme{i}.img", NVME_DISK_MIB) for i in range(1, nvme_disks + 1)
    )
    (work / "provisioning.json").write_text(json.dumps({"user": p.user, "host": p.host}))
    endpoints = azure_endpoints(
        p, json_health=json_health, imds_steps=imds_steps, imds_sim=imds_sim
    )
    with endpoints as (imds, ws):
        overlay = qemu.make_overlay(art.root.path, work / "root.qcow2")
        vm = boot.machine(
            art, work, name=name, initrd=initrd,
            cmdline=boot.cmdline(firstboot=True, platform="azure", extra=extra_cmdline),
            root_overlay=overlay, resource_disk=disk, cdrom=cdrom,
            imds_port=imds.port, wireserver_port=ws.port, nvme_disks=nvme,
        )  # fmt: skip
        with vm:
            yield Run(vm, p, imds, ws, work, overlay, disk, nvme_disks=nvme)


@contextlib.contextmanager
def next_boot(art: Artifacts, first: Run, *, name: str, redeploy: bool) -> Iterator[Run]:
    """The next boot of ``first``'s OS disk (powered off by the caller); Ignition does not
    run again. ``redeploy``: on another host, so Azure hands out a fresh NTFS resource disk
    and blank local NVMe disks; otherwise every disk is kept (a reboot). Yields while QEMU
    runs, logged in as ``first`` was."""
    assert not first.vm.running(), "power the first VM off before booting its disk again"
    assert art.initrd_igngen is not None
    if redeploy:
        media.ntfs_resource_disk(first.resource_disk, RESOURCE_DISK_MIB)
        for image in first.nvme_disks:
            media.blank_disk(image, image.stat().st_size // media.MIB)
    with azure_endpoints(first.provisioning) as (imds, ws):
        vm = boot.machine(
            art, first.workdir, name=name, initrd=art.initrd_igngen,
            cmdline=boot.cmdline(firstboot=False, platform="azure"),
            root_overlay=first.root_overlay, resource_disk=first.resource_disk,
            cdrom=first.workdir / "ovf.udf", imds_port=imds.port, wireserver_port=ws.port,
            nvme_disks=first.nvme_disks,
        )  # fmt: skip
        with vm:
            if first.vm.ssh_user and first.vm.ssh_key:
                vm.login_as(first.vm.ssh_user, first.vm.ssh_key)
            yield Run(
                vm, first.provisioning, imds, ws, first.workdir, first.root_overlay,
                first.resource_disk, nvme_disks=first.nvme_disks,
            )  # fmt: skip
