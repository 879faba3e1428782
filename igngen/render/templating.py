"""Butane templates → the Ignition fragment (pure, apart from reading template directories).

Image authors customise igngen's output by editing Butane YAML, not Python.
Search order (first directory holding a file name wins; files render in
sorted name order): ``--templates DIR`` and the settings' ``templates.dirs``,
then ``/run/igngen/templates``, ``/etc/igngen/templates``,
``/usr/lib/igngen/templates``, then the templates built into igngen (the
``butane-templates/`` directory, compiled at build time into
``igngen/data/templates.json`` so that a boot does not import PyYAML).

A template is disabled by naming it in ``templates.disabled``, by an empty
file of the same name in a directory searched earlier, or by a marker file
``NAME.disabled`` (e.g. ``40-sshd.bu.disabled``) there. A marker counts as that directory holding the
name, so a directory searched even earlier can still bring the template back.

Substitution happens on parsed YAML scalars, never on text, so a value cannot
change a template's structure:
- a scalar that is exactly ``{{ a.b }}`` takes the variable's typed value
  (string, number, boolean, list, mapping); ``None`` removes the key or item;
- ``{{ a.b }}`` inside a longer string inserts the value's text; values with
  line breaks or control characters are refused there, so nothing can be
  injected into line-based formats (sshd_config, sudoers);
- substituted text is never expanded again.
A header line ``# igngen:when=VAR`` (or ``when=!VAR``) renders the template
only when VAR is truthy (falsy). ``# igngen:each=VAR`` renders it once per item
of the list VAR, with the item as the variable ``item`` (none for an empty list):
one unit set per local disk, written out in the template instead of in Python.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Iterator, Mapping, Sequence

from igngen import paths
from igngen.errors import ButaneError, IgngenError, IgnitionConfigError, TemplateError, YamlError
from igngen.ignition.spec import DEFAULT_OUTPUT_SPEC
from igngen.limits import MAX_TEMPLATE_BYTES
from igngen.readfile import read_file
from igngen.yamlsrc import Node

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from igngen.records import NamedTuple

SYSTEM_DIRS = paths.TEMPLATE_DIRS
SUFFIX = ".bu"
MARKER = ".disabled"
BUILTIN = "built-in"
_DATA = os.path.join(paths.PACKAGE_DATA, "templates.json")
_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
_ANY_PLACEHOLDER = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_WHEN = re.compile(r"#\s*igngen:when=(!?)([A-Za-z_][A-Za-z0-9_.]*)\s*$")
_EACH = re.compile(r"#\s*igngen:each=([A-Za-z_][A-Za-z0-9_.]*)\s*$")
_DESCRIPTION = re.compile(r"#\s*igngen:description=(.*)$")
ITEM = "item"  # the variable ``# igngen:each`` binds to the current item
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1 and Unicode line breaks


class Template(NamedTuple):
    name: str
    origin: str  # directory it was found in, or "built-in"
    text: str
    dumped: Any = None  # pre-parsed tree (built-in templates)
    marker: bool = False  # a NAME.disabled file stands for this name

    @property
    def disabled_by_file(self) -> bool:
        return self.marker or not self.text.strip()

    @property
    def location(self) -> str:
        return self.name if self.origin == BUILTIN else os.path.join(self.origin, self.name)

    def header(self) -> tuple[tuple[bool, str] | None, str]:
        when: tuple[bool, str] | None = None
        description = ""
        for line in self._header_lines():
            m = _WHEN.match(line)
            if m:
                when = (m.group(1) == "!", m.group(2))
            d = _DESCRIPTION.match(line)
            if d:
                description = d.group(1).strip()
        return when, description

    def each(self) -> str | None:
        """The list variable named by ``# igngen:each=``, or None."""
        found = None
        for line in self._header_lines():
            m = _EACH.match(line)
            if m:
                found = m.group(1)
        return found

    def _header_lines(self) -> list[str]:
        lines = []
        for line in self.text.splitlines():
            if not line.startswith("#"):
                break
            lines.append(line)
        return lines

    def variables(self) -> list[str]:
        return sorted(set(_VAR.findall(self.text)))

    def tree(self) -> Node:
        if self.dumped is not None:
            from igngen.yamlsrc import load_dumped

            return load_dumped(self.dumped, self.location)
        from igngen.yamlsrc import parse

        return parse(self.text, source=self.location)


def _builtin() -> dict[str, Template]:
    try:
        with open(_DATA, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    return {
        name: Template(name, BUILTIN, entry["text"], entry["tree"]) for name, entry in data.items()
    }


def discover(
    search_dirs: Sequence[str | os.PathLike[str]] = (), *, system_dirs: Sequence[str] = SYSTEM_DIRS
) -> dict[str, Template]:
    """Every template name → the template that wins for it (empty files included)."""
    found: dict[str, Template] = {}
    for directory in [os.fspath(d) for d in search_dirs] + list(system_dirs):
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise TemplateError(
                f"cannot list template directory: {exc.strerror}", directory
            ) from None
        for name in names:  # a marker beats the template beside it
            base = name[: -len(MARKER)]
            if name.endswith(SUFFIX + MARKER) and base not in found:
                found[base] = Template(base, directory, "", marker=True)
        for name in names:
            if not name.endswith(SUFFIX) or name in found:
                continue
            path = os.path.join(directory, name)
            try:
                raw = read_file(path, "template", cap=MAX_TEMPLATE_BYTES)
            except IgngenError as exc:
                raise TemplateError(exc.message, exc.location) from None
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise TemplateError("template is not UTF-8", path) from None
            found[name] = Template(name, directory, text)
    for name, template in _builtin().items():
        found.setdefault(name, template)
    return dict(sorted(found.items()))


# --- substitution --------------------------------------------------------------


def _lookup(variables: Mapping[str, Any], dotted: str, node: Node) -> Any:
    value: Any = variables
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise TemplateError(f"unknown variable {dotted!r}", node.where)
        value = value[part]
    return value


def _to_node(value: Any, at: Node) -> Node:
    if isinstance(value, Mapping):
        return Node(
            {str(k): _to_node(v, at) for k, v in value.items()}, at.source, at.line, at.column, {}
        )
    if isinstance(value, (list, tuple)):
        return Node([_to_node(v, at) for v in value], at.source, at.line, at.column)
    return Node(value, at.source, at.line, at.column)


_REMOVE = object()


def substitute(node: Node, variables: Mapping[str, Any]) -> Any:
    """A copy of ``node`` with variables substituted; ``_REMOVE`` when it renders to None."""
    if isinstance(node.value, dict):
        items: dict[str, Node] = {}
        for key, child in node.value.items():
            new = substitute(child, variables)
            if new is not _REMOVE:
                items[key] = new
        return Node(items, node.source, node.line, node.column, node.key_marks)
    if isinstance(node.value, list):
        kept = [n for n in (substitute(c, variables) for c in node.value) if n is not _REMOVE]
        return Node(kept, node.source, node.line, node.column)
    if not isinstance(node.value, str) or "{{" not in node.value:
        return node
    text = node.value
    for placeholder in _ANY_PLACEHOLDER.findall(text):
        if not _VAR.fullmatch(placeholder):
            raise TemplateError(
                f"malformed placeholder {placeholder!r} (expected {{{{ group.name }}}})", node.where
            )
    whole = _VAR.fullmatch(text.strip())
    if whole:
        value = _lookup(variables, whole.group(1), node)
        return _REMOVE if value is None else _to_node(value, node)

    def insert(match: re.Match[str]) -> str:
        value = _lookup(variables, match.group(1), node)
        if value is None:
            raise TemplateError(
                f"variable {match.group(1)!r} is unset and cannot be part of a text", node.where
            )
        if isinstance(value, bool):
            value = "true" if value else "false"
        if isinstance(value, (Mapping, list, tuple)):
            raise TemplateError(
                f"variable {match.group(1)!r} is not text; use it as the whole value", node.where
            )
        shown = str(value)
        if _UNSAFE.search(shown):
            raise TemplateError(
                f"variable {match.group(1)!r} contains a line break or control character and cannot be "
                "part of a text; use it as the whole value",
                node.where,
            )
        return shown

    return Node(_VAR.sub(insert, text), node.source, node.line, node.column)


# --- rendering -------------------------------------------------------------------


def _header_variable(
    variables: Mapping[str, Any], dotted: str, template: Template, kind: str
) -> Any:
    value: Any = variables
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise TemplateError(
                f"igngen:{kind} names unknown variable {dotted!r}", template.location
            )
        value = value[part]
    return value


def translations(template: Template, variables: Mapping[str, Any]) -> Iterator[Any]:
    """One template → its Butane translations, not yet validated: none when its ``when``
    condition is false, one per item of its ``each`` list, otherwise one."""
    when, _ = template.header()
    if when is not None:
        negate, var = when
        if bool(_header_variable(variables, var, template, "when")) == negate:
            return
    each = template.each()
    if each is None:
        yield _translate(template, template.tree(), variables)
        return
    items = _header_variable(variables, each, template, "each")
    if not isinstance(items, (list, tuple)):
        raise TemplateError(f"igngen:each names {each!r}, which is not a list", template.location)
    if ITEM in variables:
        raise TemplateError(
            f"igngen:each cannot bind {ITEM!r}: a variable group has that name", template.location
        )
    if not items:
        return
    tree = template.tree()  # parsed once; substitution copies it for every item
    for item in items:
        yield _translate(template, tree, {**variables, ITEM: item})


def render_template(
    template: Template, variables: Mapping[str, Any], *, spec: str
) -> list[dict[str, Any]]:
    """One template → its validated Ignition configs (see ``translations``)."""
    from igngen.render.combine import Checks

    checks = Checks(spec)
    for translation in translations(template, variables):
        checks.rendered.append((template, translation))
        checks.run()
    return [translation.config for _, translation in checks.rendered]


def _translate(template: Template, tree: Node, variables: Mapping[str, Any]) -> Any:
    from igngen.butane.transpile import transpile

    try:
        substituted = substitute(tree, variables)
        # strict: a template warning (e.g. mode 644 meant as 0644) is a bug to stop at
        return transpile(substituted, strict=True)
    except (ButaneError, YamlError) as exc:
        raise TemplateError(exc.message, exc.location or template.location) from None


def render_fragment(
    variables: Mapping[str, Any],
    *,
    search_dirs: Sequence[str | os.PathLike[str]] = (),
    disabled: Collection[str] = (),
    spec: str = DEFAULT_OUTPUT_SPEC,
    system_dirs: Sequence[str] = SYSTEM_DIRS,
) -> dict[str, Any]:
    """Render every enabled template and combine them into one Ignition config at ``spec``."""
    fragment, _ = render_fragment_checked(
        variables, search_dirs=search_dirs, disabled=disabled, spec=spec, system_dirs=system_dirs
    )
    return fragment


def render_fragment_checked(
    variables: Mapping[str, Any],
    *,
    search_dirs: Sequence[str | os.PathLike[str]] = (),
    disabled: Collection[str] = (),
    spec: str = DEFAULT_OUTPUT_SPEC,
    system_dirs: Sequence[str] = SYSTEM_DIRS,
) -> tuple[dict[str, Any], list[str]]:
    """``render_fragment`` and the fragment's warnings (``validate.check`` at ``spec``,
    source ``fragment``), from its one validation (``igngen.render.combine`` says when
    each template's own checks run as well)."""
    from igngen.ignition.validate import check
    from igngen.render.combine import Checks, combine

    templates = discover(search_dirs, system_dirs=system_dirs)
    for name in disabled:
        if name not in templates:
            raise TemplateError(f"cannot disable unknown template {name!r}", "templates.disabled")
    fragment: dict[str, Any] = {}
    owners: dict[tuple[str, Any], str] = {}
    checks = Checks(spec)
    try:
        for name, template in templates.items():
            if name in disabled or template.disabled_by_file:
                continue
            first = len(checks.rendered)
            for translation in translations(template, variables):
                checks.rendered.append((template, translation))
            for _, translation in checks.rendered[first:]:
                combine(fragment, translation.config, template.location, owners, checks)
    except Exception:
        # An earlier template's own check would have stopped the render first.
        failure = checks.first_failure()
        if failure is not None:
            raise failure from None
        raise
    fragment.setdefault("ignition", {})["version"] = spec
    invalid: IgnitionConfigError | None = None
    try:
        warnings = check(fragment, source="fragment", version=spec)
    except IgnitionConfigError as exc:
        invalid = exc
    if invalid is not None:
        checks.run()  # a template's own error names the template
        raise TemplateError(
            f"templates render an invalid config for spec {spec}: {invalid.message}",
            f"fragment#{invalid.pointer}",
        )
    checks.after_fragment()
    return fragment, warnings


def compile_builtin(directory: str) -> str:
    """The JSON text of ``igngen/data/templates.json`` for the templates in ``directory``."""
    from igngen.yamlsrc import dump, parse

    out = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(SUFFIX):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as fh:
            text = fh.read()
        out[name] = {"text": text, "tree": dump(parse(text, source=name))}
    return json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
