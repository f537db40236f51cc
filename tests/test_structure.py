"""The package's seams: no import cycles, no private names across subpackages."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "butter_async"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def package_of(module: str) -> str:
    """The package a module lives in (a package's own `__init__` lives in itself)."""
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute name of the module `from ... import` reads from."""
    if node.level == 0:
        return node.module or ""
    base = package_of(importer).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(module: str) -> list[tuple[str, ast.ImportFrom | ast.Import]]:
    """(imported module, node) for every import in `module`, TYPE_CHECKING blocks included."""
    found: list[tuple[str, ast.ImportFrom | ast.Import]] = []
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom):
            target = resolve(module, node)
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((submodule if submodule in MODULES else target, node))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, node) for alias in node.names)
    return [(target, node) for target, node in found if target in MODULES]


def graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (a package's `__init__` runs first)."""
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for module in MODULES:
        for target, _ in imports_of(module):
            if target != module:
                edges[module].add(target)
            parent = package_of(target)
            # Importing a.b.c runs a/b/__init__ first, unless a.b is already being imported
            # because it contains the importer (the root package always is).
            if target != parent and not f"{module}.".startswith(f"{parent}."):
                edges[module].add(parent)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_walker_sees_real_edges() -> None:
    edges = graph()
    assert "butter_async.bulk" in edges["butter_async.client"]
    assert "butter_async.resources" in edges["butter_async.operations"]


def test_no_import_cycle_in_the_package() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_no_private_name_is_imported_from_another_subpackage() -> None:
    offences = []
    for module in MODULES:
        for target, node in imports_of(module):
            if package_of(target) == package_of(module):
                continue
            leaf = target.rpartition(".")[2]
            if leaf.startswith("_") and not leaf.endswith("__"):
                offences.append(f"{module} imports the private module {target}")
            if isinstance(node, ast.ImportFrom):
                private = [
                    a.name
                    for a in node.names
                    if a.name.startswith("_") and not a.name.endswith("__")
                ]
                offences.extend(f"{module} imports {name} from {target}" for name in private)
    assert offences == []


def test_the_root_says_which_of_its_modules_are_public() -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text())) or ""
    public_part, _, internal_part = doc.partition("Internal")
    named = {
        path.stem if path.is_file() else path.name
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" or (path / "__init__.py").exists())
        and not path.name.startswith("__")
    }
    public = {name for name in named if f"`{name}`" in public_part}
    internal = {name for name in named if f"`{name}`" in internal_part}
    assert public | internal == named, named - public - internal  # each one is named
    assert not public & internal


def test_no_module_or_class_outgrows_a_room() -> None:
    too_big = []
    for module, path in MODULES.items():
        text = path.read_text()
        if len(text.splitlines()) > 450:
            too_big.append(f"{module}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                size = node.end_lineno - node.lineno + 1
                if size > 250:
                    too_big.append(f"{module}.{node.name}: {size} lines")
    assert too_big == []


def test_no_context_variable_carries_policy() -> None:
    carriers = [module for module, path in MODULES.items() if "ContextVar" in path.read_text()]
    assert carriers == []
