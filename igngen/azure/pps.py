"""Pre-provisioned VMs (PPS): which kind this VM is, and what igngen does about it (pure).

Azure can create a VM in a pool before anyone asked for it. The pool's
``ovf-env.xml`` then says ``PreprovisionedVm=true`` and, on newer hosts,
``PreprovisionedVMType`` (``Running``, ``Savable``, ``PreprovisionedOSDisk``);
IMDS says the same in ``extended.compute.ppsType``. The document describes a
placeholder identity: nothing from it may reach the VM. The agent reports Ready
for the pool and polls ``/metadata/reprovisiondata`` until the host hands over
the real ``ovf-env.xml`` (cloud-init's Azure datasource is the only agent that
does this; the order of the checks below is its ``_determine_pps_type``).

Kinds igngen provisions: ``Running`` and the legacy kind (``PreprovisionedVm=true``
without a type, which cloud-init has treated as ``Running`` since 2020: the NIC
stays, its link bounces when the VM moves to the customer's VNet and DHCP starts
again). Kinds it refuses with a named reason: ``Savable`` (the NIC is detached
and new ones hot-plugged; the initramfs' network would have to follow the new
NICs), ``PreprovisionedOSDisk`` (the host shuts the VM down and boots the disk
elsewhere) and any type value nobody documents.
"""

from __future__ import annotations

from igngen.azure.ovf import OvfEnvironment
from igngen.errors import PpsError, shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple

API_VERSION = "2019-06-01"
# cloud-init polls for ever; igngen must end. A day is the longest wait igngen allows
# anywhere (limits.MAX_SECONDS): a pool VM may sit that long, and one that has waited a
# day with nobody assigned is better failed (the pool replaces it) than left hanging.
DEFAULT_POLL_TIMEOUT = 86_400.0
PATH = "/metadata/reprovisiondata"
# The re-provisioning document's source name in locations and logs. It must not start
# with "imds": provision would take its errors for the instance document's.
SOURCE = "reprovisiondata"

NONE = "None"
RUNNING = "Running"
LEGACY = "legacy"  # PreprovisionedVm=true, no type
SAVABLE = "Savable"
OS_DISK = "PreprovisionedOSDisk"

WAIT = "wait"  # report Ready for the pool, poll, provision from the new document
REFUSE = "refuse"  # fail with pps-unsupported-kind
PROCEED = "proceed"  # not pre-provisioned: the normal flow

_PS_PATH = "/Environment/PlatformSettingsSection/PlatformSettings"


class PpsDecision(NamedTuple):
    kind: str  # NONE, RUNNING, LEGACY, SAVABLE, OS_DISK, or the odd type value as given
    action: str  # WAIT, REFUSE, PROCEED
    source: str  # where the kind was read (a located element, or the IMDS pointer)


def _setting(ovf: OvfEnvironment, name: str) -> tuple[str | None, str]:
    for key, value in ovf.platform_settings:
        if key.lower() == name.lower():
            return value, f"{ovf.source}:{_PS_PATH}/{key}"
    return None, f"{ovf.source}:{_PS_PATH}/{name}"


def detect(
    ovf: OvfEnvironment, imds_pps_type: str | None = None, *, imds_source: str = "imds"
) -> PpsDecision:
    """The PPS kind from the OVF's PlatformSettings and IMDS ``extended.compute.ppsType``.

    Savable first, then the OS-disk kind, then Running/legacy (cloud-init's order: a
    document that says both PreprovisionedVm and Savable is Savable). Values are
    compared without case, as the element names are.
    """
    ovf_type, type_loc = _setting(ovf, "PreprovisionedVMType")
    _, vm_loc = _setting(ovf, "PreprovisionedVm")
    imds_loc = f"{imds_source}#/extended/compute/ppsType"

    def says(kind: str) -> str | None:
        if ovf_type is not None and ovf_type.strip().lower() == kind.lower():
            return type_loc
        if imds_pps_type is not None and imds_pps_type.strip().lower() == kind.lower():
            return imds_loc
        return None

    for kind in (SAVABLE, OS_DISK):
        where = says(kind)
        if where:
            return PpsDecision(kind, REFUSE, where)
    where = says(RUNNING)
    if where:
        return PpsDecision(RUNNING, WAIT, where)
    odd = ovf_type if ovf_type is not None and ovf_type.strip().lower() != "none" else None
    if ovf.preprovisioned_vm:
        if odd is not None:
            # A type nobody documents: provisioning the placeholder, or waiting for a
            # hand-over that may never come the way igngen expects, are both wrong.
            return PpsDecision(odd.strip(), REFUSE, type_loc)
        return PpsDecision(LEGACY, WAIT, vm_loc)
    return PpsDecision(NONE, PROCEED, type_loc if ovf_type is not None else vm_loc)


def refusal(decision: PpsDecision) -> PpsError:
    """The one-line failure for a kind igngen does not provision."""
    why = {
        SAVABLE: "the pool VM is suspended and gets new NICs hot-plugged on assignment, "
        "which igngen does not follow in the initramfs",
        OS_DISK: "the host shuts the pool VM down and boots its disk elsewhere",
    }.get(decision.kind, "not a pre-provisioning type igngen knows")
    name = decision.kind if decision.kind in (SAVABLE, OS_DISK) else shown(decision.kind)
    return PpsError("pps-unsupported-kind", f"{name}: {why}", decision.source)


def reprovision_url(imds_base: str) -> str:
    return f"{imds_base.rstrip('/')}{PATH}?api-version={API_VERSION}"


def parse_reprovisioned(data: bytes) -> OvfEnvironment:
    """The re-provisioning document, under the same parser and limits as the media's.

    A malformed or hostile document is a named PPS failure that keeps the parser's
    location (``reprovisiondata:LINE:COL``).
    """
    from igngen.azure import ovf as ovf_parser
    from igngen.errors import OvfError

    try:
        return ovf_parser.parse(data, source=SOURCE)
    except OvfError as exc:
        raise PpsError("pps-reprovision-data-invalid", exc.message, exc.location) from None


def still_pooled(env: OvfEnvironment) -> str | None:
    """A warning when the hand-over document still calls the VM pre-provisioned."""
    decision = detect(env)
    if decision.action == PROCEED:
        return None
    return (
        f"{decision.source}: the re-provisioning document still says pre-provisioned "
        f"({decision.kind}); provisioning from it anyway"
    )
