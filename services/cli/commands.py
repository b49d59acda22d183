"""The command line: `semsearch index|status|ask|eval|config|doctor|collections|compact` and the
`ask "QUESTION"` shortcut.

Each command parses its options, calls the core through `semsearch.wiring`, and prints; a
`SemsearchError` becomes one line on stderr and exit status 1 (`_guarded`). `semsearch serve`
(and any other command of another edge) is added by the composition root, `services.main`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from pydantic import ValidationError

from semsearch.embedders import Embedder
from semsearch.embedders.preload import PreloadingEmbedder
from semsearch.errors import SemsearchError
from semsearch.filters import Filter
from semsearch.index.format import CURRENT
from semsearch.query_syntax import parse_query
from semsearch.records import DEFAULT_COLLECTION
from semsearch.settings import Settings, bundled_notes_dir, get_settings
from semsearch.wiring import build_notes, collection_folders, embedder_for, open_live_index, retrieval_config

from .collections import collections_command
from .compact import compact_command
from .config import config_command, settings_error
from .doctor import doctor_command
from .filter_flags import filter_options, flags_filter
from .output import format_hit

if TYPE_CHECKING:
    from semsearch.indexing.build import BuildReport
    from semsearch.indexing.jobs import Compaction

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def run_build(settings: Settings, notes_dir: Path | None = None, *, embedder: Embedder | None = None,
              quiet: bool = False, wait: bool = False, ray_address: str | None = None,
              collection: str = DEFAULT_COLLECTION, compaction: Compaction = "inline") -> BuildReport:
    """Build and publish an index of `notes_dir` (embedding only what changed), with a progress bar
    and a summary on stderr. `wait`: wait for another build of the same index instead of failing.
    `ray_address`: build on Ray at this address ("" for RAY_ADDRESS or local). `compaction`: "defer"
    leaves segment merges for later (`semsearch index --watch`)."""
    from tqdm import tqdm

    bars: list[tqdm[None]] = []  # created on the first batch, so errors before it print alone

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, unit="text", desc="embedding", disable=quiet, file=sys.stderr))
        bars[0].update(done - bars[0].n)

    notes = notes_dir or settings.notes_dir
    try:
        report = build_notes(
            settings, notes, embedder=embedder, progress=progress, wait=wait, ray_address=ray_address,
            on_wait=lambda: click.echo("Waiting for another `semsearch index` to finish...", err=True),
            collection=collection, compaction=compaction)
    finally:
        for bar in bars:
            bar.close()
    if not quiet and report.up_to_date:
        click.echo(f"{'' if collection == DEFAULT_COLLECTION else f'Collection {collection}: '}Up to date: "
                   f"no file changed since build {report.manifest.build_id} ({report.chunks} chunks); "
                   "nothing was read or written.", err=True)
    elif not quiet:
        named = "" if collection == DEFAULT_COLLECTION else f"Collection {collection}: "
        files_read = report.files_read if collection == DEFAULT_COLLECTION else sum(
            f.collection == collection and f.status in ("indexed", "unchanged") for f in report.files)
        click.echo(f"{named}Indexed {files_read} files into {report.chunks} chunks in "
                   f"{report.seconds:.1f}s into {settings.index_dir.absolute()} "
                   f"(build {report.manifest.build_id}; {report.embedded} embedded, "
                   f"{report.reused} reused; {report.sentences} sentences, {report.sentences_embedded} "
                   "embedded).", err=True)
        for file in report.files:
            if file.status in ("skipped", "failed") and file.collection == collection:
                click.echo(f"  {file.status} {file.source}: {file.reason or file.error}", err=True)
    return report


def answer(question: str, top_k: int | None, as_json: bool, settings: Settings, *, source: str | None = None,
           flags: Filter | None = None) -> None:
    """Print the passages that answer `question`, or that nothing does (the core's decision)."""
    # one question: a session quick to build, loading while the index opens
    embedder = PreloadingEmbedder(lambda: embedder_for(settings, quick_start=True))
    first_run: list[Path] = []

    def first_build(settings: Settings) -> BuildReport:
        click.echo(f"No index yet at {settings.index_dir.absolute()}: building one from {settings.notes_dir} "
                   "(first run only).", err=True)
        old = Path("index")
        if (old / CURRENT).is_file() and old.absolute() != settings.index_dir.absolute():
            click.echo("(./index holds an index too: use it with --index-dir index or SEMSEARCH_INDEX_DIR.)",
                       err=True)
        first_run.append(settings.notes_dir)
        return run_build(settings, wait=True)  # its own embedder, one built to run fast

    def rebuilding(settings: Settings, folders: list[Path]) -> None:
        click.echo(f"The index at {settings.index_dir.absolute()} was built by an older semsearch: rebuilding it "
                   f"from {', '.join(str(f) for f in folders)} (once).", err=True)

    live = open_live_index(settings, embedder=embedder, build_if_missing=True, on_first_build=first_build,
                           on_rebuild=rebuilding,
                           background_verify=False)  # one question: the build was verified when published
    parsed = parse_query(question)  # `in:work #k8s since:2025-01 ...` typed into the question
    found = (flags or Filter()).combined(parsed.filter)
    result = live.searcher().search(parsed.text, top_k=top_k or settings.top_k, source=source, filter=found)
    if as_json:  # every hit, each with its `confident` flag
        for hit in result.hits:
            click.echo(json.dumps(hit.to_dict(), ensure_ascii=False))
        return
    if result.searched_as != result.query:
        click.echo(f"(searched as: {result.searched_as})", err=True)
    if result.abstained:
        click.echo("Nothing in your notes answers this.")
    else:
        click.echo("\n".join(format_hit(hit, result.query) for hit in result.hits))
    if first_run and first_run[0].absolute() == bundled_notes_dir().absolute():
        click.echo(f"\nThat answer came from the example notes bundled with semsearch. Index your own with "
                   f"`semsearch index ~/notes`, or set notes_dir in {settings.config_file}.", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        return _guarded(lambda: super(_Group, self).invoke(ctx))


def _guarded(call: Callable[[], T]) -> T:
    """Expected errors become one line on stderr and exit status 1, never a traceback."""
    try:
        return call()
    except SemsearchError as exc:
        raise click.ClickException(str(exc)) from exc
    except ValidationError as exc:  # a bad value in the environment, .env or the config file
        raise click.ClickException(settings_error(exc)) from exc
    except KeyboardInterrupt:
        raise click.Abort() from None


def _with_index_dir(index_dir: Path | None) -> Settings:
    settings = get_settings()
    return settings.model_copy(update={"index_dir": index_dir}) if index_dir else settings


@click.command("index")
@click.argument("notes_dir", required=False, type=click.Path(path_type=Path))
@click.option("-c", "--collection", help="Sync this collection (from NOTES_DIR, recorded for next time; else "
              "from its recorded folder). Default: NOTES_DIR as the default collection, or with no NOTES_DIR "
              "every recorded collection.")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Where to write the index.")
@click.option("--watch", is_flag=True, help="Keep running: sync after each burst of changes.")
@click.option("--wait", is_flag=True, help="If another build of this index is running, wait for it.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Read, chunk and embed on a Ray cluster (ADDRESS, else RAY_ADDRESS or a local one).")
def index_command(notes_dir: Path | None, collection: str | None, index_dir: Path | None, watch: bool, wait: bool,
                  ray_address: str | None) -> None:
    """Index NOTES_DIR (default: the configured notes_dir, else the bundled notes) and publish the
    build; unchanged passages are not embedded again. Each collection is synced on its own."""
    settings = _with_index_dir(index_dir)
    folders = collection_folders(settings)
    if collection is not None and notes_dir is None and collection not in folders:
        raise click.UsageError(f"No folder is recorded for collection {collection!r}; give one: "
                               f"semsearch index --collection {collection} FOLDER.")
    name = collection or DEFAULT_COLLECTION
    if notes_dir is None and collection is None and folders and not watch:
        for each, folder in folders.items():  # every recorded collection, each from its own folder
            notes = settings.notes_dir if each == DEFAULT_COLLECTION else folder  # the default: as before
            run_build(settings, notes, wait=wait, ray_address=ray_address, collection=each)
        return
    notes = notes_dir or folders.get(name) or settings.notes_dir
    if not watch:
        run_build(settings, notes, wait=wait, ray_address=ray_address, collection=name)
        return
    from semsearch.indexing.compaction import compact_index
    from semsearch.indexing.watch import watch_notes

    embedder = embedder_for(settings)
    click.echo(f"Watching {notes}, publishing into {settings.index_dir.absolute()} (Ctrl-C stops).", err=True)
    with stop_on_signals() as stop:
        watch_notes(notes, lambda: run_build(settings, notes, embedder=embedder, wait=True, collection=name,
                                             compaction="defer"),
                    include=settings.include, ignore=[settings.index_dir], quiet_ms=settings.watch_debounce_ms,
                    stop_event=stop, compact=lambda: compact_index(settings.index_dir),
                    idle_ms=settings.watch_compact_idle_ms)


STOP_GRACE_SECONDS = 20.0  # after Ctrl-C, a sync in progress gets this long to finish before the exit


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event that Ctrl-C (SIGINT) or SIGTERM sets, for a watch loop to end on between syncs (a
    sync in progress finishes and publishes, or is dropped whole) instead of a KeyboardInterrupt
    raised wherever the process is. Should the process not have exited `STOP_GRACE_SECONDS` after
    the signal, it exits then (a file watcher's thread can keep an interpreter from exiting)."""
    stop = threading.Event()

    def on_signal(number: int, frame: object) -> None:
        if not stop.is_set():
            stop.set()
            timer = threading.Timer(STOP_GRACE_SECONDS, os._exit, args=(128 + number,))
            timer.daemon = True
            timer.start()

    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@click.command("status")
@click.option("--index-dir", type=click.Path(path_type=Path), help="The index to describe.")
@click.option("--json", "as_json", is_flag=True, help="The status as one JSON object.")
@click.option("--problems", is_flag=True, help="List only skipped, failed and removed files.")
@click.option("--verify", is_flag=True, help="Hash every file of the build first (opening one checks only the "
              "small files whole and the large ones' sizes and edges).")
def status_command(index_dir: Path | None, as_json: bool, problems: bool, verify: bool) -> None:
    """The published build (id, time, model, counts) and what became of each notes file."""
    from semsearch.index.format import current_build_dir
    from semsearch.index.status import index_status
    from semsearch.index.verify import verify_build

    from .output import format_status

    where = index_dir or get_settings().index_dir
    if verify:
        manifest = verify_build(current_build_dir(where))
        click.echo(f"Build {manifest.build_id}: every file matches its checksum.", err=True)
    status = index_status(where)
    click.echo(json.dumps(status.to_dict(), ensure_ascii=False, indent=2) if as_json
               else format_status(status, all_files=not problems))


SOURCE_HELP = "Only passages of notes whose path matches this glob (ml/*.md) or prefix."


INDEX_DIR_HELP = "The index to answer from (default SEMSEARCH_INDEX_DIR, or the per-user data folder)."


def ask_options(command: Callable[..., None]) -> Callable[..., None]:
    """What `semsearch ask` and the `ask` command take: QUESTION, -k, --source, the filter flags,
    --json and --index-dir."""
    options: list[Callable[[Callable[..., None]], Callable[..., None]]] = [
        click.argument("question"),
        click.option("-k", "--top-k", type=click.IntRange(1), help="Number of passages to show."),
        click.option("--source", help=SOURCE_HELP),
        filter_options,
        click.option("--json", "as_json", is_flag=True, help="One JSON object per passage."),
        click.option("--index-dir", type=click.Path(path_type=Path), help=INDEX_DIR_HELP),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("ask")
@ask_options
def ask_command(question: str, top_k: int | None, source: str | None, as_json: bool, index_dir: Path | None,
                **filters: Any) -> None:
    """Answer QUESTION with ranked passages from your notes."""
    answer(question, top_k, as_json, _with_index_dir(index_dir), source=source, flags=flags_filter(**filters))


@click.command("eval")
@click.argument("queries", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the run here.")
@click.option("-k", "--top-k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--beir", "beir_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Score a BEIR folder (corpus.jsonl, queries.jsonl, qrels/) instead: nDCG@10, Recall@100.")
@click.option("--split", default="test", show_default=True, help="BEIR qrels split (test or train).")
@click.option("--doc-chunks", type=click.Choice(["whole", "split"]), default="whole", show_default=True,
              help="BEIR: each document as one chunk, or split into model-sized chunks (max score).")
@click.option("--fit-calibration", is_flag=True, help="BEIR: fit the score calibration on these queries "
              "(and the --with-notes sets).")
@click.option("--with-notes", "with_notes", nargs=2, multiple=True,
              type=(click.Path(exists=True, file_okay=False, path_type=Path),
                    click.Path(exists=True, dir_okay=False, path_type=Path)),
              metavar="INDEX_DIR QUERIES", help="--fit-calibration: also fit on this notes query set, "
              "searched in this index (repeatable).")
def eval_command(queries: Path | None, out: Path | None, top_k: int, beir_dir: Path | None, split: str,
                 doc_chunks: str, fit_calibration: bool, with_notes: tuple[tuple[Path, Path], ...]) -> None:
    """Score a query set (JSONL with id, query, answers, kind) against the index, or `--beir DIR`."""
    from semsearch.evaluation.queries import hits_to_results, load_queries, score_by_kind, write_run

    settings = get_settings()
    if beir_dir is not None:
        from semsearch.evaluation.beir import run_cli
        from semsearch.search import Searcher

        embedder = embedder_for(settings)
        retrieval = retrieval_config(settings)
        notes = [(Searcher.open(index_dir, embedder, retrieval=retrieval), load_queries(path),
                  f"{path.parent.name}/{path.name}")
                 for index_dir, path in with_notes]
        click.echo(run_cli(beir_dir, embedder, settings.cache_dir, split=split,
                           chunking="split" if doc_chunks == "split" else "whole",
                           retrieval=retrieval, fit=fit_calibration, notes=notes))
        return
    if with_notes:
        raise click.UsageError("--with-notes goes with --fit-calibration --beir DIR.")
    if queries is None:
        raise click.UsageError("Give a QUERIES file or --beir DIR.")
    query_set = load_queries(queries)
    searcher = open_live_index(settings.model_copy(update={"max_top_k": max(100, top_k)}),
                               background_verify=False).searcher()
    results = searcher.search_many([q.query for q in query_set], top_k=top_k)
    unanswerable = [result for q, result in zip(query_set, results, strict=True) if not q.answers]
    if unanswerable:
        below = sum(result.abstained for result in unanswerable)
        click.echo(f"unanswerable queries under the abstention threshold: {below}/{len(unanswerable)}")
    run = {q.id: hits_to_results(result.hits) for q, result in zip(query_set, results, strict=True)}
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


def command_group(*extra: click.Command) -> click.Group:
    """The `semsearch` group: this edge's commands, plus `extra` ones from other edges."""

    @click.group(cls=_Group, name="semsearch")
    @click.option("-v", "--verbose", is_flag=True, help="Log progress and timings.")
    def group(verbose: bool) -> None:
        """semsearch: semantic search over your notes."""
        _setup_logging(verbose)

    for command in (index_command, status_command, ask_command, eval_command, config_command, doctor_command,
                    collections_command, compact_command, *extra):
        group.add_command(command)
    return group


main = command_group()


@click.command()
@ask_options
@click.option("-v", "--verbose", is_flag=True, help="Log progress and timings.")
def ask(question: str, top_k: int | None, source: str | None, as_json: bool, index_dir: Path | None,
        verbose: bool, **filters: Any) -> None:
    """Answer QUESTION from your notes: ask "what is inverted dropout" (filters: `ask "in:work #k8s ..."`)"""
    _setup_logging(verbose)
    _guarded(lambda: answer(question, top_k, as_json, _with_index_dir(index_dir), source=source,
                            flags=flags_filter(**filters)))
