"""A pre-provisioned (PPS ``Running``) VM under QEMU: the pool's media names a placeholder
user, IMDS answers 404 to ``/metadata/reprovisiondata`` a few times and then hands over
the customer's ``ovf-env.xml``; the VM comes up as the customer only, and the Wireserver
sees Ready for the pool first, the real provisioning's in-progress and Ready after."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import provisioned_vm

from e2e import azure, scenario
from e2e.build import Artifacts
from e2e.scenario import RESOURCE_DISK_MIB, Run

POOL_USER = "poolplaceholder"
POOL_HOST = "e2e-pool-placeholder"
REAL_USER = "customer"
REAL_HOST = "e2e-pps-vm"
CUSTOM_FILE = "/etc/e2e-pps-customdata"
CUSTOMDATA = json.dumps(
    {
        "ignition": {"version": "3.3.0"},
        "storage": {
            "files": [
                {
                    "path": CUSTOM_FILE,
                    "mode": 0o644,
                    "contents": {"source": "data:," + urllib.parse.quote("customer's\n")},
                }
            ]
        },
    }
).encode()
RUNNING = (
    b"<PreprovisionedVm>true</PreprovisionedVm><PreprovisionedVMType>Running</PreprovisionedVMType>"
)
POOL_KEY = (Path(__file__).resolve().parents[1] / "data/keys/rsa3072.pub").read_text().strip()


@pytest.fixture(scope="module")
def pps_vm(
    request: pytest.FixtureRequest, artifacts: Artifacts, ssh_keypair: tuple[Path, str]
) -> Iterator[Run]:
    if artifacts.initrd_igngen is None:
        pytest.skip("igngen's dracut module has not landed")
    sim = scenario._project_sim("imds")
    if not hasattr(sim, "PpsImds"):
        pytest.skip("tests/sim/imds.py has no PPS simulator")
    key, pub = ssh_keypair
    pool = azure.Provisioning(user=POOL_USER, host=POOL_HOST, ssh_key=POOL_KEY)
    real = azure.Provisioning(user=REAL_USER, host=REAL_HOST, ssh_key=pub, customdata=CUSTOMDATA)
    pool_ovf = azure.ovf_env(pool).replace(b"<PreprovisionedVm>false</PreprovisionedVm>", RUNNING)
    assert RUNNING in pool_ovf
    pool_doc = azure.imds_instance(pool, resource_disk_mib=RESOURCE_DISK_MIB)
    pool_doc["extended"] = {"compute": {"ppsType": "Running", "hasCustomData": False}}
    real_doc = azure.imds_instance(real, resource_disk_mib=RESOURCE_DISK_MIB)
    real_doc["extended"] = {"compute": {"ppsType": "None", "hasCustomData": True}}
    imds = sim.PpsImds(
        pool_doc=pool_doc, real_doc=real_doc, handover=azure.ovf_env(real), pool_polls=3
    )
    boot = provisioned_vm(
        request,
        artifacts,
        real,
        key,
        name="igngen-pps-running",
        imds_sim=imds,
        media_files={"ovf-env.xml": pool_ovf},
    )
    for run in boot:  # one run; the loop resumes the helper's teardown after the module
        run.imds_sim = imds  # type: ignore[attr-defined]
        yield run


def test_pps_vm_is_the_customer_only(pps_vm: Run) -> None:
    assert "failed=[]" in pps_vm.booted, pps_vm.booted
    vm = pps_vm.vm
    assert vm.ssh("id -un", check=True).stdout.strip() == REAL_USER
    assert vm.ssh("hostname", check=True).stdout.strip() == REAL_HOST
    assert vm.ssh(f"cat {CUSTOM_FILE}", check=True).stdout == "customer's\n"
    # The journal first, before any command of this test could name the placeholder.
    journal = vm.ssh("sudo -n journalctl -b -o export --no-pager", check=True).stdout
    assert "pre-provisioned VM: reprovisioned" in journal
    assert POOL_USER not in journal and POOL_HOST not in journal
    assert vm.ssh("getent passwd", check=True).stdout.count(f"\n{POOL_USER}:") == 0
    assert vm.ssh(f"test -e /home/{POOL_USER}").returncode != 0
    # The names go through a file, never a command line (sudo logs command lines).
    vm.ssh("cat > ~/.e2e-pool", input=f"{POOL_USER}\n{POOL_HOST}\n", check=True)
    hits = vm.ssh(
        f"sudo -n grep -rlF --exclude=.e2e-pool -f /home/{REAL_USER}/.e2e-pool"
        " /etc /var /run /home /root 2>/dev/null || true",
        check=True,
    ).stdout
    vm.ssh("rm -f ~/.e2e-pool", check=True)
    assert hits.strip() == ""
    polls = [r for r in pps_vm.imds.seen() if r.path.startswith("/metadata/reprovisiondata")]
    assert [r.path for r in polls] == ["/metadata/reprovisiondata?api-version=2019-06-01"] * 4
    assert all(r.headers.get("metadata") == "true" for r in polls)


def test_pps_vm_reports_ready_for_the_pool_then_for_the_customer(pps_vm: Run) -> None:
    pps_vm.wait_health("Ready", count=2, timeout=180)
    reports = pps_vm.health()
    ready = [i for i, h in enumerate(reports) if h.state == "Ready"]
    progress = [i for i, h in enumerate(reports) if h.substatus == "Provisioning"]
    assert len(ready) == 2, reports
    assert ready[0] == 0, reports  # the pool's Ready comes before anything else
    assert progress and ready[0] < progress[0] < ready[1], reports
    assert not [h for h in reports if h.substatus == "ProvisioningFailed"], reports
