"""What each supported dataset looks like on disk: columns, labels, identifiers and feature domains.

Every fact about a dataset's schema lives here once; the trainer writes what a model needs of it
into the model's metadata, and the service reads it from there.
"""

from dataclasses import dataclass, field

from preprocess.defaults import DATASET_IDS


class DataError(ValueError):
    """A data file that cannot be used as it is."""


@dataclass(frozen=True)
class DataFile:
    """One stored data file: its checksum, and where a user without it gets the same content."""

    sha256: str  # of the file as stored (compressed), as `sha256sum` prints it
    origin: str  # how the stored file relates to the public dataset


NSL_KDD_FEATURES = (
    "duration",
    "protocol_type",
    "service",
    "flag",
    "src_bytes",
    "dst_bytes",
    "land",
    "wrong_fragment",
    "urgent",
    "hot",
    "num_failed_logins",
    "logged_in",
    "num_compromised",
    "root_shell",
    "su_attempted",
    "num_root",
    "num_file_creations",
    "num_shells",
    "num_access_files",
    "num_outbound_cmds",
    "is_host_login",
    "is_guest_login",
    "count",
    "srv_count",
    "serror_rate",
    "srv_serror_rate",
    "rerror_rate",
    "srv_rerror_rate",
    "same_srv_rate",
    "diff_srv_rate",
    "srv_diff_host_rate",
    "dst_host_count",
    "dst_host_srv_count",
    "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate",
    "dst_host_srv_diff_host_rate",
    "dst_host_serror_rate",
    "dst_host_srv_serror_rate",
    "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate",
)

# The usual five-category grouping, covering every attack name in the official train and test files.
NSL_KDD_CATEGORIES = {
    "DoS": "back land neptune pod smurf teardrop apache2 mailbomb processtable udpstorm",
    "Probe": "ipsweep nmap portsweep satan mscan saint",
    "R2L": "ftp_write guess_passwd imap multihop phf spy warezclient warezmaster sendmail named "
    "snmpgetattack snmpguess xlock xsnoop worm",
    "U2R": "buffer_overflow loadmodule perl rootkit httptunnel ps sqlattack xterm",
}
NSL_KDD_ATTACKS = {name: category for category, names in NSL_KDD_CATEGORIES.items() for name in names.split()}

BOT_IOT_FEATURES = (
    "proto",
    "seq",
    "stddev",
    "N_IN_Conn_P_SrcIP",
    "min",
    "state_number",
    "mean",
    "N_IN_Conn_P_DstIP",
    "drate",
    "srate",
    "max",
)

NF_BOT_IOT_V2_FEATURES = (
    "PROTOCOL",
    "L7_PROTO",
    "IN_BYTES",
    "IN_PKTS",
    "OUT_BYTES",
    "OUT_PKTS",
    "TCP_FLAGS",
    "CLIENT_TCP_FLAGS",
    "SERVER_TCP_FLAGS",
    "FLOW_DURATION_MILLISECONDS",
    "DURATION_IN",
    "DURATION_OUT",
    "MIN_TTL",
    "MAX_TTL",
    "LONGEST_FLOW_PKT",
    "SHORTEST_FLOW_PKT",
    "MIN_IP_PKT_LEN",
    "MAX_IP_PKT_LEN",
    "SRC_TO_DST_SECOND_BYTES",
    "DST_TO_SRC_SECOND_BYTES",
    "RETRANSMITTED_IN_BYTES",
    "RETRANSMITTED_IN_PKTS",
    "RETRANSMITTED_OUT_BYTES",
    "RETRANSMITTED_OUT_PKTS",
    "SRC_TO_DST_AVG_THROUGHPUT",
    "DST_TO_SRC_AVG_THROUGHPUT",
    "NUM_PKTS_UP_TO_128_BYTES",
    "NUM_PKTS_128_TO_256_BYTES",
    "NUM_PKTS_256_TO_512_BYTES",
    "NUM_PKTS_512_TO_1024_BYTES",
    "NUM_PKTS_1024_TO_1514_BYTES",
    "TCP_WIN_MAX_IN",
    "TCP_WIN_MAX_OUT",
    "ICMP_TYPE",
    "ICMP_IPV4_TYPE",
    "DNS_QUERY_ID",
    "DNS_QUERY_TYPE",
    "DNS_TTL_ANSWER",
    "FTP_COMMAND_RET_CODE",
)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    features: tuple[str, ...]  # model inputs, in file order
    identifiers: tuple[str, ...]  # never features: accepted from clients and ignored
    label_columns: dict[str, str]  # task -> column holding its raw label
    # raw label -> class name, per task; a raw label missing here is an error
    class_maps: dict[str, dict[str, str]]
    normal_class: dict[str, str]  # task -> class meaning normal traffic
    categorical: dict[str, bool] = field(default_factory=dict)  # name -> closed vocabulary?
    bounded_01: frozenset[str] = frozenset()  # rates and flags that the data defines in [0, 1]
    has_header: bool = True
    # The files training reads, under the data directory -> what the file is and the SHA-256 of the stored file.
    files: dict[str, DataFile] = field(default_factory=dict)
    extra_columns: tuple[str, ...] = ()  # present in the file, neither feature nor label nor identifier
    difficulty_column: str | None = None  # of `extra_columns`: a rating of how hard each record is to classify
    # Of `files`, the one tools draw example records from: rows no model trained on where the dataset has a test file.
    records_file: str | None = None
    # Of `features`: when and how fast a flow's packets came rather than what they were (durations, rates); the
    # overlap report sets them aside to ask what the rest of a new row's values say about its label.
    timing_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column a file of this dataset holds, in the order headerless files use."""
        labels = tuple(dict.fromkeys(self.label_columns.values()))
        return self.features + labels + self.extra_columns + self.identifiers

    @property
    def default_files(self) -> tuple[str, ...]:
        return tuple(self.files)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.label_columns)

    def classes(self, task: str) -> list[str]:
        """Class names in a fixed order: normal first, then the others as first listed."""
        names = list(dict.fromkeys(self.class_maps[task].values()))
        normal = self.normal_class[task]
        return [normal] + [n for n in names if n != normal]


_NSL_KDD_SOURCE = (
    "the official NSL-KDD distribution (Canadian Institute for Cybersecurity, University of New Brunswick,"
    " https://www.unb.ca/cic/datasets/nsl.html)"
)
_BOT_IOT_SOURCE = "BoT-IoT (UNSW Canberra, https://research.unsw.edu.au/projects/bot-iot-dataset)"
_NF_SOURCE = "NF-BoT-IoT-v2 (University of Queensland, https://staff.itee.uq.edu.au/marius/NIDS_datasets/)"


def _official_nsl_kdd(name: str, sha256: str) -> DataFile:
    return DataFile(sha256, f"{name} of {_NSL_KDD_SOURCE}, unchanged, compressed with gzip")


_BINARY = {"0": "normal", "1": "attack"}

NSL_KDD = DatasetSpec(
    name="nsl-kdd",
    features=NSL_KDD_FEATURES,
    identifiers=(),
    extra_columns=("difficulty",),
    difficulty_column="difficulty",
    label_columns={"binary": "class", "multiclass": "class"},
    class_maps={
        "binary": {"normal": "normal"} | {name: "attack" for name in NSL_KDD_ATTACKS},
        "multiclass": {"normal": "normal"} | NSL_KDD_ATTACKS,
    },
    normal_class={"binary": "normal", "multiclass": "normal"},
    categorical={"protocol_type": True, "service": False, "flag": True},
    bounded_01=frozenset(
        {c for c in NSL_KDD_FEATURES if c.endswith("_rate")} | {"land", "logged_in", "is_host_login", "is_guest_login"}
    ),
    has_header=False,
    files={
        "nsl-kdd/KDDTrain+.txt.gz": _official_nsl_kdd(
            "KDDTrain+.txt", "39e78eaceffb1a183af002b4994b100b69795895bfbf67cfc62dabd4c9b76d4e"
        ),
        "nsl-kdd/KDDTest+.txt.gz": _official_nsl_kdd(
            "KDDTest+.txt", "1ebe1079af669e3c35ef7be25b5bafde1e47951244d1b4834682b14a22238da1"
        ),
        "nsl-kdd/KDDTest-21.txt.gz": _official_nsl_kdd(
            "KDDTest-21.txt", "cf79d2eab7d8cc749e7c088260c0297cbb26d95062d27d1f8c761f4eeac3327a"
        ),
    },
    records_file="nsl-kdd/KDDTest+.txt.gz",
)

_BOT_IOT_CATEGORIES = ("Normal", "DDoS", "DoS", "Reconnaissance", "Theft")
BOT_IOT = DatasetSpec(
    name="bot-iot",
    features=BOT_IOT_FEATURES,
    identifiers=("pkSeqID", "saddr", "sport", "daddr", "dport"),
    extra_columns=("subcategory",),
    label_columns={"binary": "attack", "multiclass": "category"},
    class_maps={"binary": _BINARY, "multiclass": {c: c for c in _BOT_IOT_CATEGORIES}},
    normal_class={"binary": "normal", "multiclass": "Normal"},
    categorical={"proto": False},
    # Small real samples of the UNSW "10 best features" extract, as published on GitHub; the extract itself is
    # far larger, and a different sample of it has a different checksum (train on it with --file).
    files={
        "bot-iot/balanced_bot_iot.csv.gz": DataFile(
            "4c8e0c6274e9432bdd5a1e6d2ca0045043247dfd0a88257e6c60c5cbf41bb8eb",
            f"954 rows of the 5 % extract of {_BOT_IOT_SOURCE}: dataset/balanced_bot_iot.csv of"
            " github.com/SurajSandhu/Valcore (commit ae7da7c), compressed with gzip",
        ),
        "bot-iot/bot_iot_sample.csv.gz": DataFile(
            "69b8b30dfe6cb3d16c990ea7ff65b40abb1855f1acaf22e968dea5d6473b1292",
            f"999 rows of the 5 % extract of {_BOT_IOT_SOURCE}: bot_iot_sample.csv of"
            " github.com/minmin0111/IoT-Traffic-Anomaly-Detection (commit fa71c80), compressed with gzip",
        ),
    },
)

_NF_CATEGORIES = ("Benign", "DDoS", "DoS", "Reconnaissance", "Theft")
NF_BOT_IOT_V2 = DatasetSpec(
    name="nf-bot-iot-v2",
    features=NF_BOT_IOT_V2_FEATURES,
    # Source ports are ephemeral and destination ports mostly name the victim service of one
    # testbed; both would let the model memorise the capture rather than the traffic.
    identifiers=("IPV4_SRC_ADDR", "L4_SRC_PORT", "IPV4_DST_ADDR", "L4_DST_PORT", "Dataset"),
    label_columns={"binary": "Label", "multiclass": "Attack"},
    class_maps={"binary": _BINARY, "multiclass": {c: c for c in _NF_CATEGORIES}},
    normal_class={"binary": "normal", "multiclass": "Benign"},
    files={
        "bot-iot/nf_bot_iot_v2_train.csv.gz": DataFile(
            "087ead00a656fafeec333df7a762be1f7da4866c498ce1e0ccd2ea780fb8c553",
            f"a 90 % per-class subset of reduced_datasets/botiot_reduced.csv.gz of github.com/c2dc/fl-unsup-nids"
            f" (commit 7f080bf), itself drawn from {_NF_SOURCE}; the other 10 % is withheld for independent evaluation."
            " Another subset or the full file trains too (--file), but is not the file the shipped models were trained on",
        ),
    },
    records_file="bot-iot/nf_bot_iot_v2_train.csv.gz",  # its only file: the trainer splits test rows from it
    timing_columns=(
        "FLOW_DURATION_MILLISECONDS",
        "DURATION_IN",
        "DURATION_OUT",
        "SRC_TO_DST_SECOND_BYTES",
        "DST_TO_SRC_SECOND_BYTES",
        "SRC_TO_DST_AVG_THROUGHPUT",
        "DST_TO_SRC_AVG_THROUGHPUT",
    ),
)

_SPECS = {spec.name: spec for spec in (NSL_KDD, BOT_IOT, NF_BOT_IOT_V2)}
DATASETS = {name: _SPECS[name] for name in DATASET_IDS}  # a dataset id without a spec fails here, at import
