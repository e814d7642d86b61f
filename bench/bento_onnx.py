"""The peer a user would pick instead of our service: BentoML serving the same ONNX file with the same numpy
preprocessing, written as BentoML's documentation shows (a service class, typed API methods, one worker).
No authentication. Started by bench.serving with the model folder in NIDS_BENCH_MODEL_DIR:

    NIDS_BENCH_MODEL_DIR=artifacts/nsl-kdd-multiclass-cnn bentoml serve bench.bento_onnx:NidsOnnx --port 5002
"""

import os
from pathlib import Path
from typing import Any

import bentoml
import onnxruntime as ort

from inference import Model, session_options
from preprocess.metadata import load_metadata
from preprocess.transform import Preprocessor

MODEL_DIR_ENV = "NIDS_BENCH_MODEL_DIR"


@bentoml.service(workers=1, traffic={"timeout": 300})
class NidsOnnx:
    def __init__(self) -> None:
        model_dir = Path(os.environ[MODEL_DIR_ENV])
        self.meta = load_metadata(model_dir / "metadata.json")
        onnx_file = str(model_dir / self.meta.onnx.file)
        session = ort.InferenceSession(onnx_file, session_options(), providers=["CPUExecutionProvider"])
        self.model = Model(self.meta, session)
        self.preprocessor = Preprocessor(self.meta)
        self._predictions(list(self.meta.examples.values()))  # warm-up

    def _predictions(self, records: list[dict]) -> list[dict]:
        probabilities = self.model.run(self.preprocessor.transform(records))[0]
        classes = self.meta.classes
        return [
            {
                "label": classes[best],
                "is_attack": classes[best] != self.meta.normal_class,
                "confidence": float(row[best]),
                "probabilities": dict(zip(classes, row.tolist(), strict=True)),
            }
            for best, row in zip(probabilities.argmax(axis=1).tolist(), probabilities, strict=True)
        ]

    @bentoml.api(route="/predict")
    def predict(self, dataset: str, record: dict[str, Any], model: str | None = None) -> dict[str, Any]:
        return {"model": self.meta.model_id, "prediction": self._predictions([record])[0]}

    @bentoml.api(route="/predict/batch")
    def predict_batch(self, dataset: str, records: list[dict[str, Any]], model: str | None = None) -> dict[str, Any]:
        return {"model": self.meta.model_id, "predictions": self._predictions(records)}
