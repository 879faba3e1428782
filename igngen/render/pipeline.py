"""The whole offline pipeline: input bytes → model → fragment → merged config (pure).

``igngen render`` feeds it files; ``igngen provision`` feeds it what it read
from the provisioning media and IMDS. Nothing here touches the network or the
disk except reading template override directories.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from igngen.azure import ovf as ovf_parser
from igngen.render import variables as template_variables
from igngen.render.fragment import build_fragment
from igngen.render.model import Provisioning, Sourced
from igngen.render.reconcile import reconcile
from igngen.settings import Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from igngen.azure.imds import ImdsInstance
    from igngen.azure.ovf import OvfEnvironment
    from igngen.azure.platform import Decisions
    from igngen.ignition.customdata import CustomData
else:
    from igngen.records import NamedTuple


class RenderInputs(NamedTuple):
    ovf: bytes
    ovf_source: str = "ovf-env.xml"
    imds: bytes | None = None
    imds_source: str = "imds"
    # Custom data given explicitly (``--customdata``, ``CustomData.bin``); None: from OVF/IMDS.
    customdata: bytes | None = None
    customdata_source: str = "customdata"
    template_dirs: tuple[str, ...] = ()
    # Extra template variable groups supplied by the edge (e.g. ``waagent`` from the image).
    extra_variables: Mapping[str, Mapping[str, Any]] = MappingProxyType({})
    # The image's waagent.conf (its ResourceDisk.* settings apply under igngen's own).
    waagent_conf: bytes | None = None
    waagent_conf_source: str = "waagent.conf"
    # The configured local NVMe disks that exist on this VM (provision looks); None:
    # unknown, as in an offline render, where they are taken to exist.
    nvme_present: frozenset[str] | None = None
    # The Ignition release that will read the result (provision asks the initramfs's);
    # unless the settings or --spec name one, the output spec follows it and the custom
    # data's declared version (spec.choose_output_spec). None: the settings' spec.
    target_ignition: str | None = None


class Rendered(NamedTuple):
    model: Provisioning
    variables: Mapping[str, Any]
    fragment: dict[str, Any]
    customdata: CustomData | None
    handin: dict[str, Any]
    final: dict[str, Any]
    warnings: tuple[str, ...]
    # The platform flags' decisions (guest agent, proxy agent, custom-data check) and
    # their named events, which `igngen provision` also writes to KVP.
    platform: Decisions | None = None


def parse_model(inputs: RenderInputs) -> Provisioning:
    return _parse(inputs)[0]


def decide_platform(inputs: RenderInputs, settings: Settings) -> Decisions:
    """The platform flags' decisions for these inputs, saying what would fail instead
    of failing (``igngen explain``)."""
    model, instance, env = _parse_all(inputs)
    return _decide(env, instance, model, settings, strict=False)


def _decide(
    env: OvfEnvironment,
    instance: ImdsInstance | None,
    model: Provisioning,
    settings: Settings,
    *,
    strict: bool = True,
) -> Decisions:
    from igngen.azure import platform

    opts = platform.options(settings.sections, settings.source)
    return platform.decide(env, instance, model, opts, strict=strict)


def _parse(inputs: RenderInputs) -> tuple[Provisioning, ImdsInstance | None]:
    model, instance, _ = _parse_all(inputs)
    return model, instance


def _parse_all(
    inputs: RenderInputs,
) -> tuple[Provisioning, ImdsInstance | None, OvfEnvironment]:
    env = ovf_parser.parse(inputs.ovf, source=inputs.ovf_source)
    instance = None
    if inputs.imds:
        from igngen.azure import imds as imds_parser  # an offline render may have none

        instance = imds_parser.parse_instance(inputs.imds, source=inputs.imds_source)
    override: Sourced[bytes | None] | None = None
    if inputs.customdata is not None:
        override = Sourced(inputs.customdata, inputs.customdata_source)
    return reconcile(env, instance, custom_data_override=override), instance, env


def _output_spec(settings: Settings, target: str | None, custom: CustomData | None) -> Settings:
    """The settings with the output spec for ``target`` (an Ignition release), unless the
    settings already name one: the newest stable spec it accepts, never newer than the
    custom data's declared version needs."""
    from igngen.ignition.customdata import IGNITION
    from igngen.ignition.spec import choose_output_spec

    if target is None or settings.spec_given:
        return settings
    needed = custom.version if custom is not None and custom.kind == IGNITION else None
    try:
        return settings._replace(spec=choose_output_spec(target, needed))
    except ValueError:
        return settings  # an Ignition older than every output spec: keep the default


def render(inputs: RenderInputs, settings: Settings) -> Rendered:
    from igngen.ignition import customdata as customdata_intake
    from igngen.ignition import handin

    model, instance, env = _parse_all(inputs)
    decisions = _decide(env, instance, model, settings)
    warnings = list(model.warnings)
    # Certificate-only keys are already among the model's warnings.
    warnings += [e.text for e in decisions.events if e.name != "ssh-key-certificate-only"]

    variables = template_variables.for_render(inputs, settings, model, instance, decisions)
    custom = None
    if model.custom_data.value is not None:
        custom = customdata_intake.classify(
            model.custom_data.value, source=model.custom_data.source
        )
        if custom.note:
            warnings.append(f"{model.custom_data.source}: {custom.note}")
    settings = _output_spec(settings, inputs.target_ignition, custom)
    dirs = tuple(inputs.template_dirs) + tuple(settings.template_dirs)
    # Validated once, in render_fragment: its warnings are the fragment check's.
    fragment, fragment_warnings = build_fragment(
        variables, template_dirs=dirs, disabled=settings.disabled_templates, spec=settings.spec
    )
    warnings += fragment_warnings
    hand = handin.build(fragment, custom, spec=settings.spec)
    final, notes = handin.final(fragment, custom, source=model.custom_data.source)
    warnings += notes
    return Rendered(
        model=model,
        variables=variables,
        fragment=fragment,
        customdata=custom,
        handin=hand,
        final=final,
        warnings=tuple(warnings),
        platform=decisions,
    )
