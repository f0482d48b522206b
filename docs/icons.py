"""Render the page's PNG icons from alarmd/web/static/icon.svg with Debian's chromium.

    .venv/bin/python docs/icons.py        # CHROMIUM=/path/to/chromium to use another

The PNGs are committed (the daemon serves them as they are); run this again only when
icon.svg changes.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parent.parent / "alarmd" / "web" / "static"
SIZES = {"icon-192.png": 192, "icon-512.png": 512, "apple-touch-icon.png": 180}


def main() -> None:
    svg = (STATIC / "icon.svg").read_text()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        for name, size in SIZES.items():
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(f"<style>html,body{{margin:0}}svg{{width:{size}px;height:{size}px;display:block}}</style>"
                             + svg)
            page.screenshot(path=str(STATIC / name), omit_background=True)
            page.close()
        browser.close()
    for name in SIZES:
        print(name, (STATIC / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
