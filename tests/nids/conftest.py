"""Captures built as files with scapy (loopback addresses, explicit MACs; nothing is sent) and metered once per test module."""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from nids.flowmeter.meter import meter
from nids.flowmeter.options import ENCODINGS

REPO = Path(__file__).resolve().parents[2]
CLIENT_MAC, SERVER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
CLIENT, SERVER, RESOLVER, OTHER_HOST = "127.0.0.1", "127.0.0.2", "127.0.0.53", "127.0.0.3"
CLIENT_TTL, SERVER_TTL = 64, 63
T0 = 1_700_000_000.8  # 200 ms before a second boundary, so longer captures span two seconds
SCAN_PORTS = tuple(range(20, 30))
FLOOD_SYNS = 40
HTTP_REQUEST = b"GET /index.html HTTP/1.1\r\nHost: camera.local\r\nUser-Agent: curl/8.5\r\nAccept: */*\r\n\r\n"
HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 300\r\n\r\n" + b"x" * 300
DNS_ID, DNS_TTL = 0x1234, 300
FTP_DIALOGUE = (
    ("server", b"220 camera FTP ready\r\n"),
    ("client", b"USER admin\r\n"),
    ("server", b"331 Password required\r\n"),
    ("client", b"PASS admin\r\n"),
    ("server", b"230 Logged in\r\n"),
    ("client", b"QUIT\r\n"),
    ("server", b"221 Goodbye\r\n"),
)


@dataclass(frozen=True)
class Capture:
    path: Path
    packets: list[Packet]


def to_server(src_port: int, dst_port: int, flags: str, seq: int, ack: int = 0, window: int = 64240, **tcp) -> Packet:
    ip = IP(src=CLIENT, dst=SERVER, ttl=CLIENT_TTL)
    return (
        Ether(src=CLIENT_MAC, dst=SERVER_MAC)
        / ip
        / TCP(sport=src_port, dport=dst_port, flags=flags, seq=seq, ack=ack, window=window, **tcp)
    )


def to_client(src_port: int, dst_port: int, flags: str, seq: int, ack: int = 0, window: int = 65160) -> Packet:
    ip = IP(src=SERVER, dst=CLIENT, ttl=SERVER_TTL)
    return (
        Ether(src=SERVER_MAC, dst=CLIENT_MAC)
        / ip
        / TCP(sport=src_port, dport=dst_port, flags=flags, seq=seq, ack=ack, window=window)
    )


def write(path: Path, timed: list[tuple[float, Packet]]) -> Capture:
    """Write (seconds after T0, packet) pairs as a pcap file."""
    packets = []
    for offset, packet in timed:
        packet.time = T0 + offset
        packets.append(packet)
    wrpcap(str(path), packets)
    return Capture(path, packets)


def port_scan(path: Path) -> Capture:
    """One SYN (with an MSS option, as nmap sends) to each port, every 10 ms; each answered by RST+ACK within the ms."""
    timed = []
    for index, port in enumerate(SCAN_PORTS):
        syn = to_server(40000, port, "S", seq=1000, window=1024, options=[("MSS", 1460)])
        rst = to_client(port, 40000, "RA", seq=0, ack=1001, window=0)
        timed += [(index * 0.010, syn), (index * 0.010 + 0.0003, rst)]
    return write(path, timed)


def syn_flood(path: Path) -> Capture:
    """SYNs from a new source port each to port 80, 1 ms apart, never answered."""
    return write(
        path, [(index * 0.001, to_server(1024 + index, 80, "S", seq=7 * index, window=512)) for index in range(FLOOD_SYNS)]
    )


def http_exchange(path: Path, repeat_request: bool = False) -> Capture:
    """Handshake, GET, 200 response, FIN from each side; 50 ms between packets. Optionally the GET is sent twice."""
    sport, request_end = 51000, 101 + len(HTTP_REQUEST)
    packets = [
        to_server(sport, 80, "S", seq=100),
        to_client(80, sport, "SA", seq=900, ack=101),
        to_server(sport, 80, "A", seq=101, ack=901, window=502),
        to_server(sport, 80, "PA", seq=101, ack=901, window=502) / Raw(HTTP_REQUEST),
        to_client(80, sport, "A", seq=901, ack=request_end, window=509),
        to_client(80, sport, "PA", seq=901, ack=request_end, window=509) / Raw(HTTP_RESPONSE),
        to_server(sport, 80, "A", seq=request_end, ack=901 + len(HTTP_RESPONSE), window=501),
        to_server(sport, 80, "FA", seq=request_end, ack=901 + len(HTTP_RESPONSE), window=501),
        to_client(80, sport, "FA", seq=901 + len(HTTP_RESPONSE), ack=request_end + 1, window=509),
        to_server(sport, 80, "A", seq=request_end + 1, ack=902 + len(HTTP_RESPONSE), window=501),
    ]
    if repeat_request:
        packets.insert(4, packets[3].copy())
    return write(path, [(index * 0.050, packet) for index, packet in enumerate(packets)])


def dns_lookup(path: Path) -> Capture:
    """An A query over UDP and its answer 3 ms later."""
    question = DNSQR(qname="camera.local", qtype="A")
    query = IP(src=CLIENT, dst=RESOLVER, ttl=CLIENT_TTL) / UDP(sport=53000, dport=53) / DNS(id=DNS_ID, rd=1, qd=question)
    answer = DNS(id=DNS_ID, qr=1, ra=1, qd=question, an=DNSRR(rrname="camera.local", type="A", ttl=DNS_TTL, rdata="127.0.0.9"))
    reply = IP(src=RESOLVER, dst=CLIENT, ttl=SERVER_TTL) / UDP(sport=53, dport=53000) / answer
    return write(
        path, [(0.0, Ether(src=CLIENT_MAC, dst=SERVER_MAC) / query), (0.003, Ether(src=SERVER_MAC, dst=CLIENT_MAC) / reply)]
    )


def quiet_udp(path: Path) -> Capture:
    """Four datagrams of one UDP conversation, 1.5 s apart: one flow or several, depending on the timeouts."""
    datagram = Ether(src=CLIENT_MAC, dst=SERVER_MAC) / IP(src=CLIENT, dst=SERVER) / UDP(sport=41000, dport=9000) / Raw(b"ping")
    return write(path, [(index * 1.5, datagram.copy()) for index in range(4)])


def icmp_messages(path: Path) -> Capture:
    """An echo request and its reply, then a port-unreachable from another host (a flow of its own)."""
    request = IP(src=CLIENT, dst=SERVER, ttl=CLIENT_TTL) / ICMP(type="echo-request", id=7, seq=1) / Raw(b"x" * 32)
    reply = IP(src=SERVER, dst=CLIENT, ttl=SERVER_TTL) / ICMP(type="echo-reply", id=7, seq=1) / Raw(b"x" * 32)
    probe = IP(src=CLIENT, dst=OTHER_HOST) / UDP(sport=41001, dport=9)
    unreachable = IP(src=OTHER_HOST, dst=CLIENT, ttl=SERVER_TTL) / ICMP(type="dest-unreach", code="port-unreachable") / probe
    return write(
        path,
        [
            (0.0, Ether(src=CLIENT_MAC, dst=SERVER_MAC) / request),
            (0.001, Ether(src=SERVER_MAC, dst=CLIENT_MAC) / reply),
            (0.010, Ether(src=SERVER_MAC, dst=CLIENT_MAC) / unreachable),
        ],
    )


def ftp_session(path: Path) -> Capture:
    """An FTP control connection: handshake, banner, login, QUIT and its 221 goodbye (20 ms between packets)."""
    sport, client_seq, server_seq = 52000, 300, 700
    timed = [to_server(sport, 21, "S", seq=client_seq), to_client(21, sport, "SA", seq=server_seq, ack=client_seq + 1)]
    client_seq, server_seq = client_seq + 1, server_seq + 1
    timed.append(to_server(sport, 21, "A", seq=client_seq, ack=server_seq))
    for speaker, line in FTP_DIALOGUE:
        if speaker == "server":
            timed.append(to_client(21, sport, "PA", seq=server_seq, ack=client_seq) / Raw(line))
            server_seq += len(line)
        else:
            timed.append(to_server(sport, 21, "PA", seq=client_seq, ack=server_seq) / Raw(line))
            client_seq += len(line)
    return write(path, [(index * 0.020, packet) for index, packet in enumerate(timed)])


CAPTURES = {
    "scan": port_scan,
    "flood": syn_flood,
    "http": http_exchange,
    "http-retransmit": lambda path: http_exchange(path, repeat_request=True),
    "dns": dns_lookup,
    "icmp": icmp_messages,
    "ftp": ftp_session,
    "quiet-udp": quiet_udp,
}


@pytest.fixture(scope="session")
def captures(tmp_path_factory) -> dict[str, Capture]:
    folder = tmp_path_factory.mktemp("captures")
    return {name: build(folder / f"{name}.pcap") for name, build in CAPTURES.items()}


@pytest.fixture(scope="session")
def flows(captures) -> dict[str, dict[str, list[dict]]]:
    """capture name -> encoding -> its flow records (metering starts a process, so each is done once)."""
    return {name: {encoding: list(meter(c.path, encoding)) for encoding in ENCODINGS} for name, c in captures.items()}


@pytest.fixture(scope="session")
def run_nids():
    """The command line as users run it, in a child process from the repository root."""

    def run(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "nids", *args]
        return subprocess.run(command, check=False, cwd=REPO, capture_output=True, text=True, timeout=120)

    return run
