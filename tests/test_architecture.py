"""Dependency arrows point one way (DESIGN.md): a walk over the imports keeps it so."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"fediverse_intranet", "activitypub", "inbox", "outbox", "web"}
ALLOWED = {
    "activitypub": set(),
    "fediverse_intranet": {"fediverse_intranet", "web", "outbox", "inbox", "activitypub"},
    "inbox": {"inbox", "activitypub", "fediverse_intranet"},
    "outbox": {"outbox", "activitypub", "fediverse_intranet"},
    "web": {"web", "fediverse_intranet"},
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


def test_imports_follow_the_layers():
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in (ROOT / package).rglob("*.py"):
            for target in imported_packages(path) - allowed:
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert wrong == []


def test_domain_services_do_not_import_the_web():
    for path in (ROOT / "fediverse_intranet" / "services").rglob("*.py"):
        assert "web" not in imported_packages(path), path
    for path in (ROOT / "fediverse_intranet" / "models").rglob("*.py"):
        assert imported_packages(path) <= {"fediverse_intranet"}, path
