"""The import graph, read from the source: every arrow between modules must be one the architecture
allows (docs/architecture.md, "Layers").

Every `import` and `from ... import` anywhere in a module counts, lazy ones inside functions and
`if TYPE_CHECKING:` blocks included (a lazy import is still a dependency, only a later one), and so
does `importlib.import_module("literal")`. Relative imports are resolved to absolute module names.

The rules, which this table and the constants below encode:

    (a) semsearch/ (the core) imports no edge (`services`) and none of the edges' frameworks:
        fastapi, starlette, uvicorn, slack_bolt, slack_sdk, click, mcp, prometheus_client,
        fastapi_offline, ray.serve.
    (b) services.<name> packages are edges (cli, api, slack, and any future one) except the
        composition layer (services.launch, services.main, services.server). An edge imports the core and its own
        package, never another edge and never the composition layer.
    (c) Inside the core, arrows point down and never up:

        layer  part of semsearch/                  may import (besides itself)
        -----  ----------------------------------  --------------------------------------------
          0    errors, records, links, version,    base
               wire (base)
          1    reading, embedders                  base (reading and embedders are one layer)
          2    index                               layers 0-1
          3    ranking, filters, query_syntax      layers 0-2 (and each other)
          4    search                              layers 0-3
          5    live                                layers 0-4
          6    wiring                              layers 0-5, indexing (it builds the bundled
                                                   notes on first use) and settings
          -    indexing                            base, reading, embedders, index
          -    settings                            base, reading, embedders, index, ranking
                                                   (it imports their defaults and types)
          -    evaluation                          anything in the core
          -    semsearch/__init__.py               anything in the core: the public facade, exempt

        So settings are read only by the edges, `wiring` and `evaluation`, and indexing is used
        only by them too. No part of the core imports the facade `semsearch` itself (it imports
        `live` and `search`, so that would be an arrow up).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import semsearch

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("semsearch", "services")

# (a) what the core never imports: the edges and their frameworks (a prefix matches submodules too)
EDGE_FRAMEWORKS = ("fastapi", "starlette", "uvicorn", "slack_bolt", "slack_sdk", "click", "mcp",
                   "prometheus_client", "fastapi_offline", "ray.serve")
CORE_FORBIDDEN = ("services", *EDGE_FRAMEWORKS)

# (b) the composition layer: the only part of services/ that may import more than one edge
COMPOSITION = ("services.launch", "services.main", "services.server")

# (c) the core's layers: part of semsearch/ -> what it may import (besides itself)
BASE = frozenset({"errors", "records", "links", "version", "wire"})
LAYER = {
    **dict.fromkeys(BASE, 0),
    "reading": 1,
    "embedders": 1,
    "index": 2,
    "ranking": 3,
    "filters": 3,
    "query_syntax": 3,
    "search": 4,
    "live": 5,
    "wiring": 6,
}
EVERYTHING = "*"
ALLOWED: dict[str, frozenset[str]] = {
    **{part: frozenset(p for p, level in LAYER.items() if level <= LAYER[part]) for part in LAYER},
    "indexing": BASE | {"indexing", "reading", "embedders", "index"},
    "settings": BASE | {"settings", "reading", "embedders", "index", "ranking"},
    "evaluation": frozenset({EVERYTHING}),
    "": frozenset({EVERYTHING}),  # semsearch/__init__.py, the public facade
}
ALLOWED["wiring"] |= {"settings", "indexing"}

# What `ask`'s cold start (and the rest of the core at import time) must not load.
HEAVY = ("fastapi", "uvicorn", "slack_bolt", "torch", "sentence_transformers", "ray")


@dataclass(frozen=True, order=True)
class Arrow:
    """`source` imports `target` at `line` of the source's file."""

    source: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}  (line {self.line})"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str | None, level: int, importer: str, is_package: bool) -> str:
    """The absolute name of `from <level dots><module> import ...` written in `importer`."""
    if level == 0:
        return module or ""
    package = importer if is_package else importer.rpartition(".")[0]
    parts = package.split(".")
    if level - 1 > len(parts) - 1:
        raise ValueError(f"relative import beyond the top-level package in {importer}")
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{module}" if module else base


def imports_of(source: str, importer: str, *, is_package: bool = False,
               local: frozenset[str] = frozenset()) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in `source`, wherever it is in the module.

    `from X import name` names module `X.name` when that is one of the `local` modules; for a
    module outside the repository both `X` and `X.name` are yielded, since `name` may be a
    submodule (`from ray import serve`)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, importer, is_package)
            first = base.split(".")[0]
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if candidate in local:
                    yield candidate, node.lineno
                else:
                    yield base, node.lineno
                    if first not in ROOTS and alias.name != "*":
                        yield candidate, node.lineno
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and _is_import_call(node.func)):
            yield node.args[0].value, node.lineno


def _is_import_call(func: ast.expr) -> bool:
    """`importlib.import_module(...)`, `import_module(...)` or `__import__(...)`."""
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in ("import_module", "__import__")


def _files() -> Iterator[tuple[str, Path]]:
    for root in ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            yield module_name(path, REPO), path


def import_graph() -> list[Arrow]:
    """Every arrow from a module of semsearch/ or services/ to what it imports."""
    files = list(_files())
    local = frozenset(name for name, _ in files)
    arrows: set[Arrow] = set()
    for name, path in files:
        source = path.read_text(encoding="utf-8")
        for target, line in imports_of(source, name, is_package=path.name == "__init__.py", local=local):
            if target != name:
                arrows.add(Arrow(name, target, line))
    return sorted(arrows)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def core_part(module: str) -> str:
    """`semsearch.index.vectors` -> `index`; the facade `semsearch` -> ``."""
    return module.split(".")[1] if "." in module else ""


def edge_of(module: str) -> str | None:
    """The edge package a module of services/ belongs to, or None for the composition layer."""
    if module == "services" or any(_within(module, c) for c in COMPOSITION):
        return None
    return ".".join(module.split(".")[:2])


def forbidden(arrow: Arrow) -> str | None:
    """Why `arrow` breaks a rule, or None when it is allowed."""
    source, target = arrow.source, arrow.target
    if _within(source, "semsearch"):
        if bad := next((f for f in CORE_FORBIDDEN if _within(target, f)), None):
            return f"(a) the core imports {bad}"
        if not _within(target, "semsearch"):
            return None
        part, wanted = core_part(source), core_part(target)
        if part not in ALLOWED:
            return f"(c) {part!r} is not in the layer table"
        if target == "semsearch" and part:
            return "(c) a part of the core imports the facade `semsearch`, which imports every layer"
        if wanted not in ALLOWED:
            return f"(c) {wanted!r} is not in the layer table"
        allowed = ALLOWED[part]
        if EVERYTHING in allowed or wanted in allowed or wanted == part:
            return None
        return f"(c) {part} may import only {', '.join(sorted(allowed))}"
    edge = edge_of(source)
    if edge is not None and _within(target, "services") and target != "services" and not _within(target, edge):
        kind = "the composition layer" if edge_of(target) is None else "another edge"
        return f"(b) the edge {edge} imports {kind}"
    return None


def violations(arrows: Iterable[Arrow]) -> list[str]:
    return [f"{arrow}: {why}" for arrow in arrows if (why := forbidden(arrow))]


def test_the_layer_table_covers_every_part_of_the_core() -> None:
    parts = {core_part(name) for name, _ in _files() if _within(name, "semsearch")}
    assert parts <= set(ALLOWED), f"add these to the layer table: {sorted(parts - set(ALLOWED))}"


def test_the_walker_reads_every_module_of_the_core_and_the_edges() -> None:
    sources = {arrow.source for arrow in import_graph()}
    importing = {name for name, path in _files()
                 if re.search(r"^\s*(from|import)\s", path.read_text(encoding="utf-8"), re.MULTILINE)}
    assert len(importing) > 50 and importing <= sources, sorted(importing - sources)


def test_no_forbidden_arrows() -> None:
    found = violations(import_graph())
    assert not found, "forbidden imports (module -> imported module):\n  " + "\n  ".join(found)


# --- the walker itself ------------------------------------------------------------------------------

LAZY_MODULE = '''
from __future__ import annotations

from typing import TYPE_CHECKING

from ..records import Chunk

if TYPE_CHECKING:
    from ..search import Searcher


def rank(chunks: list[Chunk]) -> None:
    from ..live import LiveIndex
    import fastapi

    def inner() -> None:
        from ray import serve
        from . import exact

    return None
'''


def test_the_walker_catches_lazy_type_checking_and_relative_imports() -> None:
    local = frozenset({"semsearch.ranking.exact"})
    seen = set(imports_of(LAZY_MODULE, "semsearch.ranking.fusion", local=local))
    targets = {target for target, _ in seen}
    assert {"semsearch.records", "semsearch.search", "semsearch.live", "fastapi", "ray.serve",
            "semsearch.ranking.exact"} <= targets
    assert ("semsearch.live", 13) in seen  # the import inside the function, at its line
    arrows = [Arrow("semsearch.ranking.fusion", target, line) for target, line in sorted(seen)]
    found = "\n".join(violations(arrows))
    for target in ("semsearch.search", "semsearch.live", "fastapi", "ray.serve"):
        assert f"semsearch.ranking.fusion -> {target} " in found
    assert "-> semsearch.records " not in found and "-> semsearch.ranking.exact " not in found


def test_relative_imports_resolve_from_modules_and_packages() -> None:
    assert _resolve("errors", 2, "semsearch.index.loader", False) == "semsearch.errors"
    assert _resolve(None, 1, "semsearch.embedders", True) == "semsearch.embedders"
    assert _resolve("models", 1, "semsearch.embedders", True) == "semsearch.embedders.models"
    assert _resolve("fusion", 2, "semsearch.ranking.exact", False) == "semsearch.fusion"
    assert _resolve("ranking.fusion", 1, "semsearch.settings", False) == "semsearch.ranking.fusion"


@pytest.mark.parametrize(("arrow", "rule"), [
    (Arrow("semsearch.search", "services.api.app", 1), "(a)"),
    (Arrow("semsearch.indexing.ray", "ray.serve", 1), "(a)"),
    (Arrow("semsearch.index.lexical", "semsearch.ranking.fusion", 1), "(c)"),
    (Arrow("semsearch.indexing.build", "semsearch.search", 1), "(c)"),
    (Arrow("semsearch.wiring", "semsearch.indexing.build", 1), None),
    (Arrow("semsearch.live", "semsearch.indexing.build", 1), "(c)"),
    (Arrow("semsearch.wiring", "semsearch.evaluation.beir", 1), "(c)"),
    (Arrow("semsearch.index.writer", "semsearch", 1), "(c)"),
    (Arrow("semsearch", "semsearch.indexing.build", 1), None),
    (Arrow("semsearch.settings", "semsearch.search", 1), "(c)"),
    (Arrow("semsearch.search", "semsearch.settings", 1), "(c)"),
    (Arrow("semsearch.errors", "semsearch.records", 1), None),
    (Arrow("semsearch.records", "semsearch.reading.files", 1), "(c)"),
    (Arrow("semsearch.evaluation.beir", "semsearch.wiring", 1), None),
    (Arrow("semsearch.indexing.ray", "ray", 1), None),
    (Arrow("services.slack.bot", "services.api.app", 1), "(b)"),
    (Arrow("services.cli.commands", "services.main", 1), "(b)"),
    (Arrow("services.reports.x", "services.server.app", 1), "(b)"),
    (Arrow("services.server.app", "services.slack.bot", 1), None),
    (Arrow("services.main", "services.cli", 1), None),
    (Arrow("services.api.routes", "services.api.errors", 1), None),
])
def test_the_rules_on_sample_arrows(arrow: Arrow, rule: str | None) -> None:
    why = forbidden(arrow)
    assert (why[:3] if why else None) == rule, why


# --- at run time ----------------------------------------------------------------------------------

@pytest.mark.parametrize("modules", [
    "semsearch, semsearch.search, semsearch.live, semsearch.wiring, services.cli",  # `ask`'s cold start
    "semsearch.indexing, semsearch.evaluation, semsearch.indexing.ray, semsearch.indexing.watch, "
    "semsearch.index.status, semsearch.index.sentences",
], ids=["ask", "rest-of-core"])
def test_importing_the_core_loads_no_web_slack_ray_or_torch(modules: str) -> None:
    code = (f"import sys, {modules}\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "", f"importing {modules} loaded {out.stdout.strip()}"


def test_all_is_sorted_and_complete() -> None:
    assert semsearch.__all__ == sorted(semsearch.__all__)
    for name in semsearch.__all__:
        assert hasattr(semsearch, name)
    public = {name for name, value in vars(semsearch).items()
              if not name.startswith("_") and getattr(value, "__module__", "").startswith("semsearch.")}
    assert public <= set(semsearch.__all__), f"public but not in __all__: {sorted(public - set(semsearch.__all__))}"
