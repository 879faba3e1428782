"""Golden corpus: Butane documents and the Ignition configs Butane's rules give for them.

Each ``tests/data/butane/golden/NAME.bu`` has ``NAME.ign``, written by hand from
Butane's translation rules (docs/specs, base/v0_4, base/v0_5, base/util/url.go).
Only the gzip payload of 37-gzip-wins was computed (zlib, Go's gzip header) and
is checked here by decoding it. Every expected config is also checked by Debian's
``ignition-validate`` (3.4.0 ones after translating them to 3.3.0 when they fit:
Ignition 2.14 knows no 3.4.0) and by igngen's validator, so an expectation cannot drift into something Ignition refuses.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from support.consumers import ignition_validate

from igngen.butane.transpile import transpile_bytes
from igngen.errors import IgnitionConfigError
from igngen.ignition.translate import translate
from igngen.ignition.validate import check

DATA = Path(__file__).resolve().parent / "data" / "butane"
GOLDEN = sorted(DATA.glob("golden/*.bu"))


def _expected(case: Path) -> Any:
    return json.loads(case.with_suffix(".ign").read_text())


def test_corpus_is_large_enough() -> None:
    assert len(GOLDEN) >= 30
    assert all(case.with_suffix(".ign").exists() for case in GOLDEN)


@pytest.mark.parametrize("case", GOLDEN, ids=[c.stem for c in GOLDEN])
def test_translation_matches_golden(case: Path) -> None:
    result = transpile_bytes(case.read_bytes(), source=case.name, files_dir=str(DATA / "files"))
    assert result.config == _expected(case)


@pytest.mark.parametrize("case", GOLDEN, ids=[c.stem for c in GOLDEN])
def test_golden_output_is_valid_ignition(case: Path, tmp_path: Path) -> None:
    expected = _expected(case)
    version = expected["ignition"]["version"]
    check(expected, source=case.name, version=version)
    if version != "3.3.0":
        # Ignition 2.14 knows no 3.4.0; a config that fits 3.3.0 is validated there.
        try:
            expected = translate(expected, "3.3.0")
        except IgnitionConfigError:
            pytest.skip(f"uses spec {version} fields, which Debian's Ignition 2.14 does not know")
    proc = ignition_validate(json.dumps(expected), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gzip_golden_decodes_to_the_document_text() -> None:
    source = _expected(DATA / "golden/37-gzip-wins.bu")["storage"]["files"][0]["contents"]["source"]
    raw = base64.b64decode(source.removeprefix("data:;base64,"))
    assert raw[:10] == bytes.fromhex("1f8b08000000000002ff")  # Go's header: no mtime, XFL 2, OS 255
    assert gzip.decompress(raw) == b"a" * 100
