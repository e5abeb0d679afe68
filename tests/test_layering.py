"""The house's layering, read from the source: programs and the engine are pure, and the kernel
(`registry/`) names the domain (`screenings`) only where the application is wired together."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = ("screenings/programs", "screenings/engine")
FRAMEWORKS = ("flask", "flask_babel", "flask_wtf", "flask_migrate", "sqlalchemy", "werkzeug", "wtforms")
# Where the kernel may name screenings: create_app() (registry/__init__.py) and the one schedule.
WIRING = {"registry/__init__.py": {"create_app", "_register_blueprints", "_connect_screenings"}}
WIRING_MODULES = {"registry/cron.py"}
# Merge participation is a registered hook (registry.people.merge.participants): no kernel module names a
# screenings table any more.
ALLOWED_NAMES: set[str] = set()


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imported(tree: ast.AST):
    """Yield (top-level module name, enclosing function names) for every import in a module."""

    def walk(node, functions):
        for child in ast.iter_child_nodes(node):
            inner = functions
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = (*functions, child.name)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, inner
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                yield child.module, inner
            yield from walk(child, inner)

    yield from walk(tree, ())


@pytest.mark.parametrize("path", [p for folder in PURE for p in modules(folder)], ids=str)
def test_programs_and_the_engine_import_no_framework(path):
    tree = ast.parse(path.read_text(), str(path))
    bad = [name for name, _ in imported(tree) if name.split(".")[0] in FRAMEWORKS]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", modules("registry"), ids=str)
def test_the_kernel_imports_screenings_only_where_the_app_is_wired(path):
    relative = str(path.relative_to(ROOT))
    if relative in WIRING_MODULES:
        return
    tree = ast.parse(path.read_text(), str(path))
    allowed = WIRING.get(relative, set())
    bad = [
        (name, functions)
        for name, functions in imported(tree)
        if name.split(".")[0] == "screenings" and not (functions and functions[0] in allowed)
    ]
    assert not bad, f"{relative} imports {bad}"


@pytest.mark.parametrize("path", modules("registry"), ids=str)
def test_the_kernel_names_no_screenings_table(path):
    relative = str(path.relative_to(ROOT))
    if relative in ALLOWED_NAMES:
        return
    tree = ast.parse(path.read_text(), str(path))
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    named = [s for s in strings if "follow_up_case" in s or "screening_result" in s]
    assert not named, f"{relative} names {named}"
