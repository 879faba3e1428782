import warnings

import bcrypt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igngen.errors import SettingsError
from igngen.render.passwords import HashSettings, hash_password, sha512_crypt
from igngen.secret import Secret

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import crypt as libc_crypt  # an independent implementation (glibc/libxcrypt)
    except ImportError:  # Python >= 3.13
        libc_crypt = None  # type: ignore[assignment]


def test_sha512_crypt_published_vectors() -> None:
    # Test vectors from the SHA-crypt specification.
    assert sha512_crypt(b"Hello world!", "saltstring") == (
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJu"
        "esI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
    )
    assert sha512_crypt(b"Hello world!", "saltstringsaltstring", 10000) == (
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/"
        "UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
    )


@pytest.mark.skipif(libc_crypt is None, reason="no crypt module to compare with")
@settings(max_examples=40, deadline=None)
@given(
    st.text(min_size=0, max_size=40).filter(lambda s: "\x00" not in s),
    st.text(
        alphabet="./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        min_size=1,
        max_size=16,
    ),
)
def test_sha512_crypt_matches_libc(password: str, salt: str) -> None:
    assert sha512_crypt(password.encode(), salt, 1000) == libc_crypt.crypt(
        password, f"$6$rounds=1000${salt}"
    )


def test_bcrypt_default_verifies_with_a_fresh_random_salt() -> None:
    pw = Secret("Correct-Horse-9")
    h1 = hash_password(pw, HashSettings(bcrypt_cost=4), "user", "host", "vm")
    h2 = hash_password(pw, HashSettings(bcrypt_cost=4), "user", "host", "vm")
    assert h1.startswith("$2b$04$") and h1 != h2  # same input, new salt each time
    assert bcrypt.checkpw(b"Correct-Horse-9", h1.encode())
    assert bcrypt.checkpw(b"Correct-Horse-9", h2.encode())


def test_reproducible_salt_is_deterministic_and_varies_by_vm() -> None:
    pw = Secret("Correct-Horse-9")
    repro = HashSettings(bcrypt_cost=4, salt="reproducible")
    h1 = hash_password(pw, repro, "user", "host", "vm")
    assert hash_password(pw, repro, "user", "host", "vm") == h1
    assert bcrypt.checkpw(b"Correct-Horse-9", h1.encode())
    assert hash_password(pw, repro, "user", "host", "vm2") != h1
    assert hash_password(pw, repro, "user2", "host", "vm") != h1


@pytest.mark.parametrize("scheme", ["bcrypt", "sha512crypt"])
@pytest.mark.parametrize("salt", ["random", "reproducible"])
def test_the_salt_never_depends_on_the_password(scheme: str, salt: str) -> None:
    """Two passwords, same context: with a reproducible salt the salts are equal (it comes
    from the context alone); with a random one they differ for another reason. Either way,
    no salt can be computed from the password: an attacker holding the hash and the
    context learns nothing from the salt about the password."""
    settings = HashSettings(scheme=scheme, bcrypt_cost=4, salt=salt, sha512_rounds=1000)

    def salt_of(h: str) -> str:
        return h[7:29] if scheme == "bcrypt" else h.split("$")[3]

    a = salt_of(hash_password(Secret("first-Passw0rd"), settings, "u", "h", "vm"))
    b = salt_of(hash_password(Secret("other-Passw0rd"), settings, "u", "h", "vm"))
    if salt == "reproducible":
        assert a == b
    else:
        assert a != b
        c = salt_of(hash_password(Secret("first-Passw0rd"), settings, "u", "h", "vm"))
        assert c != a  # not a function of (password, context) either


def test_sha512_scheme_verifies() -> None:
    h = hash_password(Secret("Pa55-word"), HashSettings(scheme="sha512crypt"), "u", "h")
    assert h.startswith("$6$") and "Pa55-word" not in h
    if libc_crypt is not None:
        assert libc_crypt.crypt("Pa55-word", h) == h


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scheme": "md5"},
        {"bcrypt_cost": 3},
        {"bcrypt_cost": 17},
        {"sha512_rounds": 10},
        {"salt": "password"},
    ],
)
def test_bad_hash_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(SettingsError):
        HashSettings.create(**kwargs)  # type: ignore[arg-type]


def test_secret_is_never_shown() -> None:
    s = Secret("topsecret")
    assert "topsecret" not in repr(s) and "topsecret" not in str(s) and "topsecret" not in f"{s}"
    assert "topsecret" not in repr([s]) and "topsecret" not in repr({"k": s})


def test_url_userinfo_never_reaches_a_log_line_or_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from igngen import log
    from igngen.errors import IgnitionConfigError, strip_userinfo

    url = "https://deploy:S3cret-Token@example.com/app.ign"
    log.warning("fetch", f"cannot reach {url}", source=url)
    err = capsys.readouterr().err
    assert "S3cret-Token" not in err and "https://REDACTED@example.com/app.ign" in err
    assert "S3cret" not in str(IgnitionConfigError("bad reference", url))
    assert strip_userinfo("mail me at a@b.c") == "mail me at a@b.c"
    long_secret = "x://" + "a" * 200_000 + "@host " + "b://" * 50_000
    assert strip_userinfo(long_secret).startswith("x://REDACTED@host ")
