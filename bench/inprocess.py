"""The second baseline: one batch through the Keras model in-process (three ways) against onnxruntime
in-process (same session options as the service), in one call and in the service's pieces of
INFERENCE_ROWS rows, per batch size, on the same encoded real rows.

bench.serving runs it in its own process pinned to the server core, so each side has one core:

    python -m bench.inprocess --artifacts artifacts --models nsl-kdd-multiclass-cnn --sizes 1 100 1000
"""

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.processes import SERVER_CORE, pin
from bench.records import real_records
from preprocess.metadata import load_metadata
from preprocess.transform import Preprocessor

SIZES = (1, 100, 1000, 10_000)


def median_seconds(call: Callable[[], object], seconds: float, least: int = 3, most: int = 1000) -> float:
    """Median wall time of `call` over repeats bounded by `seconds` (at least `least`), after one warm-up."""
    call()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < least or (len(times) < most and time.perf_counter() < deadline):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def compare(model_dir: Path, x: np.ndarray, sizes: list[int], seconds: float) -> dict:
    """{size: {way: median ms}} for Keras predict(), Keras call, Keras under tf.function, and onnxruntime
    in one call and as the service calls it."""
    import onnxruntime as ort
    import tensorflow as tf

    from inference import Model, session_options
    from trainer.novelty import load_keras_model

    meta = load_metadata(model_dir / "metadata.json")
    model = load_keras_model(model_dir / "model.keras")
    compiled = tf.function(
        lambda batch: model(batch, training=False), input_signature=[tf.TensorSpec([None, x.shape[1]], tf.float32)]
    )
    session = ort.InferenceSession(str(model_dir / meta.onnx.file), session_options(), providers=["CPUExecutionProvider"])
    served = Model(meta, session)
    results = {}
    for size in sizes:
        batch = x[:size]
        ways = {  # each way binds this size's batch as a default argument, so no call can see another size's
            "keras_predict": lambda batch=batch: model.predict(batch, verbose=0),
            "keras_call": lambda batch=batch: model(batch, training=False),
            "keras_tf_function": lambda batch=batch: compiled(batch),
            "onnxruntime": lambda batch=batch: session.run([meta.onnx.output_name], {meta.onnx.input_name: batch}),
            "onnxruntime_served": lambda batch=batch: served.run(batch),
        }
        results[size] = {name: round(median_seconds(call, seconds) * 1e3, 4) for name, call in ways.items()}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--models", nargs="+", required=True, help="model ids (folders under --artifacts)")
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--seconds", type=float, default=1.0, help="time spent on each model, size and way")
    parser.add_argument("--inputs", type=Path, help="an .npz of encoded rows per model id (else real rows are loaded)")
    parser.add_argument("--json", type=Path, help="write the results here (else print them)")
    args = parser.parse_args()
    pin(0, SERVER_CORE)
    inputs = np.load(args.inputs) if args.inputs else None
    results = {}
    for model_id in args.models:
        folder = args.artifacts / model_id
        if inputs is not None:
            x = inputs[model_id]
        else:
            meta = load_metadata(folder / "metadata.json")
            x = Preprocessor(meta).transform(real_records(meta.dataset, max(args.sizes), [meta]))
        results[model_id] = compare(folder, x, args.sizes, args.seconds)
    text = json.dumps(results, indent=2)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
