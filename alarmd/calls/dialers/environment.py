"""What in this process's environment would make every request to Twilio fail, found at start.

requests reads its CA bundle (REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE) and proxies
(https_proxy, http_proxy, all_proxy, lowercase before uppercase) from the environment
on each request. A bundle path that does not exist or a proxy URL that does not parse
fails each request to Twilio, so the daemon's start and `alarmd config check` say so in
one sentence rather than leaving it to the first call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

PROXY_SCHEMES = frozenset({"http", "https", "socks4", "socks4a", "socks5", "socks5h"})


def environment_problems(environ: Mapping[str, str] = os.environ) -> list[str]:
    """One sentence for each environment variable requests would use that cannot work."""
    problems = []
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        path = environ.get(name)
        if path:
            if not os.path.exists(path):
                problems.append(f"{name} names {path}, which does not exist, so no request to Twilio can be "
                                "made; point it at a CA bundle (a file or a directory) or unset it.")
            break  # requests takes the first one set
    for kind in ("https", "http", "all"):
        name = f"{kind}_proxy" if f"{kind}_proxy" in environ else f"{kind.upper()}_PROXY"
        value = environ.get(name)
        if value and not _is_proxy_url(value):
            problems.append(f"{name} is not a proxy URL (one needs a host, as in http://proxy.example:3128), "
                            "so requests to Twilio through it fail; correct it or unset it.")
    return problems


def _is_proxy_url(value: str) -> bool:
    # As requests reads it: a URL without a scheme is taken as http.
    try:
        url = parse_url(value)
    except LocationParseError:
        return False
    return bool(url.host) and (url.scheme or "http").lower() in PROXY_SCHEMES
