"""The floor: the least a Python server can do to answer /predict with our model, a raw ASGI app on uvicorn
(the service's server, one worker, no access log) doing only what no prediction service can skip: read the
JSON body, the same numpy preprocessing and onnxruntime session (same options), and a JSON answer of the same
shape. No framework, authentication, validation, limits, logs or metrics: whatever our service costs above
this is the price of those. Started by bench.serving:

    python -m bench.floor artifacts/nsl-kdd-multiclass-cnn --port 5001
"""

import json
from pathlib import Path

import onnxruntime as ort
import uvicorn

from bench.processes import model_server_args
from inference import Model, session_options
from preprocess.metadata import load_metadata
from preprocess.transform import Preprocessor


def create_app(model_dir: Path):
    meta = load_metadata(model_dir / "metadata.json")
    model = Model(
        meta, ort.InferenceSession(str(model_dir / meta.onnx.file), session_options(), providers=["CPUExecutionProvider"])
    )
    preprocessor = Preprocessor(meta)
    classes, normal = meta.classes, meta.normal_class

    def predictions(records: list[dict]) -> list[dict]:
        probabilities = model.run(preprocessor.transform(records))[0]
        return [
            {
                "label": classes[best],
                "is_attack": classes[best] != normal,
                "confidence": float(row[best]),
                "probabilities": dict(zip(classes, row.tolist(), strict=True)),
            }
            for best, row in zip(probabilities.argmax(axis=1).tolist(), probabilities, strict=True)
        ]

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan: nothing to set up
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
                await receive()
                await send({"type": "lifespan.shutdown.complete"})
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        if scope["path"] == "/predict":
            answer = {"model": meta.model_id, "prediction": predictions([json.loads(b"".join(chunks))["record"]])[0]}
        elif scope["path"] == "/predict/batch":
            answer = {"model": meta.model_id, "predictions": predictions(json.loads(b"".join(chunks))["records"])}
        else:
            answer = {"status": "ok"}
        body = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    predictions(list(meta.examples.values()))  # warm-up
    return app


def main() -> None:
    args = model_server_args(__doc__.splitlines()[0], "model.onnx", 5001)
    uvicorn.run(create_app(args.model_dir), host="127.0.0.1", port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
