"""Butane (every flatcar/fcos version in ``versions``) → Ignition JSON (pure, except local files).

``transpile`` runs the walk (``walker``: every Ignition field under its
snake_case name, per-object sugar), then the whole-document sugar in Butane's
order: fcos ``boot_device``/``grub`` (``fcos``), ``with_mount_unit``
(``mount_units``), ``storage.trees`` (``trees``), ``systemd.quadlets``
(``quadlets``), then Butane's warnings (``ignwarn``). ``transpile_bytes`` also
parses the YAML and validates the result, as the ``butane`` CLI does; every
error and warning points at a YAML line and column.
"""

from __future__ import annotations

from igngen.butane import fcos
from igngen.butane import messages as msg
from igngen.butane.ignwarn import warnings as ignition_warnings
from igngen.butane.mount_units import follow_units, merge_units, units_for_filesystems
from igngen.butane.quadlets import add_quadlets
from igngen.butane.trees import add_trees
from igngen.butane.versions import PENDING, VARIANTS, Variant, supported
from igngen.butane.walker import Walker
from igngen.errors import ButaneError, YamlError
from igngen.ignition import nodes, spec
from igngen.yamlsrc import Node

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from igngen.records import NamedTuple


class Translation(NamedTuple):
    config: dict[str, Any]
    spec: str
    warnings: list[str]
    # JSON pointer in ``config`` → the YAML node it came from (for located errors later).
    marks: dict[str, Node]
    variant: str = ""  # "flatcar 1.1.0": the Butane variant and version translated

    def locate(self, pointer: str) -> str:
        """``file:line:column`` of the nearest YAML node for an Ignition JSON pointer."""
        while True:
            node = self.marks.get(pointer)
            if node is not None:
                return node.where
            if not pointer:
                return ""
            pointer = pointer.rsplit("/", 1)[0]


def _variant(doc: Node) -> Variant:
    variant_node = doc.value.get("variant")
    version_node = doc.value.get("version")
    if variant_node is None or variant_node.value is None:
        raise doc.error(msg.MISSING_VARIANT)
    if version_node is None or version_node.value is None:
        raise doc.error(msg.MISSING_VERSION)
    key = (str(variant_node.value), str(version_node.value))
    variant = VARIANTS.get(key)
    if variant is not None:
        return variant
    pending = PENDING.get(key)
    if pending is not None:
        raise version_node.error(
            msg.PENDING_SPEC.format(
                variant=key[0], version=key[1], spec=pending.spec, supported=supported()
            )
        )
    raise variant_node.error(
        msg.UNKNOWN_VARIANT.format(variant=key[0], version=key[1], supported=supported())
    )


# Lists whose entries move when generated config is merged under the user's.
_SHIFTED = (
    ("storage", "disks"),
    ("storage", "raid"),
    ("storage", "luks"),
    ("storage", "filesystems"),
    ("storage", "files"),
    ("storage", "directories"),
    ("storage", "links"),
    ("systemd", "units"),
)


def merge_under(
    generated: dict[str, Any], config: dict[str, Any], marks: dict[str, Node], at: Node
) -> dict[str, Any]:
    """``generated`` as Ignition's merge parent of ``config``; ``marks`` follow the entries.

    Parent entries come first, so the user's entries move: their pointers are
    rewritten to the merged positions, and generated entries point at ``at``
    (the sugar that produced them).
    """
    from igngen.ignition.merge import key_of, merge

    merged = merge(generated, config)
    moves: dict[str, str] = {}
    for section, name in _SHIFTED:
        lst = spec.tree(spec.VERSIONS[-1]).fields[section]
        assert isinstance(lst, nodes.Obj)
        node = lst.fields[name]
        assert isinstance(node, nodes.List)
        after = merged.get(section, {}).get(name, [])
        position: dict[str, int] = {}
        for j, entry in enumerate(after):
            position.setdefault(key_of(node, entry), j)
        for i, entry in enumerate(config.get(section, {}).get(name, [])):
            moved_to = position.get(key_of(node, entry))
            if moved_to is not None and moved_to != i:
                moves[f"/{section}/{name}/{i}"] = f"/{section}/{name}/{moved_to}"
    if moves:
        moved: dict[str, Node] = {}
        for pointer, node_ in marks.items():
            parts = pointer.split("/")
            prefix = "/".join(parts[:4])
            target = moves.get(prefix)
            moved["/".join([target, *parts[4:]]) if target else pointer] = node_
        marks.clear()
        marks.update(moved)
    for section, name in _SHIFTED:
        for j in range(len(merged.get(section, {}).get(name, []))):
            marks.setdefault(f"/{section}/{name}/{j}", at)
    return merged


def transpile(
    doc: Node,
    *,
    files_dir: str | None = None,
    strict: bool = False,
    auto_compress: bool = True,
) -> Translation:
    """Translate a parsed Butane document; raise :class:`ButaneError` at the offending node."""
    if not doc.is_map:
        raise doc.error(msg.EXPECTED_MAP)
    variant = _variant(doc)
    t = Walker(variant, files_dir, doc.source, auto_compress)
    skip = ("variant", "version") + (("boot_device", "grub") if variant.fcos else ())
    config = t.obj(doc, spec.tree(variant.spec), "", "", skip=skip)
    boot_device: dict[str, Any] = {}
    bd_node = doc.value.get("boot_device")
    if variant.fcos and bd_node is not None:
        boot_device = t.walk(bd_node, fcos.boot_device_tree(variant), "/boot_device", "") or {}
        t.found += fcos.check_boot_device(variant, boot_device, bd_node)
    grub_users: list[dict[str, Any]] = []
    grub_node = doc.value.get("grub")
    if grub_node is not None:
        if not variant.grub:
            raise doc.error(msg.UNKNOWN_KEY.format(key="grub"), "grub")
        grub_users = (t.walk(grub_node, fcos.GRUB_TREE, "/grub", "") or {}).get("users", [])
    config.setdefault("ignition", {})["version"] = variant.spec
    if variant.fcos:
        mirror = boot_device.get("mirror", {}).get("devices", [])
        t.found += fcos.check_storage(
            variant, doc, config, mirror, lambda p: _where(t.marks, p, doc)
        )
    generated = units_for_filesystems(t.mount_units, config)
    if generated:
        systemd = config.setdefault("systemd", {})
        units = systemd.get("units", [])
        merged_units = merge_units(generated, units)
        follow_units(t.marks, units, merged_units, doc)
        systemd["units"] = merged_units
    storage_node = doc.value.get("storage")
    if storage_node is not None and storage_node.is_map and "trees" in storage_node.value:
        add_trees(t, storage_node, config.setdefault("storage", {}))
    systemd_node = doc.value.get("systemd")
    if (
        variant.quadlets
        and systemd_node is not None
        and systemd_node.is_map
        and "quadlets" in systemd_node.value
    ):
        add_quadlets(t, systemd_node, config.setdefault("storage", {}))
    if variant.fcos:
        assert bd_node is not None or not boot_device
        rendered = fcos.render_boot_device(boot_device, variant.spec)
        if rendered is not None and bd_node is not None:
            config = merge_under(rendered, config, t.marks, bd_node)
        t.found += fcos.partition_warnings(config, t.marks, doc.source)
        grub = fcos.render_grub(grub_users, grub_node or doc, variant.spec, auto_compress)
        if grub is not None and grub_node is not None:
            config = merge_under(grub, config, t.marks, grub_node)
    t.found += ignition_warnings(config, lambda p: _where(t.marks, p, doc))
    if strict and t.found:
        where, message = t.found[0]
        raise ButaneError(msg.STRICT.format(warning=message), where)
    warnings = [f"{where}: {message}" for where, message in t.found]
    return Translation(
        config=config,
        spec=variant.spec,
        warnings=warnings,
        marks=t.marks,
        variant=f"{variant.variant} {variant.version}",
    )


def _where(marks: dict[str, Node], pointer: str, doc: Node) -> str:
    while True:
        node = marks.get(pointer)
        if node is not None:
            return node.where
        if not pointer:
            return doc.where
        pointer = pointer.rsplit("/", 1)[0]


def transpile_bytes(
    data: bytes | str,
    *,
    source: str,
    files_dir: str | None = None,
    strict: bool = False,
    auto_compress: bool = True,
) -> Translation:
    """Parse, translate and validate one Butane document, as the ``butane`` CLI does.

    The generated config is validated too; its errors point back at the YAML
    line that produced the offending field.
    """
    from igngen.ignition.validate import validate
    from igngen.yamlsrc import parse

    try:
        document = parse(data, source=source)
    except YamlError as exc:  # the YAML reader's error, in the translator's terms
        raise ButaneError(exc.message, exc.source, exc.line, exc.column) from None
    result = transpile(document, files_dir=files_dir, strict=strict, auto_compress=auto_compress)
    reports = validate(result.config, source, version=result.spec, schema=False)
    for report in reports:
        if report.severity == "error":
            pointer = report.pointer or "/"
            raise ButaneError(
                f"generated config is invalid: {report.message} (at {pointer})",
                result.locate(report.pointer) or source,
            )
    # The validator's warnings, at the YAML node that produced the field; where the
    # translator already warned about the same node (in Butane's words), once is enough.
    own = list(result.warnings)
    for report in reports:
        where = result.locate(report.pointer) or source
        if any(w.startswith(f"{where}: ") for w in own):
            continue
        result.warnings.append(f"{where}: {report.message}")
        if strict:
            raise ButaneError(msg.STRICT.format(warning=report.message), where)
    return result
