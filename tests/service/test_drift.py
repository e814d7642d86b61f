"""Drift: the rolling window of binned records, PSI against the training profile, GET /models/{id}/drift and the
Prometheus collector; single records binned in blocks; workers' windows added up through their files."""

import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from preprocess.metadata import NumericFeature
from service.drift import (
    DRIFT_PSI,
    MIN_RECORDS,
    DriftCollector,
    DriftMonitors,
    ModelDrift,
    psi,
)
from service.drift_workers import SUFFIX, WorkerFiles
from trainer.datasets import NSL_KDD
from trainer.load import load

MODEL = "nsl-kdd-multiclass-cnn"


@pytest.fixture(scope="module")
def training_rows(data_dir) -> pd.DataFrame:
    """5,000 rows drawn from the file the model's training split comes from: the same population."""
    return load(NSL_KDD, "multiclass", data_dir / "nsl-kdd" / "KDDTrain+.txt.gz").features.sample(5000, random_state=1)


def _columns(frame: pd.DataFrame) -> tuple[dict[str, list], int]:
    return {name: frame[name].tolist() for name in frame.columns}, len(frame)


def _shifted(frame: pd.DataFrame, meta) -> pd.DataFrame:
    """Every numeric feature multiplied by 100: the kind of unit change a new flow exporter brings."""
    numeric = [f.name for f in meta.features if isinstance(f, NumericFeature)]
    return frame.assign(**{name: frame[name] * 100 for name in numeric})


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    training = np.array([0.5, 0.3, 0.2, 0.0])
    assert psi(training, training) == pytest.approx(0.0, abs=1e-12)
    slightly, strongly = (
        np.array([0.45, 0.33, 0.22, 0.0]),
        np.array([0.1, 0.1, 0.2, 0.6]),
    )
    assert 0 < psi(training, slightly) < 0.1 < DRIFT_PSI < psi(training, strongly)


def test_training_like_records_are_stable(metadata, training_rows):
    monitor = ModelDrift(metadata[MODEL], window=10_000)
    monitor.observe(*_columns(training_rows))
    report = monitor.report(MODEL)
    assert report.records == report.seen == len(training_rows)
    assert report.status == "stable"
    assert max(f.psi for f in report.features) < 0.05, report.features[0]


def test_records_multiplied_by_100_drift(metadata, training_rows):
    meta = metadata[MODEL]
    monitor = ModelDrift(meta, window=10_000)
    monitor.observe(*_columns(_shifted(training_rows, meta)))
    report = monitor.report(MODEL)
    assert report.status == "drift"
    drifted = {f.feature for f in report.features if f.psi > DRIFT_PSI}
    assert {"src_bytes", "dst_bytes", "count", "srv_count", "dst_host_count"} <= drifted
    # Categorical columns were not touched, and say so.
    assert all(f.psi < 0.05 for f in report.features if f.feature in ("protocol_type", "service", "flag"))


def test_the_window_forgets_old_records_and_keeps_fixed_counts(metadata, training_rows):
    meta = metadata[MODEL]
    monitor = ModelDrift(meta, window=1000)
    shifted = _shifted(training_rows, meta)
    monitor.observe(*_columns(shifted.iloc[:1000]))
    assert monitor.report(MODEL).status == "drift"
    monitor.observe(*_columns(training_rows.iloc[:1]))  # a single record, then batches that wrap around the ring
    for start in range(1, 1000, 37):
        monitor.observe(*_columns(training_rows.iloc[start : min(start + 37, 1000)]))
    report = monitor.report(MODEL)
    assert report.records == 1000 and report.seen == 2000
    assert (monitor.counts.sum(axis=1) == 1000).all()
    assert report.status == "stable", report.features[0]
    monitor.observe(*_columns(shifted.iloc[:3000]))  # a batch larger than the window keeps its last rows
    assert (monitor.counts.sum(axis=1) == 1000).all() and monitor.report(MODEL).status == "drift"


def test_few_records_are_reported_as_insufficient(metadata, training_rows):
    monitor = ModelDrift(metadata[MODEL], window=10_000)
    monitor.observe(*_columns(training_rows.iloc[: MIN_RECORDS - 1]))
    assert monitor.report(MODEL).status == "insufficient-data"


def test_missing_values_count_in_the_fill_values_bin(metadata):
    meta = metadata[MODEL]
    monitor = ModelDrift(meta, window=100)
    record = dict(meta.examples["normal"])
    filled = dict(
        record,
        src_bytes=next(f.fill_value for f in meta.features if f.name == "src_bytes"),
    )
    missing = dict(record, src_bytes=None)
    bins = [monitor.binner.bins({k: [v] for k, v in r.items()}, 1) for r in (filled, missing)]
    assert (bins[0] == bins[1]).all()


def test_drift_route_reports_every_feature_largest_psi_first(client, auth, index, metadata):
    for entry in index["models"]:
        response = client.get(f"/models/{entry['id']}/drift", headers=auth)
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["model"] == entry["id"] and report["window"] > 0
        assert [f["feature"] for f in report["features"]] and {f["feature"] for f in report["features"]} == {
            f.name for f in metadata[entry["id"]].features
        }
        psis = [f["psi"] for f in report["features"]]
        assert psis == sorted(psis, reverse=True)
        for feature in report["features"]:
            assert sum(b["training"] for b in feature["bins"]) == pytest.approx(1.0)


def test_drift_route_errors(client, auth, bare_client):
    assert client.get(f"/models/{MODEL}/drift").status_code == 401
    response = client.get("/models/no-such-model/drift", headers=auth)
    assert response.status_code == 404 and "no-such-model" in response.json()["detail"]
    bare_token = _token(bare_client)
    response = bare_client.get(f"/models/{MODEL}/drift", headers=bare_token)
    assert response.status_code == 409 and "training profile" in response.json()["detail"]


def _token(client) -> dict[str, str]:
    credentials = {"username": "drift-bare-user", "password": "correct horse battery"}
    client.post("/auth/register", json=credentials)
    token = client.post("/auth/token", data=credentials).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_collector_exports_each_features_psi(metadata, training_rows):
    monitors = DriftMonitors({MODEL: metadata[MODEL]}, window=10_000)
    monitors.observe(MODEL, *_columns(_shifted(training_rows, metadata[MODEL])))
    registry = CollectorRegistry()
    registry.register(DriftCollector(monitors))
    text = generate_latest(registry).decode()
    report = monitors.get(MODEL).report(MODEL)
    src_bytes = next(f.psi for f in report.features if f.feature == "src_bytes")
    assert registry.get_sample_value("nids_drift_psi", {"model": MODEL, "feature": "src_bytes"}) == pytest.approx(src_bytes)
    assert registry.get_sample_value("nids_drift_max_psi", {"model": MODEL}) == pytest.approx(report.features[0].psi)
    assert registry.get_sample_value("nids_drift_window_records", {"model": MODEL}) == len(training_rows)
    assert "# TYPE nids_drift_psi gauge" in text


def test_the_official_test_set_differs_from_training_and_is_flagged(metadata, data_dir):
    """KDDTest+ was built with attacks and services absent from KDDTrain+: a real shift, not a synthetic one."""
    test_rows = load(NSL_KDD, "multiclass", data_dir / "nsl-kdd" / "KDDTest+.txt.gz").features.sample(5000, random_state=1)
    monitor = ModelDrift(metadata[MODEL], window=10_000)
    monitor.observe(*_columns(test_rows))
    report = monitor.report(MODEL)
    assert report.status == "drift" and report.features[0].feature in ("service", "flag")


def _reference_counts(monitor: ModelDrift, frame: pd.DataFrame, end: int) -> np.ndarray:
    """The counts of the last `window` of the first `end` rows, binned all at once."""
    bins = monitor.binner.bins(*_columns(frame.iloc[max(0, end - monitor.window) : end]))
    counts = np.zeros_like(monitor.counts)
    for feature in range(bins.shape[1]):
        counts[feature] += np.bincount(bins[:, feature], minlength=monitor.width)
    return counts


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    calls=st.lists(
        st.tuples(st.one_of(st.just(1), st.just(1), st.integers(2, 150)), st.booleans()),
        min_size=1,
        max_size=60,
    ),
    window=st.integers(1, 400),
)
def test_single_records_binned_in_blocks_count_as_if_binned_at_once(metadata, training_rows, calls, window):
    """Any mix of single records and batches, read at any point, gives the counts of binning every record at once."""
    meta = metadata[MODEL]
    frame = training_rows.iloc[:2000].copy()
    frame.loc[frame.index[::7], "src_bytes"] = None  # missing values take the fill value's bin in a block too
    monitor = ModelDrift(meta, window=window)
    end = 0
    for size, read in calls:
        rows = frame.iloc[end : end + size]
        if size == 1:  # as a /predict request hands it over: one value per column
            monitor.observe({name: (rows[name].iloc[0],) for name in rows.columns}, 1)
        else:
            monitor.observe(*_columns(rows))
        end += len(rows)
        if read:
            summary = monitor.summary()
            assert summary.seen == end and summary.records == min(end, window)
            assert (summary.counts == _reference_counts(monitor, frame, end)).all()
    assert (monitor.summary().counts == _reference_counts(monitor, frame, end)).all()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _wait_for(path, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.05)


def test_reports_add_up_the_windows_of_every_live_worker(metadata, training_rows, tmp_path):
    meta = metadata[MODEL]
    monitors = DriftMonitors({MODEL: meta}, window=1000, directory=tmp_path)
    try:
        _wait_for(tmp_path / f"{os.getpid()}{SUFFIX}")  # announced at start, before any record
        monitors.observe(MODEL, *_columns(training_rows.iloc[:300]))
        for i in range(300, 340):
            monitors.observe(MODEL, *_columns(training_rows.iloc[i : i + 1]))
        other = ModelDrift(meta, window=1000)  # another worker, which saw shifted traffic
        other.observe(*_columns(_shifted(training_rows.iloc[:1500], meta)))
        WorkerFiles(tmp_path, pid=os.getppid()).publish({MODEL: other.summary()})
        gone = ModelDrift(meta, window=1000)  # a worker that has exited since it published
        gone.observe(*_columns(training_rows.iloc[:500]))
        gone_files = WorkerFiles(tmp_path, pid=_dead_pid())
        gone_files.publish({MODEL: gone.summary()})

        report = monitors.report(MODEL)
        assert (report.records, report.seen, report.window) == (340 + 1000, 340 + 1500, 2 * 1000)
        assert not gone_files.path.exists()  # deleted once its process was found gone
        src_bytes = next(f for f in report.features if f.feature == "src_bytes")
        combined = (monitors.models[MODEL].summary().counts + other.summary().counts)[:, : len(src_bytes.bins)]
        feature = [p.name for p in meta.training_profile].index("src_bytes")
        assert [b.recent for b in src_bytes.bins] == pytest.approx(combined[feature] / 1340)

        registry = CollectorRegistry()
        registry.register(DriftCollector(monitors))
        assert registry.get_sample_value("nids_drift_window_records", {"model": MODEL}) == 1340
        assert registry.get_sample_value("nids_drift_max_psi", {"model": MODEL}) == pytest.approx(report.features[0].psi)
    finally:
        monitors.close()
    assert not (tmp_path / f"{os.getpid()}{SUFFIX}").exists()  # withdrawn: its records leave the summary


def test_a_worker_publishes_its_records_within_the_bound(metadata, training_rows, tmp_path):
    monitors = DriftMonitors({MODEL: metadata[MODEL]}, window=1000, directory=tmp_path)
    try:
        for i in range(5):  # fewer than a block: still waiting to be binned when published
            monitors.observe(MODEL, *_columns(training_rows.iloc[i : i + 1]))
        reader = WorkerFiles(tmp_path, pid=os.getppid())  # another worker, reading what this one published
        deadline = time.monotonic() + 10
        while not (published := reader.others([MODEL])[MODEL]) or published[0].seen < 5:
            assert time.monotonic() < deadline, "the records were not published"
            time.sleep(0.05)
        assert published[0].records == 5 and published[0].capacity == 1000
    finally:
        monitors.close()


def test_a_worker_that_has_seen_nothing_adds_no_capacity(metadata, training_rows, tmp_path):
    meta = metadata[MODEL]
    idle = ModelDrift(meta, window=1000)
    WorkerFiles(tmp_path, pid=os.getppid()).publish({MODEL: idle.summary()})
    monitors = DriftMonitors({MODEL: meta}, window=1000, directory=tmp_path)
    try:
        monitors.observe(MODEL, *_columns(training_rows.iloc[:10]))
        report = monitors.report(MODEL)
        assert (report.records, report.window) == (10, 1000)
    finally:
        monitors.close()
