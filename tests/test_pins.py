"""The pinned toolchain and the lower bounds stay true to pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
USER_EXTRAS = ("cli", "testing", "cache", "redis", "queue")


def pins(name: str) -> dict[str, Version]:
    """`constraints/NAME`'s `package==version` lines, by normalised package name."""
    found: dict[str, Version] = {}
    for line in (ROOT / "constraints" / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", line
            found[normalised(requirement.name)] = Version(specifier.version)
    return found


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(*extras: str) -> list[Requirement]:
    """The direct requirements of the package and of `extras`, the self-references left out."""
    lines = list(PYPROJECT["project"]["dependencies"])
    for extra in extras:
        lines += PYPROJECT["project"]["optional-dependencies"][extra]
    return [r for r in map(Requirement, lines) if normalised(r.name) != "butter-async"]


def test_every_requirement_of_the_dev_install_is_pinned_within_its_range() -> None:
    pinned = pins("dev.txt")
    extras = PYPROJECT["project"]["optional-dependencies"]
    for requirement in requirements(*extras):
        version = pinned.get(normalised(requirement.name))
        assert version is not None, f"{requirement.name} is not pinned in constraints/dev.txt"
        assert version in requirement.specifier, f"{requirement.name}=={version} vs {requirement}"
    for tool in ("mypy", "ruff", "pytest", "pytest-asyncio", "hatchling", "aioresponses"):
        assert tool in pinned


def test_the_oldest_constraints_are_exactly_the_lower_bounds_users_are_promised() -> None:
    lowest: dict[str, Version] = {}
    for requirement in requirements(*USER_EXTRAS):
        (bound,) = [s for s in requirement.specifier if s.operator == ">="]
        name = normalised(requirement.name)
        lowest[name] = max(lowest.get(name, Version(bound.version)), Version(bound.version))
    assert pins("oldest.txt") == lowest


def test_runtime_dependencies_stay_ranges() -> None:
    for requirement in requirements(*USER_EXTRAS):
        assert all(s.operator == ">=" for s in requirement.specifier), str(requirement)


def test_the_readme_test_command_and_ci_install_from_the_pins() -> None:
    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme.splitlines() if "pytest -q" in line)
    assert "PIP_CONSTRAINT=constraints/dev.txt .venv/bin/pip install" in command
    assert command in (ROOT / ".ci" / "run").read_text()
    demo = next(line for line in readme.splitlines() if "butter-async demo" in line)
    assert "PIP_CONSTRAINT=constraints/dev.txt" in demo
