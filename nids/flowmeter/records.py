"""One NFStream flow (with its PacketStats) to one flow record, in either column encoding."""

from nids.flowmeter.columns import COLUMNS, HISTOGRAM_COLUMNS
from nids.flowmeter.plugin import IN, OUT, PacketStats

ICMP, UDP = 1, 17
NDPI_QUIC = 188
MS_PER_S = 1000
# The published data stores a flow's duration as (first - last) in microseconds wrapped to an unsigned 32-bit
# number, divided by 1000: every non-zero duration d ms appears as 4294967 - d.
UINT32 = 1 << 32
WRAPPED_MS = UINT32 // MS_PER_S

# TCP flag bits; NFStream counts packets per flag, and a flag is in the bit-OR when its count is non-zero.
TCP_FLAG_BITS = {"fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10, "urg": 0x20, "ece": 0x40, "cwr": 0x80}


def l7_proto(master: int, app: int) -> float:
    """nDPI's ids as nProbe prints them: "master.app" when both are known and differ (DNS.Google = 5.126), else the one."""
    if master and app and master != app:
        return float(f"{master}.{app}")
    return float(app or master)


def tcp_flags(flow, direction: str) -> int:
    return sum(bit for name, bit in TCP_FLAG_BITS.items() if getattr(flow, f"{direction}_{name}_packets"))


def concatenated_seconds(seconds: list[list[int]]) -> float:
    """The published per-second byte counts: the decimal counts of each second with traffic, written one after another."""
    return float("".join(str(count) for _, count, _, _ in seconds) or 0)


def last_second_throughput(seconds: list[list[int]]) -> int:
    """The published throughput: the last second with traffic, its bytes per (ms from its first to last packet + 1),
    times 8000 (bits per second), in an unsigned 32-bit number."""
    if not seconds:
        return 0
    _, count, first_ms, last_ms = seconds[-1]
    return 8 * MS_PER_S * (count // (last_ms - first_ms + 1)) % UINT32


def flow_record(flow, encoding: str) -> dict:
    stats: PacketStats = flow.udps.stats
    duration_ms = flow.bidirectional_duration_ms
    durations = {IN: flow.src2dst_duration_ms, OUT: flow.dst2src_duration_ms}
    volume = {IN: flow.src2dst_bytes, OUT: flow.dst2src_bytes}
    record = {
        "IPV4_SRC_ADDR": flow.src_ip,
        "L4_SRC_PORT": flow.src_port,
        "IPV4_DST_ADDR": flow.dst_ip,
        "L4_DST_PORT": flow.dst_port,
        "PROTOCOL": flow.protocol,
        "L7_PROTO": l7_proto(stats.l7_master, stats.l7_app),
        "IN_BYTES": flow.src2dst_bytes,
        "IN_PKTS": flow.src2dst_packets,
        "OUT_BYTES": flow.dst2src_bytes,
        "OUT_PKTS": flow.dst2src_packets,
        "TCP_FLAGS": tcp_flags(flow, "bidirectional"),
        "CLIENT_TCP_FLAGS": tcp_flags(flow, "src2dst"),
        "SERVER_TCP_FLAGS": tcp_flags(flow, "dst2src"),
        "DURATION_IN": durations[IN],
        "DURATION_OUT": durations[OUT],
        "LONGEST_FLOW_PKT": flow.bidirectional_max_ps,
        "SHORTEST_FLOW_PKT": flow.bidirectional_min_ps,
        "MAX_IP_PKT_LEN": flow.bidirectional_max_ps,
        "RETRANSMITTED_IN_BYTES": stats.retransmitted_bytes[IN],
        "RETRANSMITTED_IN_PKTS": stats.retransmitted_packets[IN],
        "RETRANSMITTED_OUT_BYTES": stats.retransmitted_bytes[OUT],
        "RETRANSMITTED_OUT_PKTS": stats.retransmitted_packets[OUT],
        **{name: count for name, count in zip(HISTOGRAM_COLUMNS, stats.size_histogram, strict=True)},
        "TCP_WIN_MAX_IN": stats.tcp_window_max[IN],
        "TCP_WIN_MAX_OUT": stats.tcp_window_max[OUT],
        "DNS_QUERY_ID": stats.dns_query_id,
        "DNS_QUERY_TYPE": stats.dns_query_type,
        "DNS_TTL_ANSWER": stats.dns_ttl_answer,
        "FTP_COMMAND_RET_CODE": stats.ftp_return_code,
    }
    if flow.protocol == ICMP:
        icmp_type = stats.icmp_type or 0
        record |= {"ICMP_TYPE": icmp_type * 256 + stats.icmp_code, "ICMP_IPV4_TYPE": icmp_type}
    elif encoding == "plain":
        record |= {"ICMP_TYPE": 0, "ICMP_IPV4_TYPE": 0}
    else:
        # In the published rows of every other protocol the ICMP fields hold bytes of the retransmitted-bytes counter
        # (type = its lowest byte, code = its third byte): true of all 250,876 non-ICMP training rows.
        retransmitted = stats.retransmitted_bytes[IN]
        record |= {
            "ICMP_TYPE": (retransmitted & 0xFF) * 256 + (retransmitted >> 16 & 0xFF),
            "ICMP_IPV4_TYPE": retransmitted & 0xFF,
        }
    if encoding != "plain" and not record["L7_PROTO"] and flow.protocol == UDP and 80 in (flow.src_port, flow.dst_port):
        # The dataset's nDPI guessed QUIC for unidentified UDP on port 80 (99.96 % of the published UDP port-80 rows
        # say 188); nDPI 5 no longer lists port 80 for QUIC, and the UDP floods in the training data are such flows.
        record["L7_PROTO"] = float(NDPI_QUIC)
    if encoding == "plain":
        record |= {
            "FLOW_DURATION_MILLISECONDS": duration_ms,
            "MIN_TTL": stats.ttl_min,
            "MAX_TTL": stats.ttl_max,
            "MIN_IP_PKT_LEN": flow.bidirectional_min_ps,
            # bytes per second over the direction's active time, a flow shorter than a second counting as one second
            "SRC_TO_DST_SECOND_BYTES": volume[IN] * MS_PER_S / max(durations[IN], MS_PER_S),
            "DST_TO_SRC_SECOND_BYTES": volume[OUT] * MS_PER_S / max(durations[OUT], MS_PER_S),
            # bits per second over the direction's active time, at least one millisecond
            "SRC_TO_DST_AVG_THROUGHPUT": round(volume[IN] * 8 * MS_PER_S / max(durations[IN], 1)),
            "DST_TO_SRC_AVG_THROUGHPUT": round(volume[OUT] * 8 * MS_PER_S / max(durations[OUT], 1)),
        }
    else:
        record |= {
            "FLOW_DURATION_MILLISECONDS": WRAPPED_MS - duration_ms if 0 < duration_ms < WRAPPED_MS else 0,
            # a single client packet gives no TTL; otherwise the client's packets after its first
            "MIN_TTL": stats.in_ttl_min_after_first,
            "MAX_TTL": stats.in_ttl_max_after_first,
            # a flow without answer counts the missing direction's minimum as 0
            "MIN_IP_PKT_LEN": flow.bidirectional_min_ps if flow.dst2src_packets else 0,
            "SRC_TO_DST_SECOND_BYTES": concatenated_seconds(stats.seconds[IN]),
            "DST_TO_SRC_SECOND_BYTES": concatenated_seconds(stats.seconds[OUT]),
            "SRC_TO_DST_AVG_THROUGHPUT": last_second_throughput(stats.seconds[IN]),
            "DST_TO_SRC_AVG_THROUGHPUT": last_second_throughput(stats.seconds[OUT]),
        }
    return {column: record[column] for column in COLUMNS}
