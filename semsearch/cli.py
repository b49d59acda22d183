"""The command line: `semsearch index|eval|ask` and the `ask "QUESTION"` shortcut."""

from __future__ import annotations

import json
import logging
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .errors import IndexNotFoundError, SemsearchError
from .records import Hit
from .settings import Settings, get_settings, retrieval_config

logger = logging.getLogger(__name__)
T = TypeVar("T")
_WORD = re.compile(r"\w{3,}")
_BOLD = re.compile(r"\*\*|__")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")


def readable(text: str) -> str:
    """Passage text for a terminal: bold markers and backslash escapes dropped, links kept."""
    return _ESCAPED.sub(r"\1", _BOLD.sub("", text))


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def _embedder(settings: Settings):  # type: ignore[no-untyped-def]
    from .embedders import load_embedder

    return load_embedder(settings.model, backend=settings.backend, device=settings.device,
                         precision=settings.precision)


def run_build(settings: Settings, notes_dir: Path, *, embedder=None, quiet: bool = False,  # type: ignore[no-untyped-def]
              wait: bool = False, ray_address: str | None = None) -> None:
    """Build and publish an index of `notes_dir` (embedding only what changed), with a progress bar
    and a summary. `wait`: wait for another build of the same index instead of failing.
    `ray_address`: build on Ray (`distributed.py`) at this address ("" for RAY_ADDRESS or local)."""
    from tqdm import tqdm

    from .indexing import build_index

    embedder = embedder or (None if ray_address is not None else _embedder(settings))
    bars: list[tqdm[None]] = []  # created on the first batch, so errors before it print alone

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, unit="text", desc="embedding", disable=quiet, file=sys.stderr))
        bars[0].update(done - bars[0].n)

    try:
        options: dict[str, Any] = {
            "include": settings.include, "max_file_bytes": settings.max_file_bytes,
            "overlap_tokens": settings.chunk_overlap_tokens, "batch_size": settings.batch_size,
            "progress": progress, "wait": wait,
            # sentence vectors only when the ranking will use them (SEMSEARCH_SENTENCE_WEIGHT > 0)
            "store_sentences": settings.sentence_weight > 0 and settings.fusion == "blend",
            "on_wait": lambda: click.echo("Waiting for another `semsearch index` to finish...", err=True),
        }
        if ray_address is None:
            report = build_index(notes_dir, settings.index_dir, embedder, **options)
        else:
            from .distributed import ModelRef, build_index_ray

            report = build_index_ray(notes_dir, settings.index_dir,
                                     ModelRef(settings.model, settings.backend, settings.device),
                                     address=ray_address or None, workers=settings.ray_workers or None, **options)
    finally:
        for bar in bars:
            bar.close()
    if quiet:
        return
    click.echo(f"Indexed {report.files_read} files into {report.chunks} chunks in "
               f"{report.seconds:.1f}s (build {report.manifest.build_id}; {report.embedded} embedded, "
               f"{report.reused} reused; {report.sentences} sentences, {report.sentences_embedded} embedded).",
               err=True)
    for file in report.files:
        if file.status in ("skipped", "failed"):
            click.echo(f"  {file.status} {file.source}: {file.reason or file.error}", err=True)


def highlight(text: str, query: str) -> str:
    """The passage with the query's words in bold (shown on a terminal only)."""
    words = {w.lower() for w in _WORD.findall(query)}
    if not words:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(words))) + r")\w*", re.IGNORECASE)
    return pattern.sub(lambda m: click.style(m.group(0), bold=True), text)


def format_hit(hit: Hit, query: str) -> str:
    c = hit.chunk
    lines = f"{c.start_line}-{c.end_line}" if c.end_line != c.start_line else str(c.start_line)
    head = f"{hit.rank}. [{hit.score:.3f}] {click.style(f'{c.source}:{lines}', fg='cyan')}"
    if c.heading_path:
        head += f"  {c.heading}"
    body = textwrap.indent(highlight(readable(c.text).strip(), query), "   ")
    also = f"\n   also in: {', '.join(hit.also_in)}" if hit.also_in else ""
    return f"{head}\n{body}{also}\n"


def answer(question: str, top_k: int | None, as_json: bool, settings: Settings) -> None:
    from .search import Searcher

    embedder = _embedder(settings)
    options = {"max_top_k": settings.max_top_k, "max_query_chars": settings.max_query_chars}
    retrieval = retrieval_config(settings)
    try:
        searcher = Searcher.open(settings.index_dir, embedder, retrieval=retrieval, **options)
    except IndexNotFoundError:
        click.echo(f"No index yet at {settings.index_dir}: building one from {settings.notes_dir} "
                   "(first run only).", err=True)
        run_build(settings, settings.notes_dir, embedder=embedder)
        searcher = Searcher.open(settings.index_dir, embedder, retrieval=retrieval, **options)
    hits = searcher.search(question, top_k=top_k or settings.top_k)
    searched_as = searcher.searched_as(question)
    if searched_as != question.strip() and not as_json:
        click.echo(f"(searched as: {searched_as})", err=True)
    if as_json:  # every hit, each with its `confident` flag
        for hit in hits:
            click.echo(json.dumps(hit.to_dict(), ensure_ascii=False))
    elif not hits or not hits[0].confident:  # abstain: show nothing weak
        click.echo("Nothing in your notes answers this.")
    else:
        click.echo("\n".join(format_hit(hit, question) for hit in hits))


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        return _guarded(lambda: super(_Group, self).invoke(ctx))


def _guarded(call: Callable[[], T]) -> T:
    """Expected errors become one line on stderr and exit status 1, never a traceback."""
    try:
        return call()
    except SemsearchError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        raise click.Abort() from None


@click.group(cls=_Group)
@click.option("-v", "--verbose", is_flag=True, help="Log progress and timings.")
def main(verbose: bool) -> None:
    """semsearch: semantic search over your notes."""
    _setup_logging(verbose)


@main.command("index")
@click.argument("notes_dir", required=False, type=click.Path(path_type=Path))
@click.option("--index-dir", type=click.Path(path_type=Path), help="Where to write the index.")
@click.option("--watch", is_flag=True, help="Keep running: sync after each burst of changes.")
@click.option("--wait", is_flag=True, help="If another build of this index is running, wait for it.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Read, chunk and embed on a Ray cluster (ADDRESS, else RAY_ADDRESS or a local one).")
def index_command(notes_dir: Path | None, index_dir: Path | None, watch: bool, wait: bool,
                  ray_address: str | None) -> None:
    """Index NOTES_DIR (default: the bundled notes) and publish the build; unchanged passages
    are not embedded again."""
    settings = get_settings()
    if index_dir:
        settings = settings.model_copy(update={"index_dir": index_dir})
    notes = notes_dir or settings.notes_dir
    if not watch:
        run_build(settings, notes, wait=wait, ray_address=ray_address)
        return
    from .watch import watch_notes

    embedder = _embedder(settings)
    click.echo(f"Watching {notes} (Ctrl-C stops).", err=True)
    watch_notes(notes, lambda: run_build(settings, notes, embedder=embedder, wait=True),
                include=settings.include, ignore=[settings.index_dir], quiet_ms=settings.watch_debounce_ms)


@main.command("status")
@click.option("--index-dir", type=click.Path(path_type=Path), help="The index to describe.")
@click.option("--json", "as_json", is_flag=True, help="The status as one JSON object.")
@click.option("--problems", is_flag=True, help="List only skipped, failed and removed files.")
def status_command(index_dir: Path | None, as_json: bool, problems: bool) -> None:
    """The published build (id, time, model, counts) and what became of each notes file."""
    from .status import format_status, index_status

    status = index_status(index_dir or get_settings().index_dir)
    click.echo(json.dumps(status.to_dict(), ensure_ascii=False, indent=2) if as_json
               else format_status(status, all_files=not problems))


@main.command("ask")
@click.argument("question")
@click.option("-k", "--top-k", type=click.IntRange(1), help="Number of passages to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per passage.")
def ask_command(question: str, top_k: int | None, as_json: bool) -> None:
    """Answer QUESTION with ranked passages from your notes."""
    answer(question, top_k, as_json, get_settings())


@main.command("eval")
@click.argument("queries", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the run here.")
@click.option("-k", "--top-k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--beir", "beir_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Score a BEIR folder (corpus.jsonl, queries.jsonl, qrels/) instead: nDCG@10, Recall@100.")
@click.option("--split", default="test", show_default=True, help="BEIR qrels split (test or train).")
@click.option("--doc-chunks", type=click.Choice(["whole", "split"]), default="whole", show_default=True,
              help="BEIR: each document as one chunk, or split into model-sized chunks (max score).")
@click.option("--fit-calibration", is_flag=True, help="BEIR: fit the score calibration on these queries.")
def eval_command(queries: Path | None, out: Path | None, top_k: int, beir_dir: Path | None, split: str,
                 doc_chunks: str, fit_calibration: bool) -> None:
    """Score a query set (JSONL with id, query, answers, kind) against the index, or `--beir DIR`."""
    from .evaluation import hits_to_results, load_queries, score_by_kind, write_run
    from .search import Searcher

    settings = get_settings()
    if beir_dir is not None:
        from .beir import run_cli

        click.echo(run_cli(beir_dir, _embedder(settings), settings.cache_dir, split=split,
                           chunking="split" if doc_chunks == "split" else "whole",
                           retrieval=retrieval_config(settings), fit=fit_calibration))
        return
    if queries is None:
        raise click.UsageError("Give a QUERIES file or --beir DIR.")
    query_set = load_queries(queries)
    searcher = Searcher.open(settings.index_dir, _embedder(settings), max_top_k=max(100, top_k),
                             retrieval=retrieval_config(settings))
    results = searcher.search_many([q.query for q in query_set], top_k=top_k)
    unanswerable = [hits[0] for q, hits in zip(query_set, results, strict=True)
                    if not q.answers and hits]
    if unanswerable:
        below = sum(not hit.confident for hit in unanswerable)
        click.echo(f"unanswerable queries under the abstention threshold: {below}/{len(unanswerable)}")
    run = {q.id: hits_to_results(hits) for q, hits in zip(query_set, results, strict=False)}
    if out:
        write_run(out, run)
    report = score_by_kind(query_set, run, depth=10)
    columns = ["hit@1", "hit@5", "mrr@10", "span_recall@10", "separation"]
    click.echo(f"{'kind':<14}{'n':>4}" + "".join(f"{c:>16}" for c in columns))
    for kind, metrics in report.items():
        n = int(metrics["n_answerable"] + metrics["n_unanswerable"])
        cells = "".join(f"{metrics[c]:>16.3f}" if c in metrics else f"{'-':>16}" for c in columns)
        click.echo(f"{kind:<14}{n:>4}{cells}")
    click.echo(f"index {searcher.manifest.build_id} model {searcher.manifest.model_name}", err=True)


@main.command("serve")
@click.option("--host", help="Address to bind (default SEMSEARCH_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default SEMSEARCH_PORT, 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Processes (default SEMSEARCH_WORKERS, 1).")
@click.option("--index-dir", type=click.Path(path_type=Path), help="The index to serve.")
@click.option("--ray", "on_ray", is_flag=True, help="Serve with Ray Serve replicas (SEMSEARCH_RAY_MIN/MAX_REPLICAS) "
              "on RAY_ADDRESS's cluster, else a local one.")
def serve_command(host: str | None, port: int | None, workers: int | None, index_dir: Path | None,
                  on_ray: bool) -> None:
    """Serve the HTTP API (POST /query, /healthz, /readyz, /metrics, /docs) until SIGTERM."""
    try:
        from services.api.server import run_server  # the web stack is imported only here
        if on_ray:
            from services.ray_serve import run_ray_server as run_server
    except ModuleNotFoundError as exc:
        extra = "api,ray" if on_ray else "api"
        raise click.ClickException(
            f"`semsearch serve` needs {exc.name}: pip install 'semsearch[{extra}]'."
        ) from exc
    flags = {"host": host, "port": port, "workers": workers, "index_dir": index_dir}
    run_server(get_settings().model_copy(update={k: v for k, v in flags.items() if v is not None}))


@click.command()
@click.argument("question")
@click.option("-k", "--top-k", type=click.IntRange(1), help="Number of passages to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per passage.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress and timings.")
def ask(question: str, top_k: int | None, as_json: bool, verbose: bool) -> None:
    """Answer QUESTION from your notes: ask "what is inverted dropout" """
    _setup_logging(verbose)
    _guarded(lambda: answer(question, top_k, as_json, get_settings()))
