"""Choices and defaults of flow metering, importable without NFStream or pyarrow (the command-line parser needs them)."""

from pathlib import Path

from nids.errors import CommandError

# nProbe's defaults (-d idle, -t lifetime), the exporter the published NF-BoT-IoT-v2 flows came from.
IDLE_TIMEOUT_S = 30
ACTIVE_TIMEOUT_S = 120

# How the published NF-BoT-IoT-v2 data encodes some columns differs from their NetFlow meaning (see docs/flows.md);
# the models learnt the published encoding, people reading flows want the plain one.
ENCODINGS = ("nf-bot-iot-v2", "plain")

FORMATS = (".csv", ".parquet")


def output_format(path: Path) -> str:
    """The output's format (its suffix), once the path is known to be writable there."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise CommandError(f"{path}: output must end in {' or '.join(FORMATS)}, not {suffix or 'no suffix'}")
    if not path.parent.is_dir():
        raise CommandError(f"{path}: no such directory {path.parent}")
    return suffix
