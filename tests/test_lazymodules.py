"""The Twilio dialer's process imports charset_normalizer only when requests must guess an encoding,
and idna only when a host is not ASCII."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys, warnings
warnings.simplefilter("error")  # requests warns if it finds no detector: it must not
from alarmd.calls.dialers import lazymodules
lazymodules.install()
from alarmd.calls.dialers.twilio import TwilioDialer
import requests.models
print("before:", sorted(m for m in sys.modules if m.startswith("charset_normalizer.")))
answer = requests.models.Response()
answer._content = "h\\u00e9llo w\\u00f6rld, \\u00e7a va tr\\u00e8s bien".encode("latin-1")
answer.headers["Content-Type"] = "application/octet-stream"  # no charset: requests guesses
guessed = answer.apparent_encoding
import charset_normalizer
real = charset_normalizer.detect(answer.content)["encoding"]
print("after:", "charset_normalizer.api" in sys.modules, guessed == real)
print("json:", requests.utils.get_encoding_from_headers({"content-type": "application/json"}))
print("idna before:", "idna.core" in sys.modules)
ascii_url = requests.Request("GET", "https://api.twilio.com/2010-04-01").prepare().url
print("ascii:", ascii_url, "idna.core" in sys.modules)
print("unicode:", requests.Request("GET", "https://b\u00fccher.example/x").prepare().url)
import idna
print("real:", idna.encode("b\u00fccher.example") == b"xn--bcher-kva.example")
"""


def test_the_detector_and_idna_are_imported_on_their_first_use_and_answer_as_the_real_ones() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["before: []", "after: True True", "json: utf-8", "idna before: False",
                                        "ascii: https://api.twilio.com/2010-04-01 False",
                                        "unicode: https://xn--bcher-kva.example/x", "real: True"]
