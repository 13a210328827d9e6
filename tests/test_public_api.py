"""Each package's public API is its ``__all__``, pinned (httpx's habit), and the server
uses other packages only through it."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import types
from pathlib import Path

import pytest

import kcrypt

SRC = Path(kcrypt.__file__).parent
PACKAGES = sorted(f"kcrypt.{m.name}" for m in pkgutil.iter_modules([str(SRC)]) if m.ispkg)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_complete_and_resolves(name: str) -> None:
    """``__all__`` lists exactly the package's public names, once each."""
    package = importlib.import_module(name)
    exported = list(package.__all__)
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    assert all(hasattr(package, n) for n in exported)
    public = sorted(
        member
        for member, value in vars(package).items()
        if not member.startswith("_")
        and not isinstance(value, types.ModuleType)
        and member != "annotations"
    )
    assert sorted(exported) == public


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    tree = ast.parse(path.read_text())
    return [
        (node.module, [a.name for a in node.names])
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kcrypt.")
    ]


@pytest.mark.parametrize("path", sorted((SRC / "server").glob("*.py")), ids=lambda p: p.name)
def test_the_server_imports_only_public_names(path: Path) -> None:
    for module, names in _imports(path):
        top = ".".join(module.split(".")[:2])
        if top == "kcrypt.server" or module in ("kcrypt.errors", "kcrypt.files"):
            continue
        assert module == top, f"{path.name} imports {module} (use {top})"
        public = set(importlib.import_module(top).__all__)
        assert set(names) <= public, f"{path.name}: {sorted(set(names) - public)} not in {top}"
