"""alarmd.tls and alarmd.trustProxy: how the page and the API may be reached beyond loopback.

A phone reaches the web page over the LAN, and the API token and the session cookie must
not cross it in clear: either the daemon serves HTTPS itself (`alarmd.tls`, uvicorn's
own TLS) or a named reverse proxy terminates TLS in front of it (`alarmd.trustProxy`,
whose X-Forwarded-Proto and X-Forwarded-For are then believed, and nobody else's).
`alarmd.tls.cert` itself is read with the client settings (alarmd.config.file): the
CLI needs it to speak HTTPS to its own daemon.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alarmd.config.file import string
from alarmd.errors import ConfigError


@dataclass(frozen=True)
class NetworkSettings:
    # The keys name these fields for alarmd.config.changes.
    tls_cert: Path | None = field(default=None, metadata={"key": "alarmd.tls.cert"})
    tls_key: Path | None = field(default=None, metadata={"key": "alarmd.tls.key"})
    # Addresses or networks of the proxy.
    trust_proxy: tuple[str, ...] = field(default=(), metadata={"key": "alarmd.trustProxy"})

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def protected(self) -> bool:
        """Whether what crosses the network is encrypted by us or by a proxy we were told of."""
        return self.tls or bool(self.trust_proxy)


def network_settings(own: Mapping[str, Any], cert: Path | None) -> NetworkSettings:
    tls = own.get("tls", {})
    if not isinstance(tls, dict):
        raise ConfigError("alarmd.tls: expected a JSON object with cert and key.")
    key_text = string(tls, "alarmd.tls.key", "key")
    key = Path(key_text).expanduser() if key_text else None
    if (cert is None) != (key is None):
        missing = "alarmd.tls.key" if key is None else "alarmd.tls.cert"
        raise ConfigError(f"{missing}: missing; TLS needs both a certificate and its private key.")
    if cert is not None and key is not None:
        _check_pair(cert, key)
    return NetworkSettings(cert, key, _proxies(own.get("trustProxy")))


def _check_pair(cert: Path, key: Path) -> None:
    for name, path in (("alarmd.tls.cert", cert), ("alarmd.tls.key", key)):
        if not path.is_file():
            raise ConfigError(f"{name}: {path} is not a file.")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or "not a PEM pair"
        raise ConfigError(f"alarmd.tls: {cert} and {key} cannot be loaded as a certificate and its key "
                          f"({reason}).") from None


def _proxies(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ConfigError("alarmd.trustProxy: expected the proxy's address (or a list of addresses).")
    found = []
    for item in items:
        try:
            found.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            raise ConfigError(f"alarmd.trustProxy: {item!r} is not an IP address or network "
                              "(e.g. \"127.0.0.1\").") from None
    return tuple(found)


def client_context(cert: Path) -> ssl.SSLContext:
    """How a client on this machine (the CLI, the daemon's own probe) talks HTTPS to the daemon.

    The configured certificate is the only one trusted, so a self-signed one works; the
    host name is not checked, since the client connects to loopback, which a certificate
    made for the LAN name does not name.
    """
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    # A leaf certificate as the trust anchor (a self-signed one, or a CA-issued one pinned).
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context
