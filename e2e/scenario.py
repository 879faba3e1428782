"""One provisioning boot: media, resource disk, Azure endpoints on loopback, the VM."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from e2e import azure, boot, initramfs, media, qemu
from e2e.build import Artifacts
from e2e.services import RecordingServer, imds_server, wireserver_server

RESOURCE_DISK_MIB = 256
# Where the image author puts igngen's settings in the initramfs (provision's contract).
IGNGEN_CONFIG_PATH = "etc/igngen/igngen.yaml"


@dataclass
class Run:
    """A booted (or booting) provisioning scenario."""

    vm: qemu.Vm
    provisioning: azure.Provisioning
    imds: RecordingServer
    wireserver: RecordingServer
    workdir: Path
    root_overlay: Path
    resource_disk: Path
    booted: str = ""  # the guest's E2E-BOOTED marker line (failed units included)

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


@contextlib.contextmanager
def azure_endpoints(p: azure.Provisioning) -> Iterator[tuple[RecordingServer, RecordingServer]]:
    with (
        imds_server(azure.imds_instance(p, resource_disk_mib=RESOURCE_DISK_MIB)) as imds,
        wireserver_server(azure.goal_state()) as ws,
    ):
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
) -> Iterator[Run]:
    """First boot of a fresh VM with igngen's initramfs; yields while QEMU runs."""
    assert art.initrd_igngen is not None
    work = boot.run_dir(name)
    initrd = art.initrd_igngen
    initrd_files = dict(initrd_files or {})
    if settings_yaml is not None:
        initrd_files[IGNGEN_CONFIG_PATH] = settings_yaml.encode()
    if initrd_files:
        initrd = initramfs.overlay(initrd, initrd_files, work / "initrd.img")
    cdrom = media.udf_cdrom(azure.media_files(p), work / "ovf.udf")
    disk = work / "resource.img"
    if resource == "ntfs":
        media.ntfs_resource_disk(disk, RESOURCE_DISK_MIB)
    else:
        media.blank_disk(disk, RESOURCE_DISK_MIB)
    (work / "provisioning.json").write_text(json.dumps({"user": p.user, "host": p.host}))
    with azure_endpoints(p) as (imds, ws):
        overlay = qemu.make_overlay(art.root.path, work / "root.qcow2")
        vm = boot.machine(
            art, work, name=name, initrd=initrd,
            cmdline=boot.cmdline(firstboot=True, platform="azure", extra=extra_cmdline),
            root_overlay=overlay, resource_disk=disk, cdrom=cdrom,
            imds_port=imds.port, wireserver_port=ws.port,
        )  # fmt: skip
        with vm:
            yield Run(vm, p, imds, ws, work, overlay, disk)
