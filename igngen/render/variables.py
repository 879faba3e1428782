"""Every template-variable group, built in one place (pure, + reading the waagent baseline).

The variables are the contract with ``butane-templates/`` (documented in
``docs/ARCHITECTURE.md`` and ``butane-templates/README.md``); image authors
rely on their names, so they change only with a note in the README.

Groups: ``user``, ``host``, ``ssh``, ``sudo`` (the model and the settings),
``ovf`` (the redacted ovf-env.xml), ``report`` (the settings' ``report:``),
``waagent`` (the shipped ``/etc/waagent.conf``) and ``disk`` (the disks
resolver). :func:`for_render` is what ``pipeline.render`` hands the templates.
"""

from __future__ import annotations

from collections.abc import Mapping

from igngen import paths
from igngen.azure import ovf as ovf_parser
from igngen.azure import report_settings
from igngen.errors import SettingsError
from igngen.render.model import Provisioning
from igngen.render.passwords import hash_password
from igngen.settings import Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from igngen.azure.imds import ImdsInstance
    from igngen.azure.platform import Decisions
    from igngen.render.pipeline import RenderInputs


def password_hash(model: Provisioning, settings: Settings) -> str | None:
    secret = model.password.value
    if not secret:
        return None
    return hash_password(
        secret,
        settings.hashing,
        model.user_name.value,
        model.host_name.value,
        model.vm_id.value or "",
    )


def core(
    model: Provisioning,
    settings: Settings,
    *,
    hashed_password: str | None,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """``user``, ``host``, ``ssh`` and ``sudo``; ``extra`` adds whole groups (``disk``,
    ``report``…), which may not replace these four."""
    name = model.user_name.value
    home = model.home
    keys = model.ssh_keys.value
    lines = [k.key.line for k in keys]
    has_password = hashed_password is not None
    variables: dict[str, Any] = {
        "user": {
            "name": name,
            "home": home,
            "groups": list(settings.groups),
            "password_hash": hashed_password,
            "has_password": has_password,
            "ssh_keys": lines,
            "authorized_keys": "".join(f"{line}\n" for line in lines),
            "authorized_keys_path": f"{home}/.ssh/authorized_keys",
        },
        "host": {
            "name": model.host_name.value,
            "hostname_file": f"{model.host_name.value}\n",
        },
        "ssh": {
            "password_authentication": "yes" if model.password_authentication.value else "no",
            "client_alive_interval": settings.client_alive_interval,
            "dropin_path": settings.sshd_dropin_path,
        },
        "sudo": {
            "path": settings.sudoers_path,
            "rule": f"{name} ALL=(ALL) ALL" if has_password else f"{name} ALL=(ALL) NOPASSWD: ALL",
        },
    }
    for group, values in (extra or {}).items():
        if group in variables:
            raise ValueError(f"variable group {group!r} is reserved")
        variables[group] = dict(values)
    return variables


def report(section: Mapping[str, Any] | None, *, source: str = "settings") -> dict[str, Any]:
    """The ``report.*`` template variables from the settings' ``report:`` section.

    ``enabled`` (default true) renders the Ready unit; ``command``, ``state_dir``,
    ``wireserver`` and ``marker`` are single values; ``args`` is what the unit passes
    to ``igngen report ready``. Values end up in ``ExecStart=`` and
    ``ConditionPathExists=``: whitespace, quotes, ``%``, ``$`` and ``\\`` are refused.
    """
    sections = {"report": dict(section or {})}
    # What reporter.options_from_settings reads and refuses, without the reporter.
    read = report_settings.read(sections, source)
    state_dir = read.get("state_dir", paths.READY_STATE_DIR)
    wireserver = read.get("wireserver", report_settings.WIRESERVER_AUTO)
    protocol = read.get("protocol", "auto")
    command = sections["report"].get("command", paths.IGNGEN_COMMAND)
    enabled = sections["report"].get("enabled", True)  # a bool: report_settings.read checked
    values = {"command": command, "state_dir": state_dir, "wireserver": wireserver}
    for key, value in values.items():
        if (
            not isinstance(value, str)
            or not value
            or any(c.isspace() or c in "\"'\\%$" or ord(c) < 32 for c in value)
        ):
            raise SettingsError(
                f"report.{key}: whitespace, quotes, % and $ are not allowed", source
            )
    for key in ("command", "state_dir"):
        if not values[key].startswith("/"):
            raise SettingsError(f"report.{key}: must be an absolute path", source)
    args = [f"--state-dir {state_dir}", f"--wireserver {wireserver}"]
    if protocol != "auto":
        args.append(f"--protocol {protocol}")
    return {
        "enabled": enabled,
        **values,
        "marker": f"{state_dir}/{paths.READY_MARKER_NAME}",
        "args": " ".join(args),
    }


def ovf(inputs: RenderInputs) -> dict[str, Any]:
    return {"redacted": ovf_parser.redact(inputs.ovf, source=inputs.ovf_source).decode("utf-8")}


def waagent(inputs: RenderInputs) -> dict[str, Any]:
    """The ``/etc/waagent.conf`` igngen ships: the image's own, or Flatcar's shipped values."""
    import os

    from igngen.azure.waagent_conf import derive_for_igngen, parse

    if inputs.waagent_conf is not None:
        conf = parse(inputs.waagent_conf, inputs.waagent_conf_source)
    else:
        baseline = os.path.join(paths.PACKAGE_DATA, "waagent-flatcar.conf")
        with open(baseline, "rb") as fh:
            conf = parse(fh.read(), "built-in waagent baseline")
    return {"enabled": True, "conf": derive_for_igngen(conf)}


def disk(
    inputs: RenderInputs, settings: Settings, instance: ImdsInstance | None
) -> Mapping[str, Any]:
    """The ``disk`` group: the settings' ``disks:`` over the image's waagent.conf, planned
    for the resource disk IMDS reports (the disks resolver owns the rules)."""
    from igngen.disks.layers import from_settings
    from igngen.disks.plan import plan
    from igngen.disks.variables import template_variables

    size = instance.resource_disk_size_mib if instance is not None else None
    conf = None
    if inputs.waagent_conf is not None:
        from igngen.azure.waagent_conf import parse

        conf = parse(inputs.waagent_conf, inputs.waagent_conf_source)
    disk_settings = from_settings(settings, conf)
    return template_variables(
        plan(disk_settings, resource_disk_mib=size, nvme_present=inputs.nvme_present)
    )


def for_render(
    inputs: RenderInputs,
    settings: Settings,
    model: Provisioning,
    instance: ImdsInstance | None,
    decisions: Decisions,
) -> dict[str, Any]:
    """Every group the templates receive; groups in ``inputs.extra_variables`` (supplied by
    the edge) replace the built ones, except that ``waagent`` keeps its decided
    ``agent_enabled`` and ``unit`` unless given."""
    from igngen.azure.platform import options as azure_options

    extra: dict[str, Mapping[str, Any]] = {
        "ovf": ovf(inputs),
        "report": report(settings.sections.get("report"), source=settings.source),
    }
    extra.update(inputs.extra_variables)
    agent: dict[str, Any] = dict(extra["waagent"] if "waagent" in extra else waagent(inputs))
    agent.setdefault("agent_enabled", decisions.guest_agent.value)
    agent.setdefault("unit", azure_options(settings.sections, settings.source).waagent_unit)
    extra["waagent"] = agent
    if "disk" not in extra:
        extra["disk"] = disk(inputs, settings, instance)
    return core(model, settings, hashed_password=password_hash(model, settings), extra=extra)
