"""Ignition config specs 3.0.0 … 3.7.0-experimental as data: one table, ``SPECS``.

3.0.0's field tree is written once; every later version is described by what
it adds (a path and a field). Validation, JSON Schema generation, merging,
translation and Butane's snake_case passthrough all walk these trees, so a
new spec version is one more ``SpecVersion`` entry in ``SPECS`` and nothing else
changes: the version order, the first Ignition release accepting each version,
igngen's output specs (settings, ``--spec``), per-version value rules (URL
schemes, hash functions, filesystem formats, rules switched on/off), the JSON
Schema, translation up/down and merge are all derived from it.

The node kinds are in ``nodes``; 3.0.0's field tree and the field groups the
entries below add are in ``base_fields``.
"""

from __future__ import annotations

from collections.abc import Mapping

from igngen.ignition.base_fields import base_tree, headers, luks
from igngen.ignition.nodes import B, List, Node, Obj, S

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from igngen.records import NamedTuple

LEGACY_PREFIXES = ("1.", "2.")
EXPERIMENTAL_SUFFIX = "-experimental"
# The Ignition igngen targets when nothing says otherwise: what Flatcar ships today.
DEFAULT_IGNITION = "2.26.0"


class SpecVersion(NamedTuple):
    """Everything igngen knows about one spec version; adding a version is one entry."""

    version: str
    first_ignition: str  # first Ignition release that accepts it
    # Experimental specs only: the release that refused it again (the one that made it stable).
    refused_from: str | None = None
    output: bool = False  # offered as igngen's output spec (settings ``spec``, ``--spec``)
    fields: tuple[tuple[str, str, Node], ...] = ()  # (parent path, field name, node) added
    formats: tuple[str, ...] = ()  # filesystem formats added
    schemes: tuple[str, ...] = ()  # URL schemes added
    hashes: tuple[str, ...] = ()  # verification hash functions added
    rules_on: tuple[str, ...] = ()  # value rules Ignition enforces from this version on
    rules_off: tuple[str, ...] = ()  # value rules it stops enforcing


# In version order (the order translation steps through). Facts from Ignition's
# config/v3_*/types, docs/migrating-configs.md and docs/release-notes.md.
SPECS: tuple[SpecVersion, ...] = (
    SpecVersion(
        "3.0.0",
        "2.0.0",
        formats=("ext4", "btrfs", "xfs", "vfat", "swap"),
        schemes=("http", "https", "tftp", "s3", "data"),
        hashes=("sha512",),
        # 3.0.0's certificate authority ``source`` is a plain string: absent is "" and
        # fails URL validation. Special mode bits are masked (with a warning, 2.22+)
        # before 3.6.0; custom clevis pins are limited to tpm2/tang/sss before 3.6.0.
        rules_on=("ca-source-url", "special-mode-bits-masked", "clevis-pin-names"),
    ),
    SpecVersion(
        "3.1.0",
        "2.3.0",
        fields=(
            ("ignition/config/merge[]", "compression", S()),
            ("ignition/config/merge[]", "httpHeaders", headers()),
            ("ignition/config/replace", "compression", S()),
            ("ignition/config/replace", "httpHeaders", headers()),
            (
                "ignition",
                "proxy",
                Obj({"httpProxy": S(), "httpsProxy": S(), "noProxy": List(S(), ".")}),
            ),
            ("ignition/security/tls/certificateAuthorities[]", "compression", S()),
            ("ignition/security/tls/certificateAuthorities[]", "httpHeaders", headers()),
            ("storage/files[]/contents", "httpHeaders", headers()),
            ("storage/files[]/append[]", "httpHeaders", headers()),
            ("storage/filesystems[]", "mountOptions", List(S(), None)),
        ),
        hashes=("sha256",),
        rules_on=("reference-source-required",),
        rules_off=("ca-source-url",),
    ),
    SpecVersion(
        "3.2.0",
        "2.7.0",
        fields=(
            ("passwd/users[]", "shouldExist", B()),
            ("passwd/groups[]", "shouldExist", B()),
            ("storage/disks[]/partitions[]", "resize", B()),
            ("storage", "luks", luks()),
        ),
        schemes=("gs",),
    ),
    SpecVersion(
        "3.3.0",
        "2.11.0",
        output=True,
        fields=(
            # Not a new field: 3.3.0 made a link's target mandatory.
            ("storage/links[]", "target", S(required=True)),
            (
                "",
                "kernelArguments",
                Obj(
                    {
                        "shouldExist": List(S(), ".", namespace="kargs"),
                        "shouldNotExist": List(S(), ".", namespace="kargs"),
                    }
                ),
            ),
        ),
        formats=("none",),
        rules_on=("link-target-required",),
    ),
    # Ignition 2.11-2.14's experimental spec: 3.3.0's fields plus ``arn:`` URLs.
    SpecVersion("3.4.0-experimental", "2.11.0", refused_from="2.15.0", schemes=("arn",)),
    SpecVersion(
        "3.4.0",
        "2.15.0",
        output=True,
        fields=(
            ("storage/luks[]", "discard", B()),
            ("storage/luks[]", "openOptions", List(S(), ".")),
            ("storage/luks[]/clevis/tang[]", "advertisement", S()),
        ),
    ),
    SpecVersion(
        "3.5.0", "2.20.0", output=True, fields=(("storage/luks[]", "cex", Obj({"enabled": B()})),)
    ),
    # No new fields: setuid/setgid/sticky bits are honoured, custom clevis pins are free.
    SpecVersion(
        "3.6.0",
        "2.26.0",
        output=True,
        rules_off=("special-mode-bits-masked", "clevis-pin-names"),
    ),
    # No new fields: filesystems may be ``virtiofs`` (the device is a tag, not a path).
    SpecVersion("3.7.0-experimental", "2.26.0", output=True, formats=("virtiofs",)),
)

VERSIONS: tuple[str, ...] = tuple(s.version for s in SPECS)
ORDER: dict[str, int] = {v: i for i, v in enumerate(VERSIONS)}
BY_VERSION: dict[str, SpecVersion] = {s.version: s for s in SPECS}
FIRST_IGNITION: dict[str, str] = {s.version: s.first_ignition for s in SPECS}
OUTPUT_SPECS: tuple[str, ...] = tuple(s.version for s in SPECS if s.output)
LATEST_STABLE: str = [v for v in VERSIONS if not v.endswith(EXPERIMENTAL_SUFFIX)][-1]


def _cumulative(attr: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    current: tuple[str, ...] = ()
    for s in SPECS:
        current = current + tuple(x for x in getattr(s, attr) if x not in current)
        out[s.version] = current
    return out


FILESYSTEM_FORMATS = _cumulative("formats")
URL_SCHEMES = _cumulative("schemes")
HASH_FUNCTIONS = _cumulative("hashes")


def _rules() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    current: frozenset[str] = frozenset()
    for s in SPECS:
        current = (current | set(s.rules_on)) - set(s.rules_off)
        out[s.version] = current
    return out


RULES: dict[str, frozenset[str]] = _rules()


# The oldest Ignition igngen supports (Flatcar's first with spec 3.x was 2.13; the
# long-lived one 2.14): the default output spec is the newest stable one it accepts.
OLDEST_IGNITION = "2.14.0"


def rules(version: str) -> frozenset[str]:
    """The version-dependent value rules Ignition enforces for a config of ``version``."""
    return RULES[version]


def masks_special_bits(version: str) -> bool:
    """Whether Ignition drops setuid/setgid/sticky mode bits of a ``version`` config."""
    return "special-mode-bits-masked" in RULES[version]


def is_experimental(version: str) -> bool:
    return version.endswith(EXPERIMENTAL_SUFFIX)


def ignition_tuple(release: str) -> tuple[int, ...]:
    """``"2.26.0"`` → ``(2, 26, 0)``; a missing patch level counts as 0."""
    parts = release.strip().removeprefix("v").split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() and len(p) <= 6 for p in parts):
        raise ValueError(f"not an Ignition release number: {release!r}")
    return tuple(int(p) for p in parts) + (0,) * (3 - len(parts))


def accepted_by(version: str, ignition: str) -> bool:
    """Whether Ignition release ``ignition`` accepts a config declaring ``version``."""
    entry = BY_VERSION[version]
    got = ignition_tuple(ignition)
    if got < ignition_tuple(entry.first_ignition):
        return False
    return entry.refused_from is None or got < ignition_tuple(entry.refused_from)


def acceptance_problem(version: str, ignition: str) -> str | None:
    """Why Ignition ``ignition`` refuses ``version`` ("unsupported config version"), or None."""
    if accepted_by(version, ignition):
        return None
    entry = BY_VERSION[version]
    span = f"Ignition {entry.first_ignition} or newer"
    if entry.refused_from is not None:
        span = f"Ignition {entry.first_ignition} up to (not including) {entry.refused_from}"
    return (
        f"Ignition {ignition} refuses spec {version} (unsupported config version; it needs {span})"
    )


def accepted_specs(ignition: str) -> tuple[str, ...]:
    """Every spec version Ignition ``ignition`` accepts, oldest first."""
    return tuple(v for v in VERSIONS if accepted_by(v, ignition))


UNIT_SUFFIXES = (
    ".service",
    ".socket",
    ".device",
    ".mount",
    ".automount",
    ".swap",
    ".target",
    ".path",
    ".timer",
    ".snapshot",
    ".slice",
    ".scope",
)


def by_version(table: Mapping[str, Any], version: str) -> Any:
    """The entry of ``table`` in force at ``version`` (latest key not newer than it)."""
    chosen = None
    for key in sorted(table, key=lambda v: ORDER[v]):
        if ORDER[key] <= ORDER[version]:
            chosen = table[key]
    return chosen


def _resolve(root: Obj, path: str) -> Obj:
    node: Node = root
    for part in [p for p in path.split("/") if p]:
        is_list = part.endswith("[]")
        name = part[:-2] if is_list else part
        assert isinstance(node, Obj)
        node = node.fields[name]
        if is_list:
            assert isinstance(node, List)
            node = node.item
    assert isinstance(node, Obj)
    return node


def _copy(node: Node) -> Node:
    if isinstance(node, Obj):
        return Obj({k: _copy(v) for k, v in node.fields.items()}, required=node.required)
    if isinstance(node, List):
        return List(_copy(node.item), node.key, namespace=node.namespace, required=node.required)
    return node


# Built on first use: a render walks one or two versions' trees, not all nine (building
# every tree at import cost each command ~1.5 ms whether it validated anything or not).
_TREES: dict[str, Obj] = {}


def _build(version: str) -> Obj:
    """3.0.0's tree with every addition up to ``version`` applied, on fresh nodes (the
    table's own nodes are copied, so no tree shares a mutable node with another)."""
    root = base_tree()
    for entry in SPECS[1 : ORDER[version] + 1]:
        for parent, name, node in entry.fields:
            _resolve(root, parent).fields[name] = _copy(node)
    return root


def tree(version: str) -> Obj:
    """The field tree of spec ``version`` (KeyError for a version not in ``SPECS``)."""
    built = _TREES.get(version)
    if built is None:
        built = _TREES[version] = _build(version)
    return built


_ADDED: dict[str, str] = {
    (f"{parent}/{name}" if parent else name): entry.version
    for entry in SPECS[1:]
    for parent, name, _ in entry.fields
}


def added_in(path_fields: str) -> str | None:
    """The version that introduced a ``a/b[]/c`` field path, or None if it is in 3.0.0."""
    return _ADDED.get(path_fields)


DEFAULT_OUTPUT_SPEC: str = [
    v for v in OUTPUT_SPECS if not is_experimental(v) and accepted_by(v, OLDEST_IGNITION)
][-1]


def has_field(version: str, path_fields: str) -> bool:
    """Whether spec ``version`` has the ``a/b[]/c`` field (e.g. to shape what igngen writes)."""
    parent, _, name = path_fields.rpartition("/")
    return name in _resolve(tree(version), parent).fields


def choose_output_spec(ignition: str, needed: str | None = None) -> str:
    """The output spec for a known Ignition release (issue 13, hand-off per generation).

    The newest stable output spec ``ignition`` accepts, but never newer than
    ``needed`` (the custom data's declared version) requires: the default
    output spec when nothing newer is needed. Experimental specs are never
    chosen on their own; settings may still ask for one.
    """
    candidates = [v for v in OUTPUT_SPECS if not is_experimental(v) and accepted_by(v, ignition)]
    if not candidates:
        raise ValueError(f"Ignition {ignition} accepts none of igngen's output specs")
    floor = DEFAULT_OUTPUT_SPEC
    if needed in ORDER and ORDER[needed] > ORDER[floor]:
        floor = needed
    fitting = [v for v in candidates if ORDER[v] >= ORDER[floor]]
    return fitting[0] if fitting else candidates[-1]


def ignition_release(version_output: str) -> str | None:
    """The release in ``ignition --version`` output ("Ignition v2.26.0", Debian's
    "Ignition Debian 2.14.0+ds1-1+b6"), or None."""
    import re

    match = re.search(
        r"\bIgnition (?:[A-Za-z]+ )?v?(\d{1,6}\.\d{1,6}(?:\.\d{1,6})?)", version_output
    )
    return match.group(1) if match else None
