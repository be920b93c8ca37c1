"""The core's layout is its architecture: the imports of each part are read with `ast` and checked.

- `servicing.rules` is pure: no database, web or bot library, no store, no use case, no demo.
- `servicing.store` knows rules, not use cases or the demo.
- No use case imports the demo, and nothing in the core imports the bot or the console.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "servicing"
WEB_AND_BOT = ("sqlalchemy", "alembic", "flask", "flask_login", "flask_wtf", "flask_babel", "werkzeug", "aiogram",
               "twilio", "psycopg", "bot", "console", "loanline")  # fmt: skip
ALLOWED_IN_RULES = ("servicing.rules", "servicing.errors")


def modules_of(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line, module) for every import in a file, at any depth (a function's local import counts)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                package = path.relative_to(CORE.parent).with_suffix("").parts[: -node.level]
                base = ".".join(package)
                yield node.lineno, f"{base}.{node.module}" if node.module else base
            elif node.module == "servicing":  # `from servicing import cases` names a module
                for alias in node.names:
                    yield node.lineno, f"servicing.{alias.name}"
            elif node.module:
                yield node.lineno, node.module


def is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def rule_breaker(module: str) -> bool:
    """Tell whether a rules module may not import `module`."""
    if is_under(module, "servicing"):
        return not any(is_under(module, allowed) for allowed in ALLOWED_IN_RULES)
    return any(is_under(module, library) for library in WEB_AND_BOT)


def name(path: Path) -> str:
    return str(path.relative_to(CORE.parent))


@pytest.mark.parametrize("path", modules_of(CORE / "rules"), ids=name)
def test_a_rules_module_imports_no_database_web_bot_store_use_case_or_demo(path: Path) -> None:
    offending = [f"line {line}: {module}" for line, module in imported_modules(path) if rule_breaker(module)]
    assert offending == []


@pytest.mark.parametrize("path", modules_of(CORE / "store"), ids=name)
def test_a_store_module_imports_rules_but_no_use_case_demo_or_web_library(path: Path) -> None:
    offending = [
        f"line {line}: {module}"
        for line, module in imported_modules(path)
        if (
            is_under(module, "servicing")
            and not any(is_under(module, ok) for ok in (*ALLOWED_IN_RULES, "servicing.store"))
        )
        or any(is_under(module, library) for library in ("flask", "aiogram", "twilio", "bot", "console", "loanline"))
    ]
    assert offending == []


@pytest.mark.parametrize(
    "path",
    [
        *sorted(CORE.glob("*.py")),
        *(path for package in ("documents", "outreach", "ach") for path in modules_of(CORE / package)),
    ],
    ids=name,
)
def test_a_use_case_imports_neither_the_demo_nor_the_bot_or_console(path: Path) -> None:
    offending = [
        f"line {line}: {module}"
        for line, module in imported_modules(path)
        if any(
            is_under(module, banned) for banned in ("servicing.demo", "flask", "aiogram", "twilio", "bot", "console")
        )
    ]
    assert offending == []


def test_the_checker_sees_a_database_import_hidden_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "sneaky.py"
    module.write_text("def f():\n    from sqlalchemy.orm import Session\n    import servicing.store.models\n")
    found = [m for _, m in imported_modules(module) if rule_breaker(m)]
    assert found == ["sqlalchemy.orm", "servicing.store.models"]


def test_the_checker_reads_from_servicing_import_as_a_module() -> None:
    assert rule_breaker("servicing.cases")
    assert rule_breaker("servicing.demo.portfolio")
    assert not rule_breaker("servicing.rules.money")
    assert not rule_breaker("servicing.errors")
    assert not rule_breaker("babel.numbers")


def test_the_core_top_level_holds_the_use_cases_and_at_most_25_modules() -> None:
    top = sorted(p.name for p in CORE.glob("*.py"))
    assert len(top) <= 25, top
    assert {"rules", "store", "demo"} <= {p.name for p in CORE.iterdir() if p.is_dir()}
    assert not [p for p in top if p.startswith("demo")]
