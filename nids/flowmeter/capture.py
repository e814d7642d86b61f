"""Where packets come from: a capture file checked whole before metering, or a live interface recorded to one."""

import logging
import struct
from pathlib import Path

from nids.errors import CommandError

PCAP_MAGICS = {  # first four bytes -> byte order of the pcap headers (microsecond and nanosecond variants)
    bytes.fromhex("d4c3b2a1"): "<",
    bytes.fromhex("a1b2c3d4"): ">",
    bytes.fromhex("4d3cb2a1"): "<",
    bytes.fromhex("a1b23c4d"): ">",
}
PCAP_HEADER, PCAP_RECORD_HEADER = 24, 16
PCAP_MAX_RECORD = 1 << 18  # libpcap's own bound on one record's captured length
PCAPNG_SECTION_HEADER = bytes.fromhex("0a0d0d0a")
PCAPNG_BYTE_ORDER = {bytes.fromhex("4d3c2b1a"): "<", bytes.fromhex("1a2b3c4d"): ">"}
DLT_EN10MB, DLT_RAW = 1, 101
# Linux ARPHRD interface types -> pcap link types; Linux loopback frames carry a (zeroed) Ethernet header.
ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_NONE = 1, 772, 65534
ARPHRD_TO_DLT = {ARPHRD_ETHER: DLT_EN10MB, ARPHRD_LOOPBACK: DLT_EN10MB, ARPHRD_NONE: DLT_RAW}


def check_capture(path: Path) -> None:
    """Raise CommandError unless path is a complete pcap or pcapng file.

    NFStream (libpcap) stops quietly at a cut-off record and reads whatever it can of a damaged file, which
    would turn a broken capture into silently missing flows; so the file's record structure is walked first.
    """
    if not path.is_file():
        raise CommandError(f"{path}: {'not a file' if path.exists() else 'no such capture file'}")
    try:
        with path.open("rb") as capture:
            start = capture.read(PCAP_HEADER)
            if start[:4] in PCAP_MAGICS:
                _check_pcap(capture, start, path)
            elif start[:4] == PCAPNG_SECTION_HEADER:
                _check_pcapng(capture, path)
            else:
                raise CommandError(f"{path}: not a pcap or pcapng capture (unknown file header)")
    except OSError as exc:
        raise CommandError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _check_pcap(capture, start: bytes, path: Path) -> None:
    if len(start) < PCAP_HEADER:
        raise CommandError(f"{path}: truncated pcap file (incomplete file header)")
    order = PCAP_MAGICS[start[:4]]
    record = 0
    while header := capture.read(PCAP_RECORD_HEADER):
        record += 1
        if len(header) < PCAP_RECORD_HEADER:
            raise CommandError(f"{path}: truncated pcap file (record {record} has an incomplete header)")
        captured = struct.unpack(order + "IIII", header)[2]
        if captured > PCAP_MAX_RECORD:
            raise CommandError(f"{path}: corrupt pcap file (record {record} claims {captured} bytes)")
        if len(capture.read(captured)) < captured:
            raise CommandError(f"{path}: truncated pcap file (record {record} is cut off)")


def _check_pcapng(capture, path: Path) -> None:
    capture.seek(8)
    order = PCAPNG_BYTE_ORDER.get(capture.read(4))
    if order is None:
        raise CommandError(f"{path}: corrupt pcapng file (unknown byte-order magic)")
    capture.seek(0)
    block = 0
    while header := capture.read(8):
        block += 1
        if len(header) < 8:
            raise CommandError(f"{path}: truncated pcapng file (block {block} has an incomplete header)")
        length = struct.unpack(order + "I", header[4:])[0]
        if length < 12 or length % 4:
            raise CommandError(f"{path}: corrupt pcapng file (block {block} claims {length} bytes)")
        body = capture.read(length - 8)
        if len(body) < length - 8:
            raise CommandError(f"{path}: truncated pcapng file (block {block} is cut off)")
        if struct.unpack(order + "I", body[-4:])[0] != length:
            raise CommandError(f"{path}: corrupt pcapng file (block {block} lengths disagree)")


def arphrd(interface: str) -> int:
    """The Linux interface type (ARPHRD_*), Ethernet where the kernel does not say."""
    kind = Path("/sys/class/net", interface, "type")
    return int(kind.read_text()) if kind.is_file() else ARPHRD_ETHER


def link_type(interface: str) -> int:
    """The pcap link type of the interface's frames."""
    if arphrd(interface) not in ARPHRD_TO_DLT:
        raise CommandError(
            f"live capture on {interface}: unsupported link type (ARPHRD {arphrd(interface)}); capture to a pcap file instead"
        )
    return ARPHRD_TO_DLT[arphrd(interface)]


def record_live(interface: str, seconds: float, destination: Path) -> None:
    """Capture `seconds` of traffic on `interface` into the pcap file `destination`, streaming to disk."""
    from scapy.config import conf
    from scapy.error import Scapy_Exception
    from scapy.sendrecv import sniff
    from scapy.utils import PcapWriter

    # Scapy cannot dissect every link (the loopback one, for instance) and warns per packet; the raw frames
    # are what gets written, under the link type read from the kernel.
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    # Each packet goes straight to disk, so a busy link does not pile packets up in memory.
    with PcapWriter(str(destination), linktype=link_type(interface), sync=False) as writer:
        try:
            # The loopback interface shows every packet twice, leaving and arriving; a plain L2 socket drops the
            # leaving copy (as libpcap does on loopback), the listening socket used elsewhere keeps the host's own traffic.
            source = (
                {"opened_socket": conf.L2socket(iface=interface)}
                if arphrd(interface) == ARPHRD_LOOPBACK
                else {"iface": interface}
            )
            sniff(**source, timeout=seconds, store=False, prn=writer.write)
        except PermissionError as exc:
            raise CommandError(f"live capture on {interface} needs capture rights (root or CAP_NET_RAW): {exc}") from None
        except (OSError, ValueError, Scapy_Exception) as exc:
            raise CommandError(f"live capture on {interface} failed: {exc}") from None
