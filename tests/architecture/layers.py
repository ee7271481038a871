"""The import arrows DESIGN.md draws, as data, and a checker that reads them off the source tree.

Every Python file under the source root is parsed with ``ast`` (nothing is imported or run), and
every import in it is resolved to a module name: relative ones, those inside functions or under
``if TYPE_CHECKING:``, ``importlib.import_module("...")`` with a literal name, and ``"module:attr"``
strings naming one of our modules (how uvicorn and the library's topics load code by name). Each is
then held against ``RULES``.

The layers are the top-level packages. When code moves, edit the constants below, not the checker:
``ENTRY_POINTS`` are the composition root's modules that alone may wire an adapter in, and
``API_MAY_USE`` is what an adapter may take from ``funding_engine``.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[2]

DOMAIN = "domain"
PROJECTIONS = "projections"
COMPOSITION_ROOT = "funding_engine"
ADAPTERS = ("api", "web")
TOOLS = ("bench", "tests")
PRODUCT = (DOMAIN, PROJECTIONS, COMPOSITION_ROOT, *ADAPTERS)
OUR_PACKAGES = (*PRODUCT, *TOOLS)

# The composition root's entry points: the only product code that imports an adapter.
ENTRY_POINTS = (
    "funding_engine.cli",
    "funding_engine.server",
    "funding_engine.dev_mode",
    "funding_engine.demo",
)

# How an entry point wires an adapter in: its app factory and the HTTP server's protocol, never its
# internals (tokens are issued by funding_engine.tokens, not borrowed from api.auth).
ADAPTER_WIRING = (
    "api.app",
    "api.http_protocol",
    "web.app",
)

# What an adapter may use of the composition root: the application layer, its settings and tokens.
API_MAY_USE = (
    "funding_engine.application",
    "funding_engine.settings",
    "funding_engine.tokens",
)

# Besides the standard library, the one library module the domain stands on.
DOMAIN_MAY_USE = ("eventsourcing.domain",)


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    """Is ``module`` one of ``prefixes`` or inside one of them?"""
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def top(module: str) -> str:
    return module.split(".", 1)[0]


def is_standard_library(module: str) -> bool:
    return top(module) in sys.stdlib_module_names


def ours(module: str) -> bool:
    return top(module) in OUR_PACKAGES


@dataclass(frozen=True)
class Rule:
    """One arrow that must not exist: from any module in ``importers`` (less ``exempt``) to a module
    for which ``forbids`` is true."""

    text: str
    importers: tuple[str, ...]
    forbids: Callable[[str], bool]
    exempt: tuple[str, ...] = ()

    def applies_to(self, importer: str) -> bool:
        return within(importer, self.importers) and not within(importer, self.exempt)


def _adapter_rule(adapter: str, also_never: tuple[str, ...]) -> Rule:
    never = (PROJECTIONS, *also_never)
    return Rule(
        f"{adapter} imports, of ours, only domain and {', '.join(API_MAY_USE)} "
        f"(never {', '.join(never)} or an entry point)",
        (adapter,),
        lambda module: (
            within(module, never) or (within(module, (COMPOSITION_ROOT,)) and not within(module, API_MAY_USE))
        ),
    )


RULES: tuple[Rule, ...] = (
    Rule(
        "domain imports only the standard library and " + ", ".join(DOMAIN_MAY_USE),
        (DOMAIN,),
        lambda module: not (is_standard_library(module) or within(module, (DOMAIN, *DOMAIN_MAY_USE))),
    ),
    Rule(
        "projections imports nothing of ours but domain",
        (PROJECTIONS,),
        lambda module: ours(module) and not within(module, (DOMAIN, PROJECTIONS)),
    ),
    Rule(
        f"funding_engine, outside its entry points ({', '.join(ENTRY_POINTS)}), "
        f"imports no adapter ({', '.join(ADAPTERS)}) and no entry point",
        (COMPOSITION_ROOT,),
        lambda module: within(module, (*ADAPTERS, *ENTRY_POINTS)),
        exempt=ENTRY_POINTS,
    ),
    Rule(
        "an entry point uses an adapter only to wire it in (" + ", ".join(ADAPTER_WIRING) + ")",
        ENTRY_POINTS,
        lambda module: within(module, ADAPTERS) and not within(module, ADAPTER_WIRING),
    ),
    _adapter_rule("api", also_never=("web",)),
    _adapter_rule("web", also_never=("api",)),
    Rule(
        "product code never imports bench",
        PRODUCT,
        lambda module: within(module, ("bench",)),
    ),
    Rule(
        "nothing but tests imports tests",
        (*PRODUCT, "bench"),
        lambda module: within(module, ("tests",)),
    ),
)


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    importer: str
    imported: str


@dataclass(frozen=True)
class Violation:
    found: Import
    rule: Rule

    def __str__(self) -> str:
        found = self.found
        return f"{found.path}:{found.line}: {found.importer} imports {found.imported}: {self.rule.text}"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path) -> Iterator[Path]:
    for package in OUR_PACKAGES:
        if (root / package).is_dir():
            yield from sorted((root / package).rglob("*.py"))


_BY_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):[A-Za-z_][A-Za-z0-9_.]*\Z")
_IMPORTERS_BY_NAME = ("import_module", "__import__")


def imports_in(root: Path, path: Path, modules: frozenset[str]) -> Iterator[Import]:
    """Every import in one file, resolved to absolute module names."""
    importer = module_name(root, path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, importer, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                # ``from package import module`` names the module; ``from module import name`` the module.
                named = candidate if alias.name != "*" and (candidate in modules or not ours(base)) else base
                yield Import(path, node.lineno, importer, named)
        elif isinstance(node, ast.Call) and _called_name(node.func) in _IMPORTERS_BY_NAME:
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield Import(path, node.lineno, importer, node.args[0].value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _BY_NAME.match(node.value)
            if match and ours(match.group(1)):
                yield Import(path, node.lineno, importer, match.group(1))


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def all_imports(root: Path = SOURCE_ROOT) -> list[Import]:
    files = list(source_files(root))
    modules = frozenset(module_name(root, path) for path in files)
    return [found for path in files for found in imports_in(root, path, modules)]


def violations(root: Path = SOURCE_ROOT, rules: tuple[Rule, ...] = RULES) -> list[Violation]:
    """Every import in the tree that breaks a rule, each with the rule it breaks (once per line)."""
    found = {
        Violation(replace(found, path=found.path.relative_to(root)), rule): None
        for found in all_imports(root)
        for rule in rules
        if rule.applies_to(found.importer) and rule.forbids(found.imported)
    }
    return sorted(found, key=lambda violation: (str(violation.found.path), violation.found.line))
