"""Each record's answer, the one format the API, command line and batch job give: {label, is_attack, confidence,
probabilities: {class: p}} and, with a novelty detector, novelty: {score, threshold, unknown}.

Answers are msgspec structs, one type per list of classes: for a batch of 10,000 they are built and encoded to
JSON about four times faster than dicts encoded by pydantic-core, and `msgspec.to_builtins` gives the plain data.
"""

from functools import cache
from itertools import repeat, starmap
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from inference.model import Predictions

ENCODER = msgspec.json.Encoder()  # reused: a top-level encode call sets up its state every time

# Holding scalars only (and other such structs), answers cannot form cycles: the garbage collector need not track them.


class Novelty(msgspec.Struct, gc=False):
    score: float
    threshold: float
    unknown: bool


@cache
def answer_types(classes: tuple[str, ...], novelty: bool) -> tuple[type[msgspec.Struct], type[msgspec.Struct]]:
    """(probabilities, answer) struct types; class names are renamed fields, so any name is a key as it is."""
    fields = [f"p{i}" for i in range(len(classes))]
    probabilities = msgspec.defstruct(
        "Probabilities", fields, rename=dict(zip(fields, classes, strict=True)), gc=False, array_like=False
    )
    answer_fields = [("label", str), ("is_attack", bool), ("confidence", float), ("probabilities", probabilities)]
    answer = msgspec.defstruct("Answer", answer_fields + ([("novelty", Novelty)] if novelty else []), gc=False)
    return probabilities, answer


def build_answers(predictions: "Predictions") -> list[msgspec.Struct]:
    """The answer of each record, built column by column."""
    has_novelty = predictions.novelty_score is not None
    probabilities_type, answer_type = answer_types(tuple(predictions.classes), has_novelty)
    columns = [
        predictions.labels.tolist(),
        predictions.is_attack.tolist(),
        predictions.confidence.tolist(),
        list(starmap(probabilities_type, predictions.probabilities.tolist())),
    ]
    if has_novelty:
        scores, unknown = predictions.novelty_score.tolist(), predictions.unknown.tolist()
        columns.append(list(map(Novelty, scores, repeat(predictions.novelty_threshold), unknown)))
    return list(map(answer_type, *columns))
