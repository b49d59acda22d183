"""Ingestion on a Ray cluster (`semsearch index --ray [ADDRESS]`).

The local `indexing.build.build_index` runs the build (lock, embedding cache, file record, manifest,
checksums, atomic publish) with two parts swapped for Ray ones: `read_files_ray` reads and chunks the
files in parallel Ray Data tasks, and `RayEmbedder` embeds the chunks that need it, longest first,
in batches spread over a pool of actors (one per GPU with `num_gpus=1`, else one per CPU). The
vectors come back to this driver, which writes the one published build. Ray is imported lazily.

`ray_embedder` gives the same `RayEmbedder` on its own: an `Embedder` whose `embed_documents` and
`embed_queries` both run on the actor pool (the queries with the model's query form, e.g. e5's
`query: ` prefix), so a `Searcher` can use it too.
"""

from __future__ import annotations

import logging
import pickle
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from ..embedders import Embedder, FloatArray
from ..errors import IndexBuildError
from ..reading.files import iter_note_paths
from ..reading.limits import ReadLimits
from .build import BuildReport, _FileResult, build_index, read_file

logger = logging.getLogger(__name__)

Batch = dict[str, Any]
FILES_PER_TASK = 4
ONE_CALL = sys.maxsize  # build_index's batch size on Ray: all new texts reach RayEmbedder at once


@dataclass(frozen=True, slots=True)
class ModelRef:
    """What a Ray worker needs to load the embedder on its own node."""

    model: str
    backend: str = "auto"
    device: str = "auto"
    precision: str = "auto"

    def load(self) -> Embedder:
        """The embedder this names, loaded here."""
        from ..embedders import load_embedder

        return load_embedder(self.model, backend=self.backend, device=self.device, precision=self.precision)


def connect(address: str | None = None) -> Any:
    """The `ray` module, connected: to `address` (`auto`, `ray://host:10001`, `host:6379`), else to
    the cluster in RAY_ADDRESS, else to a new local instance. A connected driver is reused as is."""
    if address and address != "auto" and ":" not in address:
        raise IndexBuildError(f"{address!r} is not a Ray address (auto, HOST:PORT or ray://HOST:PORT); "
                              "give NOTES_DIR before --ray, or --ray=ADDRESS.")
    try:
        import ray
    except ModuleNotFoundError as exc:
        raise IndexBuildError("`--ray` needs Ray: pip install 'semsearch[ray]'.") from exc
    if not ray.is_initialized():
        try:
            ray.init(address=address or None)
        except ConnectionError as exc:
            raise IndexBuildError(f"Could not connect to the Ray cluster at {address}: {exc}") from exc
    return ray


@lru_cache(maxsize=4)
def token_counter(model: str) -> Callable[[str], int]:
    """`count_tokens` of `model` from its tokenizer alone (no weights), for the chunking tasks."""
    if model.startswith("hashing"):
        from ..embedders.hashing import HashingEmbedder

        return HashingEmbedder().count_tokens
    from ..embedders import resolve_model
    from ..embedders.tokens import count_tokens, load_tokenizer

    return partial(count_tokens, load_tokenizer(resolve_model(model).model_dir()))


def describe(ref: ModelRef) -> tuple[str, int, int]:
    """(model name, dimension, max tokens) of the embedder `ref` loads; run as a Ray task."""
    embedder = ref.load()
    return embedder.model_name, embedder.dim, embedder.max_tokens


class EmbedActor:
    """A Ray Data actor holding one embedder; embeds a batch (as passages, or as queries with
    `queries`), keeping its `row` keys."""

    def __init__(self, ref: ModelRef, expect: tuple[str, int, int], queries: bool = False) -> None:
        self.embedder = ref.load()
        self.queries = queries
        found = (self.embedder.model_name, self.embedder.dim, self.embedder.max_tokens)
        if found != expect:
            raise IndexBuildError(f"An embedding actor loaded {found}, not {expect}; install the same "
                                  "semsearch and model on every Ray node.")

    def __call__(self, batch: Batch) -> Batch:
        embed = self.embedder.embed_queries if self.queries else self.embedder.embed_documents
        return {"row": batch["row"], "vector": embed(list(batch["text"]))}


@dataclass(slots=True)
class RayEmbedder:
    """An `Embedder` whose `embed_documents` and `embed_queries` run on the Ray actor pool (made
    by `ray_embedder`); its `count_tokens` needs only the tokenizer, so the chunking tasks can use
    it anywhere."""

    ref: ModelRef
    model_name: str
    dim: int
    max_tokens: int
    actors: int = 1
    gpu: bool = False  # each actor takes one GPU (else one CPU)
    batch_size: int = 64

    def count_tokens(self, text: str) -> int:
        return token_counter(self.ref.model)(text)

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        """Vectors in input order; batches are cut from `texts` in order (the build passes them
        longest first, so each batch holds texts of similar length)."""
        return self._embed(texts, queries=False)

    def embed_queries(self, texts: Sequence[str]) -> FloatArray:
        """Query vectors in input order, on the same actor pool, each actor calling its embedder's
        `embed_queries` (a searcher normally uses a local embedder: this costs a Ray Data job)."""
        return self._embed(texts, queries=True)

    def _embed(self, texts: Sequence[str], *, queries: bool) -> FloatArray:
        import ray

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        rows = ray.data.from_items([{"row": i, "text": t} for i, t in enumerate(texts)],
                                   override_num_blocks=-(-len(texts) // self.batch_size))
        embedded = rows.map_batches(
            EmbedActor, batch_size=self.batch_size, compute=ray.data.ActorPoolStrategy(size=self.actors),
            fn_constructor_kwargs={"ref": self.ref, "expect": (self.model_name, self.dim, self.max_tokens),
                                   "queries": queries},
            num_gpus=1 if self.gpu else None, num_cpus=None if self.gpu else 1)
        for batch in embedded.iter_batches(batch_format="numpy", batch_size=None):
            out[batch["row"]] = batch["vector"]
        return out


def _read_batch(batch: Batch, *, root: str, embedder: RayEmbedder, max_file_bytes: int,
                overlap_tokens: int, read_limits: ReadLimits | None = None) -> Batch:
    """A Ray Data task: read and chunk a batch of files (`build.read_file`)."""
    notes_dir = Path(root)
    results = [read_file(Path(p), notes_dir, embedder, max_file_bytes=max_file_bytes, overlap_tokens=overlap_tokens,
                         real_root=notes_dir.resolve(), read_limits=read_limits) for p in batch["path"]]
    return {"file": batch["file"], "result": [pickle.dumps(r) for r in results]}


def read_files_ray(notes_dir: Path, embedder: RayEmbedder, *, include: Sequence[str], max_file_bytes: int,
                   overlap_tokens: int, read_limits: ReadLimits | None = None) -> list[_FileResult]:
    """`build.read_files` as parallel Ray Data tasks; the results come back in the local order."""
    import ray

    root = notes_dir.absolute()  # the workers' working directory is not this one
    paths = [{"file": i, "path": str(p)} for i, p in enumerate(iter_note_paths(root, include))]
    if not paths:
        return []
    task: Any = _read_batch
    results = ray.data.from_items(paths, override_num_blocks=-(-len(paths) // FILES_PER_TASK)).map_batches(
        task, batch_size=FILES_PER_TASK, fn_kwargs={"root": str(root), "embedder": embedder,
                                              "max_file_bytes": max_file_bytes, "overlap_tokens": overlap_tokens,
                                              "read_limits": read_limits})
    rows = sorted(results.iter_rows(), key=lambda row: int(row["file"]))
    return [pickle.loads(row["result"]) for row in rows]  # our own workers' output


def actor_pool(ray: Any, workers: int | None) -> tuple[int, bool]:
    """(actors, whether each takes a GPU): one per GPU when the cluster has GPUs, else one per CPU;
    `workers` asks for fewer (more would wait for resources the cluster does not have)."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    slots = gpus or max(1, int(resources.get("CPU", 1)))
    return min(workers or slots, slots), gpus > 0


def ray_embedder(ref: ModelRef, *, address: str | None = None, workers: int | None = None,
                 batch_size: int = 64) -> RayEmbedder:
    """A `RayEmbedder` for `ref` on the cluster at `address` (`connect`), with `workers` actors
    (default: one per GPU, else per CPU). The model is loaded once in a Ray task (on a GPU when the
    actors take one) to learn its name, dimension and token limit, which every actor then checks."""
    ray = connect(address)
    actors, gpu = actor_pool(ray, workers)
    name, dim, max_tokens = ray.get(ray.remote(describe).options(num_gpus=int(gpu)).remote(ref))
    return RayEmbedder(ref, name, dim, max_tokens, actors=actors, gpu=gpu, batch_size=batch_size)


def build_index_ray(notes_dir: Path, index_dir: Path, ref: ModelRef, *, address: str | None = None,
                    workers: int | None = None, batch_size: int = 64, **options: Any) -> BuildReport:
    """`build.build_index` on Ray: the same build and publish, with reading and chunking in Ray
    tasks and embedding on `workers` actors (default: one per GPU, else per CPU). `options` are
    build_index's (include, max_file_bytes, overlap_tokens, progress, wait, on_wait). Every node
    must see `notes_dir` at the same path (shared storage); only this driver writes the index."""
    if not notes_dir.is_dir():
        raise IndexBuildError(f"The notes folder {notes_dir} does not exist.")
    embedder = ray_embedder(ref, address=address, workers=workers, batch_size=batch_size)
    logger.info("indexing on Ray with %d %s embedding actors", embedder.actors, "GPU" if embedder.gpu else "CPU")
    return build_index(notes_dir, index_dir, embedder, batch_size=ONE_CALL, reader=read_files_ray, **options)
