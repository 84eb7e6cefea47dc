"""Dependency arrows point one way (DESIGN.md): a walk over the imports keeps it so.

Each module belongs to one layer (the longest prefix in :data:`LAYERS`), and each layer may
import only the layers :data:`ALLOWED` names. Every import counts: at module level, inside a
function, and by name through ``importlib.import_module("...")`` or ``__import__("...")``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("activitypub", "fediverse_intranet", "inbox", "outbox", "web")

# Module prefix -> layer; the longest matching prefix wins.
LAYERS = {
    "activitypub": "protocol",
    "fediverse_intranet": "core",  # settings, instance, errors, content, images, db, urls
    "fediverse_intranet.models": "models",
    "fediverse_intranet.services": "services",
    # The composition root: the only code that wires every layer.
    "fediverse_intranet.app": "root",
    "fediverse_intranet.cli": "root",
    "fediverse_intranet.background": "root",
    "fediverse_intranet.composition": "root",
    "inbox": "inbox",
    "outbox": "outbox",
    "web": "web",
}
DOMAIN = {"core", "models", "services"}
ALLOWED = {
    "protocol": {"protocol"},  # key lookup and fetching are passed in as callables
    "core": {"core", "models", "protocol"},  # settings read CIDR lists with activitypub
    "models": {"models", "core"},
    "services": {"services", "models", "core", "protocol"},
    "inbox": {"inbox", "protocol", *DOMAIN},
    "outbox": {"outbox", "protocol", *DOMAIN},
    "web": {"web", *DOMAIN},
    "root": {"root", "protocol", "inbox", "outbox", "web", *DOMAIN},
}


def layer_of(module: str) -> str | None:
    """The layer of a dotted module name, or None when it is not ours."""
    best = None
    for prefix in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best)
        ):
            best = prefix
    return LAYERS[best] if best is not None else None


def _string_import(node: ast.Call) -> str | None:
    """``importlib.import_module("x")``, ``import_module("x")``, ``__import__("x")``."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return "<computed>"  # a name nobody can check is refused


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module of ours that ``source`` (the text of ``module``) imports, anywhere."""
    package = module if is_package else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found |= {f"{base}.{alias.name}" for alias in node.names} if base else set()
        elif isinstance(node, ast.Call):
            target = _string_import(node)
            if target is not None:
                found.add(target)
    return {m for m in found if m == "<computed>" or layer_of(m) is not None}


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """What ``module`` (with text ``source``) imports that its layer may not."""
    layer = layer_of(module)
    assert layer is not None, module
    wrong = []
    for target in sorted(imported_modules(source, module, is_package)):
        if target == "<computed>":
            wrong.append(f"{module} imports a module by a computed name")
            continue
        target_layer = layer_of(target)
        if target_layer not in ALLOWED[layer]:
            wrong.append(f"{module} ({layer}) imports {target} ({target_layer})")
    return wrong


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_imports_follow_the_layers() -> None:
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            is_package = path.name == "__init__.py"
            wrong += violations(path.read_text(), module_name(path), is_package)
    assert wrong == []


def test_the_layers_are_the_packages() -> None:
    """Every package of ours has a layer, and the root is exactly the four files named."""
    assert {layer_of(p) for p in PACKAGES} <= set(ALLOWED)
    root = {m for m in LAYERS if LAYERS[m] == "root"}
    for module in root:
        assert (ROOT / (module.replace(".", "/") + ".py")).exists(), module


BAD_SERVICE = """
from fediverse_intranet.models import Post

async def publish(post: Post) -> dict:
    from outbox import documents  # at call time, to dodge the cycle
    return await documents.create_document(post)
"""


def test_the_checker_rejects_a_service_that_imports_the_outbox() -> None:
    assert violations(BAD_SERVICE, "fediverse_intranet.services.example") == [
        "fediverse_intranet.services.example (services) imports outbox.documents (outbox)"
    ]


def test_the_checker_rejects_imports_by_name() -> None:
    source = (
        "import importlib\n"
        "def web():\n"
        "    return importlib.import_module('web.context')\n"
        "inbox = __import__('inbox.processor')\n"
        "def anything(name):\n"
        "    return importlib.import_module(name)\n"
    )
    assert violations(source, "fediverse_intranet.models.example") == [
        "fediverse_intranet.models.example imports a module by a computed name",
        "fediverse_intranet.models.example (models) imports inbox.processor (inbox)",
        "fediverse_intranet.models.example (models) imports web.context (web)",
    ]


def test_the_checker_rejects_models_importing_services_and_relative_imports() -> None:
    source = "from ..services import posts\nfrom . import accounts\n"
    assert violations(source, "fediverse_intranet.models.example") == [
        "fediverse_intranet.models.example (models) imports fediverse_intranet.services.posts"
        " (services)"
    ]


def test_the_checker_lets_the_composition_root_wire_every_layer() -> None:
    source = "from outbox import documents\nfrom inbox import routes\nfrom web import errors\n"
    assert violations(source, "fediverse_intranet.composition") == []
    assert violations(source, "fediverse_intranet.settings") != []
    assert violations("from fediverse_intranet.app import create_app\n", "web.routes.x") != []


def _names_base(value: ast.expr) -> bool:
    """``x.base_url``, ``base_url()`` or ``x.base_url()``: the start of every URL of ours."""
    if isinstance(value, ast.Call):
        value = value.func
    name = value.attr if isinstance(value, ast.Attribute) else getattr(value, "id", None)
    return name == "base_url"


def ids_made_here(source: str) -> list[int]:
    """Lines that make an id or URL of ours from an actor's or post's ``uri`` or from the
    base URL (``f"{x.uri}#..."``, ``f"{x.uri}/..."``, ``f"{base_url()}/..."``): a shape
    peers store or people are sent, so it belongs in ``urls.py``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr) and len(node.values) >= 2:
            first, second = node.values[0], node.values[1]
            if not isinstance(first, ast.FormattedValue):
                continue
            is_uri = isinstance(first.value, ast.Attribute) and first.value.attr == "uri"
            is_base = _names_base(first.value)
            if (is_uri or is_base) and (
                (isinstance(second, ast.Constant) and str(second.value)[:1] in ("#", "/"))
                or (is_base and isinstance(second, ast.FormattedValue))
            ):
                found.append(node.lineno)
    return found


def test_ids_of_ours_are_made_in_one_module() -> None:
    wrong = []
    for package in ("fediverse_intranet", "inbox", "outbox", "web"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "fediverse_intranet" / "urls.py":
                continue
            wrong += [f"{path.relative_to(ROOT)}:{n}" for n in ids_made_here(path.read_text())]
    assert wrong == []
    assert ids_made_here('x = f"{post.uri}#lock/{stamp}"\n') == [1]
    assert ids_made_here('x = f"{instance.current().base_url}/actor"\n') == [1]
    assert ids_made_here('x = f"{urls.base_url()}{PATH}"\n') == [1]
    assert ids_made_here('x = f"{base_url}{PATH_21}"\ny = f"{name}/x"\n') == [1]
