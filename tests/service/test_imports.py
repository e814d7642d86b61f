"""The service runs on onnxruntime and numpy alone: no TensorFlow, pandas or scikit-learn."""

import json
import subprocess
import sys

PROGRAM = """
import json, sys
from fastapi.testclient import TestClient
import service.main
with TestClient(service.main.app) as client:
    assert client.get("/readyz").status_code == 200
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_service_imports_no_training_libraries(tmp_path, artifacts_dir):
    env = {"NIDS_ARTIFACTS_DIR": str(artifacts_dir), "NIDS_DATABASE_URL": f"sqlite:///{tmp_path / 'nids.db'}", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=artifacts_dir.parent, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert "onnxruntime" in loaded and "service" in loaded  # the app really was built
    assert loaded.isdisjoint({"tensorflow", "keras", "pandas", "sklearn", "imblearn", "tf2onnx"})
