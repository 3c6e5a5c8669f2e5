"""The package surface: exported names, the version, and the one-way import rule."""

import ast
import pathlib
import subprocess
import sys

import tinynn

SRC = pathlib.Path(tinynn.__file__).parent
CORE = ["_checks.py", "_typing.py", "_primitive.py", "tree", "params", "model", "losses", "optim"]
FRIENDLY = {"data", "gradcheck", "plot", "io", "estimator", "cli", "compat"}


def test_every_name_in_all_is_importable():
    missing = [name for name in tinynn.__all__ if not hasattr(tinynn, name)]
    assert missing == []


def test_version_is_kept_in_one_place():
    text = (SRC / "__init__.py").read_text()
    assert text.count("__version__ =") == 1
    major, minor, patch = tinynn.__version__.split(".")
    assert all(part.isdigit() for part in (major, minor, patch))


def test_import_loads_no_optional_dependency():
    code = (
        "import sys, tinynn; "
        "print(sorted(m for m in ('matplotlib', 'scipy', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _imported_tinynn_modules(path):
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tinynn"):
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "tinynn" and len(parts) > 1:
                    found.add(parts[1])
    return found


def test_core_modules_never_import_the_friendly_layer():
    core_files = [p for name in CORE for p in [SRC / name, *sorted((SRC / name).glob("*.py"))]]
    offenders = {}
    for path in core_files:
        if path.is_file():
            bad = _imported_tinynn_modules(path) & FRIENDLY
            if bad:
                offenders[path.name] = sorted(bad)
    assert offenders == {}


def test_import_is_lazy_and_names_load_on_first_use():
    code = (
        "import sys, tinynn; before = sorted(m for m in sys.modules if m.startswith('tinynn')); "
        "tinynn.Regressor; print(before, 'tinynn.estimator' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['tinynn'] True"


def test_unknown_top_level_names_raise_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="module 'tinynn' has no attribute 'fit'"):
        tinynn.fit  # noqa: B018
    assert set(tinynn.__all__) <= set(dir(tinynn))
