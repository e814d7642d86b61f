"""Meter a capture file into flow records with NFStream and the packet-stats plugin."""

from collections.abc import Iterator
from pathlib import Path

from nfstream import NFStreamer

from nids.errors import CommandError
from nids.flowmeter.capture import check_capture
from nids.flowmeter.options import ACTIVE_TIMEOUT_S, IDLE_TIMEOUT_S
from nids.flowmeter.plugin import PacketStatsPlugin
from nids.flowmeter.records import flow_record

IP_LAYER = 1  # NFStream accounting_mode: count bytes and packet sizes at the IP layer, as NetFlow does


def meter(
    capture: Path, encoding: str, idle_timeout: int = IDLE_TIMEOUT_S, active_timeout: int = ACTIVE_TIMEOUT_S
) -> Iterator[dict]:
    """Yield one record per bidirectional IPv4 flow of the capture file, as flows end (no order across metering processes)."""
    check_capture(capture)
    try:
        streamer = NFStreamer(
            source=str(capture),
            bpf_filter="ip",  # the records have IPv4 address columns; IPv6 and non-IP frames are left out
            idle_timeout=idle_timeout,
            active_timeout=active_timeout,
            accounting_mode=IP_LAYER,
            statistical_analysis=True,  # packet-size extremes
            udps=[PacketStatsPlugin()],
            n_meters=0,  # one metering process per spare core; each takes a hash share of the flows
        )
    except ValueError as exc:
        raise CommandError(f"{capture}: cannot meter this capture (NFStream: {exc})") from None
    flows = iter(streamer)
    while True:
        try:
            flow = next(flows)
        except StopIteration:
            return
        except ValueError as exc:  # NFStream's report of a capture libpcap cannot read (link type, format)
            raise CommandError(f"{capture}: cannot meter this capture (NFStream: {exc})") from None
        yield flow_record(flow, encoding)  # outside the try: an error here is a bug, not the capture's fault
