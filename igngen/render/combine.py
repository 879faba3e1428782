"""Rendered templates → the one fragment: conflicts between templates, and when each
template's own checks run (pure).

Each template's translation is valid on its own (at its spec and at the output spec),
and so is the fragment the translations combine into. The fragment is validated once
(``templating.render_fragment_checked``); a template's own checks run only where the
fragment's cannot stand for them, or to name the template when something fails (then
in rendering order, before the failure they would have preceded, so every error is the
one checking each template first would give). The fragment's check finds every error a
template's check finds when:
- its spec is not older than the output spec (``validate.covers``), and
- each of its list entries reaches the fragment whole (lists are concatenated) and
  every object it shares with another template is a container whose fields are
  validated one by one (``CONTAINERS``): all other rules read within one list entry,
  or over whole lists (duplicates, links, directories), where more entries can only
  add errors. A template whose value lands where another's is (a type clash, which no
  translation produces) has its checks run then, as they would have run before it.
"""

from __future__ import annotations

from igngen.errors import IgnitionConfigError, TemplateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from igngen.render.templating import Template

_KEYED = {
    ("storage", "files"): "path",
    ("storage", "directories"): "path",
    ("storage", "links"): "path",
    ("storage", "disks"): "device",
    ("storage", "filesystems"): "device",
    ("storage", "raid"): "name",
    ("storage", "luks"): "name",
    ("systemd", "units"): "name",
    ("passwd", "users"): "name",
    ("passwd", "groups"): "name",
}
_NODE_LISTS = {("storage", "files"), ("storage", "directories"), ("storage", "links")}
# Objects outside list entries whose fields have no rule that reads a sibling (no
# required field but the version, no "x without y"): two templates may fill one of
# these and the fragment's check still finds each one's errors. ``replace`` (a
# resource: a hash or headers need its source) is not one of them.
CONTAINERS = frozenset(
    {
        (),
        ("ignition",),
        ("ignition", "config"),
        ("ignition", "timeouts"),
        ("ignition", "security"),
        ("ignition", "security", "tls"),
        ("ignition", "proxy"),
        ("storage",),
        ("systemd",),
        ("passwd",),
        ("kernelArguments",),
    }
)


class Checks:
    """Each rendered template's own checks, run only when needed (see above)."""

    __slots__ = ("done", "rendered", "shared", "spec")

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.rendered: list[tuple[Template, Any]] = []  # (template, its Translation)
        self.done = 0  # how many of ``rendered`` passed their checks already
        self.shared = False  # an object outside CONTAINERS came from two templates

    def run(self) -> None:
        """The checks not run yet, in rendering order; raises the first failure."""
        while self.done < len(self.rendered):
            template, translation = self.rendered[self.done]
            _check_own(template, translation)
            if translation.spec != self.spec:
                _check_fits(translation, self.spec, template)
            self.done += 1

    def first_failure(self) -> TemplateError | None:
        try:
            self.run()
        except TemplateError as exc:
            return exc
        return None

    def after_fragment(self) -> None:
        """The checks the fragment's (passed) cannot stand for."""
        from igngen.ignition.validate import covers

        if self.shared:
            self.run()
            return
        for template, translation in self.rendered[self.done :]:
            # Valid in the fragment means valid at the output spec; at its own spec,
            # only when that is not older (validate.covers).
            if not covers(self.spec, translation.spec):
                _check_own(template, translation)


def combine(
    into: dict[str, Any],
    config: dict[str, Any],
    name: str,
    owners: dict[tuple[str, Any], str],
    checks: Checks,
) -> None:
    """Add one template's config; the same path/unit/user from two templates is a conflict.

    Lists are concatenated; a keyed entry (file path, unit name, user name, …)
    and a single value (e.g. ``ignition.timeouts.httpTotal``) may come from one
    template only, so two templates never silently fight over a thing.
    """
    config = {k: v for k, v in config.items() if k != "ignition"} | {
        "ignition": {k: v for k, v in config.get("ignition", {}).items() if k != "version"}
    }
    _combine_obj(into, config, (), name, owners, checks)


def _combine_obj(
    into: dict[str, Any],
    obj: dict[str, Any],
    at: tuple[str, ...],
    name: str,
    owners: dict[tuple[str, Any], str],
    checks: Checks,
) -> None:
    for key, value in obj.items():
        here = (*at, key)
        if isinstance(value, dict):
            if key in into:
                if not isinstance(into[key], dict):
                    checks.run()
                elif here not in CONTAINERS:
                    checks.shared = True
            _combine_obj(into.setdefault(key, {}), value, here, name, owners, checks)
        elif isinstance(value, list):
            if key in into and not isinstance(into[key], list):
                checks.run()
            key_field = _KEYED.get(here) if len(here) == 2 else None
            if key_field is not None:
                namespace = "node" if here in _NODE_LISTS else ".".join(here)
                for entry in value:
                    _claim(owners, (namespace, entry.get(key_field)), name, ".".join(here))
            into.setdefault(key, []).extend(value)
        else:
            _claim(owners, ("value", ".".join(here)), name, ".".join(here))
            if key in into:  # an object or a list of another template's
                checks.run()
            into[key] = value


def _claim(
    owners: dict[tuple[str, Any], str], ident: tuple[str, Any], name: str, what: str
) -> None:
    if ident in owners:
        shown = f"{what} {ident[1]!r}" if ident[0] != "value" else what
        raise TemplateError(f"{shown} is also defined by template {owners[ident]}", name)
    owners[ident] = name


def _check_own(template: Template, translation: Any) -> None:
    from igngen.ignition.validate import check

    try:
        check(translation.config, source=template.location)
    except IgnitionConfigError as exc:
        where = translation.locate(exc.pointer) or template.location
        raise TemplateError(
            f"renders an invalid Ignition config: {exc.message} (at {exc.pointer})", where
        ) from None


def _check_fits(translation: Any, spec: str, template: Template) -> None:
    """The fragment only changes its version: every field the template used must exist
    in the output spec (always true going up from 3.3.0)."""
    from igngen.ignition.validate import check

    config = dict(translation.config, ignition=dict(translation.config["ignition"], version=spec))
    try:
        check(config, source=template.location, version=spec)
    except IgnitionConfigError as exc:
        where = translation.locate(exc.pointer) or template.location
        raise TemplateError(
            f"uses something spec {spec} does not have: {exc.message} (at {exc.pointer})", where
        ) from None
