"""The README's pictures: the page on a phone, light and dark, from a seeded demo.

    .venv/bin/python docs/screenshots.py      # ALARMD_CHROMIUM=/path/to/chromium for another

Writes docs/phone-light.png and docs/phone-dark.png.
"""

from __future__ import annotations

from pathlib import Path

from demo import CHROMIUM_ARGS, chromium, running, seed
from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
PHONE = {"viewport": {"width": 393, "height": 851}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "timezone_id": "Europe/London", "locale": "en-GB"}


def main() -> None:
    with running() as demo, sync_playwright() as p:
        seed(demo)
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        for scheme in ("light", "dark"):
            context = browser.new_context(**PHONE, color_scheme=scheme)
            page = context.new_page()
            page.goto(demo.sign_in_url())
            page.wait_for_selector("h1")
            page.screenshot(path=str(DOCS / f"phone-{scheme}.png"))
            context.close()
        browser.close()
    print("wrote", ", ".join(f"docs/phone-{s}.png" for s in ("light", "dark")))


if __name__ == "__main__":
    main()
