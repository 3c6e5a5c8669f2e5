"""Check the built documentation the way a reader would meet it, and fail on what would hurt them.

Run after the build: ``python docs/check_site.py docs/_build/html``. It reads every built page and
every notebook myst-nb executed (``docs/_build/jupyter_execute``), prints each problem with its
file, and exits with status 1 when there is one:

- a script or stylesheet loaded from another host (the pages must read offline);
- an image without alt text, or whose alt text is only its file name or its gallery script's
  name (give a gallery figure a title: sphinx-gallery uses it as the alt text; thumbnails, which
  sit beside their title, may have an empty alt: they are decorative);
- an executed cell that displays a figure twice (a cell whose value is a figure is shown once by
  the inline backend and once more as the cell's result);
- a line of code longer than ``MAX_LINE`` characters, the most that fit the text column of a
  1400 px window at the code font of ``_static/tinynn.css`` (measured in Chromium: 88), and an
  output line as long whose columns are aligned with runs of spaces (a table, which wrapping would
  scramble). Other output lines, such as an error message, wrap at spaces and stay readable.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

MAX_LINE = 88

REMOTE = re.compile(
    r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"'](?P<url>(?:https?:)?//[^\"']+)[\"']", re.I
)
IMAGE = re.compile(r"<img\b[^>]*>", re.I)
ATTRIBUTE = re.compile(r"\b(?P<name>alt|src)\s*=\s*(?P<quote>[\"'])(?P<value>.*?)(?P=quote)", re.I)
PRE = re.compile(r"<pre\b[^>]*>(?P<body>.*?)</pre>", re.I | re.S)
TAG = re.compile(r"<[^>]+>")
# class names that mark an output block: myst-nb's cell outputs and sphinx-gallery's script output
OUTPUT_MARKS = ("cell_output", "sphx-glr-script-out")
ALIGNED = re.compile(r"\S {2,}\S")  # two or more spaces between words: aligned columns
# pages that show code as it is, not as a reader should type it: highlighted module sources
# ([source] links) and the copies of the page sources
SKIPPED_FOLDERS = ("_modules", "_sources")


def remote_assets(page: str) -> list[str]:
    """Return the addresses of scripts and stylesheets that a page loads from another host."""
    found = []
    for match in REMOTE.finditer(page):
        tag = match.group(0).lower()
        if tag.startswith("<link") and "stylesheet" not in tag and "preload" not in tag:
            continue  # a plain link, not a style the page needs
        found.append(match.group("url"))
    return found


def images_without_alt(page: str) -> list[str]:
    """Return the sources of images whose alt text is missing, empty or only a file name."""
    found = []
    for tag in IMAGE.findall(page):
        attributes = {m.group("name").lower(): m.group("value") for m in ATTRIBUTE.finditer(tag)}
        src, alt = attributes.get("src", ""), attributes.get("alt")
        if alt == "" and "_thumb." in src:
            continue  # a gallery thumbnail, decorative beside its title
        # sphinx-gallery's fallback alt is the script's name: "plot learn sigma"
        file_words = re.sub(r"^sphx_glr_|_\d+$", "", Path(src).stem).replace("_", " ")
        if (
            not alt
            or not alt.strip()
            or alt == src
            or re.search(r"\.(png|svg|jpe?g|gif)$", alt)
            or alt.strip().lower() == file_words.lower()
        ):
            found.append(src)
    return found


def is_output(page: str, start: int) -> bool:
    """Return True when the block that starts at ``start`` shows output rather than code."""
    opening = page[max(0, start - 300) : start]
    return any(mark in opening for mark in OUTPUT_MARKS)


def long_lines(page: str, limit: int = MAX_LINE) -> list[str]:
    """Return the code lines, and the aligned output lines, longer than ``limit`` characters.

    In a doctest block (lines starting ``>>>``) the other lines are output.
    """
    found = []
    for match in PRE.finditer(page):
        text = html.unescape(TAG.sub("", match.group("body")))
        output = is_output(page, match.start())
        doctest = ">>> " in text
        for line in text.splitlines():
            if len(line) <= limit:
                continue
            is_code = not output and (not doctest or line.startswith((">>> ", "... ")))
            if is_code or ALIGNED.search(line.strip()):
                found.append(line)
    return found


def repeated_figures(notebook: dict) -> list[int]:
    """Return the indices of code cells that display a figure twice."""
    found = []
    for index, cell in enumerate(notebook.get("cells", [])):
        images = [
            (output.get("output_type"), output["data"]["image/png"])
            for output in cell.get("outputs", [])
            if "image/png" in output.get("data", {})
        ]
        as_result = any(kind == "execute_result" for kind, _ in images)
        repeated = len({str(data) for _, data in images}) < len(images)
        if as_result or repeated:
            found.append(index)
    return found


def problems(root: Path) -> list[str]:
    """Return one line per problem found in the built site under ``root``."""
    lines = []
    for path in sorted(root.rglob("*.html")):
        name = path.relative_to(root).as_posix()
        page = path.read_text("utf-8")
        lines += [f"{name}: loads {url} from another host" for url in remote_assets(page)]
        lines += [f"{name}: image {src} has no alt text" for src in images_without_alt(page)]
        if not name.startswith(SKIPPED_FOLDERS):
            lines += [
                f"{name}: a line of {len(line)} characters (at most {MAX_LINE}): {line[:60]}..."
                for line in long_lines(page)
            ]
    executed = root.parent / "jupyter_execute"
    for path in sorted(executed.rglob("*.ipynb")) if executed.is_dir() else []:
        name = path.relative_to(executed).as_posix()
        notebook = json.loads(path.read_text("utf-8"))
        lines += [
            f"{name}: cell {index} displays a figure twice (end the line with ';')"
            for index in repeated_figures(notebook)
        ]
    return lines


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "docs/_build/html")
    found = problems(root)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} problems in the built documentation")
        return 1
    print(f"checked {len(list(root.rglob('*.html')))} pages: no problems")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
