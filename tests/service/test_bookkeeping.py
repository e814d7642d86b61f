"""Per-request bookkeeping done in blocks: every call made, in order, at most a block or MAX_SECONDS late, and made
before a scrape reads the metrics."""

import logging
import time

from service.bookkeeping import Bookkeeping, PendingFirst
from service.metrics import Metrics


def test_calls_are_made_in_order_once_a_block_gathers_after_the_delay_and_on_flush():
    made = []
    bookkeeping = Bookkeeping(block=3, max_seconds=0.2)
    bookkeeping.later(made.append, 1)
    bookkeeping.later(made.append, 2)
    assert made == []  # held back
    bookkeeping.later(made.append, 3)
    assert made == [1, 2, 3]  # a full block, at once
    bookkeeping.later(made.append, 4)
    deadline = time.monotonic() + 5
    while made == [1, 2, 3] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert made == [1, 2, 3, 4]  # within max_seconds of the first
    bookkeeping.later(made.append, 5)
    bookkeeping.flush()
    assert made == [1, 2, 3, 4, 5]


def test_a_failing_call_is_logged_and_the_rest_of_its_block_made(caplog):
    made = []
    bookkeeping = Bookkeeping(block=3, max_seconds=60)
    bookkeeping.later(made.append, "before")
    bookkeeping.later(lambda: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="service.bookkeeping"):
        bookkeeping.later(made.append, "after")
    assert made == ["before", "after"]
    assert "failed" in caplog.text and "ZeroDivisionError" in caplog.text


def test_a_scrape_makes_the_pending_updates_first():
    bookkeeping = Bookkeeping(block=1000, max_seconds=60)
    metrics = Metrics([PendingFirst(bookkeeping)])
    for _ in range(3):
        bookkeeping.later(metrics.observe_request, "POST", "/predict", 200, 0.001)
    labels = {"method": "POST", "route": "/predict", "status": "200"}
    assert metrics.exposition_registry().get_sample_value("nids_http_requests_total", labels) == 3
    assert b'nids_http_requests_total{method="POST",route="/predict",status="200"} 3.0' in metrics.exposition()
