"""Endpoint URLs the HTTP primitive accepts (pure): ``http[s]://host[:port][/path?query]``.

Settings and options name IMDS and Wireserver endpoints as URLs; ``http``
needs their parts (scheme, host, port, request target) and the ``Host``
header's form of them. Nothing else is accepted: no user info, no fragment, no
white space, a port 1-65535.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from igngen.records import NamedTuple


class Url(NamedTuple):
    scheme: str
    host: str  # without brackets for IPv6
    port: int
    target: str  # path and query, at least "/"

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_url(url: str) -> Url:
    """``http[s]://host[:port][/path?query]`` → :class:`Url`; ValueError when it is not one."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise ValueError("not an http:// or https:// URL")
    cut = [i for i in (rest.find(c) for c in "/?#") if i >= 0]
    end = min(cut) if cut else len(rest)
    authority, target = rest[:end], rest[end:] or "/"
    if target.startswith("?"):
        target = "/" + target
    if "@" in authority or "#" in target or any(c in url for c in " \t\r\n\0"):
        raise ValueError("URL has user info, a fragment or white space")
    if authority.startswith("["):
        host, bracket, port_text = authority[1:].partition("]")
        if not bracket or (port_text and not port_text.startswith(":")):
            raise ValueError("malformed IPv6 address")
        port_text = port_text[1:]
    else:
        host, _, port_text = authority.partition(":")
    if not host:
        raise ValueError("URL has no host")
    port = 443 if scheme == "https" else 80
    if port_text:
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise ValueError("bad port")
        port = int(port_text)
    return Url(scheme, host, port, target)
