"""Every test can fail: each test function asserts something (an assert statement, pytest.raises/warns, or
an assert_* helper), so that no test module passes by running code alone."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def asserts(function: ast.FunctionDef) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("raises", "warns", "fail") or name.startswith("assert_"):
                return True
    return False


def test_every_test_function_asserts_something() -> None:
    silent = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tests = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
        assert tests, f"{path.name} has no test function"
        silent += [f"{path.name}::{test.name}" for test in tests if not asserts(test)]
    assert silent == []
