"""What igngen hands to Ignition, and what Ignition will make of it (pure).

The hand-in for Ignition custom data is one *user* config that merges two
references, in order: igngen's fragment, then the user's custom data, both as
``data:`` URLs::

    {"ignition": {"version": SPEC, "config": {"merge": [
        {"source": "data:…fragment…"}, {"source": "data:…customdata…"}]}}}

Why this shape:
- Ignition renders merge references depth first, each referenced config being
  the child of the result so far: the customdata's own ``merge``/``replace``
  references are resolved *before* it is merged over the fragment, so a
  ``replace`` in custom data replaces the custom data's content, not the admin
  user (a base config would not have that property, nor would splicing).
- It is still the *user* config, so Ignition validates and translates the
  custom data itself (any 3.x version it supports) and records
  ``userConfigProvided``, which Flatcar's update-ssh-keys-after-ignition needs.
- The custom data's bytes are embedded untouched (gzip included, with
  ``compression: gzip``): nothing of the user's is re-serialised.
Empty and non-Ignition custom data are never embedded (Ignition would treat an
empty reference as an empty *user* config and drop the fragment, and Flatcar's
Ignition does the same for cloud-configs); then the fragment alone is handed
in and the custom data is left where coreos-cloudinit finds it. Spec 1.x/2.x
custom data is not embedded either: Flatcar's Ignition translates those only
as the top-level user config (its ``config.Parse``, used for references, knows
3.x only), so a reference would fail the boot. For every kind that is not
embedded, ``build`` returns the fragment alone; ``igngen.boot.handoff`` then hands it
over as a base config so that Ignition still reads the custom data itself.
"""

from __future__ import annotations

import base64

from igngen.errors import CustomDataError, IgnitionConfigError
from igngen.ignition import spec as specs
from igngen.ignition.customdata import IGNITION, CustomData
from igngen.ignition.merge import merge
from igngen.ignition.merged import check_merged
from igngen.ignition.validate import drop_unknown
from igngen.jsonio import canonical_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

REMOTE_SCHEMES = ("http", "https", "s3", "gs", "tftp", "arn")


def _reference(data: bytes, *, gzipped: bool, spec: str) -> dict[str, Any]:
    if not specs.has_field(spec, "ignition/config/merge[]/compression"):
        # 3.0.0 has no ``compression`` on config references: embed the plain bytes.
        data, gzipped = _plain(data, gzipped), False
        ref: dict[str, Any] = {}
    else:
        ref = {"compression": "gzip" if gzipped else ""}
    ref["source"] = "data:;base64," + base64.b64encode(data).decode("ascii")
    import hashlib

    ref["verification"] = {"hash": "sha512-" + hashlib.sha512(_plain(data, gzipped)).hexdigest()}
    return ref


def _plain(data: bytes, gzipped: bool) -> bytes:
    if not gzipped:
        return data
    from igngen.ignition.dataurl import gunzip

    return gunzip(data)


def build(fragment: dict[str, Any], custom: CustomData | None, *, spec: str) -> dict[str, Any]:
    """The user config handed to Ignition (at output spec ``spec``)."""
    if custom is None or custom.kind != IGNITION:
        return fragment
    merges = [
        _reference(canonical_json(fragment), gzipped=False, spec=spec),
        _reference(custom.raw, gzipped=custom.gzipped, spec=spec),
    ]
    return {"ignition": {"version": spec, "config": {"merge": merges}}}


def through(source: str, pointer: str) -> str:
    """The source of a config reached through the ``data:`` reference at ``pointer`` in
    ``source``: the chain, so that ``f"{through(...)}#{inner}"`` reads
    ``customdata#/ignition/config/merge/0 (data: URL) → #/storage/files/2/user``."""
    return f"{source}#{pointer} (data: URL) → "


def resolve(
    config: dict[str, Any], *, source: str, depth: int = 0
) -> tuple[dict[str, Any], list[str], list[tuple[str, dict[str, Any]]]]:
    """Resolve ``data:`` merge/replace references offline, as Ignition's fetch stages do.

    Returns the rendered config, notes about remote references (kept for Ignition
    to fetch at boot, never fetched here) and the layers merged into the result,
    ``(source, config)`` in merge order, each named by its reference chain.

    The order is Ignition's (internal/exec/config_fetcher.go RenderConfig): a
    ``replace`` reference's rendered config is the result; otherwise the config
    itself comes first and each ``merge`` reference, rendered depth first (its
    own references resolved), is merged over the result so far.
    """
    from igngen.ignition.dataurl import decode

    if depth > 10:
        raise IgnitionConfigError("config references nest more than 10 levels deep", source)
    notes: list[str] = []
    ign = config.get("ignition") or {}
    refs = ign.get("config") or {}
    replace = refs.get("replace")

    layers: list[tuple[str, dict[str, Any]]] = []

    def fetch(ref: dict[str, Any], pointer: str) -> dict[str, Any] | None:
        url = ref.get("source")
        if not isinstance(url, str):
            # Only spec 3.0.0 lets this through validation; Ignition then fails the boot
            # at fetch ("source is required"). Resolved here, it has nothing to add.
            notes.append(
                f"{source}#{pointer}: reference without a source dropped"
                " (Ignition would fail the boot on it: source is required)"
            )
            return None
        if url.split(":", 1)[0].lower() in REMOTE_SCHEMES:
            notes.append(
                f"{source}#{pointer}: remote reference {url.split('?')[0]} kept for Ignition to fetch at boot"
            )
            return None
        data = decode(url, source=source, pointer=f"{pointer}/source")
        if ref.get("compression") == "gzip":
            from igngen.ignition.dataurl import gunzip

            data = gunzip(data, source=source, pointer=f"{pointer}/source")
        digest = (ref.get("verification") or {}).get("hash")
        if isinstance(digest, str):
            import hashlib

            func, _, want = digest.partition("-")
            if hashlib.new(func, data).hexdigest() != want.lower():
                raise IgnitionConfigError(
                    "referenced config does not match its verification hash", source, pointer
                )
        from igngen.ignition.customdata import classify

        # Ignition turns an empty referenced config (and, on Flatcar, a cloud-config,
        # script or MIME one) into "no user config at all": the fragment would be lost.
        try:
            kind = classify(data, source=f"{source}#{pointer}", butane=False)
        except CustomDataError as exc:
            raise IgnitionConfigError(
                f"referenced config is invalid: {exc.message}", source, pointer
            ) from None
        if kind.kind != IGNITION or kind.config is None:
            raise IgnitionConfigError(
                f"referenced config is {'empty' if kind.kind == 'empty' else 'a ' + kind.kind}"
                " document: Ignition would drop the whole user config",
                source,
                pointer,
            )
        # Ignition parses each referenced config at its own version: fields that
        # version does not have (newer or unknown) are dropped with a warning.
        child = drop_unknown(kind.config)
        rendered, sub, inner = resolve(child, source=through(source, pointer), depth=depth + 1)
        notes.extend(sub)
        layers.extend(inner)
        return rendered

    if isinstance(replace, dict) and replace.get("source"):
        got = fetch(replace, "/ignition/config/replace")
        if got is not None:
            return got, notes, layers
        notes.append(
            f"{source}#/ignition/config/replace: at boot Ignition replaces this whole config "
            "with the remote one; the rest of it (shown here) will not be applied"
        )
        return config, notes, [(source, config)]
    result = _without_local_refs(config)
    layers.append((source, result))
    for i, ref in enumerate(refs.get("merge") or []):
        got = fetch(ref, f"/ignition/config/merge/{i}")
        if got is not None:
            result = merge(result, got)
    return result, notes, layers


def _without_local_refs(config: dict[str, Any]) -> dict[str, Any]:
    """The config minus the data: references that are resolved here (remote ones stay)."""
    ign = dict(config.get("ignition") or {})
    refs = dict(ign.get("config") or {})
    remote = [
        r
        for r in refs.get("merge") or []
        if isinstance(r.get("source"), str)
        and r["source"].split(":", 1)[0].lower() in REMOTE_SCHEMES
    ]
    if remote:
        refs["merge"] = remote
    else:
        refs.pop("merge", None)
    if refs:
        ign["config"] = refs
    else:
        ign.pop("config", None)
    out = dict(config)
    out["ignition"] = ign
    return out


def final(
    fragment: dict[str, Any], custom: CustomData | None, *, source: str = "customdata"
) -> tuple[dict[str, Any], list[str]]:
    """The config Ignition will apply: the fragment with the custom data merged over it.

    Raises (located in the custom data) what Ignition's check of the merged
    result would refuse at boot.
    """
    if custom is None or custom.kind != IGNITION or custom.config is None:
        return fragment, []
    rendered, notes, layers = resolve(drop_unknown(custom.config), source=source)
    merged = merge(fragment, rendered)
    version = merged["ignition"]["version"]
    if version not in specs.ORDER:
        raise CustomDataError(f"unsupported version {version!r}", f"{source}#/ignition/version")
    check_merged(merged, [("fragment", fragment), *layers], over="over igngen's fragment")
    return merged, notes + _merge_born_warnings(fragment, rendered, merged, source)


def _merge_born_warnings(
    fragment: dict[str, Any], custom: dict[str, Any], merged: dict[str, Any], source: str
) -> list[str]:
    """What Ignition only logs about the merged result (a filesystem over a disk that now
    has partitions, an owner on a hard link, …) and neither input shows on its own, so
    it is not reported twice."""
    from igngen.butane.ignwarn import warnings

    def messages(config: dict[str, Any]) -> set[str]:
        return {text for _, text in warnings(config, lambda pointer: pointer)}

    alone = messages(fragment) | messages(custom)
    return [
        f"{source} (merged over igngen's fragment)#{pointer}: {text}"
        for pointer, text in warnings(merged, lambda pointer: pointer)
        if text not in alone
    ]
