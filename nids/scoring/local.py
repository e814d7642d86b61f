"""The local engine: reads, checks, scores and writes the file a chunk at a time.

Reading, checking and encoding a chunk run in one background thread and writing in another, overlapping the model's
inference in the main thread: pyarrow, numpy and onnxruntime release the GIL while they work, so on two cores the
model is rarely kept waiting for the file.
"""

import queue
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
from tqdm import tqdm

from nids.alerts import AlertEmitter
from nids.scoring.job import ScoreJob, finish_chunk, prepare_chunk
from nids.scoring.output import RejectsWriter, ScoredWriter
from nids.scoring.reader import read_chunks
from nids.scoring.verdicts import emit_alerts

PREFETCH_CHUNKS = 2

Item = TypeVar("Item")


@dataclass
class Summary:
    scored: int = 0
    rejected: int = 0  # rows
    attacks: int = 0  # rows with an attack verdict or flagged unknown
    alerts: int = 0  # emitted


@dataclass(frozen=True)
class Outputs:
    """Where a run's results go, whichever engine scores: the two files, and optionally alerts and a progress bar."""

    scored: Path
    rejects: Path
    emitter: AlertEmitter | None = None
    progress: tqdm | None = None


def run_local(job: ScoreJob, outputs: Outputs, chunk_rows: int) -> Summary:
    summary = Summary()
    writer, rejects = ScoredWriter(outputs.scored, job.schema), RejectsWriter(outputs.rejects)
    malformed_seen = 0
    # One writer thread: each chunk is written while the next one is scored.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nids-write") as writes:
        writing = None
        try:
            # Reading, checking and encoding run in a background thread, the model in this one.
            chunks = read_chunks(job.source, job.read_columns, chunk_rows)
            prepared = (prepare_chunk(job.model, job.rules, chunk.table, chunk.rows) for chunk in chunks)
            for chunk in prefetch(prepared, PREFETCH_CHUNKS):
                result = finish_chunk(job.model, job.schema, chunk)
                if writing is not None:
                    writing.result()  # one write in flight at most; its error surfaces here
                writing = writes.submit(writer.write, result.scored)
                for reject in result.rejects:
                    rejects.write(*reject)
                malformed_seen = _write_malformed(job, rejects, malformed_seen)
                summary.scored += result.scored.num_rows
                flagged = count_flagged(result.scored)
                summary.attacks += flagged
                if outputs.emitter is not None and flagged:
                    summary.alerts += emit_alerts(outputs.emitter, result.scored, job.model)
                if outputs.progress is not None:
                    outputs.progress.update(chunk.table.num_rows)
            _write_malformed(job, rejects, malformed_seen)
            if writing is not None:
                writing.result()
        finally:
            writes.shutdown(wait=True)
            writer.close()
            rejects.close()
    summary.rejected = len(rejects.rows)
    return summary


def _write_malformed(job: ScoreJob, rejects: RejectsWriter, seen: int) -> int:
    malformed = job.source.malformed
    for bad in malformed[seen:]:
        rejects.write(bad.row, "", bad.reason, None, bad.text)
    return len(malformed)


def prefetch(items: Iterable[Item], depth: int) -> Iterator[Item]:
    """`items`, produced by a background thread up to `depth` ahead; its exception is raised here, in order."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        while not stop.is_set():  # the consumer may leave early: never block on a queue nobody reads
            try:
                buffer.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((done, None))
        except BaseException as exc:  # handed to the consumer, which raises it
            put((done, exc))

    thread = threading.Thread(target=produce, name="nids-read", daemon=True)
    thread.start()
    try:
        while True:
            item, error = buffer.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()


def count_flagged(scored: pa.Table) -> int:
    flagged = scored.column("is_attack").to_numpy(zero_copy_only=False)
    if "novelty_unknown" in scored.column_names:
        flagged = flagged | scored.column("novelty_unknown").to_numpy(zero_copy_only=False)
    return int(flagged.sum())
