"""Early-boot provisioning: media + IMDS → render → hand-off to Ignition (orchestration edge).

Runs in the initramfs before Ignition's fetch stages (``igngen-provision.service``).
Each step logs one line; waits log progress. Any failure leaves a one-line
reason in ``<state-dir>/failure-reason`` for the failure reporter and in KVP,
and nothing in the hand-off directory (Ignition then does not run: the unit
is required by the Ignition fetch stages).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from igngen import log, paths
from igngen.azure import kvp
from igngen.boot.pool import PpsOptions
from igngen.errors import IgngenError, ImdsDataError, ImdsUnavailableError, SettingsError
from igngen.failures import Failure
from igngen.settings import Section, Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

    from igngen.azure.imds_client import ImdsSettings
else:
    from igngen.records import NamedTuple

DEFAULT_STATE_DIR = paths.INITRD_STATE_DIR
FAILURE_REASON = paths.FAILURE_REASON_NAME


class ProvisionOptions(NamedTuple):
    media: str = "auto"  # "auto", a block device, or a directory
    media_wait: float = 60.0
    imds_url: str | None = None  # None: the real endpoint; "" disables IMDS
    imds_timeout: float = 300.0
    handoff_dir: str = paths.HANDOFF_DIR
    layout: str = "sysdir"
    image_dir: str | None = paths.IGNITION_IMAGE_DIR
    kvp_pool: str | None = kvp.default_pool()  # inside the initramfs: /run, flushed later
    state_dir: str = DEFAULT_STATE_DIR
    template_dirs: tuple[str, ...] = ()
    # The image's waagent.conf, if the image put one into the initramfs; first found wins.
    waagent_conf: tuple[str, ...] = ("/etc/waagent.conf", "/usr/share/waagent/waagent.conf")
    # How long to wait for configured local NVMe disks that have not shown up (a VM size
    # without them costs this much; one with them, nothing).
    local_disk_wait: float = 3.0
    # Pre-provisioned VMs: Wireserver for the pool's Ready, the poll's budget (igngen.boot.pool).
    pps: PpsOptions = PpsOptions()
    # The initramfs's Ignition, asked for its release so the output spec can follow it
    # (unless the settings name output.spec); "" never asks (the settings' spec is used).
    ignition_binary: str = paths.IGNITION_BINARY


LAYOUTS = ("sysdir", "runtime")


def options_from_settings(settings: Settings, **overrides: Any) -> ProvisionOptions:
    """Settings' ``imds:`` and ``provision:`` sections, then command-line overrides."""
    values: dict[str, Any] = {}
    imds = Section("imds", settings.sections.get("imds"), settings.source, ("url", "timeout"),
                   settings.positions)  # fmt: skip
    if "url" in imds:
        values["imds_url"] = imds.string("url", "")
    if "timeout" in imds:
        values["imds_timeout"] = imds.seconds("timeout", None)
    keys = ("media", "media_wait", "local_disk_wait", "handoff_dir", "layout", "kvp_pool",
            "image_dir", "ignition_binary")  # fmt: skip
    prov = Section("provision", settings.sections.get("provision"), settings.source, keys,
                   settings.positions)  # fmt: skip
    for key in keys:
        if key not in prov:
            continue
        if key in ("media_wait", "local_disk_wait"):
            values[key] = prov.seconds(key, None)
        elif key == "layout":
            values[key] = prov.choice(key, LAYOUTS, "sysdir")
        else:
            values[key] = prov.string(key, "")
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values.get("layout", "sysdir") not in LAYOUTS:  # --layout
        raise SettingsError(f"provision.layout: expected {' or '.join(LAYOUTS)}", settings.source)
    if "handoff_dir" not in values and values.get("layout") == "runtime":
        from igngen.boot.handoff import RUNTIME_DIR

        values["handoff_dir"] = RUNTIME_DIR  # Ignition >= 2.27 looks there itself
    return ProvisionOptions(**values)


def _read_media(opts: ProvisionOptions) -> Any:
    from igngen.azure import media

    if opts.media == "auto":
        return media.find_and_read(wait=opts.media_wait)
    if os.path.isdir(opts.media):
        return media.read_directory(opts.media)
    return media.read_device(opts.media)


def _fetch_imds(opts: ProvisionOptions) -> bytes | None:
    if opts.imds_url == "":
        log.info("imds", "disabled; provisioning from ovf-env.xml only")
        return None
    import time

    from igngen.azure.imds_client import (
        DEFAULT_IMDS_URL,
        DEFAULT_TIMING,
        ImdsSettings,
        fetch_instance,
        fetch_user_data,
    )

    started = time.monotonic()
    settings = ImdsSettings(
        url=opts.imds_url or DEFAULT_IMDS_URL, timing=DEFAULT_TIMING.with_total(opts.imds_timeout)
    )
    data = _try_fetch(
        fetch_instance, settings, opts, "instance document", "continuing with ovf-env.xml only"
    )
    if data is None:
        return None
    left = opts.imds_timeout - (time.monotonic() - started)
    data = _add_user_data(
        data,
        settings._replace(timing=settings.timing.with_total(max(0.0, left))),
        fetch_user_data,
        opts,
    )
    return data


def _try_fetch(
    fetch: Callable[[ImdsSettings], bytes],
    settings: ImdsSettings,
    opts: ProvisionOptions,
    what: str,
    fallback: str,
) -> bytes | None:
    """One IMDS document, or None after saying why (journal and KVP) so provisioning
    goes on with what it has: IMDS is an improvement over ovf-env.xml, not a must."""
    try:
        data = fetch(settings)
    except (ImdsUnavailableError, ImdsDataError) as exc:
        log.warning("imds", f"{fallback}: {exc}")
        kvp.try_append(opts.kvp_pool, kvp.event_key("imds"), f"{what} unavailable: {exc}")
        return None
    log.info("imds", f"{what} received", bytes=len(data))
    return data


def _add_user_data(
    data: bytes,
    settings: ImdsSettings,
    fetch: Callable[[ImdsSettings], bytes],
    opts: ProvisionOptions,
) -> bytes:
    """Documents without ``compute.userData`` (older or Azure Stack IMDS): ask the userData
    endpoint Ignition's own Azure provider uses, within what is left of the budget."""
    import base64
    import json

    from igngen.safejson import loads

    try:
        doc = loads(data.decode("utf-8", "replace"))
        compute = doc.get("compute") if isinstance(doc, dict) else None
    except ValueError:
        return data  # parse_instance reports it
    if not isinstance(compute, dict) or "userData" in compute or settings.timing.total_timeout <= 0:
        return data
    user_data = _try_fetch(fetch, settings, opts, "userData", "no userData")
    if user_data is None:
        return data
    compute["userData"] = base64.b64encode(user_data).decode("ascii")
    return json.dumps(doc).encode("utf-8")


def find_local_disks(
    devices: tuple[str, ...],
    wait: float,
    *,
    exists: Callable[[str], bool] = os.path.exists,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    settle: Callable[[], None] | None = None,
) -> frozenset[str]:
    """Which of ``devices`` (udev links to local NVMe disks) exist, after udev has
    worked through its queue and at most ``wait`` seconds for the rest to appear."""
    import time

    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    (settle or _settle_udev)()
    deadline = clock() + wait
    while True:
        found = frozenset(d for d in devices if exists(d))
        if len(found) == len(devices) or clock() >= deadline:
            return found
        sleep(0.1)


def _settle_udev() -> None:
    # Without a running udevd (containers, tests) there is no queue to wait for.
    if not os.path.exists("/run/udev/control"):
        return
    import contextlib
    import subprocess

    from igngen.limits import UDEV_SETTLE_SECONDS

    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(
            ["udevadm", "settle", f"--timeout={UDEV_SETTLE_SECONDS - 5:g}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=UDEV_SETTLE_SECONDS,
            check=False,
        )


def _nvme_present(opts: ProvisionOptions, settings: Settings) -> frozenset[str] | None:
    """The configured local NVMe disks this VM has; None when none are configured."""
    section = settings.sections.get("disks")
    if not section:
        return None
    from igngen.disks.layers import from_settings

    nvme = from_settings(settings).nvme
    if nvme.mode == "off":
        return None
    found = find_local_disks(nvme.devices, opts.local_disk_wait)
    log.info("disks", "local NVMe disks", configured=len(nvme.devices), found=len(found))
    return found


def _waagent_conf(candidates: tuple[str, ...]) -> dict[str, Any]:
    for path in candidates:
        from igngen.limits import MAX_WAAGENT_CONF_BYTES
        from igngen.readfile import read_file

        if not os.path.lexists(path):
            continue
        try:
            data = read_file(path, "waagent.conf", cap=MAX_WAAGENT_CONF_BYTES)
        except IgngenError as exc:
            log.warning("waagent", f"{exc}; using the built-in baseline")
            continue
        return {"waagent_conf": data, "waagent_conf_source": path}
    return {}


def provision(opts: ProvisionOptions, settings: Settings) -> list[str]:
    from igngen.azure.imds import parse_instance
    from igngen.boot import handoff
    from igngen.render.pipeline import RenderInputs, render

    kvp.try_append(opts.kvp_pool, kvp.event_key("start"), "provisioning started")
    contents = _read_media(opts)
    _eject_media(opts, settings, contents.origin)
    imds_bytes = _fetch_imds(opts)
    # --- pre-provisioned VMs (igngen/boot/pool.py): the pool's documents are swapped for the
    # hand-over's, or the kind is refused; a normal VM passes through unchanged.
    from igngen.boot.pool import reprovision_if_pooled

    contents, imds_bytes = reprovision_if_pooled(opts, contents, imds_bytes, fetch_imds=_fetch_imds)
    # --- end of pre-provisioned VMs
    user_data: bytes | None = None
    if imds_bytes is not None:
        try:
            user_data = parse_instance(imds_bytes, source=IMDS_SOURCE).user_data
        except ImdsDataError as exc:
            _imds_unusable(opts, exc)
            imds_bytes = None
    # IMDS userData wins (as in Ignition's own Azure provider); else the media's
    # CustomData.bin, which confidential VMs lack (then the OVF's CustomData is used).
    custom = None if user_data is not None else contents.custom_data
    inputs = RenderInputs(
        ovf=contents.ovf,
        ovf_source=f"{contents.origin}:{'ovf-env.xml'}",
        imds=imds_bytes,
        imds_source=IMDS_SOURCE,
        customdata=custom,
        customdata_source=f"{contents.origin}:CustomData.bin",
        template_dirs=opts.template_dirs,
        nvme_present=_nvme_present(opts, settings),
        target_ignition=_target_ignition(opts, settings),
        **_waagent_conf(opts.waagent_conf),
    )
    try:
        result = render(inputs, settings)
    except IgngenError as exc:
        if imds_bytes is None or not _blames_imds(exc):
            raise
        # A value only IMDS gave (a hostile user name, key or disk size) must not stop a
        # boot that ovf-env.xml alone can carry: render again without the document. The
        # user's custom data from IMDS userData is kept, so their config is never dropped.
        _imds_unusable(opts, exc)
        inputs = inputs._replace(imds=None)
        if user_data is not None:
            inputs = inputs._replace(customdata=user_data, customdata_source=USER_DATA_SOURCE)
        result = render(inputs, settings)
    for warning in result.warnings:
        log.warning("render", warning)
    for event in result.platform.events if result.platform else ():
        kvp.try_append(opts.kvp_pool, kvp.event_key(event.name), event.text)
    kind = result.customdata.kind if result.customdata else None
    plan = handoff.plan(result.fragment, result.handin, kind)
    image_dir = opts.image_dir if opts.layout == "sysdir" else None
    written = handoff.write(opts.handoff_dir, plan, image_dir=image_dir)
    log.info(
        "handoff",
        "configs handed to Ignition",
        dir=opts.handoff_dir,
        files=",".join(written),
        custom_data=kind or "none",
    )
    vm_id = result.model.vm_id.value
    kvp.try_append(
        opts.kvp_pool,
        kvp.REPORT_KEY,
        kvp.report_value("success", vm_id=vm_id, custom_data=kind or "none"),
    )
    return written


def _target_ignition(opts: ProvisionOptions, settings: Settings) -> str | None:
    """The release of the Ignition that will read the hand-off, when the output spec is
    to follow it (settings without output.spec); None otherwise or when unknown."""
    if settings.spec_given or not opts.ignition_binary:
        return None
    from igngen.ignition import installed

    release, why = installed.release(opts.ignition_binary)
    if release is None:
        log.info("handoff", "Ignition release unknown; default output spec", why=why)
    else:
        log.info("handoff", "output spec follows the initramfs's Ignition", ignition=release)
    return release


def _eject_media(opts: ProvisionOptions, settings: Settings, origin: str) -> None:
    """Eject the provisioning DVD once everything on it was read (WALinuxAgent and
    azure-init do), unless ``azure.eject_media: false``; bounded, never fails the boot."""
    from igngen.azure import media, platform
    from igngen.limits import MEDIA_EJECT_SECONDS

    if not platform.options(settings.sections, settings.source).eject_media:
        return
    if not media.ejectable(origin):
        return  # a directory, or a disk that is not an optical drive
    problem = media.eject(origin, timeout=MEDIA_EJECT_SECONDS)
    if problem is None:
        log.info("media", "ejected", device=origin)
        return
    log.warning("media", f"not ejected: {problem}", device=origin)
    kvp.try_append(opts.kvp_pool, kvp.event_key("media-not-ejected"), f"{origin}: {problem}")


IMDS_SOURCE = "imds"
USER_DATA_SOURCE = "imds#/compute/userData"


def _blames_imds(error: IgngenError) -> bool:
    """Whether a render failure lies in the IMDS document itself (its location says so).

    Custom data errors are the user's, wherever the custom data came from.
    """
    from igngen.errors import CustomDataError, IgnitionConfigError

    if isinstance(error, CustomDataError | IgnitionConfigError):
        return False
    where = error.location
    return where == IMDS_SOURCE or where.startswith((IMDS_SOURCE + "#", IMDS_SOURCE + ":"))


def _imds_unusable(opts: ProvisionOptions, error: IgngenError) -> None:
    log.warning("imds", f"ignoring an unusable instance document: {error}")
    kvp.try_append(
        opts.kvp_pool,
        kvp.event_key("imds"),
        f"instance document unusable, ovf-env.xml only: {error}",
    )


def deadline(opts: ProvisionOptions) -> tuple[float, str]:
    """(seconds, how they add up) for the whole of ``provision``: the budgets of its
    waits plus what the steps without one may take, never past MAX_PROVISION_SECONDS."""
    from igngen.limits import (
        IGNITION_VERSION_SECONDS,
        MAX_PROVISION_SECONDS,
        MEDIA_COMMANDS_SECONDS,
        MEDIA_EJECT_SECONDS,
        PROVISION_WORK_SECONDS,
        UDEV_SETTLE_SECONDS,
    )

    imds = 0.0 if opts.imds_url == "" else opts.imds_timeout + IMDS_SLACK_SECONDS
    parts = (
        ("media wait", opts.media_wait),
        ("media commands", MEDIA_COMMANDS_SECONDS),
        ("media eject", MEDIA_EJECT_SECONDS),
        ("IMDS", imds),
        ("udev settle", UDEV_SETTLE_SECONDS),
        ("local disks", opts.local_disk_wait),
        ("ignition -version", IGNITION_VERSION_SECONDS if opts.ignition_binary else 0.0),
        ("render and hand-off", PROVISION_WORK_SECONDS),
    )
    total = sum(seconds for _, seconds in parts)
    detail = " + ".join(f"{name} {seconds:g}" for name, seconds in parts)
    if total > MAX_PROVISION_SECONDS:
        return MAX_PROVISION_SECONDS, f"{detail} s, capped at {MAX_PROVISION_SECONDS:g} s"
    return total, detail + " s"


# The HTTP primitive may overrun its deadline by one socket timeout at the end.
IMDS_SLACK_SECONDS = 5.0


def record_failure(opts: ProvisionOptions, reason: str | Failure) -> None:
    """Leave the named reason where the failure reporter and the host can read it: a
    Failure, or a line (``NAME: detail``; text without a catalogue name is ``unknown``).
    Never raises: it runs on the way out of every failure, bugs included."""
    from igngen.jsonio import atomic_write

    try:
        from igngen.failures import parse_line

        failure = parse_line(reason) if isinstance(reason, str) else reason
    except Exception as exc:
        log.error("provision", f"cannot name the failure: {type(exc).__name__}")
        failure = Failure("internal", "the failure reason could not be recorded")
    try:
        os.makedirs(opts.state_dir, mode=0o700, exist_ok=True)
        atomic_write(
            os.path.join(opts.state_dir, FAILURE_REASON),
            (failure.line() + "\n").encode(),
            mode=0o600,
        )
    except Exception as exc:
        log.error("provision", f"cannot record the failure reason: {type(exc).__name__}: {exc}")
    try:
        kvp.try_append(
            opts.kvp_pool,
            kvp.REPORT_KEY,
            kvp.report_value("error", reason=failure.name, detail=failure.detail),
        )
    except Exception as exc:
        log.error("provision", f"cannot record the failure in KVP: {type(exc).__name__}")
