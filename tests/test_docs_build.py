"""Checks that keep the documentation in step with the code, without running Sphinx.

The Sphinx build itself runs in ``.ci/run``; these tests catch the usual ways the docs fall behind:
a public name missing from the API reference, a public function without a runnable example, a
gallery script that is not seeded, or a kernel spec that would run notebooks in another Python.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import tinynn

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLES = DOCS.parent / "examples"
API = DOCS / "api"


def api_text() -> str:
    """Return the text of every API page (one per module, docs/api/<module>.rst) as one string."""
    return "\n".join(page.read_text(encoding="utf-8") for page in sorted(API.glob("*.rst")))


def public_modules() -> list[str]:
    """Return the importable public modules of tinynn (no leading underscore)."""
    return [
        f"tinynn.{info.name}"
        for info in pkgutil.iter_modules(tinynn.__path__)
        if not info.name.startswith("_")
    ]


def documented_names(text: str) -> set[str]:
    """Return the fully qualified names listed in the autosummary tables of an rst page."""
    names: set[str] = set()
    module = ""
    in_table = False
    for line in text.splitlines():
        current = re.match(r"\.\. currentmodule:: (\S+)", line)
        if current:
            module = current.group(1)
        if line.startswith(".. autosummary::"):
            in_table = True
            continue
        if in_table:
            stripped = line.strip()
            if not line.startswith(" ") and stripped:
                in_table = False
            elif stripped and not stripped.startswith(":"):
                names.add(f"{module}.{stripped.lstrip('~')}")
    return names


def resolve(fullname: str) -> object:
    """Import ``fullname`` (``package.module.attr``) and return the object."""
    module_name, _, attr = fullname.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def exported() -> list[tuple[str, str]]:
    """Return (module, name) for every public name: tinynn's own and each public module's."""
    pairs = [
        ("tinynn", name)
        for name in tinynn.__all__
        if name != "__version__" and not inspect.ismodule(getattr(tinynn, name))
    ]
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        pairs += [(module_name, name) for name in getattr(module, "__all__", [])]
    return pairs


def test_documented_names_parser_reads_autosummary_tables():
    text = (
        ".. currentmodule:: tinynn.io\n\n.. autosummary::\n   :toctree: generated\n\n"
        "   save\n   ~load\n\nAfter the table\n"
    )
    assert documented_names(text) == {"tinynn.io.save", "tinynn.io.load"}


def test_every_public_name_has_an_api_page():
    names = documented_names(api_text())
    documented_ids = {id(resolve(name)) for name in names}
    missing = []
    for module_name, name in exported():
        obj = getattr(importlib.import_module(module_name), name)
        is_code = inspect.isclass(obj) or callable(obj)
        if f"{module_name}.{name}" in names or (is_code and id(obj) in documented_ids):
            continue
        missing.append(f"{module_name}.{name}")
    assert not missing, f"add these to their module's page in docs/api/: {missing}"


def test_every_api_entry_exists():
    for name in documented_names(api_text()):
        resolve(name)  # raises ImportError or AttributeError for a stale entry


def test_every_public_module_has_a_section():
    text = api_text()
    missing = [m for m in public_modules() if f".. automodule:: {m}\n" not in text]
    assert not missing, f"add a page docs/api/<module>.rst with an automodule for {missing}"


def has_example(doc: str) -> bool:
    """Return True when a docstring has a numpydoc Examples section with a doctest line."""
    return re.search(r"^Examples\n-+\n(.|\n)*>>> ", doc, flags=re.MULTILINE) is not None


def page_docstrings(obj: object) -> list[str]:
    """Return the docstrings shown on an API page: the object's, and a class's own methods'."""
    docs = [inspect.getdoc(obj) or ""]
    if inspect.isclass(obj):
        docs += [
            inspect.getdoc(member) or ""
            for name, member in vars(obj).items()
            if not name.startswith("_") and callable(member)
        ]
    return docs


# Public names allowed to lack an Examples section. It is empty and must stay empty: every public
# name needs a runnable example. The set is kept so the check's exemption point stays visible.
KNOWN_WITHOUT_EXAMPLES: frozenset[str] = frozenset()


def test_has_example_finds_doctests_only_in_an_examples_section():
    assert has_example("Do it.\n\nExamples\n--------\n>>> 1 + 1\n2\n")
    assert not has_example("Do it.\n\n>>> 1 + 1\n2\n")
    assert not has_example("Do it.\n\nExamples\n--------\nNone here.\n")


def test_every_documented_function_and_class_has_a_runnable_example():
    lacking = []
    for name in sorted(documented_names(api_text())):
        obj = resolve(name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # constants show their value instead
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            continue  # exceptions and warnings are shown where they are raised
        if name not in KNOWN_WITHOUT_EXAMPLES and not any(map(has_example, page_docstrings(obj))):
            lacking.append(name)
    assert not lacking, f"these docstrings need an Examples section with >>> lines: {lacking}"


@pytest.mark.parametrize("script", sorted(EXAMPLES.glob("plot_*.py")), ids=lambda p: p.name)
def test_gallery_script_is_seeded_and_titled(script):
    source = script.read_text(encoding="utf-8")
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree)
    assert docstring, f"{script.name} needs a module docstring with a title for the gallery"
    title, underline = docstring.splitlines()[:2]
    assert underline == "=" * len(title), f"{script.name}: the title must be underlined with ="
    assert "np.random.seed" not in source and "np.random.randn" not in source, (
        f"{script.name} must draw through a seeded Generator or rng=, not the global state"
    )


def test_kernel_spec_runs_the_interpreter_running_sphinx():
    spec = json.loads((DOCS / "_jupyter" / "kernels" / "tinynn-docs" / "kernel.json").read_text())
    # jupyter_client replaces a bare "python" with sys.executable of the process starting it
    assert spec["argv"][0] == "python"
    assert spec["env"]["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert 'nb_kernel_rgx_aliases = {".*": "tinynn-docs"}' in conf


def test_every_module_page_enters_the_module_index():
    # ":no-index:" keeps a module out of the module index and makes :mod: links plain text
    assert ":no-index:" not in api_text()
    index = (API / "index.rst").read_text(encoding="utf-8")
    pages = sorted(page.stem for page in API.glob("*.rst") if page.stem != "index")
    missing = [page for page in pages if f"\n   {page}\n" not in index]
    assert not missing, f"add these pages to the toctree of docs/api/index.rst: {missing}"


def test_every_public_module_links_to_the_user_guide():
    # the autosummary templates print "Read more in the user guide" from conf.USER_GUIDE, which
    # falls back to the module's entry; an unknown target fails the build itself (-W)
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    missing = [m for m in ["tinynn", *public_modules()] if f'"{m}": _' not in conf]
    assert not missing, f"add a user-guide entry to USER_GUIDE in docs/conf.py for {missing}"
    for template in ["base", "class", "function"]:
        text = (DOCS / "_templates" / "autosummary" / f"{template}.rst").read_text()
        assert "Read more in the user guide: {{ guide }}." in text
