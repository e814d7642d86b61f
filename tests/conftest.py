import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real datasets: $NIDS_DATA_DIR, else ../shared/datasets beside the checkout."""
    path = Path(os.environ.get("NIDS_DATA_DIR", REPO.parent / "shared" / "datasets"))
    if not (path / "nsl-kdd" / "KDDTrain+.txt.gz").is_file():
        pytest.fail(f"real datasets not found in {path}; set NIDS_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    return REPO / "artifacts"
