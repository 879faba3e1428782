"""Property tests: render raises only igngen's typed errors, and is byte-for-byte deterministic."""

from __future__ import annotations

from typing import TypeGuard

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.ovf_builder import ED25519, ovf_xml

from igngen.errors import IgngenError
from igngen.jsonio import canonical_json
from igngen.render.passwords import HashSettings
from igngen.render.pipeline import RenderInputs, render
from igngen.settings import Settings

# Reproducible salt: the properties compare bytes across renders ("same input, same bytes").
FAST = Settings(hashing=HashSettings(bcrypt_cost=4, salt="reproducible"))
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
names = st.one_of(text, st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True))


def _distinct_secret(password: str | None, *others: object) -> TypeGuard[str]:
    """A password worth searching for: long enough and not also one of the public values."""
    if not password or len(password) < 6:
        return False
    return not any(
        password in (o.decode("utf-8", "replace") if isinstance(o, bytes) else str(o))
        for o in others
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    user=names,
    host=names,
    password=st.one_of(st.none(), text),
    disable=st.sampled_from([None, "true", "false", "True", "junk"]),
    key=st.one_of(st.just(ED25519), text),
    custom=st.one_of(st.none(), st.binary(max_size=80)),
)
def test_render_only_raises_typed_errors(
    user: str, host: str, password: str | None, disable: str | None, key: str, custom: bytes | None
) -> None:
    try:
        doc = ovf_xml(
            user=user,
            host=host,
            password=password,
            disable_pw=disable,
            keys=[(f"/home/{user}/.ssh/authorized_keys", key)],
            custom_data=custom,
        )
    except ValueError:
        return  # the builder itself cannot express some strings (XML-illegal characters)
    inputs = RenderInputs(ovf=doc)
    try:
        first = canonical_json(render(inputs, FAST).final)
    except IgngenError as exc:
        assert "\n" not in str(exc)
        if _distinct_secret(password, user, host, key, custom):
            assert password not in str(exc)
        return
    assert canonical_json(render(inputs, FAST).final) == first
    if _distinct_secret(password, user, host, key, custom):
        assert password.encode() not in first
