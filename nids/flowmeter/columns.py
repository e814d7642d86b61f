"""The columns of a flow record: the flow key, then every feature the NF-BoT-IoT-v2 models take."""

from trainer.datasets import NF_BOT_IOT_V2

IDENTIFIERS = ("IPV4_SRC_ADDR", "L4_SRC_PORT", "IPV4_DST_ADDR", "L4_DST_PORT")
FEATURES = NF_BOT_IOT_V2.features
COLUMNS = IDENTIFIERS + FEATURES
HISTOGRAM_COLUMNS = tuple(name for name in FEATURES if name.startswith("NUM_PKTS_"))  # by IP size, smallest bin first

# Columns holding fractions or numbers beyond int64 (the per-second byte strings of the dataset encoding); the rest are integers.
FLOAT_COLUMNS = frozenset({"L7_PROTO", "SRC_TO_DST_SECOND_BYTES", "DST_TO_SRC_SECOND_BYTES"})
STRING_COLUMNS = frozenset({"IPV4_SRC_ADDR", "IPV4_DST_ADDR"})
