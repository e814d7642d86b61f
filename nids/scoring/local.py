"""The local engine: one process reads, checks, scores and writes the file a chunk at a time."""

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from nids.alerts import AlertEmitter
from nids.scoring.job import ScoreJob, score_chunk
from nids.scoring.output import RejectsWriter, ScoredWriter
from nids.scoring.reader import read_chunks
from nids.scoring.verdicts import emit_alerts


@dataclass
class Summary:
    scored: int = 0
    rejected: int = 0  # rows
    attacks: int = 0  # rows with an attack verdict or flagged unknown
    alerts: int = 0  # emitted


def run_local(
    job: ScoreJob,
    output: Path,
    rejects_path: Path,
    chunk_rows: int,
    emitter: AlertEmitter | None = None,
    progress: tqdm | None = None,
) -> Summary:
    summary = Summary()
    writer, rejects = ScoredWriter(output, job.schema), RejectsWriter(rejects_path)
    malformed_seen = 0
    try:
        for chunk in read_chunks(job.source, job.read_columns, chunk_rows):
            result = score_chunk(job.model, job.rules, job.schema, chunk.table, chunk.rows)
            writer.write(result.scored)
            for reject in result.rejects:
                rejects.write(*reject)
            for bad in job.source.malformed[malformed_seen:]:
                rejects.write(bad.row, "", bad.reason, None, bad.text)
            malformed_seen = len(job.source.malformed)
            summary.scored += result.scored.num_rows
            flagged = count_flagged(result.scored)
            summary.attacks += flagged
            if emitter is not None and flagged:
                summary.alerts += emit_alerts(emitter, result.scored, job.model)
            if progress is not None:
                progress.update(chunk.table.num_rows)
    finally:
        writer.close()
        rejects.close()
    summary.rejected = len(rejects.rows)
    return summary


def count_flagged(scored) -> int:
    flagged = scored.column("is_attack").to_numpy(zero_copy_only=False)
    if "novelty_unknown" in scored.column_names:
        flagged = flagged | scored.column("novelty_unknown").to_numpy(zero_copy_only=False)
    return int(flagged.sum())
