"""From `Settings` to a working search: the one place an edge turns its settings into an embedder,
a build, and a live searcher. Every edge (CLI, API, Slack, Ray Serve) calls these, so a setting
means the same thing everywhere."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .embedders import Embedder, load_embedder
from .index.format import CURRENT
from .live import LiveIndex
from .ranking.fusion import RetrievalConfig
from .reading.limits import ReadLimits
from .records import DEFAULT_COLLECTION
from .search import QueryLimits
from .settings import Settings

if TYPE_CHECKING:
    from .indexing.build import BuildReport, Progress
    from .indexing.jobs import Compaction

logger = logging.getLogger(__name__)


def embedder_for(settings: Settings, *, quick_start: bool = False) -> Embedder:
    """The embedder the settings name (model, backend, device, precision). `quick_start`: for a
    process that embeds a question and exits (`load_embedder`)."""
    return load_embedder(settings.model, backend=settings.backend, device=settings.device,
                         precision=settings.precision, quick_start=quick_start)


def retrieval_config(settings: Settings) -> RetrievalConfig:
    """How the settings rank."""
    return RetrievalConfig(
        fusion=settings.fusion, normalization=settings.fusion_normalization, rrf_k=settings.rrf_k,
        dense_weight=settings.dense_weight,
        chunk_weight=settings.chunk_weight, sentence_weight=settings.sentence_weight,
        pool=settings.fusion_pool, spell_out_acronyms=settings.spell_out_acronyms,
        exact_boost=settings.exact_boost, collapse=settings.collapse,
        collapse_threshold=settings.collapse_threshold, abstain_threshold=settings.abstain_threshold,
        lexical_trust=settings.lexical_trust,
    )


def query_limits(settings: Settings) -> QueryLimits:
    """What a query may ask for, everywhere (CLI, API schema, Slack)."""
    return QueryLimits(max_top_k=settings.max_top_k, max_query_chars=settings.max_query_chars)


def build_options(settings: Settings) -> dict[str, Any]:
    """The build options of `indexing.build.build_index` the settings give."""
    return {
        "include": settings.include, "max_file_bytes": settings.max_file_bytes,
        "read_limits": ReadLimits(max_bytes=settings.max_document_bytes, max_pages=settings.max_pdf_pages,
                                  seconds=settings.read_timeout_seconds),
        "overlap_tokens": settings.chunk_overlap_tokens, "batch_size": settings.batch_size,
        # sentence vectors only when the ranking will use them
        "store_sentences": retrieval_config(settings).uses_sentences,
    }


def build_notes(settings: Settings, notes_dir: Path | None = None, *, embedder: Embedder | None = None,
                progress: Progress | None = None, wait: bool = False, on_wait: Callable[[], None] | None = None,
                ray_address: str | None = None, collection: str = DEFAULT_COLLECTION,
                compaction: Compaction = "inline") -> BuildReport:
    """Sync `collection` (default: the default collection) from `notes_dir` (default: the settings'
    notes) into the settings' index directory; other collections are carried as they are.
    `ray_address`: read, chunk and embed on Ray ("" for RAY_ADDRESS or local). `compaction`:
    "defer" leaves due segment merges to `indexing.compaction.compact_index`."""
    notes = notes_dir or settings.notes_dir
    options = {**build_options(settings), "progress": progress, "wait": wait, "on_wait": on_wait,
               "collection": collection, "compaction": compaction}
    if ray_address is not None:
        from .indexing.ray import ModelRef, build_index_ray

        ref = ModelRef(settings.model, settings.backend, settings.device, settings.precision)
        return build_index_ray(notes, settings.index_dir, ref, address=ray_address or None,
                               workers=settings.ray_workers or None, **options)
    from .indexing.build import build_index

    return build_index(notes, settings.index_dir, embedder or embedder_for(settings), **options)


def collection_folders(settings: Settings) -> dict[str, Path]:
    """Every collection `semsearch index` syncs: those recorded in the index directory, then the
    settings' `collections` over them; {} when there are none (then the default collection is the
    settings' notes)."""
    from .index.collections import read_registry

    recorded = {name: Path(folder) for name, folder in read_registry(settings.index_dir).items()}
    return {**recorded, **{name: folder.expanduser() for name, folder in settings.collections.items()}}


def remove_collection(settings: Settings, name: str, *, embedder: Embedder | None = None,
                      wait: bool = False) -> BuildReport | None:
    """Publish a build without collection `name` (None when no build held it)."""
    from .indexing.collections import remove_collection as remove

    options = build_options(settings)
    return remove(settings.index_dir, name, embedder or embedder_for(settings), wait=wait,
                  store_sentences=options["store_sentences"], batch_size=options["batch_size"])


def rebuild_older_format(settings: Settings, embedder: Embedder,
                         on_rebuild: Callable[[Settings, list[Path]], None] | None = None) -> bool:
    """Rebuild an index directory whose published build is of an older format (after an upgrade),
    each of its collections from the folder it was built from, once; True when it did. A folder
    that is gone is left out (its passages go with the old build)."""
    from .index.format import older_format_folders

    folders = older_format_folders(settings.index_dir)
    if not folders:
        return False
    present = {name: Path(folder) for name, folder in folders.items() if Path(folder).is_dir()}
    if not present:
        return False
    logger.warning("the index at %s was built by an older semsearch: rebuilding it from %s (once)",
                   settings.index_dir, ", ".join(str(f) for f in present.values()))
    if on_rebuild is not None:
        on_rebuild(settings, list(present.values()))
    for name, folder in sorted(present.items(), key=lambda item: item[0] != DEFAULT_COLLECTION):
        build_notes(settings, folder, embedder=embedder, wait=True, collection=name)
    return True


def open_live_index(settings: Settings, *, embedder: Embedder | None = None, build_if_missing: bool = False,
                    on_first_build: Callable[[Settings], BuildReport] | None = None,
                    on_rebuild: Callable[[Settings, list[Path]], None] | None = None,
                    reload_interval: float = 1.0, background_verify: bool = True) -> LiveIndex:
    """The live index of the settings' index directory. With `build_if_missing`, an index directory
    that has never been published gets a build of the settings' notes first (`on_first_build`,
    default `build_notes`, is how the edge shows it), and one whose build is of an older format is
    rebuilt from the folders it was built from (`rebuild_older_format`; `on_rebuild` shows it).
    `background_verify=False` for a one-shot edge (`ask`): a long-lived one hashes the large build
    files whole in the background (`LiveIndex`)."""
    embedder = embedder or embedder_for(settings)
    if build_if_missing and not (settings.index_dir / CURRENT).exists():
        logger.info("no index at %s yet: building one from %s (first run only)",
                       settings.index_dir, settings.notes_dir)
        if on_first_build is not None:
            on_first_build(settings)
        else:
            build_notes(settings, embedder=embedder, wait=True)
    elif build_if_missing:
        rebuild_older_format(settings, embedder, on_rebuild)
    live = LiveIndex(settings.index_dir, embedder, retrieval=retrieval_config(settings),
                     limits=query_limits(settings), reload_interval=reload_interval,
                     background_verify=background_verify)
    live.refresh(force=True)
    return live
