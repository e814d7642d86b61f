"""The NFStream plugin that measures, per packet, what NFStream's own flow statistics do not carry."""

from dataclasses import dataclass, field

import dpkt
from nfstream import NFPlugin

IN, OUT = 0, 1  # NFStream's packet.direction: 0 = from the flow's first sender (nProbe's "in", src->dst)
SIZE_BINS = (128, 256, 512, 1024, 1514)  # upper bounds (inclusive) of the NUM_PKTS_* IP-size histogram
DNS_PORTS = frozenset({53, 5353, 5355})  # DNS, multicast DNS, LLMNR: the same message format
FTP_CONTROL_PORT = 21
SEQ_SPACE = 1 << 32


@dataclass
class PacketStats:
    """Per-flow counters one packet at a time; plain Python values, so the flow pickles back from the meter process."""

    ttl_packets: int = 0  # packets whose IP header could be read
    ttl_min: int = 0
    ttl_max: int = 0
    in_ttl_min_after_first: int = 0  # TTL over client packets after the first (what the published data reports)
    in_ttl_max_after_first: int = 0
    in_packets: int = 0
    tcp_flags: list[int] = field(default_factory=lambda: [0, 0])
    tcp_window_max: list[int] = field(default_factory=lambda: [0, 0])
    size_histogram: list[int] = field(default_factory=lambda: [0] * len(SIZE_BINS))
    retransmitted_packets: list[int] = field(default_factory=lambda: [0, 0])
    retransmitted_bytes: list[int] = field(default_factory=lambda: [0, 0])
    seq_end: list[int | None] = field(default_factory=lambda: [None, None])  # highest sequence end seen per direction
    # per direction, each wall-clock second with traffic: [second, bytes, first packet ms, last packet ms]
    seconds: list[list[list[int]]] = field(default_factory=lambda: [[], []])
    icmp_type: int | None = None
    icmp_code: int = 0
    dns_query_id: int = 0
    dns_query_type: int = 0
    dns_ttl_answer: int = 0
    dns_seen: bool = False
    dns_answered: bool = False
    ftp_return_code: int = 0
    l7_master: int = 0
    l7_app: int = 0

    def add(self, packet) -> None:
        direction, size = packet.direction, packet.ip_size
        self._count_size(size)
        self._count_second(direction, packet.time, size)
        try:
            ip = dpkt.ip.IP(packet.ip_packet)
        except (dpkt.UnpackError, ValueError):
            return  # a header cut short by the snapshot length: sizes and times above still count
        self._count_ttl(direction, ip.ttl)
        transport = ip.data
        if isinstance(transport, dpkt.tcp.TCP):
            self._count_tcp(direction, transport, size)
            self._read_dns(transport, tcp=True)
            self._read_ftp(transport)
        elif isinstance(transport, dpkt.udp.UDP):
            self._read_dns(transport, tcp=False)
        elif isinstance(transport, dpkt.icmp.ICMP) and self.icmp_type is None:
            self.icmp_type, self.icmp_code = transport.type, transport.code

    def _count_size(self, size: int) -> None:
        for index, bound in enumerate(SIZE_BINS):
            if size <= bound:
                self.size_histogram[index] += 1
                return

    def _count_second(self, direction: int, time_ms: int, size: int) -> None:
        seconds, second = self.seconds[direction], time_ms // 1000
        if seconds and seconds[-1][0] == second:
            seconds[-1][1] += size
            seconds[-1][3] = time_ms
        else:
            seconds.append([second, size, time_ms, time_ms])

    def _count_ttl(self, direction: int, ttl: int) -> None:
        self.ttl_packets += 1
        self.ttl_min = ttl if self.ttl_packets == 1 else min(self.ttl_min, ttl)
        self.ttl_max = max(self.ttl_max, ttl)
        if direction != IN:
            return
        self.in_packets += 1
        if self.in_packets == 2:
            self.in_ttl_min_after_first = self.in_ttl_max_after_first = ttl
        elif self.in_packets > 2:
            self.in_ttl_min_after_first = min(self.in_ttl_min_after_first, ttl)
            self.in_ttl_max_after_first = max(self.in_ttl_max_after_first, ttl)

    def _count_tcp(self, direction: int, tcp: dpkt.tcp.TCP, size: int) -> None:
        self.tcp_flags[direction] |= tcp.flags & 0xFF
        self.tcp_window_max[direction] = max(self.tcp_window_max[direction], tcp.win)
        # A segment that takes sequence space (data, SYN or FIN) and ends at or before the highest end already
        # seen in its direction carries nothing new: a retransmission. Comparisons are modulo 2**32.
        length = len(tcp.data) + bool(tcp.flags & dpkt.tcp.TH_SYN) + bool(tcp.flags & dpkt.tcp.TH_FIN)
        if not length:
            return
        end = (tcp.seq + length) % SEQ_SPACE
        highest = self.seq_end[direction]
        if highest is not None and (highest - end) % SEQ_SPACE < SEQ_SPACE // 2:
            self.retransmitted_packets[direction] += 1
            self.retransmitted_bytes[direction] += size
        else:
            self.seq_end[direction] = end

    def _read_dns(self, transport, tcp: bool) -> None:
        if self.dns_answered or not (DNS_PORTS & {transport.sport, transport.dport}):
            return
        payload = bytes(transport.data)[2:] if tcp else bytes(transport.data)  # DNS over TCP: 2-byte length first
        if not payload:
            return
        try:
            message = dpkt.dns.DNS(payload)
        except (dpkt.UnpackError, ValueError, IndexError):
            return
        if not self.dns_seen:
            self.dns_seen = True
            self.dns_query_id = message.id
            self.dns_query_type = message.qd[0].type if message.qd else 0
        if message.qr == dpkt.dns.DNS_R and message.an:
            self.dns_answered = True
            self.dns_ttl_answer = message.an[0].ttl

    def _read_ftp(self, tcp: dpkt.tcp.TCP) -> None:
        # Server replies on the control connection start with a three-digit code; the last one counts.
        reply = bytes(tcp.data)
        if tcp.sport == FTP_CONTROL_PORT and len(reply) >= 3 and reply[:3].isdigit():
            self.ftp_return_code = int(reply[:3])


class PacketStatsPlugin(NFPlugin):
    """Attaches a PacketStats to every flow (flow.udps.stats) and records nDPI's protocol ids at expiry."""

    def on_init(self, packet, flow):
        flow.udps.stats = PacketStats()
        flow.udps.stats.add(packet)

    def on_update(self, packet, flow):
        flow.udps.stats.add(packet)

    def on_expire(self, flow):
        # NFStream exposes only nDPI's protocol names; the numeric ids the dataset holds are on the flow's C struct,
        # which lives until on_expire returns.
        detected = flow._C.detected_protocol.proto
        flow.udps.stats.l7_master = int(detected.master_protocol)
        flow.udps.stats.l7_app = int(detected.app_protocol)
