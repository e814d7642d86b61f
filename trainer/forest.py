"""A random forest blended with the network(s) in the one served graph: probabilities = w * network + (1 - w) * forest.

Where a dataset rewards remembering exact values (on nf-bot-iot-v2, 96 % of held-out rows repeat a training row's
features exactly), a forest reaches what the network's smooth fit misses, while the network keeps the rare classes a
forest's votes drown (Theft). The forest is fitted on the real training rows (unbalanced, as the anchors are), the
network's share w chosen on validation macro-F1 (never test), and the forest is converted by skl2onnx and joined to the
network's graph, so the service, the CLI and the Spark job still run one ONNX file with the same outputs.
"""

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.ensemble import RandomForestClassifier

from trainer.evaluate import evaluate
from trainer.export import rename_tensor
from trainer.models import INPUT_NAME, OUTPUT_NAME
from trainer.prepare import Encoded

NETWORK_SHARES = tuple(round(0.1 * i, 1) for i in range(1, 10))  # candidates for w; 0 and 1 would drop a member
ML_OPSET = 3  # ai.onnx.ml: TreeEnsembleClassifier with float thresholds


@dataclass
class FittedForest:
    forest: RandomForestClassifier
    network_share: float
    validation_f1: dict[float, float]  # network share -> validation macro-F1 of the blend

    def blend(self, network_probabilities: np.ndarray, X: np.ndarray) -> np.ndarray:
        w = self.network_share
        return (w * network_probabilities + (1 - w) * self.forest.predict_proba(X)).astype(np.float32)

    def describe(self) -> str:
        return f"random forest ({self.forest.n_estimators} trees, weight {1 - self.network_share:.1f})"

    def report(self) -> dict:
        return {
            "trees": self.forest.n_estimators,
            "network_share": self.network_share,
            "chosen_by": "validation macro-F1 of the blend",
            "validation_f1_macro_by_network_share": {str(w): round(f, 5) for w, f in self.validation_f1.items()},
        }

    def joined(self, network: onnx.ModelProto) -> onnx.ModelProto:
        """The network's graph with the forest beside it on the same input, its probabilities output replaced by the
        blend; its other outputs (the novelty score) unchanged."""
        width = network.graph.input[0].type.tensor_type.shape.dim[1].dim_value
        opset = next(o.version for o in network.opset_import if o.domain in ("", "ai.onnx"))
        trees = to_onnx(
            self.forest,
            np.zeros((1, width), np.float32),
            options={"zipmap": False},
            target_opset={"": opset, "ai.onnx.ml": ML_OPSET},
        )
        trees = onnx.compose.add_prefix(trees, "forest/")
        rename_tensor(trees.graph, trees.graph.input[0].name, INPUT_NAME)
        tree_probabilities = trees.graph.output[1].name

        graph = network.graph
        network_probabilities = "network/" + OUTPUT_NAME
        rename_tensor(graph, OUTPUT_NAME, network_probabilities)
        w = self.network_share
        blend = [
            helper.make_node("Mul", [network_probabilities, "blend/network_share"], ["blend/network"]),
            helper.make_node("Mul", [tree_probabilities, "blend/forest_share"], ["blend/forest"]),
            helper.make_node("Add", ["blend/network", "blend/forest"], [OUTPUT_NAME]),
        ]
        shares = [
            numpy_helper.from_array(np.array(w, np.float32), "blend/network_share"),
            numpy_helper.from_array(np.array(1 - w, np.float32), "blend/forest_share"),
        ]
        joined = helper.make_graph(
            [*graph.node, *trees.graph.node, *blend],
            graph.name,
            list(graph.input),
            list(graph.output),
            [*graph.initializer, *trees.graph.initializer, *shares],
        )
        opsets = {o.domain: o.version for o in [*network.opset_import, *trees.opset_import]}
        model = helper.make_model(joined, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
        model.ir_version = max(network.ir_version, trees.ir_version)
        return model


def fit_forest(trees: int, seed: int, data: Encoded, validation_probabilities: np.ndarray) -> FittedForest:
    """Fit the forest on the training rows and choose the network's share on validation (`validation_probabilities`:
    the network's, over the output classes)."""
    classes, to_output = data.classes, data.classes.to_output
    X_train, y_train = data.train
    forest = RandomForestClassifier(n_estimators=trees, n_jobs=-1, random_state=seed).fit(X_train, to_output[y_train])
    if not np.array_equal(forest.classes_, np.arange(len(classes.output))):
        raise ValueError(f"the forest saw classes {forest.classes_.tolist()}, not every output class")
    X_val, y_val = data.validation
    forest_val = forest.predict_proba(X_val)
    scores = {}
    for w in NETWORK_SHARES:
        predicted = (w * validation_probabilities + (1 - w) * forest_val).argmax(axis=1)
        scores[w] = evaluate(to_output[y_val], predicted, classes.output, classes.normal)["f1_macro"]
    return FittedForest(forest, max(scores, key=scores.get), scores)
