"""`nids flows`: a packet capture (file or live interface) to the flow records the NF-BoT-IoT-v2 models take."""

import argparse
import sys
import tempfile
from pathlib import Path

from nids.errors import CommandError
from nids.flowmeter.capture import record_live
from nids.flowmeter.options import ACTIVE_TIMEOUT_S, ENCODINGS, FORMATS, IDLE_TIMEOUT_S, output_format


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "flows",
        help="turn a packet capture into NF-BoT-IoT-v2 flow records",
        description="Turn a packet capture (a pcap or pcapng file, or a live interface) into the flow records the "
        "NF-BoT-IoT-v2 models take: one row per bidirectional IPv4 flow (columns: docs/flows.md).",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("capture", nargs="?", type=Path, help="pcap or pcapng file to read")
    source.add_argument(
        "--interface", "-i", metavar="IF", help="capture live on this interface instead (needs root or CAP_NET_RAW)"
    )
    parser.add_argument(
        "--seconds", type=_positive(float), metavar="N", help="how long to capture live (required with --interface)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help=f"output file; format from the suffix: {', '.join(FORMATS)}"
    )
    for flag, default, meaning in (
        ("--idle-timeout", IDLE_TIMEOUT_S, "end a flow after S seconds without packets"),
        ("--active-timeout", ACTIVE_TIMEOUT_S, "split a flow still active after S seconds"),
    ):
        parser.add_argument(
            flag, type=_positive(int), default=default, metavar="S", help=f"{meaning} (default {default}, as nProbe)"
        )
    parser.add_argument(
        "--encoding",
        choices=ENCODINGS,
        default=ENCODINGS[0],
        help="nf-bot-iot-v2 (default): the published dataset's encoding, what the models learnt; "
        "plain: the NetFlow meaning of the few columns where the two differ (docs/flows.md)",
    )


def run(args: argparse.Namespace) -> int:
    output_format(args.output)  # refuse a bad output name before capturing or metering anything
    if args.interface is not None:
        if args.seconds is None:
            raise CommandError("--interface needs --seconds N (how long to capture)")
        with tempfile.TemporaryDirectory(prefix="nids-flows-") as scratch:
            capture = Path(scratch) / "live.pcap"
            record_live(args.interface, args.seconds, capture)
            count = _convert(capture, args)
    else:
        if args.seconds is not None:
            raise CommandError("--seconds applies to a live capture (--interface) only")
        count = _convert(args.capture, args)
    print(f"{count} flows written to {args.output}", file=sys.stderr)
    return 0


def _convert(capture: Path, args: argparse.Namespace) -> int:
    # NFStream (with pandas) and pyarrow load only when there is work for them, so `nids --help` and other
    # subcommands start fast.
    from nids.flowmeter.meter import meter
    from nids.flowmeter.writer import write_records

    records = meter(capture, args.encoding, idle_timeout=args.idle_timeout, active_timeout=args.active_timeout)
    return write_records(records, args.output)
