"""Does today's traffic still look like the training data? Per model, the bins of the last `window` records it
predicted (a ring of per-record bin indices and their counts: fixed memory, whatever the traffic), compared with
the training proportions in its metadata by the population stability index.

PSI = sum over bins of (recent - training) * ln(recent / training), with both shares floored at PSI_EPSILON so an
empty bin counts as rare rather than impossible. The usual reading: below 0.1 stable, 0.1 to 0.25 moderate shift,
above 0.25 a shift worth acting on.

Single records (the /predict path) wait in a short list and are binned BLOCK at a time, and always before a report
or a scrape reads the counts: the same counts as binning each at once, for a fraction of the cost per record.

With several worker processes (PROMETHEUS_MULTIPROC_DIR set, as `python -m service` does for NIDS_WORKERS > 1), each
worker keeps a window of `window` records and publishes its counts to a shared directory within PUBLISH_SECONDS of
a change; a report or a scrape adds the other live workers' counts to its own (service/drift_workers.py). The summary
is the sum of the workers' windows: up to `window` records per worker that has received records, whichever worker
answers. Without that directory, one process: its own window.
"""

import itertools
import logging
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, Request
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from preprocess.metadata import FeatureProfile, ModelMetadata
from preprocess.profile import ProfileBinner
from service.drift_workers import Summary, WorkerFiles
from service.metrics import multiprocess_dir
from service.schemas.drift import DriftBin, DriftReport, FeatureDrift, Status

logger = logging.getLogger(__name__)

# The most recent records per model (and per worker) drift is measured over: 10,000 x 41 NSL-KDD features of int16
# bin indices is 0.8 MB per model.
WINDOW = 10_000
# Single records are binned this many at a time: numpy's cost per call, not per row, dominates binning one record.
BLOCK = 64
# The longest a worker's published window lags behind its records.
PUBLISH_SECONDS = 1.0
PSI_EPSILON = 1e-4
MODERATE_PSI = 0.1
DRIFT_PSI = 0.25
# Below this many records, sampling noise alone gives PSI above MODERATE_PSI on a 10-bin feature (about bins / records).
MIN_RECORDS = 200


def psi(training: np.ndarray, recent: np.ndarray) -> float:
    expected, actual = (
        np.maximum(training, PSI_EPSILON),
        np.maximum(recent, PSI_EPSILON),
    )
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def status_of(value: float) -> Status:
    return "stable" if value < MODERATE_PSI else "moderate" if value < DRIFT_PSI else "drift"


def bin_labels(profile: FeatureProfile) -> list[str]:
    if profile.categories is not None:
        return [*profile.categories, "(other)"]
    edges = [f"{e:g}" for e in profile.edges]
    return [
        f"≤ {edges[0]}",
        *(f"{low} – {high}" for low, high in itertools.pairwise(edges)),
        f"> {edges[-1]}",
    ]


class ModelDrift:
    """One model's rolling window. `observe` may run from several threads (batch routes run in a pool)."""

    def __init__(self, meta: ModelMetadata, window: int):
        self.profile = meta.training_profile
        self.binner = ProfileBinner(meta.features, self.profile)
        self.window = window
        self.training = [np.array(p.proportions) for p in self.profile]
        self.width = int(self.binner.sizes.max())
        # -1 marks a slot no record has filled yet; int16 holds any bin count a profile has.
        self.ring = np.full((window, len(self.profile)), -1, dtype=np.int16)
        self.counts = np.zeros((len(self.profile), self.width), dtype=np.int64)
        self.offsets = np.arange(len(self.profile)) * self.width  # flat index of (feature, bin) = feature * width + bin
        self.next = 0
        self.seen = 0  # records observed, those still pending included
        self.pending: list[Mapping[str, Sequence[Any]]] = []  # single records' columns, not binned yet
        self.lock = threading.Lock()

    def observe(self, columns: Mapping[str, Sequence[Any]], n_rows: int) -> None:
        """A single record's columns wait, unchanged (the caller must not modify them), to be binned with the next
        ones; a batch is binned at once, after the records waiting."""
        if n_rows == 1:
            with self.lock:
                self.pending.append(columns)
                self.seen += 1
                if len(self.pending) >= BLOCK:
                    self._bin_pending()
            return
        bins = self.binner.bins(columns, n_rows)
        with self.lock:
            self._bin_pending()
            self._add(bins)
            self.seen += n_rows

    def _bin_pending(self) -> None:
        """Bins the waiting records as one block, in their order. The caller holds the lock."""
        if not self.pending:
            return
        waiting, self.pending = self.pending, []  # taken first: a block that failed to bin is not retried forever
        block = {name: [value for columns in waiting for value in columns[name]] for name in self.binner.names}
        self._add(self.binner.bins(block, len(waiting)))

    def _add(self, bins: np.ndarray) -> None:
        """Puts binned records into the ring, evicting the oldest. The caller holds the lock."""
        bins = bins[-self.window :]
        slots = (self.next + np.arange(len(bins))) % self.window
        evicted = self.ring[slots]
        filled = evicted >= 0
        self.counts -= self._tally((evicted + self.offsets)[filled])
        self.ring[slots] = bins
        self.counts += self._tally((bins + self.offsets).ravel())
        self.next = int((self.next + len(bins)) % self.window)

    def _tally(self, flat: np.ndarray) -> np.ndarray:
        return np.bincount(flat, minlength=self.counts.size).reshape(self.counts.shape)

    def summary(self) -> Summary:
        """This process's window, the records waiting binned first."""
        with self.lock:
            self._bin_pending()
            return Summary(counts=self.counts.copy(), seen=self.seen, capacity=self.window)

    def shares(self, summary: Summary) -> list[np.ndarray]:
        """Each feature's recent share per bin."""
        records = max(summary.records, 1)
        return [summary.counts[i, : len(p)] / records for i, p in enumerate(self.training)]

    def psi_of(self, recent: list[np.ndarray]) -> list[float]:
        return [psi(t, r) for t, r in zip(self.training, recent, strict=True)]

    def report(self, model_id: str, summary: Summary | None = None) -> DriftReport:
        """The report on `summary` (all workers' windows, from DriftMonitors.report), by default this process's."""
        summary = summary or self.summary()
        recent = self.shares(summary)
        features = [
            FeatureDrift(
                feature=profile.name,
                psi=value,
                status=status_of(value),
                bins=[
                    DriftBin(bin=label, training=t, recent=r)
                    for label, t, r in zip(
                        bin_labels(profile),
                        profile.proportions,
                        shares.tolist(),
                        strict=True,
                    )
                ],
            )
            for profile, shares, value in zip(self.profile, recent, self.psi_of(recent), strict=True)
        ]
        features.sort(key=lambda f: -f.psi)
        return DriftReport(
            model=model_id,
            status="insufficient-data" if summary.records < MIN_RECORDS else status_of(features[0].psi),
            records=summary.records,
            window=summary.capacity,
            seen=summary.seen,
            min_records=MIN_RECORDS,
            thresholds={"moderate": MODERATE_PSI, "drift": DRIFT_PSI},
            features=features,
        )


class NoProfile(LookupError):
    """The model's metadata has no training profile, so its traffic has nothing to be compared with."""


def shared_directory() -> Path | None:
    """Where the workers exchange their windows: beside their metrics, when there is such a place."""
    base = multiprocess_dir()
    return Path(base) / "drift" if base else None


class DriftMonitors:
    """Every served model's window, by model id; models without a training profile have none.

    With a `directory` shared by the workers (by default `shared_directory()`), a background thread publishes this
    process's windows there (at once, then within PUBLISH_SECONDS of each change) and summaries add the other
    workers'. One instance per process: its file is named by the pid. `close` stops the thread and withdraws the file.
    """

    def __init__(self, models: Mapping[str, ModelMetadata], window: int = WINDOW, directory: Path | None = None):
        self.window = window
        self.models = {model_id: ModelDrift(meta, window) for model_id, meta in models.items() if meta.training_profile}
        directory = directory or shared_directory()
        self.files = WorkerFiles(directory) if directory and self.models else None
        self.stopped = threading.Event()
        self.publisher = None
        if self.files is not None:
            self.publisher = threading.Thread(target=self._publish_while_running, name="drift-publisher", daemon=True)
            self.publisher.start()

    def observe(self, model_id: str, columns: Mapping[str, Sequence[Any]], n_rows: int) -> None:
        """Count the records a model was just asked about: `columns` maps each column name to its n_rows values.
        The hook for every prediction route; a model without a profile is skipped."""
        monitor = self.models.get(model_id)
        if monitor is not None and n_rows:
            monitor.observe(columns, n_rows)

    def get(self, model_id: str) -> ModelDrift:
        if model_id not in self.models:
            raise NoProfile(f"model '{model_id}' has no training profile in its metadata, so drift cannot be measured")
        return self.models[model_id]

    def summaries(self, model_ids: Collection[str] | None = None) -> dict[str, Summary]:
        """Each model's window (all of them by default), plus the other workers' when they share a directory."""
        own = {model_id: self.models[model_id].summary() for model_id in (self.models if model_ids is None else model_ids)}
        if self.files is None:
            return own
        others = self.files.others(own)
        return {
            model_id: Summary.total([mine, *(o for o in others[model_id] if o.counts.shape == mine.counts.shape)])
            for model_id, mine in own.items()
        }

    def report(self, model_id: str) -> DriftReport:
        return self.get(model_id).report(model_id, self.summaries([model_id])[model_id])

    def _publish_while_running(self) -> None:
        published = None  # so the first pass replaces whatever an earlier process of this pid left
        while True:
            seen = [monitor.seen for monitor in self.models.values()]
            if seen != published:
                try:
                    self.files.publish({model_id: monitor.summary() for model_id, monitor in self.models.items()})
                    published = seen
                except OSError as exc:
                    logger.warning("cannot publish the drift windows to %s: %s", self.files.directory, exc)
            if self.stopped.wait(PUBLISH_SECONDS):
                return

    def close(self) -> None:
        if self.publisher is not None:
            self.stopped.set()
            self.publisher.join()
            self.files.withdraw()


async def get_drift_monitors(request: Request) -> DriftMonitors:
    return request.app.state.drift


# For a prediction route: `drift: DriftMonitorsDep`, then `drift.observe(model_id, columns, n_rows)` once answered.
DriftMonitorsDep = Annotated[DriftMonitors, Depends(get_drift_monitors)]


class DriftCollector(Collector):
    """Prometheus gauges of each model's drift, computed when scraped: register it with the registry /metrics
    serves (`registry.register(DriftCollector(app.state.drift))`). It reports the summaries of
    `DriftMonitors.summaries`: every worker's windows, whichever answers the scrape."""

    def __init__(self, monitors: DriftMonitors):
        self.monitors = monitors

    def collect(self) -> Iterator[GaugeMetricFamily]:
        feature = GaugeMetricFamily(
            "nids_drift_psi",
            "Population stability index of a feature's recent values against training",
            labels=["model", "feature"],
        )
        worst = GaugeMetricFamily(
            "nids_drift_max_psi",
            "Largest feature PSI of a model's recent records",
            labels=["model"],
        )
        records = GaugeMetricFamily(
            "nids_drift_window_records",
            "Records in a model's drift window (summed over the workers)",
            labels=["model"],
        )
        for model_id, summary in self.monitors.summaries().items():
            monitor = self.monitors.models[model_id]
            values = monitor.psi_of(monitor.shares(summary))
            for profile, value in zip(monitor.profile, values, strict=True):
                feature.add_metric([model_id, profile.name], value)
            worst.add_metric([model_id], max(values))
            records.add_metric([model_id], summary.records)
        yield from (feature, worst, records)
