"""The intersphinx inventories written for the offline docs build read back as Sphinx reads them."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "inventories.py"
spec = importlib.util.spec_from_file_location("inventories", SCRIPT)
inventories = importlib.util.module_from_spec(spec)
spec.loader.exec_module(inventories)

inventory = pytest.importorskip("sphinx.util.inventory")


def test_every_inventory_reads_back_with_its_addresses(tmp_path):
    mapping = inventories.write_inventories(tmp_path)
    assert set(mapping) == {"python", "numpy", "scipy", "matplotlib", "sklearn"}
    for key, (base, path) in mapping.items():
        assert base.startswith("https://") and base.endswith("/")
        loaded = inventory.InventoryFile.loads(Path(path).read_bytes(), uri=base)
        entries = {
            (role, name): item
            for role, items in loaded.data.items()
            for name, item in items.items()
        }
        listed = inventories.PROJECTS[key][2]
        assert len(entries) == len(listed)
        for name, role, address in listed:
            item = entries[(role, name)]
            assert item.uri == base + address
            assert item.display_name == (name.replace("-", " ") if role == "std:label" else "-")


def test_writing_again_leaves_unchanged_files_alone(tmp_path):
    first = inventories.write_inventories(tmp_path)
    stamp = {key: Path(path).stat().st_mtime_ns for key, (_, path) in first.items()}
    inventories.write_inventories(tmp_path)
    assert {key: Path(path).stat().st_mtime_ns for key, (_, path) in first.items()} == stamp


def test_numpydocs_own_aliases_resolve_in_the_inventories():
    # numpydoc links 'bool', 'iterable', 'scalar', ... through :ref: and :term:, which fail the
    # build when unresolved: every such target must be listed
    numpydoc_xref = pytest.importorskip("numpydoc.xref")
    listed = {
        f"{key}:{name}" for key, (_, _, items) in inventories.PROJECTS.items() for name, *_ in items
    }
    for value in numpydoc_xref.DEFAULT_LINKS.values():
        if value.startswith((":ref:", ":term:")):
            target = value.split("`")[1].split("<")[-1].rstrip(">")
            assert target in listed, f"add {target} to docs/inventories.py"
