"""``systemd.quadlets`` (base v0_8_exp): Podman quadlet units as files and links."""

from __future__ import annotations

from typing import Any

from igngen.butane import messages as msg
from igngen.butane.contents import make_source
from igngen.butane.walker import Walker, list_of_maps, scalar_text
from igngen.yamlsrc import Node

# podman-systemd.unit(5): the unit kinds quadlet generates services from.
QUADLET_EXTENSIONS = (
    ".container",
    ".volume",
    ".network",
    ".kube",
    ".image",
    ".build",
    ".pod",
    ".artifact",
)
QUADLET_ROOTFUL_DIR = "/etc/containers/systemd"
QUADLET_USERS_DIR = "/etc/containers/systemd/users"


def quadlet_template(name: str) -> str | None:
    """The template an instance name points at (``a@b.container`` → ``a@.container``),
    or None. Like Butane, the extension starts at the name's first dot."""
    at, dot = name.find("@"), name.find(".")
    if at == -1 or at + 1 == dot:
        return None
    return f"{name[:at]}@.{name[dot + 1 :]}"


def add_quadlets(w: Walker, systemd_node: Node, storage: dict[str, Any]) -> None:
    """Podman quadlets become files under /etc/containers/systemd (``rootful``) or its
    ``users/`` directory; an instance name (``web@8080.container``) becomes a link to
    its template (``web@.container``), as Butane does."""
    for q in list_of_maps(systemd_node, "quadlets"):
        for key in q.value:
            if key not in ("name", "contents", "contents_local", "rootful"):
                raise q.error(msg.UNKNOWN_KEY.format(key=key), key)
        name_node = q.value.get("name")
        name = scalar_text(name_node) if name_node is not None else ""
        if name is None:
            raise q.error(msg.EXPECTED_TYPE.format(kind="a string"), "name")
        rootful_node = q.value.get("rootful")
        rootful = False
        if rootful_node is not None and rootful_node.value is not None:
            if not isinstance(rootful_node.value, bool):
                raise rootful_node.error(msg.EXPECTED_TYPE.format(kind="true or false"))
            rootful = rootful_node.value
        contents = q.value.get("contents")
        local = q.value.get("contents_local")
        has_contents = contents is not None and contents.value is not None
        has_local = local is not None and local.value is not None
        if has_contents and has_local:
            raise q.error(msg.TOO_MANY_UNIT_SOURCES, "contents_local")
        template = quadlet_template(name)
        if template is not None and (has_contents or has_local):
            raise q.error(msg.QUADLET_INSTANCE_CONTENTS.format(name=name))
        if not name.endswith(QUADLET_EXTENSIONS):
            raise q.error(msg.QUADLET_EXTENSION.format(name=name), "name")
        dest = f"{QUADLET_ROOTFUL_DIR if rootful else QUADLET_USERS_DIR}/{name}"
        for kind in ("files", "directories", "links"):
            if any(e.get("path") == dest for e in storage.get(kind, [])):
                raise q.error(msg.QUADLET_EXISTS.format(path=dest))
        if template is not None:
            storage.setdefault("links", []).append({"path": dest, "target": template})
            continue
        data = b""
        if has_local:
            assert local is not None
            data = w.read_local(local, "contents_local")
        elif has_contents:
            assert contents is not None
            text = scalar_text(contents)
            if text is None:
                raise contents.error(msg.EXPECTED_TYPE.format(kind="a string"))
            data = text.encode("utf-8")
        source, compression = make_source(data, compression=None, auto_compress=w.auto_compress)
        entry: dict[str, Any] = {"path": dest, "contents": {"source": source}}
        if compression is not None:
            entry["contents"]["compression"] = compression
        storage.setdefault("files", []).append(entry)
