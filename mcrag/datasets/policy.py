"""Which URLs a data download may touch: https only, and only hosts with public addresses.

Every hop of a redirect chain is checked before it is requested, so a source cannot bounce the
fetcher to plain http, to a private network or to the machine itself.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class UnsafeUrlError(ValueError):
    """A URL (or a redirect) the fetcher refuses to follow."""


class HostLookupError(OSError):
    """A source's host name does not resolve (no network, or a typo in the registry)."""


def resolve_host(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as err:
        raise HostLookupError(f"cannot resolve {host} ({err.strerror}): is this machine online?") from None
    return sorted({str(info[4][0]) for info in infos})


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class UrlPolicy:
    """The default refuses anything but https to public addresses.

    ``allow_loopback_http`` admits ``http://127.0.0.1:PORT/`` (an IP literal on the loopback
    interface) and nothing else besides: tests use it for a server they start themselves.
    """

    allow_loopback_http: bool = False
    max_redirects: int = 5
    resolve: Callable[[str], list[str]] = field(default=resolve_host, repr=False)

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not host:
            raise UnsafeUrlError(f"{url}: no host")
        if parts.username or parts.password:
            raise UnsafeUrlError(f"{url}: credentials in a URL are refused")
        literal = _ip(host)
        if self.allow_loopback_http and parts.scheme in ("http", "https") and literal is not None \
                and literal.is_loopback:
            return
        if parts.scheme != "https":
            raise UnsafeUrlError(f"{url}: only https sources are fetched")
        addresses = [host] if literal is not None else self.resolve(host)
        for a in addresses:
            ip = _ip(a)
            if ip is None or not ip.is_global:
                raise UnsafeUrlError(f"{url}: {host} is a private or local address ({a}); refused")


DEFAULT_POLICY = UrlPolicy()
