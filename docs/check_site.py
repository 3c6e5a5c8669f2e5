"""Fail when a built page loads a script or style from another host (the docs must read offline).

Run after the build: ``python docs/check_offline.py docs/_build/html``. Prints every offending
file and address and exits with status 1, or prints how many pages were checked.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REMOTE = re.compile(
    r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"'](?P<url>(?:https?:)?//[^\"']+)[\"']", re.I
)


def remote_assets(html: str) -> list[str]:
    """Return the addresses of scripts and stylesheets that a page loads from another host."""
    found = []
    for match in REMOTE.finditer(html):
        tag = match.group(0).lower()
        if tag.startswith("<link") and "stylesheet" not in tag and "preload" not in tag:
            continue  # a plain link, not a style the page needs
        found.append(match.group("url"))
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "docs/_build/html")
    pages = sorted(root.rglob("*.html"))
    problems = [(page, url) for page in pages for url in remote_assets(page.read_text("utf-8"))]
    for page, url in problems:
        print(f"{page.relative_to(root)}: loads {url}")
    if problems:
        print(f"{len(problems)} remote scripts or styles: the pages would not work offline")
        return 1
    print(f"checked {len(pages)} pages: no script or style from another host")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
