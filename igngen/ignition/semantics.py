"""Ignition's semantic rules on a structurally valid config, for one spec version.

What Ignition 2.14+ enforces in ``config/v3_*/types`` beyond the field tree:
duplicates in every keyed list (files/directories/links and kernel argument
lists share one namespace), the ``ignition`` section's references, CA lists and
proxies, files/directories/links (paths, modes, owners, ``overwrite`` without
``contents.source``, links through links, hard links to directories), storage
devices (``device_rules``) and systemd units (suffixes, unit text, drop-ins).
"""

from __future__ import annotations

from igngen.ignition import nodes, spec
from igngen.ignition.device_rules import check_devices
from igngen.ignition.field_rules import FieldRules, clean_path, is_empty, items_at, value_at
from igngen.ignition.merge import key_of
from igngen.ignition.reports import escape
from igngen.systemd import unit_content_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _through_link(path: str, links: set[str]) -> bool:
    """Whether a proper prefix directory of ``path`` is a link (Ignition's prefix test)."""
    if not links:
        return False
    end = path.rfind("/")
    while end > 0:
        if path[:end] in links:
            return True
        end = path.rfind("/", 0, end)
    return False


class Semantics(FieldRules):
    """The whole semantic pass: ``Semantics(reports, version).run(config)``."""

    # generic: every keyed list, per Ignition's ValidateDups
    def duplicates(self, node: nodes.Obj, value: dict[str, Any], pointer: str) -> None:
        seen: dict[tuple[str, str], tuple[str, int]] = {}
        fields = node.fields
        for name, entries in value.items():
            sub = fields.get(name)
            if sub is None or entries is None or not sub.has_keyed:
                continue
            if isinstance(sub, nodes.Obj):
                if isinstance(entries, dict):
                    self.duplicates(sub, entries, f"{pointer}/{escape(name)}")
                continue
            if not isinstance(sub, nodes.List) or not isinstance(entries, list):
                continue
            if sub.key is not None:
                space = sub.namespace or name
                for i, entry in enumerate(entries):
                    ident = (space, key_of(sub, entry))
                    first = seen.get(ident)
                    if first is not None:
                        self.error(
                            f"{pointer}/{escape(name)}/{i}",
                            f"duplicate entry {ident[1]!r} "
                            f"(also at {pointer}/{escape(first[0])}/{first[1]})",
                        )
                    else:
                        seen[ident] = (name, i)
            item = sub.item
            if isinstance(item, nodes.Obj) and item.has_keyed:
                for i, entry in enumerate(entries):
                    if isinstance(entry, dict):
                        self.duplicates(item, entry, f"{pointer}/{escape(name)}/{i}")

    def run(self, config: dict[str, Any]) -> None:
        self.duplicates(spec.tree(self.version), config, "")
        ign = config.get("ignition")
        for i, res in items_at(ign, "config", "merge"):
            self.resource(res, f"/ignition/config/merge/{i}", required=True)
        replace = value_at(ign, "config", "replace")
        if isinstance(replace, dict):
            self.resource(replace, "/ignition/config/replace")
        for i, res in items_at(ign, "security", "tls", "certificateAuthorities"):
            cp = f"/ignition/security/tls/certificateAuthorities/{i}"
            if "ca-source-url" in self.rules and is_empty(res.get("source")):
                # 3.0.0's ``source`` is a plain string: absent means "", which has no scheme.
                self.error(f"{cp}/source", "invalid URL: no scheme (source is required)")
            self.resource(res, cp, required=True)
        proxy = value_at(ign, "proxy")
        if isinstance(proxy, dict):
            self.proxy(proxy.get("httpProxy"), "/ignition/proxy/httpProxy", https=False)
            self.proxy(proxy.get("httpsProxy"), "/ignition/proxy/httpsProxy", https=True)
        self.storage(config)
        self.systemd(config)

    def storage(self, config: dict[str, Any]) -> None:
        links = {
            e["path"]
            for _, e in items_at(config, "storage", "links")
            if isinstance(e.get("path"), str)
        }
        directories = {e.get("path") for _, e in items_at(config, "storage", "directories")}
        for kind in ("files", "directories", "links"):
            for i, entry in items_at(config, "storage", kind):
                pointer = f"/storage/{kind}/{i}"
                p = entry.get("path")
                self.path(p if p is not None else "", f"{pointer}/path")
                self.owner(entry.get("user"), f"{pointer}/user")
                self.owner(entry.get("group"), f"{pointer}/group")
                if isinstance(p, str) and _through_link(p, links):
                    self.error(pointer, f"path {p!r} goes through a link defined in this config")
                if kind != "links":
                    self.mode(entry.get("mode"), f"{pointer}/mode")
                if kind == "files":
                    contents = entry.get("contents")
                    self.resource(contents, f"{pointer}/contents")
                    for j, res in items_at(entry, "append"):
                        self.resource(res, f"{pointer}/append/{j}")
                    if entry.get("overwrite") is True and value_at(contents, "source") is None:
                        self.error(
                            f"{pointer}/overwrite",
                            "overwrite is true but contents.source is not set",
                        )
                if kind == "links":
                    target = entry.get("target")
                    if not isinstance(target, str) or target == "":
                        if "link-target-required" in self.rules:
                            self.error(f"{pointer}/target", "link target is required")
                    elif entry.get("hard") is True and isinstance(p, str):
                        t = target if target.startswith("/") else f"{p}/{target}"
                        if clean_path(t) in directories:
                            self.error(pointer, "hard link to a directory")
        check_devices(self, config)

    def unit_contents(self, value: Any, pointer: str) -> None:
        if isinstance(value, str):
            problem = unit_content_error(value)
            if problem:
                self.error(pointer, f"invalid unit content: {problem}")

    def systemd(self, config: dict[str, Any]) -> None:
        for i, unit in items_at(config, "systemd", "units"):
            self.unit_contents(unit.get("contents"), f"/systemd/units/{i}/contents")
            name = unit.get("name")
            if isinstance(name, str) and not name.endswith(spec.UNIT_SUFFIXES):
                self.error(f"/systemd/units/{i}/name", f"invalid unit name {name!r} (unknown type)")
            for j, dropin in items_at(unit, "dropins"):
                self.unit_contents(
                    dropin.get("contents"), f"/systemd/units/{i}/dropins/{j}/contents"
                )
                dname = dropin.get("name")
                if isinstance(dname, str) and not dname.endswith(".conf"):
                    self.error(
                        f"/systemd/units/{i}/dropins/{j}/name", "drop-in name must end in .conf"
                    )
