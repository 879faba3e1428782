"""A render validates the fragment once; each template's own checks run only where the
fragment's cannot stand for them, or to name the template when something fails.

Pinned here: the error of a broken template, text and location, whether the fragment's
check finds it too (it then names the template) or not (a template's own check runs),
which of several errors wins, and the two facts the shortcut rests on
(``validate.covers`` from the spec table, ``combine.CONTAINERS`` from the field
trees). A differential property holds every render to what checking each template
first, then the fragment, gives (the rendering order before this change).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.template_vars import base_variables

from igngen.errors import IgnitionConfigError, TemplateError
from igngen.ignition import nodes, spec
from igngen.ignition.validate import check, covers
from igngen.render import combine, templating
from igngen.render.templating import discover, render_fragment, render_fragment_checked

HEAD = "variant: flatcar\nversion: 1.0.0\n"
HASH = "sha512-" + "0" * 128

# name → template text; each is valid alone unless its comment says otherwise.
POOL = {
    "file": HEAD + "storage:\n  files:\n    - path: /etc/a\n",
    "same-file": HEAD + "storage:\n  directories:\n    - path: /etc/a\n",  # conflicts with file
    # invalid alone, and the fragment is invalid too
    "relative": HEAD + "storage:\n  files:\n    - path: relative/path\n",
    "unknown-key": HEAD + "storage:\n  filez: []\n",  # a Butane error
    # invalid alone; with replace-source the fragment is valid (the hash gets its source)
    "replace-hash": HEAD + f"ignition:\n  config:\n    replace:\n      verification:\n"
    f"        hash: {HASH}\n",
    "replace-source": HEAD
    + "ignition:\n  config:\n    replace:\n      source: https://e.x/c.ign\n",
    # spec 3.3.0 has no arn: URLs; 3.4.0 and later do
    "arn": HEAD + "storage:\n  files:\n    - path: /etc/arn\n      contents:\n"
    "        source: arn:aws:s3:us-east-1:123456789012:bucket/key\n",
    # spec 3.4.0 (flatcar 1.1.0): too new for a 3.3.0 fragment
    "discard": "variant: flatcar\nversion: 1.1.0\nstorage:\n  luks:\n    - name: x\n"
    "      device: /dev/sdb\n      discard: true\n",
    # fcos 1.4.0 is spec 3.3.0: custom clevis pins are free from 3.6.0 only
    "clevis": "variant: fcos\nversion: 1.4.0\nstorage:\n  luks:\n    - name: c\n"
    "      device: /dev/sdc\n      clevis:\n        custom:\n          pin: mine\n"
    "          config: x\n",
    # valid alone each; together the fragment is not
    "link": HEAD + "storage:\n  links:\n    - path: /etc/l\n      target: /x\n",
    "through-link": HEAD + "storage:\n  files:\n    - path: /etc/l/f\n",
    "karg-in": HEAD + "kernel_arguments:\n  should_exist: [quiet]\n",
    "karg-out": HEAD + "kernel_arguments:\n  should_not_exist: [quiet]\n",
    "timeout": HEAD + "ignition:\n  timeouts:\n    http_total: 30\n",
}


def _write(directory: Path, names: list[str]) -> None:
    for i, name in enumerate(names):
        (directory / f"{60 + i}-{name}.bu").write_text(POOL[name])


def _render(directory: Path, spec_version: str) -> str:
    try:
        fragment = render_fragment(
            base_variables(), search_dirs=[directory], system_dirs=(), spec=spec_version
        )
    except TemplateError as exc:
        return f"error: {exc}".replace(str(directory), "DIR")
    return f"ok: {sorted(fragment)}"


def _check_first(directory: Path, spec_version: str) -> str:
    """Each template checked before it is combined, then the fragment: the order before
    the fragment was validated once (render_template still checks a template at once)."""
    try:
        templates = discover([directory], system_dirs=())
        fragment: dict[str, Any] = {}
        owners: dict[tuple[str, Any], str] = {}
        for template in templates.values():
            if template.disabled_by_file:
                continue
            for config in templating.render_template(template, base_variables(), spec=spec_version):
                checks = combine.Checks(spec_version)  # none pending: never runs one
                combine.combine(fragment, config, template.location, owners, checks)
        fragment.setdefault("ignition", {})["version"] = spec_version
        try:
            check(fragment, source="fragment", version=spec_version)
        except IgnitionConfigError as exc:
            raise TemplateError(
                f"templates render an invalid config for spec {spec_version}: {exc.message}",
                f"fragment#{exc.pointer}",
            ) from None
    except TemplateError as exc:
        return f"error: {exc}".replace(str(directory), "DIR")
    return f"ok: {sorted(fragment)}"


def _error(directory: Path, names: list[str], spec_version: str = "3.3.0") -> str:
    _write(directory, names)
    got = _render(directory, spec_version)
    assert got == _check_first(directory, spec_version)
    return got


# --- the fragment's check fails: the template's own check names it -----------------


def test_a_template_the_fragment_check_also_refuses_is_named_at_its_line(tmp_path: Path) -> None:
    assert _error(tmp_path, ["relative"]) == (
        "error: DIR/60-relative.bu:5:13: renders an invalid Ignition config: "
        "path 'relative/path' is not absolute (at /storage/files/0/path)"
    )


def test_a_template_too_new_for_the_output_spec_is_named_at_its_field(tmp_path: Path) -> None:
    assert _error(tmp_path, ["discard"]) == (
        "error: DIR/60-discard.bu:7:16: uses something spec 3.3.0 does not have: field "
        "'discard' needs spec 3.4.0 or newer (config declares 3.3.0) "
        "(at /storage/luks/0/discard)"
    )
    assert _error(tmp_path, ["discard"], "3.4.0").startswith("ok: ")


def test_templates_valid_alone_but_not_together_name_the_fragment(tmp_path: Path) -> None:
    assert _error(tmp_path, ["link", "through-link"]) == (
        "error: fragment#/storage/files/5: templates render an invalid config for spec 3.3.0: "
        "path '/etc/l/f' goes through a link defined in this config"
    )


def test_kernel_arguments_of_two_templates_share_one_key_space(tmp_path: Path) -> None:
    assert _error(tmp_path, ["karg-in", "karg-out"]) == (
        "error: fragment#/kernelArguments/shouldNotExist/0: templates render an invalid "
        "config for spec 3.3.0: duplicate entry 'quiet' (also at /kernelArguments/shouldExist/0)"
    )


# --- the fragment's check passes: a template's own check still refuses -----------


def test_an_object_two_templates_fill_is_checked_per_template(tmp_path: Path) -> None:
    """The fragment's ``replace`` has the source the hash needs; the template alone has not."""
    error = (
        "error: DIR/60-replace-hash.bu:7:15: renders an invalid Ignition config: "
        "verification hash given without a source (at /ignition/config/replace/verification/hash)"
    )
    assert _error(tmp_path, ["replace-hash", "replace-source"]) == error
    assert _error(tmp_path, ["replace-hash"]) == error


def test_a_template_older_than_the_output_spec_is_checked_at_its_own(tmp_path: Path) -> None:
    """A 3.4.0 fragment takes arn: URLs; the template says 3.3.0, which does not."""
    error = (
        "error: DIR/60-arn.bu:7:17: renders an invalid Ignition config: "
        "URL scheme 'arn' not supported in spec 3.3.0 (at /storage/files/0/contents/source)"
    )
    for output in ("3.3.0", "3.4.0", "3.6.0"):
        assert _error(tmp_path, ["arn"], output) == error


def test_a_rule_the_output_spec_dropped_still_holds_at_the_templates(tmp_path: Path) -> None:
    error = (
        "error: DIR/60-clevis.bu:9:16: renders an invalid Ignition config: "
        "unknown clevis pin 'mine' (at /storage/luks/0/clevis/custom/pin)"
    )
    assert _error(tmp_path, ["clevis"], "3.6.0") == error


# --- which error wins ------------------------------------------------------------------


def test_an_earlier_templates_own_error_precedes_a_later_butane_error(tmp_path: Path) -> None:
    assert _error(tmp_path, ["replace-hash", "unknown-key", "replace-source"]).startswith(
        "error: DIR/60-replace-hash.bu:7:15: renders an invalid Ignition config: "
    )
    (tmp_path / "other").mkdir()
    assert _error(tmp_path / "other", ["unknown-key", "replace-hash"]) == (
        "error: DIR/60-unknown-key.bu:4:3: unknown key 'filez'"
    )


def test_a_templates_own_error_precedes_its_conflict(tmp_path: Path) -> None:
    (tmp_path / "59-dup.bu").write_text(
        HEAD + "storage:\n  files:\n    - path: /etc/arn\n"  # the arn template's path
    )
    assert _error(tmp_path, ["arn"], "3.4.0").startswith(
        "error: DIR/60-arn.bu:7:17: renders an invalid Ignition config: URL scheme 'arn'"
    )
    (tmp_path / "60-arn.bu").write_text(POOL["file"].replace("/etc/a", "/etc/arn"))
    assert _error(tmp_path, []) == (
        "error: DIR/60-arn.bu: storage.files '/etc/arn' is also defined by template DIR/59-dup.bu"
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(sorted(POOL)), unique=True, max_size=4),
    st.sampled_from(spec.OUTPUT_SPECS),
)
def test_every_render_says_what_checking_each_template_first_says(
    names: list[str], output: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        _write(directory, names)
        assert _render(directory, output) == _check_first(directory, output)


def test_the_warnings_are_the_fragment_checks() -> None:
    for output in spec.OUTPUT_SPECS:
        fragment, warnings = render_fragment_checked(base_variables(), system_dirs=(), spec=output)
        assert warnings == check(fragment, source="fragment", version=output)


# --- what the shortcut rests on ----------------------------------------------------


def test_covers_follows_the_spec_table() -> None:
    # Today every output spec's check stands for every newer version's.
    for output in spec.OUTPUT_SPECS:
        for version in spec.VERSIONS:
            assert covers(output, version) == (spec.ORDER[output] <= spec.ORDER[version])
    assert not covers("3.0.0", "3.1.0")  # 3.1.0 requires a merge reference's source
    assert not covers("3.2.0", "3.3.0")  # 3.3.0 requires a link's target
    assert not covers("3.3.0", "3.0.0")  # 3.0.0 lacks sha256, gs:, ...


def test_a_rule_covers_ignores_only_warns() -> None:
    config = {
        "ignition": {"version": "3.3.0"},
        "storage": {"files": [{"path": "/etc/s", "mode": 0o4755}]},
    }
    assert check(config, source="t") == [
        "t#/storage/files/0/mode: setuid/setgid/sticky bits: Ignition 2.22+ masks them in "
        "spec 3.3.0 configs (honoured from spec 3.6.0)"
    ]


@pytest.mark.parametrize("output", spec.OUTPUT_SPECS)
def test_containers_have_no_field_rule_that_reads_a_sibling(output: str) -> None:
    """Objects two templates may share are plain containers at every output spec: no
    required field but those every fragment carries (``ignition``, its ``version``)."""
    for path in combine.CONTAINERS:
        node: nodes.Node = spec.tree(output)
        for part in path:
            assert isinstance(node, nodes.Obj)
            node = node.fields[part]
        assert isinstance(node, nodes.Obj)
        assert set(node.required_fields) <= {"ignition", "version"}
    assert ("ignition", "config", "replace") not in combine.CONTAINERS


class _Translation:
    """A translation as transpile gives one (which is always typed by its spec's tree)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.spec = "3.3.0"

    def locate(self, pointer: str) -> str | None:
        return None


def _combined(*configs: dict[str, Any]) -> dict[str, Any]:
    checks = combine.Checks("3.3.0")
    fragment: dict[str, Any] = {}
    owners: dict[tuple[str, Any], str] = {}
    for i, config in enumerate(configs):
        template = templating.Template(f"6{i}-t.bu", templating.BUILTIN, "")
        checks.rendered.append((template, _Translation(config)))
        combine.combine(fragment, config, template.location, owners, checks)
    return fragment


def test_a_value_landing_where_another_templates_is_checks_first() -> None:
    """A type clash between two templates runs their own checks before combining goes on
    (no translation has one: the Butane walk types every value by the spec's tree)."""
    version = {"version": "3.3.0"}
    with pytest.raises(TemplateError) as exc:  # the first template's scalar, then an object
        _combined(
            {"ignition": {**version, "timeouts": 5}},
            {"ignition": {**version, "timeouts": {"httpTotal": 1}}},
        )
    assert str(exc.value) == (
        "60-t.bu: renders an invalid Ignition config: expected an object (at /ignition/timeouts)"
    )
    with pytest.raises(TemplateError) as exc:  # an object, then the second one's scalar
        _combined(
            {"ignition": {**version, "timeouts": {}}}, {"ignition": {**version, "timeouts": 5}}
        )
    assert str(exc.value) == (
        "61-t.bu: renders an invalid Ignition config: expected an object (at /ignition/timeouts)"
    )
    with pytest.raises(TemplateError) as exc:  # a list where the first one has an object
        _combined({"storage": {"files": {}}}, {"storage": {"files": []}})
    assert "60-t.bu: renders an invalid Ignition config: " in str(exc.value)
