"""Validate Ignition configs against the per-version spec data.

Two entry points share one set of semantic rules:

- ``check(config, *, source, version=None)`` is the fast path ``igngen render``
  runs on every output: one walk over the config and the spec tree (linear in
  the config's size, no jsonschema import). It raises
  :class:`IgnitionConfigError` on the first error and returns warnings.
- ``validate(config, source)`` is for ``igngen validate``: the structural part
  comes from the JSON Schema generated from the same spec data
  (``igngen.ignition.schema``), then the same semantic rules run; it returns
  every report. Tests hold the two paths to the same accept/reject answer.

Semantic rules are those Ignition 2.14 enforces in ``config/v3_*/types``:
duplicates in every keyed list (files/directories/links and kernel argument
lists share one namespace), paths absolute and clean, modes 0..07777, node
user/group with both id and name, ``overwrite`` without ``contents.source``,
partitions (number or label, label length/colon, GUIDs, shouldExist:false
with other fields), filesystem format per version and label lengths, RAID
levels, unit/drop-in suffixes, resources (URL scheme per version, data-URL
syntax, compression, hash function per version and length, headers only on
http(s)), links through links, hard links to directories, LUKS and Tang basics.

One rule is stricter than Ignition by default: a field newer than the declared
version is an error (code ``newer-field``), because Ignition would drop it with
only a warning and igngen must not write such a config. ``newer="warning"``
gives Ignition's own verdict (used by ``igngen validate``, custom data and
``igngen merge``). Unknown fields are warnings, as in Ignition.
``validate_merged`` is Ignition's second check, on a merged result.

The passes live beside this module: ``structure`` (the fast walk),
``semantics`` with ``field_rules`` and ``device_rules`` (the semantic rules),
``reports`` (what they say).
"""

from __future__ import annotations

from functools import cache

from igngen.errors import IgnitionConfigError
from igngen.ignition import nodes, spec
from igngen.ignition.field_rules import value_at
from igngen.ignition.reports import NEWER_FIELD, Report, Reports
from igngen.ignition.semantics import Semantics
from igngen.ignition.structure import structure

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def declared_version(config: Any) -> str | None:
    version = value_at(config, "ignition", "version")
    return version if isinstance(version, str) else None


def _version_report(config: Any, version: str | None) -> Report | None:
    if not isinstance(config, dict):
        return Report("error", "", "config must be a JSON object")
    declared = declared_version(config)
    if declared is None:
        return Report("error", "/ignition/version", "required field is missing")
    if declared.startswith(spec.LEGACY_PREFIXES):
        return Report(
            "error",
            "/ignition/version",
            f"spec {declared} is a 1.x/2.x config; igngen handles spec 3.x only (Flatcar's "
            "Ignition translates old configs itself; igngen does not)",
            "legacy",
        )
    if declared not in spec.ORDER:
        return Report("error", "/ignition/version", f"unsupported config version {declared!r}")
    if version is not None and declared != version:
        return Report(
            "error", "/ignition/version", f"config declares {declared}, expected {version}"
        )
    return None


def project(value: Any, node: nodes.Node) -> Any:
    """``value`` with every field its spec does not know dropped (new containers).

    This is what Ignition's Go decoder does to a config of an older version that
    uses a newer field (or an unknown one): the field is not in that version's
    types, so it is reported as an unused key and never reaches the merge.
    """
    if isinstance(node, nodes.Obj) and isinstance(value, dict):
        return {k: project(v, node.fields[k]) for k, v in value.items() if k in node.fields}
    if isinstance(node, nodes.List) and isinstance(value, list):
        return [project(v, node.item) for v in value]
    return value


def drop_unknown(config: dict[str, Any]) -> dict[str, Any]:
    """The config as its declared version sees it (see ``project``)."""
    declared = declared_version(config)
    if declared not in spec.ORDER:
        return config
    projected: dict[str, Any] = project(config, spec.tree(declared))
    return projected


def validate(
    config: Any,
    source: str = "config",
    *,
    version: str | None = None,
    schema: bool = True,
    newer: str = "error",
) -> list[Report]:
    """Every report (errors and warnings) for ``config``, in document order per pass.

    ``schema=True`` checks structure with the generated JSON Schema (needs
    jsonschema); ``False`` uses the fast walker. ``version`` pins the expected
    declared version. ``source`` is accepted for symmetry with ``check``; reports
    carry JSON pointers only. ``newer="warning"`` gives Ignition's verdict on a
    field newer than the declared version (a warning; the field is dropped, so
    the semantic rules see the config without it); the default ``"error"`` is
    igngen's own stricter rule for what it writes.
    """
    del source
    bad = _version_report(config, version)
    if bad is not None:
        return [bad]
    declared = declared_version(config)
    assert declared is not None
    out = Reports()
    if schema:
        from igngen.ignition.schema import structural_reports

        out.reports.extend(structural_reports(config, declared))
    else:
        structure(out, declared, spec.tree(declared), config, "", "")
    if newer == "warning":
        out.reports = [
            r._replace(severity="warning") if r.code == NEWER_FIELD else r for r in out.reports
        ]
        if not out.failed:
            Semantics(out, declared).run(drop_unknown(config))
        return out.reports
    if not out.failed:
        Semantics(out, declared).run(config)
    return out.reports


def validate_merged(config: dict[str, Any]) -> list[Report]:
    """Ignition's check of a rendered (merged) user config, before any stage runs.

    Ignition translates every config to its newest types, merges, and then runs
    the types' own rules once more on the result ("merging configs resulted in
    an invalid config" fails the boot). So the semantic rules run at the newest
    spec igngen knows, on the merged value, whatever version it declares.
    """
    out = Reports()
    Semantics(out, spec.VERSIONS[-1]).run(config)
    return out.reports


# Version rules whose only effect is a warning (field_rules.FieldRules.mode): a rule of
# this kind switched on or off between two versions changes no error.
WARNING_ONLY_RULES = frozenset({"special-mode-bits-masked"})


@cache
def covers(at: str, version: str) -> bool:
    """Whether validating a config at spec ``at`` reports an error wherever validating the
    same config at ``version`` does (``igngen render`` then validates a template's config
    once, in the fragment at ``at``, instead of once more at the template's own spec).

    True when ``at`` is not newer than ``version`` and nothing in between loosens
    ``at``'s verdict, all read from the spec table: no error rule switched on after
    ``at`` (a rule switched off only makes ``at`` stricter), URL schemes, hash
    functions and filesystem formats only added (``at`` refuses what it lacks before
    any rule that depends on them runs), and every field added after ``at`` new and
    optional (a config valid at ``at`` holds none of them; a changed or required field
    in an object ``at`` has would be checked only at ``version``).
    """
    if spec.ORDER[at] > spec.ORDER[version]:
        return False
    if (spec.rules(version) - spec.rules(at)) - WARNING_ONLY_RULES:
        return False
    for table in (spec.URL_SCHEMES, spec.HASH_FUNCTIONS, spec.FILESYSTEM_FORMATS):
        if not set(table[at]) <= set(table[version]):
            return False
    base = spec.tree(at)
    for entry in spec.SPECS[spec.ORDER[at] + 1 : spec.ORDER[version] + 1]:
        for parent, name, node in entry.fields:
            existing = _object_at(base, parent)
            if existing is not None and (name in existing.fields or node.required):
                return False
    return True


def _object_at(root: nodes.Obj, path: str) -> nodes.Obj | None:
    """The object at an ``a/b[]/c`` field path of ``root``, or None where the tree has none."""
    node: nodes.Node = root
    for part in [p for p in path.split("/") if p]:
        name = part.removesuffix("[]")
        if not isinstance(node, nodes.Obj) or name not in node.fields:
            return None
        node = node.fields[name]
        if part.endswith("[]"):
            if not isinstance(node, nodes.List):
                return None
            node = node.item
    return node if isinstance(node, nodes.Obj) else None


def check(config: Any, *, source: str, version: str | None = None) -> list[str]:
    """Raise :class:`IgnitionConfigError` on the first error; return warnings as lines."""
    reports = validate(config, source, version=version, schema=False)
    for report in reports:
        if report.severity == "error":
            raise IgnitionConfigError(report.message, source, report.pointer or "/")
    return [f"{source}#{r.pointer}: {r.message}" for r in reports]
