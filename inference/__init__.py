"""The one inference path of the service, the `nids` command line and the Spark job: verified artifacts in,
predictions out, with numpy and onnxruntime alone (no web framework, no training libraries).

    models = load_models(Path("artifacts"))
    answers = models.default_for("nsl-kdd").predict_records(records).answers()
"""

from inference.artifacts import ArtifactError, session_options
from inference.loading import ModelLookup, ModelSet, UnknownModelError, load_model, load_models
from inference.model import INFERENCE_ROWS, Model, Predictions

__all__ = [
    "INFERENCE_ROWS",
    "ArtifactError",
    "Model",
    "ModelLookup",
    "ModelSet",
    "Predictions",
    "UnknownModelError",
    "load_model",
    "load_models",
    "session_options",
]
