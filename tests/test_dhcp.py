"""Wireserver address from DHCP option 245 (systemd-networkd and dhclient leases)."""

from __future__ import annotations

import calendar
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import corpus

from igngen.azure import dhcp

LEASES = Path(__file__).parent / "data" / "leases"
NOW = calendar.timegm((2026, 1, 1, 0, 0, 0, 0, 0, 0))


def test_networkd_corpus_lease() -> None:
    assert dhcp.from_networkd(corpus.corpus_file("WALinuxAgent/2").read_text()) == "168.63.129.16"


def test_networkd_own_lease() -> None:
    assert dhcp.from_networkd((LEASES / "networkd-2").read_text()) == "10.0.0.10"


@pytest.mark.parametrize(
    "text",
    ["ADDRESS=10.0.0.4\n", "OPTION_245=a83f81\n", "OPTION_245=7f000001\n", "OPTION_245=ffffffff\n"],
)
def test_networkd_without_usable_option(text: str) -> None:
    assert dhcp.from_networkd(text) is None


def test_dhclient_corpus_leases_skip_expired_and_take_last_valid() -> None:
    single = corpus.corpus_file("WALinuxAgent/dhcp.leases").read_text()
    assert dhcp.from_dhclient(single, now=NOW) == "168.63.129.16"
    multi = corpus.corpus_file("WALinuxAgent/dhcp.leases.multi").read_text()
    # 01 and 02 valid, 03 expired in 2012: the last valid is 02.
    assert dhcp.from_dhclient(multi, now=NOW) == "168.63.129.2"
    custom = corpus.corpus_file("WALinuxAgent/dhcp.leases.custom.dns").read_text()
    assert dhcp.from_dhclient(custom, now=NOW) == "168.63.129.16"


def test_dhclient_single_digit_pairs_and_quoted_bytes() -> None:
    text = (LEASES / "dhclient.leases").read_text()
    # a:0:0:b (never expires), a:0:0:c (expired), "\012\000\000\015" (valid, last).
    assert dhcp.from_dhclient(text, now=NOW) == "10.0.0.13"
    first_only = text.split("}")[0] + "}"
    assert dhcp.from_dhclient(first_only, now=NOW) == "10.0.0.11"


def test_dhclient_after_expiry_of_everything() -> None:
    text = corpus.corpus_file("WALinuxAgent/dhcp.leases.multi").read_text()
    later = calendar.timegm((2200, 1, 1, 0, 0, 0, 0, 0, 0))
    assert dhcp.from_dhclient(text, now=later) is None


def test_discover_prefers_networkd(tmp_path: Path) -> None:
    netif = tmp_path / "netif"
    netif.mkdir()
    (netif / "2").write_bytes((LEASES / "networkd-2").read_bytes())
    (netif / "1").write_text("ADDRESS=10.0.0.4\n")
    dhc = tmp_path / "dhclient.eth0.leases"
    dhc.write_bytes((LEASES / "dhclient.leases").read_bytes())
    assert dhcp.discover(networkd_dirs=[str(netif)], dhclient_files=[str(dhc)], now=NOW) == (
        "10.0.0.10",
        str(netif / "2"),
    )
    assert dhcp.discover(
        networkd_dirs=[str(tmp_path / "none")], dhclient_files=[str(dhc)], now=NOW
    ) == (
        "10.0.0.13",
        str(dhc),
    )
    assert dhcp.discover(networkd_dirs=[], dhclient_files=[], now=NOW) is None


@given(st.text(max_size=400))
def test_parsers_never_raise(text: str) -> None:
    for candidate in (text, "lease {" + text + "}", "OPTION_245=" + text):
        address = dhcp.from_networkd(candidate)
        assert address is None or address.count(".") == 3
        found = dhcp.from_dhclient(candidate, now=NOW)
        assert found is None or found.count(".") == 3


@pytest.mark.parametrize(
    "crafted",
    [
        "lease {" * 150_000,  # blocks that never close
        "lease {\n" + "\n" * 1_000_000 + "}",  # a run of blank lines inside one block
        "lease {\n" + " " * 1_000_000 + "option x;\n}",
        'lease {\n  option unknown-245 "' + "\\" * 1_000_000 + "\n}",
        "lease {\n  expire 4 " + "1" * 1_000_000 + ";\n}",
    ],
    ids=["unclosed", "blank-lines", "spaces", "backslashes", "digits"],
)
def test_crafted_lease_files_parse_in_linear_time(tmp_path: Path, crafted: str) -> None:
    # A child with a generous deadline: the backtracking parser this replaces took minutes
    # on each of these; a linear one takes well under a second.
    import subprocess
    import sys

    path = tmp_path / "dhclient.leases"
    path.write_text(crafted)
    code = (
        "import sys; from igngen.azure.dhcp import from_dhclient; "
        "print(from_dhclient(open(sys.argv[1]).read(), now=0.0))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "None", proc.stderr
