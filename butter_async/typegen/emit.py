"""The generated module's text: frozen attrs classes from the shapes, written the same way
every time (same content, same bytes)."""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Iterable, Mapping

import attrs

from .shapes import FieldShape, ObjectShape, fits

#: The attrs metadata key that holds a field's API key when its Python name differs.
KEY = "butter"
# How a declared emulator kind reads (`Emulator(page_types={"recipe": {"x": "number"}})`).
_DECLARED = {
    "text": "str",
    "number": "float",
    "media": "str | Media",
    "reference": "object",
    "repeater": "list[dict[str, Any]]",
    "component": "dict[str, Any]",
    "component_picker": "list[dict[str, Any]]",
}


@attrs.frozen
class ContentType:
    """A page type (`kind` page), a single page (`single`) or a collection, and its shape."""

    kind: str
    name: str
    shape: ObjectShape


@attrs.frozen
class FieldSpec:
    """One attribute of a generated class."""

    name: str
    key: str
    annotation: str
    optional: bool
    default: str | None = None


@attrs.frozen
class ClassSpec:
    """One generated class: its name, docstring and attributes."""

    name: str
    doc: str
    fields: tuple[FieldSpec, ...]


def quoted(text: str) -> str:
    """A Python string literal in double quotes (JSON's escapes are Python's too)."""
    return json.dumps(text)


def pascal(text: str) -> str:
    """`landing-page` -> `LandingPage`; a leading digit gets a `T` before it."""
    words = re.split(r"[^0-9A-Za-z]+", text)
    name = "".join(word[:1].upper() + word[1:] for word in words if word)
    if not name or name[0].isdigit():
        name = f"T{name}"
    return f"{name}_" if keyword.iskeyword(name) else name  # `none` -> `None_`


def identifier(key: str) -> str:
    """A valid Python attribute name for an API key: `2col` -> `f_2col`, `class` -> `class_`."""
    name = re.sub(r"\W", "_", key, flags=re.ASCII) or "field"
    if name[0].isdigit():
        name = f"f_{name}"
    return f"{name}_" if keyword.iskeyword(name) or keyword.issoftkeyword(name) else name


class Emitter:
    """Turns content types' shapes into class specs, naming each class once."""

    def __init__(self, types: Iterable[ContentType]) -> None:
        self.types = sorted(types, key=lambda t: (t.kind, t.name))
        self.classes: list[ClassSpec] = []
        self._taken: set[str] = {"Content", "Any", "Literal", "Media", "Page"}
        self.top: dict[tuple[str, str], str] = {}
        for content_type in self.types:
            self.top[content_type.kind, content_type.name] = self._name(pascal(content_type.name))
        self._shapes = {(t.kind, t.name): t.shape for t in self.types}

    def specs(self) -> list[ClassSpec]:
        """Every class, nested ones before the classes that hold them."""
        for content_type in self.types:
            what = {"page": "Page type", "single": "Single page", "collection": "Collection"}
            label = f"{what[content_type.kind]} `{content_type.name}`"
            noun = "item" if content_type.kind == "collection" else "page"
            self._object(
                self.top[content_type.kind, content_type.name], label, content_type.shape, noun
            )
        return self.classes

    def _name(self, wanted: str) -> str:
        name, number = wanted, 2
        while name in self._taken:
            name, number = f"{wanted}{number}", number + 1
        self._taken.add(name)
        return name

    def _object(self, name: str, label: str, shape: ObjectShape, noun: str = "value") -> str:
        fields: list[FieldSpec] = []
        used: set[str] = set()
        for key in sorted(shape.fields):
            field = shape.fields[key]
            attribute = identifier(key)
            while attribute in used:
                attribute += "_"
            used.add(attribute)
            annotation = self._annotation(name, key, field)
            optional = field.present < shape.count and field.declared is None
            fields.append(FieldSpec(attribute, key, annotation, optional))
        seen = ", ".join(f"{key} {shape.fields[key].present}" for key in sorted(shape.fields))
        doc = f"{label}: {shape.count} {noun}(s) read."
        if seen:
            doc += f" Each field had a value in: {seen}."
        self.classes.append(ClassSpec(name, doc, tuple(fields)))
        return name

    def _annotation(self, owner: str, key: str, field: FieldShape) -> str:
        if field.declared is not None:
            return _DECLARED[field.declared]
        kinds = set(field.kinds)
        if kinds - {"list"} and "list" in kinds and kinds & {"repeater", "picker", "text_list"}:
            kinds.discard("list")
        if field.many:
            kinds.discard("list")
        nested_label = f"`{key}` of {owner}"
        if kinds == {"page_ref"}:
            return self._many(field, self._page(owner, key, field))
        if kinds == {"item_ref"}:
            return self._many(field, f"CollectionItem[{self._item(owner, key, field)}]")
        if kinds == {"picker"}:
            return f"list[{self._picker(owner, key, field)}]"
        if kinds == {"repeater"} and field.nested is not None:
            entry = self._name(f"{owner}{pascal(key)}Entry")
            return f"list[{self._object(entry, f'Repeater {nested_label}', field.nested)}]"
        if kinds == {"component"} and field.nested is not None:
            nested = self._name(f"{owner}{pascal(key)}")
            return self._object(nested, f"Component {nested_label}", field.nested)
        return _scalar(kinds)

    def _many(self, field: FieldShape, one: str) -> str:
        return f"list[{one}]" if field.many else one

    def _page(self, owner: str, key: str, field: FieldShape) -> str:
        """The referenced page type's class when what was read fits it, else a class of
        what was read (references below `levels` show as stored)."""
        if len(field.page_types) == 1:
            (page_type,) = field.page_types
            known = self._shapes.get(("page", page_type))
            if known is not None and fits(field.nested, known):
                return f"Page[{self.top['page', page_type]}]"
        nested = self._name(f"{owner}{pascal(key)}Page")
        label = f"Referenced page of `{key}` of {owner}"
        return f"Page[{self._object(nested, label, field.nested or ObjectShape())}]"

    def _item(self, owner: str, key: str, field: FieldShape) -> str:
        """The class of the collection whose items fit what was read, else a class of it."""
        for (kind, name), shape in self._shapes.items():
            if kind == "collection" and fits(field.nested, shape):
                return self.top[kind, name]
        nested = self._name(f"{owner}{pascal(key)}Ref")
        return self._object(
            nested, f"Referenced item of `{key}` of {owner}", field.nested or ObjectShape()
        )

    def _picker(self, owner: str, key: str, field: FieldShape) -> str:
        members = []
        for kind in sorted(field.picks):
            member = self._name(f"{owner}{pascal(key)}{pascal(kind)}")
            fields = self._object(
                self._name(f"{member}Fields"),
                f"Component `{kind}` picked in `{key}` of {owner}",
                field.picks[kind],
            )
            doc = f"Component `{kind}` of the picker `{key}` of {owner}, tagged by `type`."
            tagged = (
                FieldSpec("type", "type", f"Literal[{quoted(kind)}]", False, default=quoted(kind)),
                FieldSpec("fields", "fields", fields, False),
            )
            self.classes.append(ClassSpec(member, doc, tagged))
            members.append(member)
        return " | ".join(members) if members else "dict[str, Any]"


def _scalar(kinds: set[str]) -> str:
    """A field of plain values: the narrowest type every value fits."""
    if not kinds:
        return "object"
    if kinds <= {"media", "media_alt", "empty_text"} and kinds & {"media", "media_alt"}:
        return "str | Media"
    if kinds == {"bool"}:
        return "bool"
    if kinds == {"int"}:
        return "int"
    if kinds <= {"int", "float"}:
        return "float"
    if kinds == {"date"}:
        return "datetime"
    if kinds <= {"text", "date", "empty_text", "media", "int", "float"}:
        return "str"
    if kinds == {"text_list"}:
        return "list[str]"
    if kinds == {"list"}:
        return "list[Any]"
    return "object"


def render(specs: list[ClassSpec], types: Mapping[tuple[str, str], str], header: str) -> str:
    """The module: a header, the classes, and `Content` giving typed access to each type."""
    factory = {"page": "PageType", "single": "SinglePage", "collection": "CollectionType"}
    access, taken = [], set()
    for (kind, name), cls in sorted(types.items()):
        attribute = identifier(name)
        while attribute in taken:  # a collection named as a page type: `recipe_`
            attribute += "_"
        taken.add(attribute)
        line = f"        self.{attribute} = {factory[kind]}(butter, {quoted(name)}, {cls})"
        if len(line) > _WIDTH:
            line = (
                f"        self.{attribute} = {factory[kind]}(\n"
                f"            butter, {quoted(name)}, {cls}\n        )"
            )
        access.append(line)
    used = set(_used_names(specs)) | {factory[kind] for kind, _ in types}
    typing_names = sorted(used & {"Any", "Literal"})
    sdk_names = sorted(used & {"CollectionItem", "Media", "Page"} | {"ButterClient"})
    typed_names = sorted(used & set(factory.values()))
    lines = [header, "", "from __future__ import annotations", ""]
    if "datetime" in used:
        lines.append("from datetime import datetime")
    if typing_names:
        lines.append(f"from typing import {', '.join(typing_names)}")
    lines += ["", "import attrs", f"from butter_async import {', '.join(sdk_names)}"]
    if typed_names:
        lines.append(f"from butter_async.typed import {', '.join(typed_names)}")
    lines += ["", ""]
    lines += ["\n\n\n".join(_render_class(spec) for spec in specs), "", ""]
    lines += [
        "class Content:",
        '    """Typed reads and writes of every page type, single page and collection above."""',
        "",
        "    def __init__(self, butter: ButterClient) -> None:",
        *(access or ["        del butter"]),
        "",
    ]
    return "\n".join(lines)


def _used_names(specs: list[ClassSpec]) -> Iterable[str]:
    for spec in specs:
        for field in spec.fields:
            yield from re.findall(r"[A-Za-z_]+", field.annotation)


def _render_class(spec: ClassSpec) -> str:
    lines = ["@attrs.frozen(kw_only=True)", f"class {spec.name}:", *_docstring(spec.doc)]
    if spec.fields:
        lines.append("")
    for field in spec.fields:
        lines += _render_field(field)
    return "\n".join(lines)


def _render_field(field: FieldSpec) -> list[str]:
    annotation = f"{field.annotation} | None" if field.optional else field.annotation
    default = "None" if field.optional else field.default
    if field.name == field.key:
        value = f" = {default}" if default is not None else ""
        line = f"    {field.name}: {annotation}{value}"
        if len(line) <= _WIDTH:
            return [line]
        return [f"    {field.name}: (", f"        {annotation}", f"    ){value}"]
    options = [f"default={default}"] if default is not None else []
    options.append(f"metadata={{{quoted(KEY)}: {quoted(field.key)}}}")
    line = f"    {field.name}: {annotation} = attrs.field({', '.join(options)})"
    if len(line) <= _WIDTH:
        return [line]
    return [
        f"    {field.name}: {annotation} = attrs.field(",
        *(f"        {option}," for option in options),
        "    )",
    ]


_WIDTH = 88


def _docstring(text: str) -> list[str]:
    lines, line = [], '    """'
    for word in text.split():
        if len(line) + len(word) + 4 > _WIDTH and line.strip('" '):
            lines.append(line.rstrip())
            line = "    "
        line += word + " "
    lines.append(line.rstrip() + '"""')
    return lines
