"""``igngen explain``: each provisioning value, where it came from, and why it is there."""

from __future__ import annotations

import argparse
import sys

from igngen.commands.inputs import add_input_arguments, render_inputs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser, templates=False)


def run(args: argparse.Namespace) -> int:
    from igngen.azure.platform import explain_rows
    from igngen.commands.inputs import load_settings
    from igngen.render.pipeline import decide_platform, parse_model

    settings = load_settings(args)
    inputs = render_inputs(args)
    model = parse_model(inputs)
    decisions = decide_platform(inputs, settings)
    rows = model.explain()
    rows += explain_rows(decisions)
    rows.append(("password hash scheme", settings.hashing.scheme, settings.source))
    rows.append(("groups", ", ".join(settings.groups) or "none", settings.source))
    rows.append(("sshd drop-in", settings.sshd_dropin_path, settings.source))
    rows.append(("sudoers drop-in", settings.sudoers_path, settings.source))
    rows.append(("output spec", settings.spec, settings.source))
    width = max(len(r[0]) for r in rows)
    out = [
        f"{name:<{width}}  {value}\n{'':<{width}}    from {source}\n"
        for name, value, source in rows
    ]
    out += _disk_rows(inputs, settings)
    out += _pps_rows(inputs)
    for warning in model.warnings:
        out.append(f"warning: {warning}\n")
    for event in decisions.events:
        if event.name != "ssh-key-certificate-only":  # already a model warning
            out.append(f"warning: {event.text}\n")
    sys.stdout.write("".join(out))
    return 0


def _disk_rows(inputs: object, settings: object) -> list[str]:
    """Why each disk action is in the fragment (resource disk, swap, NVMe)."""
    from igngen.azure.imds import parse_instance
    from igngen.azure.waagent_conf import parse as parse_waagent
    from igngen.disks.layers import from_settings
    from igngen.disks.plan import explain, plan
    from igngen.render.pipeline import RenderInputs
    from igngen.settings import Settings

    assert isinstance(inputs, RenderInputs) and isinstance(settings, Settings)
    size = (
        parse_instance(inputs.imds, source=inputs.imds_source).resource_disk_size_mib
        if inputs.imds
        else None
    )
    waagent = (
        parse_waagent(inputs.waagent_conf, inputs.waagent_conf_source)
        if inputs.waagent_conf
        else None
    )
    disk_settings = from_settings(settings, waagent)
    rows = explain(plan(disk_settings, resource_disk_mib=size))
    if not rows:
        return []
    width = max(len(a) for a, _ in rows)
    return ["\ndisks:\n"] + [f"  {action:<{width}}  {reason}\n" for action, reason in rows]


def _pps_rows(inputs: object) -> list[str]:
    """The pre-provisioning kind, where it was read, and what ``igngen provision`` does."""
    from igngen.azure import ovf, pps
    from igngen.azure.imds import parse_instance
    from igngen.errors import shown
    from igngen.render.pipeline import RenderInputs

    assert isinstance(inputs, RenderInputs)
    env = ovf.parse(inputs.ovf, source=inputs.ovf_source)
    imds_type = (
        parse_instance(inputs.imds, source=inputs.imds_source).pps_type if inputs.imds else None
    )
    decision = pps.detect(env, imds_type, imds_source=inputs.imds_source)
    known = (pps.NONE, pps.RUNNING, pps.LEGACY, pps.SAVABLE, pps.OS_DISK)
    kind = decision.kind if decision.kind in known else shown(decision.kind)
    what = {
        pps.PROCEED: "not pre-provisioned: provisioned from this document",
        pps.WAIT: "igngen provision reports Ready for the pool, polls IMDS reprovisiondata "
        "and provisions from the document it returns (this one is the pool's placeholder)",
        pps.REFUSE: "igngen provision fails with pps-unsupported-kind",
    }[decision.action]
    return [f"\npre-provisioned VM  {kind}\n    from {decision.source}\n    {what}\n"]
