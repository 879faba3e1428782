from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.template_vars import base_variables

from igngen.errors import TemplateError
from igngen.render.templating import discover, render_fragment, substitute
from igngen.yamlsrc import parse

REPO = Path(__file__).resolve().parent.parent


def variables(**over: Any) -> dict[str, Any]:
    return base_variables(**over)


def test_compiled_builtins_are_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools/compile-templates"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_whole_scalar_gets_typed_value_and_none_removes() -> None:
    node = parse(
        'a: "{{ x.list }}"\nb: "{{ x.none }}"\nc: [1, "{{ x.none }}", 2]\nd: "n={{ x.num }}"\n',
        source="t.bu",
    )
    out = substitute(node, {"x": {"list": ["p", "q"], "none": None, "num": 5}})
    assert out.plain() == {"a": ["p", "q"], "c": [1, 2], "d": "n=5"}


@pytest.mark.parametrize("value", ["a\nb", "tab\there", "nul\x00", "cr\r"])
def test_partial_substitution_refuses_line_breaks(value: str) -> None:
    node = parse('rule: "{{ x.v }} ALL=(ALL) ALL"\n', source="t.bu")
    with pytest.raises(TemplateError) as exc:
        substitute(node, {"x": {"v": value}})
    assert str(exc.value).startswith("t.bu:1:7")


HOSTILE = st.one_of(
    st.sampled_from(
        [
            "{{ user.name }}",
            "a: b",
            "- x",
            "&anchor",
            "*alias",
            "!!python/object",
            "# c",
            "'\"",
            "{}",
            "[]",
            "null",
            "yes",
            "0644",
            "\n",
            "}}{{",
        ]
    ),
    st.text(max_size=30),
)


@settings(max_examples=150, deadline=None)
@given(HOSTILE)
def test_hostile_values_never_change_structure(value: str) -> None:
    node = parse('a: "{{ v }}"\nb:\n  c: "x {{ w }} y"\n', source="t.bu")
    try:
        out = substitute(node, {"v": value, "w": value}).plain()
    except TemplateError:
        assert any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in value)
        return
    assert out == {"a": value, "b": {"c": f"x {value} y"}}


def test_unknown_variable_is_located() -> None:
    with pytest.raises(TemplateError) as exc:
        substitute(parse('x:\n  y: "{{ nope.nothing }}"\n', source="t.bu"), {})
    assert str(exc.value).startswith("t.bu:2:6") and "nope.nothing" in str(exc.value)


def test_builtin_fragment_renders_and_when_condition(tmp_path: Path) -> None:
    frag = render_fragment(variables(), system_dirs=())
    paths = [f["path"] for f in frag["storage"]["files"]]
    assert "/home/azureuser/.ssh/authorized_keys" in paths
    user = frag["passwd"]["users"][0]
    assert "passwordHash" not in user and user["groups"] == ["docker"]
    v = variables()
    v["user"]["ssh_keys"] = []
    frag = render_fragment(v, system_dirs=())
    assert "/home/azureuser/.ssh/authorized_keys" not in [
        f["path"] for f in frag["storage"]["files"]
    ]


def test_override_disable_and_conflict(tmp_path: Path) -> None:
    over = tmp_path / "over"
    over.mkdir()
    (over / "30-hostname.bu").write_text("")  # empty file disables the built-in
    (over / "40-sshd.bu").write_text(
        'variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: "{{ ssh.dropin_path }}"\n'
        "      mode: 0600\n      overwrite: true\n      contents:\n        inline: |\n          PasswordAuthentication no\n"
    )
    found = discover([over], system_dirs=())
    assert found["40-sshd.bu"].origin == str(over)
    frag = render_fragment(variables(), search_dirs=[over], system_dirs=())
    files = {f["path"]: f for f in frag["storage"]["files"]}
    assert "/etc/hostname" not in files
    assert (
        "PasswordAuthentication%20no"
        in files["/etc/ssh/sshd_config.d/10-igngen.conf"]["contents"]["source"]
    )
    frag = render_fragment(
        variables(), search_dirs=[over], system_dirs=(), disabled=["50-sudoers.bu"]
    )
    assert "/etc/sudoers.d/igngen" not in [f["path"] for f in frag["storage"]["files"]]
    (over / "99-dup.bu").write_text(
        "variant: flatcar\nversion: 1.0.0\nstorage:\n  directories:\n    - path: /etc/sudoers.d/igngen\n"
    )
    with pytest.raises(TemplateError) as exc:
        render_fragment(variables(), search_dirs=[over], system_dirs=())
    assert "50-sudoers.bu" in str(exc.value) and "99-dup.bu" in str(exc.value)


def test_invalid_template_output_is_reported_at_template_line(tmp_path: Path) -> None:
    (tmp_path / "60-bad.bu").write_text(
        "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: relative/path\n"
    )
    with pytest.raises(TemplateError) as exc:
        render_fragment(variables(), search_dirs=[tmp_path], system_dirs=())
    assert str(exc.value).startswith(f"{tmp_path}/60-bad.bu:5:") and "absolute" in str(exc.value)
    (tmp_path / "60-bad.bu").write_text("variant: flatcar\nversion: 1.0.0\nstorage:\n  filez: []\n")
    with pytest.raises(TemplateError) as exc:
        render_fragment(variables(), search_dirs=[tmp_path], system_dirs=())
    assert str(exc.value).startswith(f"{tmp_path}/60-bad.bu:4:3") and "filez" in str(exc.value)


def test_unknown_disabled_name_is_an_error() -> None:
    with pytest.raises(TemplateError):
        render_fragment(variables(), system_dirs=(), disabled=["nope.bu"])


def test_builtin_templates_json_is_loadable() -> None:
    data = json.loads((REPO / "igngen/data/templates.json").read_text())
    assert set(data) == {p.name for p in (REPO / "butane-templates").glob("*.bu")}


def test_template_newer_than_output_spec_is_refused_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "60-new.bu").write_text(
        "variant: flatcar\nversion: 1.1.0\nstorage:\n  luks:\n    - name: x\n      device: /dev/sdb\n"
        "      discard: true\n"
    )
    with pytest.raises(TemplateError) as exc:
        render_fragment(variables(), search_dirs=[tmp_path], system_dirs=(), spec="3.3.0")
    assert str(exc.value).startswith(f"{tmp_path}/60-new.bu:7:") and "3.3.0" in str(exc.value)
    frag = render_fragment(variables(), search_dirs=[tmp_path], system_dirs=(), spec="3.4.0")
    assert frag["ignition"]["version"] == "3.4.0" and frag["storage"]["luks"][0]["discard"] is True


@pytest.mark.parametrize("spec", ["3.3.0", "3.4.0", "3.5.0"])
def test_builtins_render_at_every_output_spec(spec: str) -> None:
    assert render_fragment(variables(), system_dirs=(), spec=spec)["ignition"]["version"] == spec


def test_disabled_marker_and_search_order(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (second / "30-hostname.bu.disabled").write_text("")
    frag = render_fragment(variables(), search_dirs=[second], system_dirs=())
    assert "/etc/hostname" not in [f["path"] for f in frag["storage"]["files"]]
    # a directory searched earlier brings it back
    (first / "30-hostname.bu").write_text(
        "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /etc/hostname\n      mode: 0644\n"
        '      overwrite: true\n      contents:\n        inline: "{{ host.hostname_file }}"\n'
    )
    found = discover([first, second], system_dirs=())
    assert found["30-hostname.bu"].origin == str(first)
    # a marker beside the template in the same directory wins
    (first / "30-hostname.bu.disabled").write_text("")
    assert discover([first, second], system_dirs=())["30-hostname.bu"].disabled_by_file


def test_ignition_section_of_templates_is_kept_and_single_values_conflict(tmp_path: Path) -> None:
    (tmp_path / "60-a.bu").write_text(
        "variant: flatcar\nversion: 1.0.0\nignition:\n  timeouts:\n    http_total: 30\n"
        "  config:\n    merge:\n      - source: https://example.com/a.ign\n"
    )
    frag = render_fragment(variables(), search_dirs=[tmp_path], system_dirs=())
    assert frag["ignition"] == {
        "version": "3.3.0",
        "timeouts": {"httpTotal": 30},
        "config": {"merge": [{"source": "https://example.com/a.ign"}]},
    }
    (tmp_path / "61-b.bu").write_text(
        "variant: flatcar\nversion: 1.0.0\nignition:\n  timeouts:\n    http_total: 60\n"
    )
    with pytest.raises(TemplateError) as exc:
        render_fragment(variables(), search_dirs=[tmp_path], system_dirs=())
    assert "ignition.timeouts.httpTotal" in str(exc.value) and "60-a.bu" in str(exc.value)
    assert "61-b.bu" in str(exc.value)


def test_template_warnings_are_errors(tmp_path: Path) -> None:
    (tmp_path / "60-mode.bu").write_text(
        "variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /etc/x\n      mode: 644\n"
        "      overwrite: true\n      contents:\n        inline: x\n"
    )
    with pytest.raises(TemplateError) as exc:
        render_fragment(variables(), search_dirs=[tmp_path], system_dirs=())
    assert str(exc.value).startswith(f"{tmp_path}/60-mode.bu:6:13: ") and "leading zero" in str(
        exc.value
    )


def test_override_templates_are_parsed_at_run_time(tmp_path: Path) -> None:
    """Built-ins come pre-parsed (tests/test_import_budget.py: `igngen render` never loads
    PyYAML); an override directory holding files is parsed with it at run time."""
    (tmp_path / "45-extra.bu").write_text("variant: flatcar\nversion: 1.0.0\n")
    code = (
        "import json, sys\n"
        "from igngen.render.templating import render_fragment\n"
        f"render_fragment(json.loads({json.dumps(json.dumps(variables()))}), "
        f"search_dirs=[{str(tmp_path)!r}], system_dirs=())\n"
        "print('yaml' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "True"


@pytest.mark.parametrize(
    "text", ["{{ user-name }}", "x {{ }} y", "{{ 1a }}", "{{user.name}} and {{ a..b }}"]
)
def test_malformed_placeholders_are_located_errors(text: str) -> None:
    with pytest.raises(TemplateError, match=r"^t.bu:1:4: malformed placeholder"):
        substitute(parse(f"a: {json.dumps(text)}\n", source="t.bu"), variables())


EACH = """\
# igngen:each=site.dirs
variant: flatcar
version: 1.0.0
storage:
  directories:
    - path: "/srv/{{ item.name }}"
      mode: 0750
systemd:
  units:
    - name: "srv-{{ item.name }}.service"
      contents: |
        [Service]
        ExecStart=/bin/true {{ item.name }} {{ site.flag }}
"""


def test_each_renders_the_template_once_per_item(tmp_path: Path) -> None:
    (tmp_path / "90-each.bu").write_text(EACH)
    site = {"dirs": [{"name": "a"}, {"name": "b"}], "flag": "x"}
    frag = render_fragment(variables(site=site), search_dirs=[tmp_path], system_dirs=())
    dirs = [d["path"] for d in frag["storage"]["directories"] if d["path"].startswith("/srv/")]
    assert dirs == ["/srv/a", "/srv/b"]
    units = {u["name"]: u.get("contents") for u in frag["systemd"]["units"]}
    # Each rendering has its own item and sees every other variable too.
    assert units["srv-a.service"] == "[Service]\nExecStart=/bin/true a x\n"
    assert units["srv-b.service"] == "[Service]\nExecStart=/bin/true b x\n"
    empty = render_fragment(
        variables(site={"dirs": [], "flag": "x"}), search_dirs=[tmp_path], system_dirs=()
    )
    assert not [u for u in empty["systemd"]["units"] if u["name"].startswith("srv-")]
    when = "# igngen:when=site.flag\n" + EACH
    (tmp_path / "90-each.bu").write_text(when)
    off = render_fragment(
        variables(site={"dirs": [{"name": "a"}], "flag": ""}),
        search_dirs=[tmp_path],
        system_dirs=(),
    )
    assert not [u for u in off["systemd"]["units"] if u["name"].startswith("srv-")]


@pytest.mark.parametrize(
    ("site", "words"),
    [
        ({"dirs": "a", "flag": "x"}, "igngen:each names 'site.dirs', which is not a list"),
        ({"flag": "x"}, "igngen:each names unknown variable 'site.dirs'"),
        ({"dirs": [{"name": "a"}, {"name": "a"}], "flag": "x"}, "is also defined by template"),
        ({"dirs": [{"nom": "a"}], "flag": "x"}, "unknown variable 'item.name'"),
    ],
)
def test_each_errors_name_the_template(tmp_path: Path, site: dict[str, Any], words: str) -> None:
    (tmp_path / "90-each.bu").write_text(EACH)
    with pytest.raises(TemplateError) as exc:
        render_fragment(variables(site=site), search_dirs=[tmp_path], system_dirs=())
    assert str(exc.value).startswith(f"{tmp_path}/90-each.bu"), str(exc.value)
    assert words in str(exc.value)


def test_each_refuses_to_shadow_a_variable_group(tmp_path: Path) -> None:
    (tmp_path / "90-each.bu").write_text(EACH)
    v = variables(site={"dirs": [{"name": "a"}], "flag": "x"}, item={"name": "z"})
    with pytest.raises(TemplateError) as exc:
        render_fragment(v, search_dirs=[tmp_path], system_dirs=())
    assert "cannot bind 'item'" in str(exc.value)
