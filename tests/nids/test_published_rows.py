"""Round trip against the published data: rebuild the packets of real NF-BoT-IoT-v2 rows, meter them, get the rows back.

Each chosen row describes its packets fully (count, sizes, flags, windows, TTL, timing, and through the per-second
byte string which second each packet fell in), so the capture can be rebuilt from the row alone; metering it must
give the row's feature values in the default (published) encoding.
"""

import csv
import gzip

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from nids.flowmeter.columns import FEATURES
from nids.flowmeter.meter import meter
from nids.flowmeter.records import WRAPPED_MS

ROWS_PER_FAMILY = 12
TCP_HEADERS, UDP_HEADERS = 40, 28  # IPv4 + TCP / UDP headers without options
MSS_OPTION = 4
EPOCH_S = 1_600_000_000
SERVER = "127.0.0.2"

FAMILIES = {
    # SYN scan probe answered by RST+ACK
    "syn-probe": lambda r: (
        r["PROTOCOL"] == 6 and (r["IN_PKTS"], r["OUT_PKTS"], r["CLIENT_TCP_FLAGS"], r["SERVER_TCP_FLAGS"]) == (1, 1, 2, 20)
    ),
    # two SYNs, unanswered (the DoS and DDoS TCP floods)
    "syn-pair": lambda r: r["PROTOCOL"] == 6 and (r["IN_PKTS"], r["OUT_PKTS"], r["TCP_FLAGS"]) == (2, 0, 2),
    # two SYNs, the second answered by RST+ACK as the flow's last packet
    "syn-pair-reset": lambda r: (
        r["PROTOCOL"] == 6
        and (r["IN_PKTS"], r["OUT_PKTS"], r["CLIENT_TCP_FLAGS"], r["SERVER_TCP_FLAGS"]) == (2, 1, 2, 20)
        and WRAPPED_MS - r["FLOW_DURATION_MILLISECONDS"] > r["DURATION_IN"]
    ),
    # two UDP datagrams, unanswered (the UDP floods)
    "udp-pair": lambda r: r["PROTOCOL"] == 17 and (r["IN_PKTS"], r["OUT_PKTS"]) == (2, 0),
}


def number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


@pytest.fixture(scope="module")
def published(data_dir) -> dict[str, list[dict]]:
    """The first rows of each family, in file order, that have a single packet size per direction."""
    chosen = {name: [] for name in FAMILIES}
    with gzip.open(data_dir / "bot-iot" / "nf_bot_iot_v2_train.csv.gz", "rt", newline="") as handle:
        for raw in csv.DictReader(handle):
            row = {k: (v if k.startswith("IPV4") or k in ("Attack", "Dataset") else number(v)) for k, v in raw.items()}
            if row["OUT_PKTS"] == 0 and row["LONGEST_FLOW_PKT"] != row["SHORTEST_FLOW_PKT"]:
                continue
            for name, matches in FAMILIES.items():
                if matches(row) and len(chosen[name]) < ROWS_PER_FAMILY:
                    chosen[name].append(row)
            if all(len(rows) == ROWS_PER_FAMILY for rows in chosen.values()):
                return chosen
    pytest.fail(f"fewer than {ROWS_PER_FAMILY} rows per family: { {k: len(v) for k, v in chosen.items()} }")


def segment(src: str, dst: str, sport: int, dport: int, row: dict, size: int, flags: int, window: int, ttl: int, seq: int):
    ip = IP(src=src, dst=dst, ttl=ttl)
    if row["PROTOCOL"] == 17:
        return ip / UDP(sport=sport, dport=dport) / Raw(b"u" * (size - UDP_HEADERS))
    extra = size - TCP_HEADERS
    options = [("MSS", 1460)] if extra == MSS_OPTION else []
    tcp = TCP(sport=sport, dport=dport, flags=flags, window=window, seq=seq, options=options)
    return ip / tcp / Raw(b"t" * extra) if extra and not options else ip / tcp


def rebuild(row: dict, src: str, epoch_s: int) -> list:
    """The packets the row describes, from src (so each row is a flow of its own) at epoch_s, with millisecond
    timestamps placed as its durations and per-second bytes say."""
    duration = WRAPPED_MS - row["FLOW_DURATION_MILLISECONDS"] if row["FLOW_DURATION_MILLISECONDS"] else 0
    dst, sport, dport = SERVER, row["L4_SRC_PORT"], row["L4_DST_PORT"]
    size_in = row["IN_BYTES"] // row["IN_PKTS"]
    ttl = row["MAX_TTL"] or 64  # the published TTL is 0 for one client packet: any value gives that
    # The per-second string is the packets' bytes second by second: two values mean the pair straddles a second.
    straddles = row["IN_PKTS"] == 2 and row["SRC_TO_DST_SECOND_BYTES"] != row["IN_BYTES"]
    first_ms = (epoch_s + 1) * 1000 - max(1, duration // 2) if straddles else epoch_s * 1000 + 100
    retransmitted = row["RETRANSMITTED_IN_PKTS"] == 1
    timed = []
    for index in range(row["IN_PKTS"]):
        seq = 1000 if retransmitted else 1000 + 5000 * index
        packet = segment(src, dst, sport, dport, row, size_in, row["CLIENT_TCP_FLAGS"], row["TCP_WIN_MAX_IN"], ttl, seq)
        timed.append((first_ms + index * row["DURATION_IN"], packet))
    if row["OUT_PKTS"]:
        reply = segment(dst, src, dport, sport, row, row["OUT_BYTES"], row["SERVER_TCP_FLAGS"], row["TCP_WIN_MAX_OUT"], 64, 0)
        timed.append((first_ms + duration, reply))
    packets = []
    for time_ms, packet in timed:
        frame = Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") / packet
        frame.time = time_ms / 1000
        packets.append(frame)
    return packets


@pytest.mark.parametrize("family", FAMILIES)
def test_rebuilt_packets_of_published_rows_meter_back_to_those_rows(published, family, tmp_path):
    rows = published[family]
    sources = [f"127.0.1.{index + 1}" for index in range(len(rows))]
    packets = [p for index, row in enumerate(rows) for p in rebuild(row, sources[index], EPOCH_S + 10 * index)]
    path = tmp_path / f"{family}.pcap"
    wrpcap(str(path), sorted(packets, key=lambda p: p.time))
    records = {r["IPV4_SRC_ADDR"]: r for r in meter(path, "nf-bot-iot-v2")}
    assert sorted(records) == sorted(sources)
    mismatches = [
        (index, name, row[name], records[source][name])
        for index, (row, source) in enumerate(zip(rows, sources, strict=True))
        for name in FEATURES
        if records[source][name] != row[name]
    ]
    assert mismatches == [], "\n".join(map(str, mismatches))
