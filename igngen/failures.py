"""Every failure igngen can report, by name (pure): the whole vocabulary in one place.

A failure is a stable *name* from :data:`CATALOGUE` and a *detail*: one line, at most
MAX_FAILURE_DETAIL_BYTES of UTF-8, built from igngen's own error text (which names
fields and locations and quotes values only escaped and bounded, never raw input or a
secret). The name is what a host-side reader matches on; the detail is for people.

Where a failure is written:

- ``<state-dir>/failure-reason`` holds ``NAME: detail`` (one line), for the reporter;
- KVP ``PROVISIONING_REPORT`` and the Wireserver's health description hold
  ``result=error|reason=NAME|detail=…|agent=igngen/<version>|vm_id=…|documentation_url=…|timestamp=…``
  (see :func:`igngen.azure.kvp.report_value`);
- ``igngen status`` shows the name of each recorded failure.

Names are never reused for another meaning. The ``pps-*`` names belong to pre-provisioned
VMs (PreprovisionedVm in ovf-env.xml).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from igngen.limits import MAX_FAILURE_DETAIL_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple

# name -> what it means (README "Failure reasons" lists the same table).
CATALOGUE: Mapping[str, str] = MappingProxyType(
    {
        "settings-invalid": "igngen's settings file is malformed or names an unknown key",
        "usage": "igngen was started with a wrong command line",
        "media-missing": "no provisioning media (ovf-env.xml) could be found, mounted or read",
        "ovf-invalid": "ovf-env.xml is not a well-formed, safe Azure provisioning document",
        "imds-unusable": "IMDS did not answer usefully, or its instance document is malformed",
        "provisioning-data-invalid": "a user name, host name, SSH key, key path or password "
        "breaks a rule, or ovf-env.xml and IMDS together lack one",
        "customdata-invalid": "custom data or IMDS userData is present but cannot be used",
        "customdata-missing": "Azure says custom data was given (IMDS hasCustomData), "
        "but none was found",
        "guest-proxy-agent-unavailable": "ovf-env.xml asks for the guest proxy agent, "
        "which this image does not have, and the settings make that fatal",
        "template-invalid": "a Butane template is malformed or renders to an invalid config",
        "waagent-conf-invalid": "the image's waagent.conf has a line igngen cannot use",
        "disk-failed": "an ephemeral disk could not be checked or prepared",
        "handoff-failed": "the configs could not be handed to Ignition",
        "kvp-failed": "the Hyper-V KVP pool could not be written",
        "wireserver-unusable": "the Wireserver could not be reached or answered nonsense",
        "service-unavailable": "a remote endpoint could not be used within its budget",
        "input-invalid": "an input is malformed, hostile or inconsistent",
        "output-failed": "a result could not be written",
        "ignition-stage-failed": "an Ignition stage failed (the detail names the stage)",
        "unit-failed": "a provisioning unit failed without recording a reason",
        "timeout": "provisioning did not finish within its deadline",
        "terminated": "provisioning was stopped by SIGTERM (a unit start timeout or a shutdown)",
        "interrupted": "provisioning was interrupted (SIGINT)",
        "internal": "a bug in igngen (the detail names the exception type and where)",
        "pps-unsupported-kind": "a pre-provisioned VM of a kind igngen does not handle",
        "pps-pool-ready-failed": "a pre-provisioned VM's Ready for the pool was not accepted",
        "pps-timeout": "a pre-provisioned VM's reprovisioning data did not come in time",
        "pps-imds-unreachable": "a pre-provisioned VM never reached IMDS while it waited",
        "pps-imds-refused": "IMDS answered the reprovisioning poll with a final error",
        "pps-imds-disabled": "a pre-provisioned VM needs IMDS, which the settings turn off",
        "pps-reprovision-data-invalid": "the hand-over ovf-env.xml from IMDS cannot be used",
        "pps-imds-still-preprovisioned": "IMDS still says pre-provisioned after the hand-over",
        "unknown": "a failure reported without a catalogue name (e.g. --description TEXT)",
    }
)


class Failure(NamedTuple):
    name: str
    detail: str

    def line(self) -> str:
        """``NAME: detail``: the failure-reason file's one line."""
        return f"{self.name}: {self.detail}" if self.detail else self.name


def bound(detail: str) -> str:
    """One line of at most MAX_FAILURE_DETAIL_BYTES UTF-8 bytes (cut on a character)."""
    from igngen.errors import _one_line, strip_userinfo

    text = _one_line(strip_userinfo(detail)).replace("|", "/")
    data = text.encode("utf-8")
    if len(data) <= MAX_FAILURE_DETAIL_BYTES:
        return text
    cut = data[: MAX_FAILURE_DETAIL_BYTES - 3].decode("utf-8", "ignore")
    return cut + "..."


def failure(name: str, detail: str) -> Failure:
    if name not in CATALOGUE:
        raise ValueError(f"failure name {name!r} is not in the catalogue")
    return Failure(name, bound(detail))


def _by_type() -> dict[type, str]:
    from igngen import errors as e
    from igngen.watchdog import DeadlineError

    return {
        e.IgngenError: "internal",
        e.UsageError: "usage",
        e.SettingsError: "settings-invalid",
        e.InputError: "input-invalid",
        e.MissingInputError: "media-missing",
        e.MediaError: "media-missing",
        e.OvfError: "ovf-invalid",
        e.ImdsDataError: "imds-unusable",
        e.ImdsUnavailableError: "imds-unusable",
        e.RuleError: "provisioning-data-invalid",
        e.ReconcileError: "provisioning-data-invalid",
        e.TemplateError: "template-invalid",
        e.ButaneError: "template-invalid",
        e.IgnitionConfigError: "customdata-invalid",
        e.CustomDataError: "customdata-invalid",
        e.CustomDataMissingError: "customdata-missing",
        e.GuestProxyAgentError: "guest-proxy-agent-unavailable",
        e.ServiceError: "service-unavailable",
        e.OutputError: "output-failed",
        e.StreamError: "output-failed",
        e.HandoffError: "handoff-failed",
        e.KvpError: "kvp-failed",
        e.WireserverError: "wireserver-unusable",
        e.WireserverDataError: "wireserver-unusable",
        e.WaagentConfError: "waagent-conf-invalid",
        DeadlineError: "timeout",
    }


def name_for(error: BaseException) -> str:
    """The catalogue name of an error: its own type's, else the nearest base type's."""
    from igngen.watchdog import DeadlineError

    if isinstance(error, DeadlineError):
        return "terminated" if error.terminated else "timeout"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    from igngen.errors import PpsError

    if isinstance(error, PpsError) and error.reason in CATALOGUE:
        return error.reason
    table = _by_type()
    for kind in type(error).__mro__:
        if kind in table:
            return table[kind]
    return "internal"


def from_error(error: BaseException) -> Failure:
    """The failure for an exception. igngen's errors give their one-line text (it names
    locations, never secrets); anything else is a bug, shown only by type and frame."""
    from igngen.errors import IgngenError, internal_reason

    if isinstance(error, KeyboardInterrupt):
        return failure("interrupted", "SIGINT")
    if isinstance(error, IgngenError):
        name, text = name_for(error), str(error)
        # The watchdog's own text starts with what is now the name ("timeout: …").
        return failure(name, text.removeprefix(f"{name}: "))
    return failure("internal", internal_reason(error))


def parse_line(text: str) -> Failure:
    """A failure-reason line (``NAME: detail``) back to a Failure; text that does not start
    with a catalogue name (an older igngen's file, ``--description``) is ``unknown``."""
    text = text.strip()
    name, sep, rest = text.partition(": ")
    if name in CATALOGUE:
        return failure(name, rest if sep else "")
    if text in CATALOGUE:
        return failure(text, "")
    return failure("unknown", text)


def for_unit(unit: str, message: str) -> Failure:
    """A failure found in the journal or systemd's MONITOR_* variables, by its unit:
    an Ignition stage names itself (``ignition-files.service`` → stage ``files``)."""
    if unit.startswith("ignition-") and unit.endswith(".service"):
        stage = unit[len("ignition-") : -len(".service")]
        return failure("ignition-stage-failed", f"stage {stage}: {unit}: {message}")
    if unit == "igngen-resource-disk.service" or unit.startswith("igngen-nvme-"):
        return failure("disk-failed", f"{unit}: {message}")  # the disk prepare units
    return failure("unit-failed", f"{unit}: {message}" if unit else message)


def reason_of(description: object) -> str | None:
    """The catalogue name in a recorded report's description (``…|reason=NAME|…``)."""
    if not isinstance(description, str):
        return None
    for field in description.split("|"):
        key, sep, value = field.partition("=")
        if sep and key == "reason":
            return value if value in CATALOGUE else "unknown"
    return None
