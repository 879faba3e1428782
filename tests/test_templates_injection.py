"""Hostile values in any template variable never change the rendered structure.

The "skeleton" of a fragment (its keys, list lengths and value types) must be
the same as with plain values; a value may only land in a leaf, verbatim, or be
refused with a TemplateError (e.g. a line break inside sshd_config text, or a
path Ignition would reject).
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.template_vars import contents, realistic

from igngen.errors import TemplateError
from igngen.render.templating import render_fragment

STRING_VARS = [
    ("user", "name"),
    ("user", "home"),
    ("user", "password_hash"),
    ("user", "authorized_keys"),
    ("user", "authorized_keys_path"),
    ("host", "name"),
    ("host", "hostname_file"),
    ("ssh", "password_authentication"),
    ("ssh", "dropin_path"),
    ("sudo", "path"),
    ("sudo", "rule"),
    ("ovf", "redacted"),
    ("report", "command"),
    ("report", "marker"),
    ("report", "args"),
    ("waagent", "conf"),
]
LIST_VARS = [("user", "groups"), ("user", "ssh_keys")]
HOSTILE = st.one_of(
    st.sampled_from(
        [
            "{{ user.name }}",
            "x: y",
            "- a",
            "&a",
            "*a",
            "!!python/object:os.system",
            "# c",
            "'\"",
            "{}",
            "[]",
            "null",
            "~",
            "yes",
            "no",
            "0644",
            "\n",
            "a\nPasswordAuthentication yes",
            "ALL ALL=(ALL) NOPASSWD: ALL\n",
            "}}{{",
            "%00",
            "\x00",
            "/etc/shadow",
            "../../x",
            "<<: *a",
            "\u2028",
            "---\nvariant: flatcar",
        ]
    ),
    st.text(max_size=40),
)


def skeleton(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: skeleton(v) for k, v in value.items()}
    if isinstance(value, list):
        return [skeleton(v) for v in value]
    return type(value).__name__


BASE = skeleton(render_fragment(realistic(password=True), system_dirs=()))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(STRING_VARS + LIST_VARS), HOSTILE)
def test_hostile_value_only_reaches_leaves(var: tuple[str, str], hostile: str) -> None:
    variables = copy.deepcopy(realistic(password=True))
    group, name = var
    variables[group][name] = [hostile] if var in LIST_VARS else hostile
    try:
        fragment = render_fragment(variables, system_dirs=())
    except TemplateError:
        return
    assert skeleton(fragment) == BASE
    if var == ("sudo", "rule"):
        data, _ = contents(fragment, "/etc/sudoers.d/igngen")
        assert data.decode().splitlines()[-1] == hostile  # one line, exactly the value
    if var == ("ssh", "password_authentication"):
        data, _ = contents(fragment, "/etc/ssh/sshd_config.d/10-igngen.conf")
        assert len(data.decode().splitlines()) == 4
