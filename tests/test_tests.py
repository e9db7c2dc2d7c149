"""Every test can fail: each test function asserts, in its own body, on something the code under test returned
or wrote (an assert statement, or pytest.raises/warns/fail), so that no test module passes by running code alone.

What does not count: an assert inside a nested function or class (it may never run), and a mock's own
``assert_called*`` (it checks the test's stand-in, not the kit). No test module imports another: shared helpers
live in conftest.py or helpers.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
PYTEST_CHECKS = ("raises", "warns", "fail")


def _own_nodes(function: ast.FunctionDef):
    """The nodes of ``function``'s body, not descending into nested functions, lambdas or classes."""
    nested = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
    stack = [node for node in function.body if not isinstance(node, nested)]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, nested))


def asserts(function: ast.FunctionDef) -> bool:
    for node in _own_nodes(function):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if node.func.attr in PYTEST_CHECKS and isinstance(owner, ast.Name) and owner.id == "pytest":
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


def test_no_test_module_imports_another() -> None:
    imports = []
    for path in sorted(TESTS.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            imports += [f"{path.name} imports {name}" for name in names if name.startswith("test_")]
    assert imports == []


def test_the_check_itself_refuses_what_does_not_count() -> None:
    source = """
def test_nested():
    def inner():
        assert True
def test_mock(mock):
    mock.assert_called_once()
def test_real(value):
    assert value == 1
def test_raises():
    with pytest.raises(ValueError):
        int("x")
"""
    found = {node.name: asserts(node) for node in ast.parse(source).body}
    assert found == {"test_nested": False, "test_mock": False, "test_real": True, "test_raises": True}
