"""Flow records metered from captures built packet by packet: every expected value is computed from those packets."""

from itertools import groupby

from scapy.layers.dns import DNS
from scapy.layers.inet import ICMP, IP, TCP
from scapy.utils import wrpcapng

from nids.flowmeter.columns import COLUMNS, FEATURES, IDENTIFIERS
from nids.flowmeter.meter import meter
from trainer.datasets import NF_BOT_IOT_V2

DATASET, PLAIN = "nf-bot-iot-v2", "plain"
SIZE_BINS = {
    "NUM_PKTS_UP_TO_128_BYTES": (0, 128),
    "NUM_PKTS_128_TO_256_BYTES": (128, 256),
    "NUM_PKTS_256_TO_512_BYTES": (256, 512),
    "NUM_PKTS_512_TO_1024_BYTES": (512, 1024),
    "NUM_PKTS_1024_TO_1514_BYTES": (1024, 1514),
}
NDPI_HTTP, NDPI_DNS = 7.0, 5.0  # nDPI's protocol ids, which the dataset's L7_PROTO holds


def size(packet) -> int:
    return len(packet[IP])


def ms(packet) -> int:
    """The packet's pcap timestamp in whole milliseconds, as a flow meter reads it."""
    return round(packet.time * 1_000_000) // 1000


def flags(packets) -> int:
    result = 0
    for packet in packets:
        result |= int(packet[TCP].flags)
    return result


def sent_by(packets, address: str) -> list:
    return [p for p in packets if p[IP].src == address]


def only(records: list[dict]) -> dict:
    assert len(records) == 1, records
    return records[0]


def test_records_hold_the_flow_key_then_every_model_feature_in_order(flows):
    assert COLUMNS == IDENTIFIERS + NF_BOT_IOT_V2.features
    assert set(IDENTIFIERS) <= set(NF_BOT_IOT_V2.identifiers)
    for by_encoding in flows.values():
        for records in by_encoding.values():
            assert records and all(tuple(record) == COLUMNS for record in records)


def test_port_scan_is_one_flow_per_port_with_syn_out_and_rst_back(flows, captures):
    packets = captures["scan"].packets
    syns = [p for p in packets if p[TCP].flags == "S"]
    resets = {p[TCP].sport: p for p in packets if p[TCP].flags == "RA"}
    records = {r["L4_DST_PORT"]: r for r in flows["scan"][DATASET]}
    plain = {r["L4_DST_PORT"]: r for r in flows["scan"][PLAIN]}
    assert len(flows["scan"][DATASET]) == len(syns) == len(records) == len(resets) > 1

    for syn in syns:
        record, reset = records[syn[TCP].dport], resets[syn[TCP].dport]
        assert (record["IPV4_SRC_ADDR"], record["L4_SRC_PORT"], record["IPV4_DST_ADDR"]) == (
            syn[IP].src,
            syn[TCP].sport,
            syn[IP].dst,
        )
        assert (record["IN_PKTS"], record["IN_BYTES"], record["OUT_PKTS"], record["OUT_BYTES"]) == (1, size(syn), 1, size(reset))
        assert size(syn) > size(reset)  # the MSS option: client bytes really are the SYN's
        assert record["CLIENT_TCP_FLAGS"] == int(syn[TCP].flags) == 0x02
        assert record["SERVER_TCP_FLAGS"] == int(reset[TCP].flags) == 0x14
        assert record["TCP_FLAGS"] == 0x16
        assert (record["TCP_WIN_MAX_IN"], record["TCP_WIN_MAX_OUT"]) == (syn[TCP].window, reset[TCP].window)
        assert ms(reset) == ms(syn)  # answered within the millisecond: zero durations in both encodings
        assert record["FLOW_DURATION_MILLISECONDS"] == plain[syn[TCP].dport]["FLOW_DURATION_MILLISECONDS"] == 0
        assert record["DURATION_IN"] == record["DURATION_OUT"] == 0
        assert (record["LONGEST_FLOW_PKT"], record["SHORTEST_FLOW_PKT"]) == (size(syn), size(reset))
        assert record["MIN_IP_PKT_LEN"] == size(reset)  # answered: the real minimum in both encodings
        assert record["NUM_PKTS_UP_TO_128_BYTES"] == 2
        # The published data has no TTL for a flow with one client packet; the plain encoding has both directions'.
        assert (record["MIN_TTL"], record["MAX_TTL"]) == (0, 0)
        assert (plain[syn[TCP].dport]["MIN_TTL"], plain[syn[TCP].dport]["MAX_TTL"]) == (reset[IP].ttl, syn[IP].ttl)
        assert record["SRC_TO_DST_SECOND_BYTES"] == size(syn)
        assert record["SRC_TO_DST_AVG_THROUGHPUT"] == size(syn) * 8 * 1000


def test_syn_flood_is_one_unanswered_flow_per_source_port(flows, captures):
    syns = captures["flood"].packets
    records = flows["flood"][DATASET]
    assert len(records) == len(syns) > 1
    assert {r["L4_SRC_PORT"] for r in records} == {p[TCP].sport for p in syns}
    assert {r["L4_DST_PORT"] for r in records} == {80}
    plain_by_port = {r["L4_SRC_PORT"]: r for r in flows["flood"][PLAIN]}
    for record in records:
        plain = plain_by_port[record["L4_SRC_PORT"]]
        assert (record["IN_PKTS"], record["IN_BYTES"], record["OUT_PKTS"], record["OUT_BYTES"]) == (1, size(syns[0]), 0, 0)
        assert (record["CLIENT_TCP_FLAGS"], record["SERVER_TCP_FLAGS"], record["TCP_FLAGS"]) == (0x02, 0, 0x02)
        assert record["TCP_WIN_MAX_IN"] == syns[0][TCP].window and record["TCP_WIN_MAX_OUT"] == 0
        assert record["FLOW_DURATION_MILLISECONDS"] == record["DURATION_IN"] == 0
        # No answer: the published data counts the missing direction's minimum size as 0.
        assert (record["MIN_IP_PKT_LEN"], plain["MIN_IP_PKT_LEN"]) == (0, size(syns[0]))
        assert (record["MIN_TTL"], plain["MIN_TTL"], plain["MAX_TTL"]) == (0, syns[0][IP].ttl, syns[0][IP].ttl)
        assert record["L7_PROTO"] == NDPI_HTTP  # nDPI's guess from port 80, as in the dataset's DoS flows
        assert record["DST_TO_SRC_SECOND_BYTES"] == record["DST_TO_SRC_AVG_THROUGHPUT"] == 0


def test_http_exchange_is_one_flow_with_both_directions_counted(flows, captures):
    packets = captures["http"].packets
    client, server = sent_by(packets, packets[0][IP].src), sent_by(packets, packets[0][IP].dst)
    record, plain = only(flows["http"][DATASET]), only(flows["http"][PLAIN])
    assert (record["IPV4_SRC_ADDR"], record["L4_SRC_PORT"]) == (client[0][IP].src, client[0][TCP].sport)
    assert (record["IPV4_DST_ADDR"], record["L4_DST_PORT"], record["PROTOCOL"]) == (server[0][IP].src, 80, 6)
    assert (record["IN_PKTS"], record["IN_BYTES"]) == (len(client), sum(map(size, client)))
    assert (record["OUT_PKTS"], record["OUT_BYTES"]) == (len(server), sum(map(size, server)))
    assert record["CLIENT_TCP_FLAGS"] == flags(client) == 0x1B  # SYN, ACK, PSH, FIN
    assert record["SERVER_TCP_FLAGS"] == flags(server) == 0x1B
    assert record["TCP_FLAGS"] == flags(packets)

    duration = ms(packets[-1]) - ms(packets[0])
    assert duration > 0
    assert plain["FLOW_DURATION_MILLISECONDS"] == duration
    assert record["FLOW_DURATION_MILLISECONDS"] == 4294967 - duration  # the published unsigned wrap
    assert record["DURATION_IN"] == ms(client[-1]) - ms(client[0])
    assert record["DURATION_OUT"] == ms(server[-1]) - ms(server[0])

    assert (plain["MIN_TTL"], plain["MAX_TTL"]) == (server[0][IP].ttl, client[0][IP].ttl)
    assert (record["MIN_TTL"], record["MAX_TTL"]) == (client[1][IP].ttl, client[1][IP].ttl)
    assert record["TCP_WIN_MAX_IN"] == max(p[TCP].window for p in client)
    assert record["TCP_WIN_MAX_OUT"] == max(p[TCP].window for p in server)
    sizes = [size(p) for p in packets]
    assert (record["LONGEST_FLOW_PKT"], record["SHORTEST_FLOW_PKT"]) == (max(sizes), min(sizes))
    assert (record["MAX_IP_PKT_LEN"], record["MIN_IP_PKT_LEN"]) == (max(sizes), min(sizes))
    for column, (low, high) in SIZE_BINS.items():
        assert record[column] == sum(low < n <= high for n in sizes), column
    assert record["NUM_PKTS_256_TO_512_BYTES"] == 1  # the response
    assert record["L7_PROTO"] == NDPI_HTTP
    assert record["RETRANSMITTED_IN_PKTS"] == record["RETRANSMITTED_OUT_PKTS"] == 0

    # Per-second bytes: the capture spans two seconds, written one after the other in the dataset encoding.
    seconds = [list(group) for _, group in groupby(client, key=lambda p: ms(p) // 1000)]
    per_second = [sum(map(size, group)) for group in seconds]
    assert len(per_second) == 2
    assert record["SRC_TO_DST_SECOND_BYTES"] == float("".join(map(str, per_second)))
    # Throughput, published encoding: the last second's bytes per (its packets' span in ms + 1), in bits per second.
    last = seconds[-1]
    assert len(last) > 1
    assert record["SRC_TO_DST_AVG_THROUGHPUT"] == 8000 * (per_second[-1] // (ms(last[-1]) - ms(last[0]) + 1))
    assert plain["SRC_TO_DST_SECOND_BYTES"] == record["IN_BYTES"] * 1000 / max(record["DURATION_IN"], 1000)
    assert plain["SRC_TO_DST_AVG_THROUGHPUT"] == round(record["IN_BYTES"] * 8000 / record["DURATION_IN"])


def test_a_repeated_segment_counts_as_one_retransmission(flows, captures):
    packets = captures["http-retransmit"].packets
    request = next(p for p in packets if p[TCP].payload)
    record = only(flows["http-retransmit"][DATASET])
    assert record["IN_PKTS"] == only(flows["http"][DATASET])["IN_PKTS"] + 1
    assert (record["RETRANSMITTED_IN_PKTS"], record["RETRANSMITTED_IN_BYTES"]) == (1, size(request))
    assert (record["RETRANSMITTED_OUT_PKTS"], record["RETRANSMITTED_OUT_BYTES"]) == (0, 0)


def test_dns_lookup_carries_query_id_type_and_answer_ttl(flows, captures):
    query, reply = captures["dns"].packets
    record, plain = only(flows["dns"][DATASET]), only(flows["dns"][PLAIN])
    assert (record["PROTOCOL"], record["L4_DST_PORT"], record["L7_PROTO"]) == (17, 53, NDPI_DNS)
    assert (record["IN_PKTS"], record["IN_BYTES"], record["OUT_PKTS"], record["OUT_BYTES"]) == (1, size(query), 1, size(reply))
    assert record["DNS_QUERY_ID"] == query[DNS].id == reply[DNS].id
    assert record["DNS_QUERY_TYPE"] == query[DNS].qd[0].qtype == 1
    assert record["DNS_TTL_ANSWER"] == reply[DNS].an[0].ttl > 0
    assert record["TCP_FLAGS"] == record["TCP_WIN_MAX_IN"] == 0
    assert plain["FLOW_DURATION_MILLISECONDS"] == ms(reply) - ms(query) > 0
    assert (plain["MIN_TTL"], plain["MAX_TTL"]) == (reply[IP].ttl, query[IP].ttl)


def test_icmp_flows_carry_type_times_256_plus_code(flows, captures):
    request, reply, unreachable = captures["icmp"].packets
    records = {r["IPV4_DST_ADDR"]: r for r in flows["icmp"][DATASET]}
    assert len(records) == len(flows["icmp"][DATASET]) == 2
    echo = records[request[IP].dst]
    assert (echo["PROTOCOL"], echo["L4_SRC_PORT"], echo["L4_DST_PORT"]) == (1, 0, 0)
    assert (echo["IN_PKTS"], echo["IN_BYTES"], echo["OUT_PKTS"], echo["OUT_BYTES"]) == (1, size(request), 1, size(reply))
    assert echo["ICMP_TYPE"] == request[ICMP].type * 256 + request[ICMP].code == 8 * 256
    assert echo["ICMP_IPV4_TYPE"] == request[ICMP].type == 8
    error = records[unreachable[IP].dst]
    assert error["IPV4_SRC_ADDR"] == unreachable[IP].src and error["OUT_PKTS"] == 0
    assert error["ICMP_TYPE"] == 771  # port unreachable, 3 * 256 + 3, as in the dataset's rows
    assert error["ICMP_IPV4_TYPE"] == 3


def test_ftp_flow_carries_the_last_server_reply_code(flows, captures):
    packets = captures["ftp"].packets
    replies = [bytes(p[TCP].payload) for p in packets if p[TCP].sport == 21 and p[TCP].payload]
    record = only(flows["ftp"][DATASET])
    assert record["L4_DST_PORT"] == 21 and record["OUT_PKTS"] == len(sent_by(packets, packets[1][IP].src))
    assert len(replies) > 1 and record["FTP_COMMAND_RET_CODE"] == int(replies[-1][:3]) == 221


def test_other_captures_carry_no_dns_icmp_or_ftp_fields(flows):
    for name in ("scan", "flood", "http"):
        for record in flows[name][DATASET]:
            for column in (
                "DNS_QUERY_ID",
                "DNS_QUERY_TYPE",
                "DNS_TTL_ANSWER",
                "ICMP_TYPE",
                "ICMP_IPV4_TYPE",
                "FTP_COMMAND_RET_CODE",
            ):
                assert record[column] == 0, (name, column)


def test_pcapng_gives_the_same_flows_as_pcap(flows, captures, tmp_path):
    path = tmp_path / "http.pcapng"
    wrpcapng(str(path), captures["http"].packets)
    assert list(meter(path, DATASET)) == flows["http"][DATASET]


def test_every_feature_is_numeric(flows):
    for record in flows["http"][DATASET] + flows["dns"][DATASET]:
        assert all(isinstance(record[name], int | float) for name in FEATURES)
