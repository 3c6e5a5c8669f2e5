"""The house rules of src/tinynn, read from the code itself (every import, function-level too).

1. Imports point one way, by layer: ground (``tree``, ``params``, ``metrics`` and the shared
   private modules ``_checks``, ``_typing``, ``_primitive``) -> ``model`` -> ``losses`` ->
   ``optim`` -> ``posterior`` -> the friendly layer (``data``, ``plot``, ``io``, ``gradcheck``,
   ``estimator``, ``compat``) -> ``cli``.
2. A private name (a module or a name starting with ``_``) is imported only by the package that
   holds it: ``tinynn.model._network`` by modules of ``tinynn.model``, ``tinynn._checks`` by any
   module of ``tinynn``.
3. No import cycles between modules.

Each rule is checked on the real sources, and shown to fail on sources with a violation planted.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tinynn

SRC = Path(tinynn.__file__).parent

LAYERS = {
    "_checks": 0,
    "_typing": 0,
    "_primitive": 0,
    "tree": 0,
    "params": 0,
    "metrics": 0,
    "diagnostics": 0,
    "model": 1,
    "losses": 2,
    "optim": 3,
    "mcmc": 3,
    "posterior": 4,
    "data": 5,
    "plot": 5,
    "io": 5,
    "gradcheck": 5,
    "estimator": 5,
    "compat": 5,
    "cli": 6,
    "__main__": 7,
    "": 7,  # tinynn/__init__.py re-exports everything
}


@dataclass(frozen=True)
class Import:
    """One imported module or name, where it was written."""

    importer: str  # module name, e.g. "tinynn.losses._fused"
    path: str  # file, relative to src/
    line: int
    module: str  # the module imported from (or imported), e.g. "tinynn.model"
    name: str | None  # the name taken from it, when it is not itself a module


def read_sources(root: Path = SRC) -> dict[str, tuple[str, str]]:
    """Return ``{module name: (path relative to src, source)}`` for every module of tinynn."""
    sources = {}
    for file in sorted(root.rglob("*.py")):
        parts = list(file.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        sources[".".join(parts)] = (str(file.relative_to(root.parent)), file.read_text())
    return sources


def is_package(module: str, sources: dict[str, tuple[str, str]]) -> bool:
    return sources.get(module, ("", ""))[0].endswith("__init__.py")


def package_of(module: str, sources: dict[str, tuple[str, str]]) -> str:
    """Return the package a module belongs to: itself for a package, else its parent."""
    return module if is_package(module, sources) else module.rpartition(".")[0]


def imports(sources: dict[str, tuple[str, str]]) -> Iterator[Import]:
    """Yield every import of every module, and every ``module._name`` attribute use."""
    for importer, (path, text) in sources.items():
        own_package = package_of(importer, sources)
        aliases: dict[str, str] = {}
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "tinynn":
                        yield Import(importer, path, node.lineno, alias.name, None)
                        if alias.asname:
                            aliases[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = own_package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                if base.split(".")[0] != "tinynn":
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in sources:
                        yield Import(importer, path, node.lineno, full, None)
                        aliases[alias.asname or alias.name] = full
                    else:
                        yield Import(importer, path, node.lineno, base, alias.name)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                module = aliases[node.value.id]
                yield Import(importer, path, node.lineno, module, node.attr)


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else ""]


def upward_imports(sources: dict[str, tuple[str, str]]) -> list[str]:
    found = []
    for imp in imports(sources):
        if imp.module == "tinynn" and imp.name == "__version__":
            continue  # the package's own metadata, kept in one place
        if layer(imp.module) > layer(imp.importer):
            found.append(
                f"{imp.path}:{imp.line}: {imp.importer} (layer {layer(imp.importer)}) imports "
                f"{imp.module} (layer {layer(imp.module)})"
            )
    return found


def foreign_private_imports(sources: dict[str, tuple[str, str]]) -> list[str]:
    found = []
    for imp in imports(sources):
        parts = imp.module.split(".") + ([imp.name] if imp.name else [])
        importer_package = package_of(imp.importer, sources)
        for i, part in enumerate(parts):
            if not part.startswith("_") or part.startswith("__"):
                continue
            owner = package_of(".".join(parts[:i]), sources)
            if importer_package != owner and not importer_package.startswith(owner + "."):
                found.append(
                    f"{imp.path}:{imp.line}: {imp.importer} uses {'.'.join(parts[: i + 1])}, "
                    f"private to {owner}"
                )
                break
    return found


def import_cycles(sources: dict[str, tuple[str, str]]) -> list[str]:
    """Return the cycles of the module graph (Tarjan's strongly connected components)."""
    edges: dict[str, dict[str, Import]] = {module: {} for module in sources}
    for imp in imports(sources):
        if imp.module == "tinynn" and imp.name == "__version__":
            continue
        if imp.module in sources and imp.module != imp.importer:
            edges[imp.importer].setdefault(imp.module, imp)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in edges[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                where = [
                    f"{edges[a][b].path}:{edges[a][b].line} ({a} -> {b})"
                    for a in sorted(members)
                    for b in sorted(edges[a])
                    if b in members
                ]
                cycles.append("cycle through " + ", ".join(where))

    for node in sorted(sources):
        if node not in index:
            visit(node)
    return cycles


def test_every_module_has_a_layer():
    assert all(module.split(".")[1] in LAYERS for module in read_sources() if "." in module)


def test_imports_point_down():
    assert upward_imports(read_sources()) == []


def test_no_module_uses_another_packages_private_names():
    assert foreign_private_imports(read_sources()) == []


def test_no_import_cycles():
    assert import_cycles(read_sources()) == []


def plant(sources, module, code):
    """Return a copy of ``sources`` with ``code`` appended to ``module``."""
    planted = dict(sources)
    path, text = planted[module]
    planted[module] = (path, text + "\n" + code + "\n")
    return planted, text.count("\n") + 2


def test_a_planted_upward_import_inside_a_function_is_found_with_its_line():
    planted, line = plant(
        read_sources(), "tinynn.model", "def f():\n    from tinynn.estimator import Regressor"
    )
    found = upward_imports(planted)
    assert found == [
        f"tinynn/model/__init__.py:{line + 1}: tinynn.model (layer 1) imports "
        f"tinynn.estimator (layer 5)"
    ]


@pytest.mark.parametrize(
    ("module", "code", "private"),
    [
        ("tinynn.losses._fused", "from tinynn.model._network import forward", "_network"),
        ("tinynn.losses", "from tinynn.model import _deep_unbox", "_deep_unbox"),
        ("tinynn.optim._lbfgs", "from tinynn import model\nmodel._deep_unbox(1)", "_deep_unbox"),
        ("tinynn.cli", "import tinynn.estimator._training as training", "_training"),
    ],
)
def test_a_planted_foreign_private_import_is_found(module, code, private):
    planted, line = plant(read_sources(), module, code)
    found = foreign_private_imports(planted)
    assert len(found) == 1 and private in found[0]
    assert found[0].split(": ")[0].endswith(f":{line + code.count(chr(10))}")


def test_own_package_private_imports_are_allowed():
    planted, _ = plant(read_sources(), "tinynn.model", "from tinynn.model._network import forward")
    planted, _ = plant(planted, "tinynn.optim._lbfgs", "from tinynn._checks import describe")
    assert foreign_private_imports(planted) == []


def test_a_planted_cycle_is_found_with_both_lines():
    sources = read_sources()
    planted, data_line = plant(sources, "tinynn.data", "def f():\n    import tinynn.plot")
    planted, plot_line = plant(planted, "tinynn.plot", "from tinynn.data import Standardizer")
    found = import_cycles(planted)
    assert len(found) == 1
    assert f"tinynn/data.py:{data_line + 1} (tinynn.data -> tinynn.plot)" in found[0]
    assert f"tinynn/plot/__init__.py:{plot_line} (tinynn.plot -> tinynn.data)" in found[0]
