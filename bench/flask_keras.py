"""The baseline: the model served the way research prototypes commonly serve a Keras model, a Flask
route calling Keras `model.predict` on the request's record.

It takes the same JSON bodies and gives the same answers as our /predict and /predict/batch, through the
same numpy Preprocessor, so only the serving differs. It authenticates and validates nothing, so it does
less work per request than our service. Served by Flask's own (Werkzeug) server with a thread per request,
as `app.run()` does by default. Started by bench.serving:

    python -m bench.flask_keras artifacts/nsl-kdd-multiclass-cnn --port 5000
"""

from pathlib import Path

from flask import Flask, request

from bench.processes import model_server_args
from preprocess.metadata import load_metadata
from preprocess.transform import Preprocessor
from trainer.novelty import load_keras_model


def create_app(model_dir: Path) -> Flask:
    meta = load_metadata(model_dir / "metadata.json")
    model = load_keras_model(model_dir / "model.keras")
    preprocessor = Preprocessor(meta)
    classes, normal = meta.classes, meta.normal_class

    def predictions(records: list[dict]) -> list[dict]:
        outputs = model.predict(preprocessor.transform(records), verbose=0)
        # A model with a novelty detector answers [probabilities, novelty]; the baseline reports the classes only.
        probabilities = outputs[0] if isinstance(outputs, list) else outputs
        return [
            {
                "label": classes[best],
                "is_attack": classes[best] != normal,
                "confidence": float(row[best]),
                "probabilities": dict(zip(classes, row.tolist(), strict=True)),
            }
            for best, row in zip(probabilities.argmax(axis=1), probabilities, strict=True)
        ]

    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.post("/predict")
    def predict():
        return {"model": meta.model_id, "prediction": predictions([request.get_json()["record"]])[0]}

    @app.post("/predict/batch")
    def predict_batch():
        return {"model": meta.model_id, "predictions": predictions(request.get_json()["records"])}

    predictions(list(meta.examples.values()))  # the first predict() builds Keras's predict function
    return app


def main() -> None:
    args = model_server_args(__doc__.splitlines()[0], "model.keras", 5000)
    create_app(args.model_dir).run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
