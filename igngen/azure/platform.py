"""What Azure's platform flags ask of this VM, and what igngen does about them (pure).

- ``ProvisionGuestAgent`` (ovf-env.xml PlatformSettings; ARM
  ``osProfile.linuxConfiguration.provisionVMAgent``): ``false`` means the VM owner wants
  no guest agent, so the fragment masks its unit (WALinuxAgent writes its own disable
  file for the same flag). Absent counts as true, as in WALinuxAgent.
- ``ProvisionGuestProxyAgent``: the VM should run the Azure guest proxy agent (cloud-init
  waits for ``azure-proxy-agent --status`` before talking to IMDS). igngen images have
  none: a KVP event says so; the settings can make it a failure.
- IMDS ``extended.compute.hasCustomData``: custom data was given. If none is found (no
  CustomData.bin, no OVF CustomData, empty userData), the user's config would silently be
  missing: a failure by default (cloud-init does the same), or a warning by setting.
- SSH keys given only by certificate fingerprint are skipped (see README); each is a
  named event.

Settings (``azure:`` section): ``customdata_missing: fail|warn``, ``proxy_agent_missing:
warn|fail``, ``eject_media: true|false``, ``waagent_unit: NAME.service``.
"""

from __future__ import annotations

from collections.abc import Mapping

from igngen.errors import CustomDataMissingError, GuestProxyAgentError
from igngen.render.model import Sourced

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from igngen.azure.imds import ImdsInstance
    from igngen.azure.ovf import OvfEnvironment
    from igngen.render.model import Provisioning
else:
    from igngen.records import NamedTuple

SETTINGS_KEYS = ("customdata_missing", "proxy_agent_missing", "eject_media", "waagent_unit")
DEFAULT_WAAGENT_UNIT = "waagent.service"  # Flatcar's (and most distributions') unit name
_UNIT_RE = r"[A-Za-z0-9:_.\\-]{1,200}\.service"  # compiled only when the setting is given
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
PSS_PATH = "/Environment/PlatformSettingsSection/PlatformSettings"


class AzureOptions(NamedTuple):
    customdata_missing: str = "fail"
    proxy_agent_missing: str = "warn"
    eject_media: bool = True
    waagent_unit: str = DEFAULT_WAAGENT_UNIT
    source: str = "defaults"


def options(
    sections: Mapping[str, Mapping[str, Any]],
    source: str,
    *,
    positions: Mapping[str, str] | None = None,
) -> AzureOptions:
    """The settings' ``azure:`` section; unknown keys and bad values refused."""
    from igngen.settings import Section

    section = Section("azure", sections.get("azure"), source, SETTINGS_KEYS, positions)
    values: dict[str, Any] = {}
    for key in SETTINGS_KEYS:
        if key not in section:
            continue
        if key in ("customdata_missing", "proxy_agent_missing"):
            values[key] = section.choice(key, ("fail", "warn"), "fail")
        elif key == "eject_media":
            values[key] = section.boolean(key, True)
        elif key == "waagent_unit":
            values[key] = section.string(
                key, "", pattern=_UNIT_RE, what="a unit name ending in .service"
            )
    return AzureOptions(**values, source=source if section.values else "defaults")


class Event(NamedTuple):
    """A named note for KVP (``igngen|NAME|time``) and the render's warnings."""

    name: str
    text: str


class Decisions(NamedTuple):
    guest_agent: Sourced[bool]  # True: the image's guest agent runs
    proxy_agent: Sourced[bool]  # True: the VM asks for the guest proxy agent
    custom_data: Sourced[str]  # what the custom-data check found, for explain
    events: tuple[Event, ...]


def _platform_bool(env: OvfEnvironment, name: str) -> tuple[bool | None, str]:
    for key, value in env.platform_settings:
        if key.lower() == name.lower():
            where = f"{env.source}:{PSS_PATH}/{key}"
            low = value.strip().lower()
            if low in _TRUE:
                return True, where
            if low in _FALSE:
                return False, where
            return None, where
    return None, ""


def decide(
    env: OvfEnvironment,
    instance: ImdsInstance | None,
    model: Provisioning,
    opts: AzureOptions,
    *,
    strict: bool = True,
) -> Decisions:
    """The decisions and their events; raises the catalogue's errors when the settings
    make a finding fatal (custom data missing by default, proxy agent by choice).
    ``strict=False`` (``igngen explain``) says what would fail instead of failing."""
    events: list[Event] = []

    # ovf.parse already read ProvisionGuestAgent (and warned about a non-boolean).
    _, agent_where = _platform_bool(env, "ProvisionGuestAgent")
    if env.provision_guest_agent is False:
        guest = Sourced(False, agent_where, f"{opts.waagent_unit} masked")
        events.append(
            Event(
                "guest-agent-disabled",
                f"{agent_where}: false: {opts.waagent_unit} is masked in the real root",
            )
        )
    else:
        guest = Sourced(True, agent_where or "default", "" if agent_where else "absent: enabled")

    proxy_value, proxy_where = _platform_bool(env, "ProvisionGuestProxyAgent")
    if proxy_value:
        proxy = Sourced(
            True, proxy_where, f"this image has no guest proxy agent ({opts.proxy_agent_missing})"
        )
        text = (
            f"{proxy_where}: true, but this image has no guest proxy agent; "
            "IMDS and the Wireserver are used without it"
        )
        if opts.proxy_agent_missing == "fail":
            error = GuestProxyAgentError(
                "the VM asks for the guest proxy agent, which this image does not have "
                f"(azure.proxy_agent_missing: fail in {opts.source})",
                proxy_where,
            )
            if strict:
                raise error
            proxy = proxy._replace(note="this image has none: provisioning fails")
        events.append(Event("guest-proxy-agent-unavailable", text))
    else:
        proxy = Sourced(False, proxy_where or "default", "" if proxy_where else "absent")

    found = model.custom_data.value
    says = instance.has_custom_data if instance is not None else None
    where = f"{instance.source}#/extended/compute/hasCustomData" if instance is not None else ""
    if says is None:
        check = Sourced("not checked (IMDS did not say)", where or "imds absent")
    elif not says:
        check = Sourced("none expected", where)
    elif found:
        check = Sourced(f"expected and found ({model.custom_data.source})", where)
    else:
        message = (
            "Azure says custom data was given, but none was found (no CustomData.bin, "
            "no CustomData in ovf-env.xml, no userData)"
        )
        if opts.customdata_missing == "fail":
            if strict:
                raise CustomDataMissingError(message, where)
            check = Sourced("expected but missing: provisioning fails (customdata-missing)", where)
        else:
            check = Sourced(
                "expected but missing (a warning: azure.customdata_missing: warn)", where
            )
        events.append(Event("customdata-missing", f"{where}: {message}"))

    for location in model.certificate_keys:
        events.append(
            Event(
                "ssh-key-certificate-only",
                f"{location}: key given only by certificate fingerprint; skipped "
                "(certificate keys are not deployed by igngen)",
            )
        )
    return Decisions(guest, proxy, check, tuple(events))


def explain_rows(decisions: Decisions) -> list[tuple[str, str, str]]:
    """(field, shown value, source) rows for ``igngen explain``."""
    g, p, c = decisions.guest_agent, decisions.proxy_agent, decisions.custom_data
    return [
        (
            "guest agent",
            ("enabled" if g.value else "disabled") + (f" ({g.note})" if g.note else ""),
            g.source,
        ),
        (
            "guest proxy agent",
            ("requested" if p.value else "not requested") + (f" ({p.note})" if p.note else ""),
            p.source,
        ),
        ("custom data check", c.value, c.source),
    ]
