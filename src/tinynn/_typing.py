"""Type aliases for tinynn's annotations (private, ground floor).

tinynn's functions take plain nested containers of arrays, which Python's type system cannot
describe well (autograd hands functions boxed containers while it traces them), so these aliases
are ``Any`` to the type checker and documentation to the reader.
"""

from __future__ import annotations

from typing import Any, TypeAlias

Tree: TypeAlias = Any
"""Nested lists, tuples and dicts whose leaves are arrays or numbers."""

Params: TypeAlias = Any
"""A network's parameters: ``[{'w': w_DH, 'b': b_H}, ..., {'w': w_HO, 'b': b_O}]``."""
