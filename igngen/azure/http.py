"""The HTTP library, loaded only by the commands that talk to Azure endpoints (edge)."""

from __future__ import annotations

import warnings


def load_requests() -> None:
    """Import ``requests`` (about 100 ms) quietly; callers then ``import requests`` as usual.

    Distributions pair it with other urllib3/charset_normalizer releases than
    requests was tested with (Debian 12: urllib3 1.26); the version warning it
    then prints would land in the boot journal as noise on every provisioning.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"urllib3 \(.*\) or chardet")
        import requests  # noqa: F401
