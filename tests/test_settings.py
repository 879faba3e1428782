import pytest

from igngen.disks.layers import resolve
from igngen.errors import SettingsError
from igngen.render import templating
from igngen.settings import Settings, parse


def test_defaults_match_the_documented_ones() -> None:
    s = Settings()
    assert s.groups == ("docker",)
    assert s.sshd_dropin_path == "/etc/ssh/sshd_config.d/10-igngen.conf"
    assert s.sudoers_path == "/etc/sudoers.d/igngen"
    assert s.client_alive_interval == 180
    assert s.hashing.scheme == "bcrypt"
    assert s.spec == "3.3.0"
    assert "sudo" not in s.groups


def test_full_file() -> None:
    s = parse(
        b"""
user: {groups: [docker, wheel]}
password: {scheme: sha512crypt, sha512_rounds: 10000}
ssh: {dropin_name: 05-site.conf, client_alive_interval: 60}
sudo: {file_name: azure-admin}
templates: {dirs: [/etc/site-templates], disabled: [40-sshd.bu]}
output: {spec: 3.4.0}
disks: {resource: {filesystem: xfs}}
""",
        source="cfg.yaml",
    )
    assert s.groups == ("docker", "wheel")
    assert s.hashing.scheme == "sha512crypt" and s.hashing.sha512_rounds == 10000
    assert s.sshd_dropin_path.endswith("/05-site.conf") and s.client_alive_interval == 60
    assert s.sudoers_path == "/etc/sudoers.d/azure-admin"
    assert s.template_dirs == ("/etc/site-templates",) and s.disabled_templates == ("40-sshd.bu",)
    # The disabled name is a real template, not one the check would refuse at render time.
    assert set(s.disabled_templates) <= set(templating.discover((), system_dirs=()))
    assert s.spec == "3.4.0"
    # The delegated section is handed on as written, and it is valid where it is read.
    assert s.sections["disks"] == {"resource": {"filesystem": "xfs"}}
    assert resolve(s.sections["disks"], "cfg.yaml").resource.filesystem == "xfs"


def test_yaml_11_surprises_do_not_apply() -> None:
    # `no` stays a string (and is then refused as a group name? no: it is a valid name).
    s = parse(b"user: {groups: [no, off]}\n")
    assert s.groups == ("no", "off")


@pytest.mark.parametrize(
    ("text", "where", "needle"),
    [
        (b"usr: {}\n", "cfg:1:6", "unknown key"),
        (b"ssh:\n  client_alive: 5\n", "cfg:2:17", "ssh.client_alive: unknown key"),
        (b"ssh: {client_alive_interval: soon}\n", "cfg:1:30", "whole number"),
        (b"ssh: {client_alive_interval: -1}\n", "cfg:1:30", "negative"),
        (b"sudo: {file_name: my.rules}\n", "cfg:1:19", "sudoers.d"),
        (b"ssh: {dropin_name: ../../x.conf}\n", "cfg:1:20", ".conf"),
        (b"user: {groups: [Bad Group]}\n", "cfg:1:16", "group name"),
        (b"password: {scheme: md5}\n", "cfg", "hash scheme"),
        (b"output: {spec: 3.9.0}\n", "cfg:1:16", "not supported"),
        (b"output: {spec: 3.4.0-experimental}\n", "cfg:1:16", "not supported"),
        (b"a: [\n", "cfg:2:1", "invalid YAML"),
        (b"user: {}\nuser: {}\n", "cfg:2:1", "duplicate key"),
        (b"- a\n", "cfg:1:1", "expected a mapping"),
        (b"\xff", "cfg", "UTF-8"),
    ],
)
def test_errors_are_located(text: bytes, where: str, needle: str) -> None:
    with pytest.raises(SettingsError) as exc:
        parse(text, source="cfg")
    msg = str(exc.value)
    assert msg.startswith(where) and needle in msg, msg


def test_fractional_seconds_reach_every_owner() -> None:
    """YAML floats are numbers (they were text, so `report: {timeout: 1.5}` was refused
    and `imds: {timeout: 2.5}` passed render only to fail provision at boot)."""
    from igngen.azure import reporter
    from igngen.boot import pool, sequence

    loaded = parse(
        b"report: {timeout: 1.5}\nimds: {timeout: 2.5}\nprovision: {media_wait: 0.5}\n"
        b"pps: {timeout: 3600.0}\n"
    )
    assert reporter.options_from_settings("ready", loaded.sections, "s").timeout == 1.5
    opts = sequence.options_from_settings(loaded)
    assert (opts.imds_timeout, opts.media_wait) == (2.5, 0.5)
    assert pool.options_from_settings(loaded).timeout == 3600.0
    # Not floats: versions, .inf/.nan (refused where a number is asked), quoted numbers.
    assert parse(b"output: {spec: 3.4.0}\n").spec == "3.4.0"
    for text in (b"imds: {timeout: .inf}\n", b"imds: {timeout: .nan}\n", b'imds: {timeout: "2"}\n'):
        with pytest.raises(SettingsError, match="expected a number of seconds"):
            parse(text)


@pytest.mark.parametrize(
    ("yaml_text", "where", "message"),
    [
        (b"imds: {timeout: nope}\n", "1:17", "imds.timeout: expected a number of seconds"),
        (b"provision:\n  layout: flat\n", "2:11", "provision.layout: expected sysdir or runtime"),
        (b"pps:\n  timeout: -1\n", "2:12", "pps.timeout: expected a number of seconds"),
        (
            b"report:\n  protocol: soap\n",
            "2:13",
            "report.protocol: expected auto, goalstate or json",
        ),
        (b"report:\n  nope: 1\n", "2:9", "report.nope: unknown key"),
        (b"azure:\n  eject_media: maybe\n", "2:16", "azure.eject_media: expected true or false"),
        (b"disks:\n  swap:\n    mode: bogus\n", "3:11", "disks.swap.mode: 'bogus' is not one of"),
        (b"user: {groups: 5}\n", "1:16", "user.groups: expected a list of strings"),
        (b"imds: {url: 7}\n", "1:13", "imds.url: expected a string"),
        (b"provision: {media_wait: [1]}\n", "1:25", "provision.media_wait: expected a number"),
        (b"pps: {wireserver: ''}\n", "1:19", "pps.wireserver: expected an address"),
        (b"report: {enabled: 'yes'}\n", "1:19", "report.enabled: expected true or false"),
        (b"report: {timeout: 1e9}\n", "1:19", "report.timeout: expected at most"),
        (
            b"azure: {waagent_unit: w.timer}\n",
            "1:23",
            "azure.waagent_unit: 'w.timer' is not a unit",
        ),
        (b"azure: {customdata_missing: x}\n", "1:29", "azure.customdata_missing: expected fail"),
    ],
)
def test_every_section_is_checked_when_read_and_located(
    yaml_text: bytes, where: str, message: str
) -> None:
    """One format for every settings error, `file:line:col: key: message`, and every
    section checked when the file is read (so `igngen render` refuses what provision,
    report or the disk plan would refuse later)."""
    with pytest.raises(SettingsError) as exc:
        parse(yaml_text, source="s.yaml")
    assert str(exc.value).startswith(f"s.yaml:{where}: {message}"), str(exc.value)


def test_section_reader_types_and_locates_every_value() -> None:
    """The one accessor every delegated section is read through: a missing key is the
    default, a wrong one an error at the key's own line and column (or at the file when
    the value has no recorded position, as in settings built in code)."""
    from igngen.settings import Section

    positions = {"x.n": "s.yaml:2:5", "x.sub.t": "s.yaml:4:7"}
    values = {"n": 70, "flag": True, "mode": "b", "sub": {"t": 2.5}, "s": "v"}
    sec = Section("x", values, "s.yaml", ("n", "flag", "mode", "sub", "s", "gone"), positions)
    assert sec.integer("n", 1, 0, 100) == 70 and sec.integer("gone", 9, 0, 100) == 9
    assert sec.boolean("flag", False) is True and sec.string("s", "d") == "v"
    assert sec.choice("mode", ("a", "b"), "a") == "b" and sec.seconds("gone", 4.0) == 4.0
    sub = sec.nested("sub", ("t",))
    assert sub.seconds("t", None) == 2.5
    with pytest.raises(SettingsError) as exc:
        sec.integer("n", 1, 0, 10)
    assert str(exc.value) == "s.yaml:2:5: x.n: 70 is outside 0..10"
    with pytest.raises(SettingsError) as exc:
        sub.integer("t", 1, 0, 10)
    assert str(exc.value) == "s.yaml:4:7: x.sub.t: expected a whole number"
    with pytest.raises(SettingsError) as exc:
        sec.string("flag", "")
    assert str(exc.value) == "s.yaml: x.flag: expected a string"
    with pytest.raises(SettingsError) as exc:
        Section("x", {"nope": 1}, "s.yaml", ("n",))
    assert str(exc.value) == "s.yaml: x.nope: unknown key (known: n)"
    with pytest.raises(SettingsError, match=r"^s\.yaml: x\.s: expected a mapping$"):
        sec.nested("s", ())


def test_owners_locate_their_errors_without_the_load_time_check() -> None:
    """Settings keep the positions, so an owner that reads them later (provision at boot)
    places its error at the key, not only at the file."""
    from igngen.boot import sequence

    loaded = parse(b"imds:\n  timeout: 2.5\n", source="s.yaml")
    assert loaded.positions["imds.timeout"] == "s.yaml:2:12"
    broken = loaded._replace(sections={"imds": {"timeout": "soon"}})
    with pytest.raises(SettingsError) as exc:
        sequence.options_from_settings(broken)
    assert str(exc.value) == "s.yaml:2:12: imds.timeout: expected a number of seconds"
