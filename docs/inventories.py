"""Intersphinx inventories for the projects tinynn's pages link to, written here, read offline.

Intersphinx normally downloads each project's ``objects.inv`` when the docs are built; this build
must need no network, so the names tinynn's pages mention are listed below with their addresses
and written as inventories into ``docs/generated/inventories`` by ``conf.py``. Links then point to
the projects' own pages (followed when the reader is online); nothing is fetched at build time.

Add a name here when a page or a docstring type mentions it (numpydoc turns parameter types into
links through ``numpydoc_xref_aliases`` in ``conf.py``).
"""

from __future__ import annotations

import zlib
from pathlib import Path

EXCEPTIONS = ("KeyboardInterrupt", "TypeError", "ValueError", "RuntimeWarning", "UserWarning")

# project key -> (project name, base address, [(name, role, address relative to the base)])
PROJECTS: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
    "python": (
        "Python",
        "https://docs.python.org/3/",
        [
            *[
                (name, "py:class", f"library/functions.html#{name}")
                for name in ["bool", "float", "int"]
            ],
            ("callable", "py:function", "library/functions.html#callable"),
            *[
                (name, "py:class", f"library/stdtypes.html#{name}")
                for name in ["dict", "list", "str", "tuple"]
            ],
            ("None", "py:data", "library/constants.html#None"),
            *[(name, "py:exception", f"library/exceptions.html#{name}") for name in EXCEPTIONS],
            ("os.PathLike", "py:class", "library/os.html#os.PathLike"),
            ("pathlib.Path", "py:class", "library/pathlib.html#pathlib.Path"),
            ("typing.NamedTuple", "py:class", "library/typing.html#typing.NamedTuple"),
            # the names numpydoc's own aliases refer to (numpydoc.xref.DEFAULT_LINKS): an
            # unresolved :ref: or :term: would fail the build
            ("bltin-boolean-values", "std:label", "library/stdtypes.html#bltin-boolean-values"),
            *[
                (term, "std:term", f"glossary.html#term-{term}")
                for term in ["iterable", "sequence", "generator"]
            ],
            ("True", "py:data", "library/constants.html#True"),
            ("False", "py:data", "library/constants.html#False"),
        ],
    ),
    "numpy": (
        "NumPy",
        "https://numpy.org/doc/stable/",
        [
            ("numpy.ndarray", "py:class", "reference/generated/numpy.ndarray.html#numpy.ndarray"),
            (
                "numpy.random.Generator",
                "py:class",
                "reference/random/generator.html#numpy.random.Generator",
            ),
            ("numpy.tanh", "py:data", "reference/generated/numpy.tanh.html#numpy.tanh"),
            ("numpy.savez", "py:function", "reference/generated/numpy.savez.html#numpy.savez"),
            ("numpy.load", "py:function", "reference/generated/numpy.load.html#numpy.load"),
            ("numpy.linalg.lstsq", "py:function", "reference/generated/numpy.linalg.lstsq.html"),
            ("array_like", "std:term", "glossary.html#term-array_like"),
            ("arrays.scalars", "std:label", "reference/arrays.scalars.html#arrays-scalars"),
            ("numpy.inf", "py:data", "reference/constants.html#numpy.inf"),
            ("numpy.nan", "py:data", "reference/constants.html#numpy.nan"),
        ],
    ),
    "scipy": (
        "SciPy",
        "https://docs.scipy.org/doc/scipy/",
        [
            (
                "scipy.optimize.minimize",
                "py:function",
                "reference/generated/scipy.optimize.minimize.html#scipy.optimize.minimize",
            ),
        ],
    ),
    "matplotlib": (
        "Matplotlib",
        "https://matplotlib.org/stable/",
        [
            (
                "matplotlib.figure.Figure",
                "py:class",
                "api/_as_gen/matplotlib.figure.Figure.html#matplotlib.figure.Figure",
            ),
            ("matplotlib.axes.Axes", "py:class", "api/axes_api.html#matplotlib.axes.Axes"),
        ],
    ),
    "sklearn": (
        "scikit-learn",
        "https://scikit-learn.org/stable/",
        [
            (
                "sklearn.neural_network.MLPRegressor",
                "py:class",
                "modules/generated/sklearn.neural_network.MLPRegressor.html"
                "#sklearn.neural_network.MLPRegressor",
            ),
            (
                "sklearn.base.BaseEstimator",
                "py:class",
                "modules/generated/sklearn.base.BaseEstimator.html#sklearn.base.BaseEstimator",
            ),
            (
                "sklearn.utils.estimator_checks.check_estimator",
                "py:function",
                "modules/generated/sklearn.utils.estimator_checks.check_estimator.html"
                "#sklearn.utils.estimator_checks.check_estimator",
            ),
        ],
    ),
}


def inventory_bytes(project: str, entries: list[tuple[str, str, str]]) -> bytes:
    """Return an inventory in Sphinx's version-2 format (a header, then zlib-compressed lines)."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        "# Version: \n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = "".join(
        # labels need a title to show; other entries show their name ("-")
        f"{name} {role} {-1 if role == 'std:label' else 1} {address} "
        f"{name.replace('-', ' ') if role == 'std:label' else '-'}\n"
        for name, role, address in entries
    )
    return header.encode("utf-8") + zlib.compress(lines.encode("utf-8"))


def write_inventories(folder: Path) -> dict[str, tuple[str, str]]:
    """Write one inventory per project into ``folder``; return an ``intersphinx_mapping``."""
    folder.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for key, (project, base, entries) in PROJECTS.items():
        path = folder / f"{key}.inv"
        data = inventory_bytes(project, entries)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        mapping[key] = (base, str(path))
    return mapping
