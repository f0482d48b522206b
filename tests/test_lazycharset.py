"""The Twilio dialer's process imports charset_normalizer only when requests must guess an encoding."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys, warnings
warnings.simplefilter("error")  # requests warns if it finds no detector: it must not
from alarmd.calls.dialers import lazycharset
lazycharset.install()
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
"""


def test_the_detector_is_imported_on_its_first_use_and_answers_as_the_real_one() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["before: []", "after: True True", "json: utf-8"]
