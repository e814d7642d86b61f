"""Readable text for the API's JSON answers, read from standard input.

python3 show.py error|token|user|prediction|batch < answer.json
"""

import json
import sys
from collections import Counter

MAX_ERRORS_SHOWN = 10


def error(text: str) -> str:
    """The API's `detail`: a message, or a list of {loc, msg} naming the fields at fault."""
    try:
        detail = json.loads(text)["detail"]
    except (ValueError, KeyError, TypeError):
        return text.strip()[:500] or "(empty answer)"
    if not isinstance(detail, list):
        return str(detail)
    lines = [f"{'.'.join(map(str, item.get('loc', [])))}: {item.get('msg')}" for item in detail[:MAX_ERRORS_SHOWN]]
    if len(detail) > MAX_ERRORS_SHOWN:
        lines.append(f"... and {len(detail) - MAX_ERRORS_SHOWN} more")
    return "\n  " + "\n  ".join(lines)


def token(answer: dict) -> str:
    """The token alone on standard output, so `$(token.sh ...)` captures just it."""
    print(f"token valid for {answer['expires_in'] // 60} minutes", file=sys.stderr)
    return answer["access_token"]


def user(answer: dict) -> str:
    return f"registered user '{answer['username']}' (id {answer['id']})"


def _verdict(prediction: dict) -> str:
    kind = "attack" if prediction["is_attack"] else "normal traffic"
    return f"{prediction['label']} ({kind}), confidence {prediction['confidence']:.3f}"


def prediction(answer: dict) -> str:
    found = answer["prediction"]
    width = max(map(len, found["probabilities"]))
    lines = [f"model:      {answer['model']}", f"prediction: {_verdict(found)}", "probabilities:"]
    lines += [f"  {label:<{width}}  {p:.3f}" for label, p in sorted(found["probabilities"].items(), key=lambda kv: -kv[1])]
    return "\n".join(lines)


def batch(answer: dict) -> str:
    found = answer["predictions"]
    width = max(len("label"), *(len(p["label"]) for p in found))
    lines = [f"model: {answer['model']}, {len(found)} records", f"{'#':>5}  {'label':<{width}}  attack  confidence"]
    lines += [
        f"{n:>5}  {p['label']:<{width}}  {'yes' if p['is_attack'] else 'no':<6}  {p['confidence']:.3f}"
        for n, p in enumerate(found, start=1)
    ]
    counts = Counter(p["label"] for p in found)
    lines.append("total: " + ", ".join(f"{label} {count}" for label, count in counts.most_common()))
    return "\n".join(lines)


def main() -> None:
    kinds = {"error": error, "token": token, "user": user, "prediction": prediction, "batch": batch}
    if len(sys.argv) != 2 or sys.argv[1] not in kinds:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    text = sys.stdin.read()
    print(kinds[sys.argv[1]](text if sys.argv[1] == "error" else json.loads(text)))


if __name__ == "__main__":
    main()
