"""What changed between a generated module and the one generated again: classes and fields
added or removed, and fields whose type changed (widened when the new type takes every
value the old one took)."""

from __future__ import annotations

import ast

from .emit import KEY


def _fields(text: str) -> dict[str, dict[str, str]]:
    """Class name -> API key -> annotation, read from a generated module's source."""
    classes: dict[str, dict[str, str]] = {}
    for node in ast.parse(text).body:
        if not isinstance(node, ast.ClassDef) or node.name == "Content":
            continue
        fields: dict[str, str] = {}
        for statement in node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                fields[_key(statement)] = ast.unparse(statement.annotation)
        classes[node.name] = fields
    return classes


def _key(statement: ast.AnnAssign) -> str:
    """The field's API key: its `metadata={"butter": key}`, else its name."""
    assert isinstance(statement.target, ast.Name)
    value = statement.value
    keywords = value.keywords if isinstance(value, ast.Call) else []
    for keyword in keywords:
        if keyword.arg != "metadata" or not isinstance(keyword.value, ast.Dict):
            continue
        for name, key in zip(keyword.value.keys, keyword.value.values, strict=True):
            named = isinstance(name, ast.Constant) and name.value == KEY
            if named and isinstance(key, ast.Constant):
                return str(key.value)
    return statement.target.id


def _members(annotation: str) -> set[str]:
    return {part.strip() for part in annotation.split("|")}


def _widened(old: str, new: str) -> bool:
    members_old, members_new = _members(old), _members(new)
    if members_old <= members_new:
        return True
    return members_old - {"None"} == {"int"} and "float" in members_new


def describe_changes(old_text: str, new_text: str) -> list[str]:
    """One line per change, in class and field order; empty when nothing changed."""
    old, new = _fields(old_text), _fields(new_text)
    lines: list[str] = []
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            lines.append(f"{name}: class removed")
            continue
        if name not in old:
            lines.append(f"{name}: class added ({len(new[name])} field(s))")
            continue
        for key in sorted(old[name].keys() | new[name].keys()):
            before, after = old[name].get(key), new[name].get(key)
            if before is None:
                lines.append(f"{name}.{key}: field added ({after})")
            elif after is None:
                lines.append(f"{name}.{key}: field removed (was {before})")
            elif before != after:
                how = "widened" if _widened(before, after) else "changed"
                lines.append(f"{name}.{key}: {how}: {before} -> {after}")
    return lines
