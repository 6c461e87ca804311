"""The seams between packages hold: one settings map, documented; no environment reads elsewhere; no import guards.

These are static checks over the source tree (AST, no imports of the checked modules), so they run in a second.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from adscreen.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("adscreen", "crawler", "store", "worker", "keywords", "classifier", "scoring", "review", "demo_site")
SETTINGS_MODULE = ROOT / "adscreen" / "settings.py"


def _package_files() -> Iterator[Path]:
    for pkg in PACKAGES:
        yield from sorted((ROOT / pkg).rglob("*.py"))


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _config_table_variables() -> list[str]:
    """The ``ADSCREEN_*`` names in the first column of the README's configuration table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        if line.startswith("|"):
            first = line.split("|")[1]
            names += re.findall(r"`(ADSCREEN_[A-Z0-9_]+)`", first)
    return names


def test_every_setting_is_in_the_readme_table_and_nothing_else():
    documented = _config_table_variables()
    fields = {f"ADSCREEN_{name.upper()}" for name in Settings.model_fields}
    assert len(documented) == len(set(documented)), f"listed twice: {sorted(documented)}"
    assert sorted(fields - set(documented)) == [], "Settings fields missing from the README configuration table"
    assert sorted(set(documented) - fields) == [], "README configuration table lists variables Settings lacks"


def test_the_table_check_sees_the_table():
    # guards the test above against a parser that silently finds nothing
    names = _config_table_variables()
    assert "ADSCREEN_DATABASE_URL" in names and "ADSCREEN_MEDIUM_THRESHOLD" in names and len(names) > 20


def _environment_reads(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "environb", "getenv", "getenvb"}:
            yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in {"environ", "environb", "getenv", "getenvb"}:
                    yield node.lineno, f"from os import {alias.name}"
        elif isinstance(node, ast.Name) and node.id in {"getenv", "environ"}:
            yield node.lineno, node.id


def test_environment_reads_are_found():
    code = "import os\nfrom os import getenv\na = os.environ.get('X')\nb = os.getenv('Y')\nc = dict(os.environ)\n"
    assert sorted(line for line, _ in _environment_reads(ast.parse(code))) == [2, 3, 4, 5]


def test_only_settings_reads_the_environment():
    offenders = [
        f"{_rel(path)}:{line}: {what}"
        for path in _package_files()
        if path != SETTINGS_MODULE
        for line, what in _environment_reads(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == [], "read these through adscreen.settings.Settings and pass the values down:\n" + "\n".join(
        offenders
    )


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        isinstance(k, ast.Name | ast.Attribute)
        and (k.id if isinstance(k, ast.Name) else k.attr) in {"ImportError", "ModuleNotFoundError"}
        for k in kinds
        if k is not None
    )


def _imports_own_package(body: list[ast.stmt]) -> bool:
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] in PACKAGES for a in node.names):
                return True
            if isinstance(node, ast.ImportFrom) and (
                node.level > 0 or (node.module or "").split(".")[0] in PACKAGES
            ):
                return True
    return False


def _import_guards(tree: ast.AST) -> Iterator[int]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and _imports_own_package(node.body):
            if any(_catches_import_error(h) for h in node.handlers):
                yield node.lineno


@pytest.mark.parametrize(
    ("code", "guarded"),
    [
        ("try:\n    from keywords.cli import app\nexcept ImportError:\n    app = None\n", True),
        ("try:\n    import review.app\nexcept (ValueError, ModuleNotFoundError):\n    pass\n", True),
        ("try:\n    from .lexicon import X\nexcept ImportError:\n    X = None\n", True),
        ("try:\n    import orjson\nexcept ImportError:\n    orjson = None\n", False),
        ("try:\n    from store.db import upgrade\nexcept ValueError:\n    pass\n", False),
    ],
)
def test_import_guards_are_found(code, guarded):
    assert bool(list(_import_guards(ast.parse(code)))) is guarded


def test_no_import_guard_around_our_own_packages():
    offenders = [
        f"{_rel(path)}:{line}"
        for path in _package_files()
        for line in _import_guards(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == [], "import this repository's packages directly (a broken import must fail loudly):\n" + (
        "\n".join(offenders)
    )
