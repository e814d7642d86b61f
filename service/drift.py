"""Does today's traffic still look like the training data? Per model, the bins of the last `window` records it
predicted (a ring of per-record bin indices and their counts: fixed memory, whatever the traffic), compared with
the training proportions in its metadata by the population stability index.

PSI = sum over bins of (recent - training) * ln(recent / training), with both shares floored at PSI_EPSILON so an
empty bin counts as rare rather than impossible. The usual reading: below 0.1 stable, 0.1 to 0.25 moderate shift,
above 0.25 a shift worth acting on.

Each service process keeps its own window (one per uvicorn worker): with several workers, a report describes the
share of traffic that worker served, which is a sample of the same traffic.
"""

import itertools
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, Request
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from preprocess.metadata import FeatureProfile, ModelMetadata
from preprocess.profile import ProfileBinner
from service.schemas.drift import DriftBin, DriftReport, FeatureDrift, Status

# The most recent records per model (and per worker) drift is measured over: 10,000 x 41 NSL-KDD features of int16
# bin indices is 0.8 MB per model.
WINDOW = 10_000
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
        self.seen = 0
        self.lock = threading.Lock()

    def observe(self, columns: Mapping[str, Sequence[Any]], n_rows: int) -> None:
        bins = self.binner.bins(columns, n_rows)[-self.window :]
        slots = (self.next + np.arange(len(bins))) % self.window
        with self.lock:
            evicted = self.ring[slots]
            filled = evicted >= 0
            self.counts -= self._tally((evicted + self.offsets)[filled])
            self.ring[slots] = bins
            self.counts += self._tally((bins + self.offsets).ravel())
            self.next = int((self.next + len(bins)) % self.window)
            self.seen += n_rows

    def _tally(self, flat: np.ndarray) -> np.ndarray:
        return np.bincount(flat, minlength=self.counts.size).reshape(self.counts.shape)

    def snapshot(self) -> tuple[int, list[np.ndarray]]:
        """(records in the window, each feature's recent share per bin)."""
        with self.lock:
            counts, seen = self.counts.copy(), self.seen
        records = min(seen, self.window)
        return records, [counts[i, : len(p)] / max(records, 1) for i, p in enumerate(self.training)]

    def psi_of(self, recent: list[np.ndarray]) -> list[float]:
        return [psi(t, r) for t, r in zip(self.training, recent, strict=True)]

    def report(self, model_id: str) -> DriftReport:
        records, recent = self.snapshot()
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
            status="insufficient-data" if records < MIN_RECORDS else status_of(features[0].psi),
            records=records,
            window=self.window,
            seen=self.seen,
            min_records=MIN_RECORDS,
            thresholds={"moderate": MODERATE_PSI, "drift": DRIFT_PSI},
            features=features,
        )


class NoProfile(LookupError):
    """The model's metadata has no training profile, so its traffic has nothing to be compared with."""


class DriftMonitors:
    """Every served model's window, by model id; models without a training profile have none."""

    def __init__(self, models: Mapping[str, ModelMetadata], window: int = WINDOW):
        self.window = window
        self.models = {model_id: ModelDrift(meta, window) for model_id, meta in models.items() if meta.training_profile}

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


async def get_drift_monitors(request: Request) -> DriftMonitors:
    return request.app.state.drift


# For a prediction route: `drift: DriftMonitorsDep`, then `drift.observe(model_id, columns, n_rows)` once answered.
DriftMonitorsDep = Annotated[DriftMonitors, Depends(get_drift_monitors)]


class DriftCollector(Collector):
    """Prometheus gauges of each model's drift, computed when scraped: register it with the registry /metrics
    serves (`registry.register(DriftCollector(app.state.drift))`). It reads the windows of the process that
    answers the scrape."""

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
            "Records in a model's drift window",
            labels=["model"],
        )
        for model_id, monitor in self.monitors.models.items():
            count, recent = monitor.snapshot()
            values = monitor.psi_of(recent)
            for profile, value in zip(monitor.profile, values, strict=True):
                feature.add_metric([model_id, profile.name], value)
            worst.add_metric([model_id], max(values))
            records.add_metric([model_id], count)
        yield from (feature, worst, records)
