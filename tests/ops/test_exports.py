"""The op family modules list their ops in a literal ``__all__`` (so a type
checker sees what ``polykeras.ops`` star-imports from them); the list names
exactly the ops each module holds, and every one reaches ``polykeras.ops``."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from polykeras import ops

_FAMILIES = ["arrays", "bitwise", "elementwise", "statistics"]


@pytest.mark.parametrize("family", _FAMILIES)
def test_family_all_lists_exactly_its_ops(family: str) -> None:
    module = importlib.import_module(f"polykeras.ops.{family}")
    held = {name for name, value in vars(module).items() if hasattr(value, "op_key")}
    listed = list(module.__all__)
    assert len(listed) == len(set(listed)), f"ops.{family}.__all__ names an op twice"
    assert set(listed) == held, (f"ops.{family}.__all__ should list exactly its ops: missing "
                                 f"{sorted(held - set(listed))}, extra {sorted(set(listed) - held)}")
    for name in listed:
        assert getattr(ops, name) is getattr(module, name)


@pytest.mark.parametrize("family", _FAMILIES)
def test_family_all_is_a_literal(family: str) -> None:
    source = inspect.getsource(importlib.import_module(f"polykeras.ops.{family}"))
    assigned = [node.value for node in ast.parse(source).body
                if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets)]
    assert len(assigned) == 1 and isinstance(assigned[0], ast.List)
    assert all(isinstance(item, ast.Constant) and isinstance(item.value, str) for item in assigned[0].elts)
