"""The Spark engine: the local engine's scoring step (`score_chunk`) run by Spark tasks over the file's splits.

- Text input is read by Spark as lines and parsed in each task by the same pyarrow parser as the local engine, so
  malformed lines and bad values are found the same way; Parquet is read by Spark's own reader.
- Each row's number comes from where it sits in the file: the byte offset of its split (`input_file_block_start`) and
  its position in that split, turned into 1-based row numbers by one cheap counting pass.
- The model folder is shipped with `SparkContext.addFile`; each Python worker verifies and loads it once, lazily
  (an onnxruntime session cannot be pickled), and the code with `addPyFile`.
- Results land as Parquet parts in a folder beside OUTPUT (on a cluster it must be on a file system the driver and
  executors share), sorted by row; the driver then streams them into OUTPUT with the local engine's writers.
"""

import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark import SparkFiles
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

import inference
import nids
import preprocess
import trainer
from inference import Model, load_model
from nids.scoring.job import ScoreJob, score_chunk
from nids.scoring.local import Outputs, Summary, count_flagged
from nids.scoring.output import RejectsWriter, ScoredWriter
from nids.scoring.reader import InputError, parse_lines
from nids.scoring.validate import ColumnRule
from nids.scoring.verdicts import emit_alerts

REJECT_FIELDS = ("reject_column", "reject_reason", "reject_value", "reject_record")
_ARROW_TO_SPARK = {
    pa.string(): T.StringType(),
    pa.int64(): T.LongType(),
    pa.bool_(): T.BooleanType(),
    pa.float32(): T.FloatType(),
    pa.float64(): T.DoubleType(),
}


@dataclass(frozen=True)
class TaskPlan:
    """All a task needs, as plain picklable data (the model itself is loaded in the worker)."""

    model_folder: str  # its name among the files shipped with the job
    rules: list[ColumnRule]
    schema: pa.Schema  # of the scored rows
    file_columns: list[str]  # every column of a text input, in file order
    read_columns: list[str]
    text: bool
    header_lines: int
    offsets: dict[int, tuple[int, int]]  # split's byte offset -> (its first row id, the 0-based index of its first row)


def run_spark(job: ScoreJob, outputs: Outputs, chunk_rows: int, master: str) -> Summary:
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise InputError("--engine spark needs Java 17 (Debian: openjdk-17-jre-headless, installed by .ci/java.sh)")
    # The workers must run this interpreter, with the same onnxruntime and numpy, so their answers are the driver's.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    work = Path(tempfile.mkdtemp(prefix=f".{outputs.scored.name}.spark-", dir=outputs.scored.parent))
    builder = SparkSession.builder.master(master)
    if master.startswith("local"):  # a local run stays on loopback, whatever the host name resolves to
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    spark = (
        builder.appName(f"nids score {job.source.path.name}")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.pyspark.udf.simplifiedTraceback.enabled", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(chunk_rows))
        .getOrCreate()
    )
    try:
        spark.sparkContext.setLogLevel("ERROR")
        spark.sparkContext.addFile(str(job.model_folder.resolve()), recursive=True)
        spark.sparkContext.addPyFile(str(_code_archive(work)))
        frame = _read(spark, job)
        plan = TaskPlan(
            model_folder=job.model_folder.resolve().name,
            rules=job.rules,
            schema=job.schema,
            file_columns=job.source.columns,
            read_columns=job.read_columns,
            text=not job.source.is_parquet,
            header_lines=1 if job.source.has_header and not job.source.is_parquet else 0,
            offsets=_split_offsets(frame),
        )
        schema = _spark_schema(job.schema)
        results = frame.mapInPandas(partial(_score_task, plan), schema).persist()
        scored = results.where(F.col("reject_column").isNull()).drop(*REJECT_FIELDS).orderBy("row")
        rejects = results.where(F.col("reject_column").isNotNull()).select("row", *REJECT_FIELDS).orderBy("row")
        scored.write.parquet(str(work / "scored"))
        rejects.write.parquet(str(work / "rejects"))
        results.unpersist()
        return _collect(job, work, outputs)
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)


def _read(spark: SparkSession, job: ScoreJob) -> DataFrame:
    path = str(job.source.path.resolve())
    # Text is read as lines: the tasks parse them as the local engine does.
    frame = spark.read.parquet(path).select(*job.read_columns) if job.source.is_parquet else spark.read.text(path)
    return frame.withColumn("_split", F.input_file_block_start()).withColumn("_id", F.monotonically_increasing_id())


def _split_offsets(frame: DataFrame) -> dict[int, tuple[int, int]]:
    """Each split's first row id and the file-wide index of its first row: splits in byte order, rows in file order."""
    counts = frame.groupBy("_split").agg(F.min("_id").alias("first"), F.count("*").alias("n")).collect()
    offsets, start = {}, 0
    for split in sorted(counts, key=lambda r: r["_split"]):
        offsets[split["_split"]] = (split["first"], start)
        start += split["n"]
    return offsets


def _spark_schema(scored: pa.Schema) -> T.StructType:
    fields = [T.StructField(f.name, _ARROW_TO_SPARK[f.type]) for f in scored]
    return T.StructType(fields + [T.StructField(name, T.StringType()) for name in REJECT_FIELDS])


_models: dict[str, Model] = {}  # per Python worker: loaded on its first task, reused by the next


def _model(folder: str) -> Model:
    if folder not in _models:
        _models[folder] = load_model(Path(SparkFiles.get(folder)))
    return _models[folder]


def _score_task(plan: TaskPlan, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    model = _model(plan.model_folder)
    combined = pa.schema(list(plan.schema) + [pa.field(name, pa.string()) for name in REJECT_FIELDS])
    for batch in batches:
        first = np.array([plan.offsets[s] for s in batch["_split"].tolist()], dtype=np.int64).reshape(-1, 2)
        index = first[:, 1] + (batch["_id"].to_numpy(np.int64) - first[:, 0])  # 0-based position in the file
        malformed = []
        if plan.text:
            keep = index >= plan.header_lines
            lines = batch["value"][keep].tolist()
            rows = index[keep] - plan.header_lines + 1
            chunk, malformed = parse_lines(lines, rows, plan.file_columns, plan.read_columns)
            table, rows = chunk.table, chunk.rows
        else:
            table, rows = pa.Table.from_pandas(batch[plan.read_columns], preserve_index=False), index + 1
        result = score_chunk(model, plan.rules, plan.schema, table, rows)
        yield _frame(result.scored, combined)
        rejects = result.rejects + [(m.row, "", m.reason, None, m.text) for m in malformed]
        if rejects:
            rows_and_reasons = pa.table(list(zip(*rejects, strict=True)), names=["row", *REJECT_FIELDS])
            yield _frame(rows_and_reasons, combined)


def _frame(table: pa.Table, schema: pa.Schema) -> pd.DataFrame:
    """`table` with `schema`'s other columns as typed nulls: Spark's conversion takes typed nulls, not NaN for text."""
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type) for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema).to_pandas()


def _collect(job: ScoreJob, work: Path, outputs: Outputs) -> Summary:
    """Stream the sorted parts into the output files, in row order; alerts are sent from here, as the local engine does."""
    summary = Summary()
    writer, rejects = ScoredWriter(outputs.scored, job.schema), RejectsWriter(outputs.rejects)
    try:
        for part in sorted((work / "scored").glob("part-*.parquet")):
            for batch in pq.ParquetFile(part).iter_batches():
                table = pa.Table.from_batches([batch]).cast(job.schema)
                writer.write(table)
                summary.scored += table.num_rows
                flagged = count_flagged(table)
                summary.attacks += flagged
                if outputs.emitter is not None and flagged:
                    summary.alerts += emit_alerts(outputs.emitter, table, job.model)
                if outputs.progress is not None:
                    outputs.progress.update(table.num_rows)
        for part in sorted((work / "rejects").glob("part-*.parquet")):
            for row in pq.read_table(part).to_pylist():
                rejects.write(row["row"], *(row[name] for name in REJECT_FIELDS))
    finally:
        writer.close()
        rejects.close()
    summary.rejected = len(rejects.rows)
    return summary


def _code_archive(folder: Path) -> Path:
    """This code and the packages it imports, for the workers' import path (a cluster's executors do not have it)."""
    path = folder / "nids-code.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for package in (nids, inference, preprocess, trainer):
            root = Path(package.__file__).parent
            for source in root.rglob("*.py"):
                archive.write(source, source.relative_to(root.parent))
    return path
