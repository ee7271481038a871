"""``make screenshots``: the main page of each role, from the demo data, into docs/screenshots/.

Starts ``funding-engine serve --dev`` on a free port with its files in a throwaway folder (the
demo year loads on its first start, exactly as ``make run`` shows it), signs in as each demo
user in Debian's Chromium, and saves a full-page PNG of the page they land on, plus the request
page a lead decides on. The README shows them, so people see the product before installing it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# (demo user's button label, file name, path to open after signing in or None for their home)
SHOTS = [
    ("school 990001 (northmere-coast)", "school.png", None),
    ("lead, northmere-coast", "cluster-lead.png", None),
    ("lead, northmere-coast", "cluster-lead-budget.png", "/cluster/budget"),
    ("council officer", "council.png", None),
    ("council officer", "council-decision-log.png", "/council/decisions"),
    ("finance officer", "finance.png", None),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start within 60 s")


def sign_in(page: Page, url: str, label: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{url}/sign-in")
    page.get_by_role("button", name=f"Sign in as {label}", exact=True).click()
    page.wait_for_load_state()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    script = Path(sys.executable).parent / "funding-engine"
    with tempfile.TemporaryDirectory(prefix="screenshots-") as folder:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("FUNDING_ENGINE_")}
        environment["FUNDING_ENGINE_DATA_DIR"] = str(Path(folder) / "var")
        with open(Path(folder) / "server.log", "wb") as log:
            server = subprocess.Popen(
                [str(script), "serve", "--dev", "--port", str(port)],
                cwd=folder,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for(url, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                for label, name, path in SHOTS:
                    sign_in(page, url, label)
                    if path is not None:
                        page.goto(f"{url}{path}")
                    page.screenshot(path=OUT / name, full_page=True)
                    print(f"{OUT.relative_to(ROOT) / name}: {label}, {page.url.removeprefix(url)}")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
