"""The web page's figures (issue 15): server time for / with 100 alarms, the browser's load
time, and what a first visit transfers.

    .venv/bin/python bench/web_page.py      # ALARMD_CHROMIUM=/path/to/chromium for another

A real daemon on loopback (docs/demo.py: Twilio mode against the local stand-in) with 100
alarms. Server time: GET / with a session cookie over loopback, wall time to the whole
answer, 200 times after 20 of warm-up. Browser: Debian's chromium through Playwright,
a fresh context per visit (an empty cache): the navigation's load event, and the bytes
of every response (headers and compressed bodies). Unlike the other benches it needs
the test extra (playwright) and chromium.
"""

from __future__ import annotations

import http.client
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs"))

from demo import CHROMIUM_ARGS, chromium, running, seed_many
from playwright.sync_api import sync_playwright

ALARMS = 100
REQUESTS = 200
VISITS = 10


def server_times(port: int, cookie: str) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    for i in range(20 + REQUESTS):
        start = time.perf_counter()
        connection.request("GET", "/", headers={"Cookie": cookie, "Accept-Encoding": "gzip"})
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200, answer.status
        if i >= 20:
            times.append(time.perf_counter() - start)
    connection.close()
    return times


def visit(browser: Any, url: str, cookie: dict[str, Any] | None) -> tuple[float, float, int]:
    """One first visit in a fresh context (an empty cache): load event, DOMContentLoaded (ms), bytes."""
    context = browser.new_context(viewport={"width": 393, "height": 851}, is_mobile=True, has_touch=True)
    if cookie:
        context.add_cookies([cookie])
    page = context.new_page()
    sizes: list[dict[str, int]] = []
    page.on("requestfinished", lambda request: sizes.append(request.sizes()))
    page.goto(url, wait_until="networkidle")
    timing = page.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0];"
                           " return [n.loadEventEnd, n.domContentLoadedEventEnd]; })()")
    context.close()
    total = sum(s["responseBodySize"] + s["responseHeadersSize"] + s["requestHeadersSize"] for s in sizes)
    return timing[0], timing[1], total


def main() -> None:
    with running() as demo, sync_playwright() as p:
        seed_many(demo, ALARMS)
        port = int(demo.url.rsplit(":", 1)[1])
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        # The very first visit: through the one-time link, as `alarmd web` opens it.
        context = browser.new_context()
        page = context.new_page()
        page.goto(demo.sign_in_url())
        session = next(c for c in context.cookies() if c["name"] == "alarmd_session")
        context.close()
        first = visit(browser, demo.url + "/", session)
        visits = [visit(browser, demo.url + "/", session) for _ in range(VISITS)]
        browser.close()
        times = server_times(port, f"alarmd_session={session['value']}")

    ms = sorted(t * 1000 for t in times)
    loads = sorted(v[0] for v in visits)
    print(f"alarms on the page:        {ALARMS}")
    print(f"server time for GET /:     p50 {statistics.median(ms):.1f} ms, p95 {ms[int(len(ms) * .95)]:.1f} ms, "
          f"max {ms[-1]:.1f} ms ({REQUESTS} requests, loopback)")
    print(f"browser load event:        p50 {statistics.median(loads):.0f} ms, best {loads[0]:.0f} ms "
          f"(DOMContentLoaded p50 {statistics.median(v[1] for v in visits):.0f} ms; {VISITS} visits, empty cache)")
    print(f"first visit transfer:      {first[2] / 1024:.1f} KiB (the page, CSS, script, icon; headers included)")


if __name__ == "__main__":
    main()
