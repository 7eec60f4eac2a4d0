"""Every row lock in the project says how strong it is.

`select_for_update()` alone is FOR UPDATE, which also blocks every foreign-key check on the row
(FOR KEY SHARE): two writers that each insert a row pointing at the other's locked row deadlock.
Each call must choose: `no_key=True` (FOR NO KEY UPDATE, the usual choice: no key changes) or
`no_key=False` (FOR UPDATE, only where the row is deleted or its key changes). And a lock through
`select_related` must name its table with `of=`, or it locks the joined rows as well."""

import ast
from pathlib import Path

from django.conf import settings

SKIP = {".venv", "migrations", "node_modules", ".git", "var", "static", "locale", "locale_allauth"}


def project_files():
    root = Path(settings.BASE_DIR)
    for path in sorted(root.rglob("*.py")):
        if not SKIP.intersection(path.relative_to(root).parts):
            yield root, path


def lock_calls():
    for root, path in project_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "select_for_update":
                yield f"{path.relative_to(root)}:{node.lineno}", node, tree


def _receivers(call: ast.Call):
    """The calls a method chain makes before this one: a.b().c() -> c's receivers are b()."""
    inner = call.func.value if isinstance(call.func, ast.Attribute) else None
    while isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
        yield inner
        inner = inner.func.value


def _chain_has(node: ast.Call, tree: ast.AST, name: str) -> bool:
    """Whether `name` (e.g. select_related) is called in the same method chain as the lock, before or after it."""
    if any(call.func.attr == name for call in _receivers(node)):
        return True
    return any(
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == name
        and any(receiver is node for receiver in _receivers(call))
        for call in ast.walk(tree)
    )


def test_the_scan_finds_the_locks():
    assert sum(1 for _ in lock_calls()) >= 25  # a scan that found nothing would pass anything
    for source, joined in [
        ("X.objects.select_for_update(no_key=True).select_related('a').get(pk=1)", True),
        ("X.objects.select_related('a').select_for_update(no_key=True).get(pk=1)", True),
        ("X.objects.select_for_update(no_key=True).filter(pk=1).first()", False),
    ]:
        tree = ast.parse(source)
        call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.func.attr == "select_for_update")
        assert _chain_has(call, tree, "select_related") is joined, source


def test_every_select_for_update_states_its_lock_strength():
    missing = [where for where, node, _tree in lock_calls() if "no_key" not in {k.arg for k in node.keywords}]
    assert missing == []


def test_a_lock_through_select_related_names_its_own_table():
    missing = [
        where
        for where, node, tree in lock_calls()
        if _chain_has(node, tree, "select_related") and "of" not in {k.arg for k in node.keywords}
    ]
    assert missing == []
