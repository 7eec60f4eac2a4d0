"""Every package the code imports is declared: a package that only arrives as another's dependency
(qrcode through django-allauth[mfa]) disappears when that one changes its own."""

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".venv", "node_modules", "staticfiles", "var", "locale", "locale_allauth", ".git"}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(*files: str) -> set[str]:
    names = set()
    for file in files:
        for line in (ROOT / file).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                names.add(_normalize(re.split(r"[\[=<>!~; ]", line, maxsplit=1)[0]))
    return names


def _top_level_imports(paths) -> dict[str, str]:
    """{top-level module: first file importing it} for absolute imports anywhere in the files."""
    found = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                found.setdefault(module.split(".")[0], str(path.relative_to(ROOT)))
    return found


def _python_files(include_tests: bool):
    for path in ROOT.rglob("*.py"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & SKIP_DIRS or ("tests" in parts) != include_tests:
            continue
        yield path


def _undeclared(paths, declared: set[str]) -> list[str]:
    local = {p.name for p in ROOT.iterdir() if p.is_dir() or p.suffix == ".py"} | {"manage"}
    distributions = packages_distributions()
    missing = []
    for module, where in sorted(_top_level_imports(paths).items()):
        if module in sys.stdlib_module_names or module in local or module == "__future__":
            continue
        provided_by = {_normalize(d) for d in distributions.get(module, [])}
        if not provided_by:
            missing.append(f"{module} (imported in {where}) is not installed")
        elif not provided_by & declared:
            missing.append(f"{module} (imported in {where}) comes from {', '.join(sorted(provided_by))}, not in the requirements")
    return missing


def test_every_package_the_project_imports_is_in_requirements_txt():
    assert _undeclared(_python_files(include_tests=False), _declared("requirements.txt")) == []


def test_every_package_the_tests_import_is_in_a_requirements_file():
    assert _undeclared(_python_files(include_tests=True), _declared("requirements.txt", "requirements-dev.txt")) == []
