"""Ignition's verdict on a merged config, located in the input the user wrote (pure).

Ignition validates each config on its own when it parses it, translates it to
its newest types, merges, and then runs the types' rules once more on the
rendered result: what fails there ("merging configs resulted in an invalid
config") fails the boot although every input was valid alone — a file whose
``user`` has ``id`` from one config and ``name`` from the other, two
partitions that end up with one label. ``check_merged`` applies the same rules
(``validate.validate_merged``) and names the offending entry in the newest
input that holds it, found by merge key, not by index: after a merge indexes
no longer match the user's document. An entry that came from a config the
custom data pulls in through its own ``data:`` references is named by the
chain (``customdata#/ignition/config/merge/0 (data: URL) → #/storage/files/2/user``):
the inputs are the layers of the merge, each with such a source (see
``handin.resolve``).
"""

from __future__ import annotations

from collections.abc import Sequence

from igngen.errors import IgnitionConfigError
from igngen.ignition import nodes, spec
from igngen.ignition.merge import key_of
from igngen.ignition.reports import escape
from igngen.ignition.validate import validate_merged

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MERGE_FAILURE = "Ignition would fail the boot: merging configs resulted in an invalid config"


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def locate(pointer: str, merged: Any, config: Any) -> tuple[str, bool]:
    """The pointer into ``config`` of the entry at ``pointer`` in ``merged``.

    Returns the deepest pointer reached and whether all of ``pointer`` was
    found in ``config`` (entries of keyed lists are matched by merge key).
    """
    tokens = [_unescape(t) for t in pointer.split("/")[1:]] if pointer else []
    node: nodes.Node = spec.tree(spec.VERSIONS[-1])
    here: list[str] = []
    m, c = merged, config
    for token in tokens:
        if isinstance(node, nodes.Obj):
            child = node.fields.get(token)
            if child is None or not isinstance(c, dict) or token not in c:
                return "".join(here), False
            node, m, c = child, (m.get(token) if isinstance(m, dict) else None), c[token]
            here.append(f"/{escape(token)}")
        elif isinstance(node, nodes.List):
            if not (token.isdigit() and isinstance(m, list) and isinstance(c, list)):
                return "".join(here), False
            index = int(token)
            if node.key is None or index >= len(m):
                return "".join(here), False  # concatenated lists: no key to match by
            want = key_of(node, m[index])
            found = [j for j, entry in enumerate(c) if key_of(node, entry) == want]
            if not found:
                return "".join(here), False
            j = found[-1]
            node, m, c = node.item, m[index], c[j]
            here.append(f"/{j}")
        else:
            return "".join(here), False
    return "".join(here), True


def check_merged(
    merged: dict[str, Any], inputs: Sequence[tuple[str, dict[str, Any]]], *, over: str
) -> None:
    """Raise :class:`IgnitionConfigError` if Ignition would refuse ``merged``.

    ``inputs`` are ``(source, config)`` in merge order; the error names the
    newest one holding the offending entry (the fullest match wins); a source
    that ends in ``→ `` is a reference chain, the pointer inside it follows. ``over``
    says, in the message, what the entry was merged with.
    """
    for report in validate_merged(merged):
        if report.severity != "error":
            continue
        best: tuple[int, bool, str, str] | None = None
        for source, config in reversed(inputs):
            where, complete = locate(report.pointer, merged, config)
            rank = (where.count("/"), complete)
            if best is None or rank > best[:2]:
                best = (rank[0], complete, source, where)
        assert best is not None
        _, complete, source, where = best
        detail = "" if complete else f" (merged result at {report.pointer})"
        raise IgnitionConfigError(
            f"after merging {over}: {report.message}{detail}; {MERGE_FAILURE}",
            source,
            where or "/",
        )
