"""Making many statements on every core: worker processes, each with its own database engine and renderer.

Rendering is the slow part of a statement and WeasyPrint holds the GIL, so more statements per second come only
from more processes. The workers start from a fork server that has already imported the renderer (a fresh worker
costs a fork, not an import), take the loans a chunk at a time (read in one transaction, rendered, kept in a second: see
`make_statements_apart`), and are replaced after `tasks_per_worker` chunks so that whatever a long run leaves behind in
a process (font caches, WeasyPrint's memos) cannot grow without bound.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from servicing.documents.statement_figures import StatementOptions
from servicing.documents.statements import StatementMade, make_statements_apart
from servicing.store.db import make_engine, make_session_factory

CHUNK = 25  # loans per task: one transaction, one short write at its end
TASKS_PER_WORKER = 40  # a worker is replaced after this many chunks (1,000 statements)
_worker: dict[str, Any] = {}


@dataclass(frozen=True)
class ChunkDone:
    """What a worker made of one chunk of loans, and how much memory its process has used at most so far."""

    lines: tuple[StatementMade, ...]
    pid: int
    peak_rss_kb: int


def _start(database_url: str, options: StatementOptions) -> None:
    """Open this worker's own engine (never a connection inherited from the parent)."""
    engine = make_engine(database_url)
    _worker.update(engine=engine, sessions=make_session_factory(engine), options=options)


def _make_chunk(task: tuple[Sequence[int], date]) -> ChunkDone:
    loan_ids, as_of = task
    lines = make_statements_apart(_worker["sessions"], _worker["options"], loan_ids, as_of)
    return ChunkDone(tuple(lines), os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def make_statements_in_workers(
    database_url: str,
    options: StatementOptions,
    loan_ids: Sequence[int],
    as_of: date,
    *,
    workers: int,
    chunk: int = CHUNK,
    tasks_per_worker: int = TASKS_PER_WORKER,
    on_chunk: Callable[[ChunkDone], None] | None = None,
) -> list[StatementMade]:
    """Make the loans' statements as of a date in `workers` processes; return every line, in no set order."""
    lines: list[StatementMade] = []
    for done in statement_chunks(database_url, options, loan_ids, as_of, workers=workers, chunk=chunk,
                                 tasks_per_worker=tasks_per_worker):  # fmt: skip
        lines.extend(done.lines)
        if on_chunk is not None:
            on_chunk(done)
    return lines


def statement_chunks(
    database_url: str,
    options: StatementOptions,
    loan_ids: Sequence[int],
    as_of: date,
    *,
    workers: int,
    chunk: int = CHUNK,
    tasks_per_worker: int = TASKS_PER_WORKER,
) -> Iterator[ChunkDone]:
    """Yield each chunk of statements as a worker finishes it."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["servicing.documents.statements", "loanline.statement_workers"])
    tasks = [(loan_ids[start : start + chunk], as_of) for start in range(0, len(loan_ids), chunk)]
    with context.Pool(workers, initializer=_start, initargs=(database_url, options),
                      maxtasksperchild=tasks_per_worker) as pool:  # fmt: skip
        yield from pool.imap_unordered(_make_chunk, tasks)
