"""The table of profile keys in ``crawler/README.md``, generated from the profile models (``store.sources``).

    python -m crawler.profile_docs            # print the table
    python -m crawler.profile_docs --write    # replace the table in crawler/README.md

A test compares the README's table with this output, so the documentation cannot drift from the schema.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from store.sources import HtmlProfile, JsonApiProfile

README = Path(__file__).with_name("README.md")
START, END = "<!-- profile-keys:start -->", "<!-- profile-keys:end -->"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        inner = " or ".join(_type_name(a) for a in args)
        return inner if len(args) == len(typing.get_args(annotation)) else f"{inner}, optional"
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is typing.Literal:
        return " or ".join(f"`{a}`" for a in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return {str: "text", int: "integer", float: "number", bool: "true/false"}.get(annotation, str(annotation))


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if isinstance(value, BaseModel):  # a mapping whose keys all have defaults
        return "`{}`"
    if value is PydanticUndefined:
        return "required"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str]]:
    rows = []
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        sub = _submodel(field.annotation)
        rows.append((key, _type_name(field.annotation), _default(field), field.description or ""))
        if sub is not None:
            rows += _rows(sub, key + ".")
    return rows


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def profile_table() -> str:
    """Markdown table of every profile key: which kind it applies to, its type, default and meaning."""
    html = {row[0]: row for row in _rows(HtmlProfile)}
    api = {row[0]: row for row in _rows(JsonApiProfile)}
    order = ["kind", "name"] + [k for k in html if k not in ("kind", "name")]
    order += [k for k in api if k not in html]
    lines = ["| key | kinds | type | default | meaning |", "|---|---|---|---|---|"]
    for key in order:
        row = html.get(key) or api[key]
        kinds = "both" if key in html and key in api else ("html" if key in html else "json_api")
        _, type_name, default, meaning = row
        if key == "kind":
            type_name = "`html` or `json_api`"
            meaning = f"{meaning}; {api[key][3]}"
        lines.append(f"| `{key}` | {kinds} | {type_name} | {default} | {meaning.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def readme_table(text: str) -> str:
    """The table between the markers of a README text."""
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def write_readme(path: Path = README) -> None:
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{START}\n{profile_table()}{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.profile_docs", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"replace the table in {README}")
    args = parser.parse_args(argv)
    if args.write:
        write_readme()
    else:
        sys.stdout.write(profile_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
