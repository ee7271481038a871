"""Browser tests: pages the server shows a person, in Debian's Chromium driven by Playwright."""
