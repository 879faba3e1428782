"""``systemd.quadlets`` (base v0_8_exp): Podman quadlet units as files and links."""

from __future__ import annotations

from igngen.butane import messages as msg
from igngen.butane.contents import make_source
from igngen.butane.walker import Walker, list_of_maps, scalar_text
from igngen.yamlsrc import Node

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
    or None. As Butane's isTemplateInstance: the extension starts at the *last* dot, and
    ``a@.container`` (nothing between) is the template itself."""
    at, dot = name.find("@"), name.rfind(".")
    if at == -1 or dot == -1 or at + 1 == dot:
        return None
    return f"{name[:at]}@.{name[dot + 1 :]}"


def _refuse_existing(node: Node, storage: dict[str, Any], dest: str) -> None:
    """Butane refuses a quadlet path any file, directory or link already holds (the
    user's storage, a tree, an earlier quadlet or drop-in)."""
    for kind in ("files", "directories", "links"):
        if any(e.get("path") == dest for e in storage.get(kind, [])):
            raise node.error(msg.QUADLET_EXISTS.format(path=dest))


def add_quadlets(w: Walker, systemd_node: Node, storage: dict[str, Any]) -> None:
    """Podman quadlets become files under /etc/containers/systemd (``rootful``) or its
    ``users/`` directory, each drop-in a file in ``<quadlet>.d/``; an instance name
    (``web@8080.container``) becomes a link to its template (``web@.container``), as
    Butane v0.29.0 does (base/v0_8_exp processQuadlets)."""
    for q in list_of_maps(systemd_node, "quadlets"):
        for key in q.value:
            if key not in ("name", "contents", "contents_local", "rootful", "dropins"):
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
        # Butane's order: the extension first, then what an instance may not have,
        # then (for a file) the one-source rule.
        if not name.endswith(QUADLET_EXTENSIONS):
            raise q.error(msg.QUADLET_EXTENSION.format(name=name), "name")
        template = quadlet_template(name)
        dest = f"{QUADLET_ROOTFUL_DIR if rootful else QUADLET_USERS_DIR}/{name}"
        if template is not None:
            for key in ("contents", "contents_local"):
                if q.value.get(key) is not None and q.value[key].value is not None:
                    raise q.error(msg.QUADLET_INSTANCE_CONTENTS.format(name=name), key)
            _refuse_existing(q, storage, dest)
            storage.setdefault("links", []).append({"path": dest, "target": template})
        else:
            _quadlet_file(w, q, storage, dest)
        for d in list_of_maps(q, "dropins"):
            for key in d.value:
                if key not in ("name", "contents", "contents_local"):
                    raise d.error(msg.UNKNOWN_KEY.format(key=key), key)
            dname_node = d.value.get("name")
            dname = scalar_text(dname_node) if dname_node is not None else ""
            if dname is None:
                raise d.error(msg.EXPECTED_TYPE.format(kind="a string"), "name")
            _quadlet_file(w, d, storage, f"{dest}.d/{dname}")


def _quadlet_file(w: Walker, node: Node, storage: dict[str, Any], dest: str) -> None:
    """A quadlet or drop-in file: one source at most, mode 0644, an explicit
    compression (Butane's addFileWithContents)."""
    contents = node.value.get("contents")
    local = node.value.get("contents_local")
    if (
        contents is not None
        and contents.value is not None
        and local is not None
        and local.value is not None
    ):
        raise node.error(msg.TOO_MANY_UNIT_SOURCES, "contents_local")
    _refuse_existing(node, storage, dest)
    data = b""
    # An empty string is no source to Butane (util.NotEmpty): an empty file.
    if local is not None and local.value not in (None, ""):
        data = w.read_local(local, "contents_local")
    if contents is not None and contents.value not in (None, ""):
        text = scalar_text(contents)
        if text is None:
            raise contents.error(msg.EXPECTED_TYPE.format(kind="a string"))
        data = text.encode("utf-8")
    source, compression = make_source(data, compression=None, auto_compress=w.auto_compress)
    entry: dict[str, Any] = {"path": dest, "contents": {"source": source}, "mode": 0o644}
    if compression is not None:
        entry["contents"]["compression"] = compression
    storage.setdefault("files", []).append(entry)
