"""`nids flows` run as users run it, in a child process: outputs, timeouts and one-line errors."""

import csv
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from scapy.packet import Raw
from scapy.utils import PcapWriter, wrpcapng

from nids.flowmeter.columns import COLUMNS, FLOAT_COLUMNS, IDENTIFIERS, STRING_COLUMNS

REPO = Path(__file__).resolve().parents[2]


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nids flows: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def flow_key(record: dict) -> tuple:
    return tuple(record[name] for name in IDENTIFIERS)


def read_csv(path) -> list[dict]:
    def typed(name, text):
        return text if name in STRING_COLUMNS else float(text) if name in FLOAT_COLUMNS else int(text)

    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == COLUMNS
        return [{name: typed(name, row[name]) for name in COLUMNS} for row in reader]


def test_csv_output_holds_the_metered_flows(run_nids, captures, flows, tmp_path):
    output = tmp_path / "scan.csv"
    result = run_nids("flows", str(captures["scan"].path), "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert sorted(read_csv(output), key=flow_key) == sorted(flows["scan"]["nf-bot-iot-v2"], key=flow_key)
    assert f"{len(flows['scan']['nf-bot-iot-v2'])} flows written" in result.stderr


def test_parquet_output_in_the_plain_encoding(run_nids, captures, flows, tmp_path):
    output = tmp_path / "http.parquet"
    result = run_nids("flows", str(captures["http"].path), "-o", str(output), "--encoding", "plain")
    assert result.returncode == 0, result.stderr
    table = pq.read_table(output)
    assert tuple(table.column_names) == COLUMNS
    assert table.to_pylist() == flows["http"]["plain"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [((), 1), (("--idle-timeout", "1"), 4), (("--active-timeout", "2"), 2)],
)
def test_timeouts_split_a_slow_conversation(run_nids, captures, tmp_path, options, expected):
    # Four datagrams 1.5 s apart: idle 1 s ends the flow after each; a 2 s lifetime ends it at the third datagram.
    output = tmp_path / "slow.csv"
    result = run_nids("flows", str(captures["quiet-udp"].path), "-o", str(output), *options)
    assert result.returncode == 0, result.stderr
    records = read_csv(output)
    assert len(records) == expected
    assert sum(r["IN_PKTS"] for r in records) == len(captures["quiet-udp"].packets)


def test_garbage_file_is_one_line_error(run_nids, tmp_path):
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(bytes(range(256)) * 8)
    output = tmp_path / "out.csv"
    assert_one_line_error(run_nids("flows", str(garbage), "-o", str(output)), "not a pcap")
    assert not output.exists()


def test_truncated_pcap_is_one_line_error_and_keeps_the_previous_output(run_nids, captures, tmp_path):
    whole = captures["http"].path.read_bytes()
    truncated = tmp_path / "truncated.pcap"
    truncated.write_bytes(whole[:-10])  # the last record loses its tail
    output = tmp_path / "out.csv"
    output.write_text("an earlier result\n")
    assert_one_line_error(run_nids("flows", str(truncated), "-o", str(output)), "truncated", "record 10")
    assert output.read_text() == "an earlier result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.csv",
        "truncated.pcap",
    ]  # no partial file left behind


def test_capture_nfstream_cannot_read_is_one_line_error(run_nids, tmp_path):
    # A well-formed pcap of a link type NFStream does not decode (147, reserved for private use).
    odd = tmp_path / "private-link.pcap"
    with PcapWriter(str(odd), linktype=147) as writer:
        writer.write(Raw(bytes(60)))
    assert_one_line_error(run_nids("flows", str(odd), "-o", str(tmp_path / "out.csv")), "cannot meter this capture")


def test_truncated_pcapng_is_one_line_error(run_nids, captures, tmp_path):
    whole = tmp_path / "whole.pcapng"
    wrpcapng(str(whole), captures["dns"].packets)
    truncated = tmp_path / "truncated.pcapng"
    truncated.write_bytes(whole.read_bytes()[:-6])
    assert_one_line_error(
        run_nids("flows", str(truncated), "-o", str(tmp_path / "out.csv")),
        "truncated pcapng",
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("missing.pcap", "-o", "out.csv"), "no such capture file"),
        (("{http}", "-o", "out.json"), "must end in .csv or .parquet"),
        (("{http}", "-o", "{missing_dir}"), "no such directory"),
        (
            ("{http}", "-o", "out.csv", "--seconds", "3"),
            "live capture (--interface) only",
        ),
        (("--interface", "lo", "-o", "out.csv"), "needs --seconds"),
        (
            ("--interface", "no-such-if0", "--seconds", "1", "-o", "out.csv"),
            "no-such-if0",
        ),
    ],
)
def test_bad_invocations_are_one_line_errors(run_nids, captures, tmp_path, args, fragment):
    args = [a.format(http=captures["http"].path, missing_dir=tmp_path / "missing" / "out.csv") for a in args]
    args = [str(tmp_path / a) if a in ("missing.pcap", "out.csv", "out.json") else a for a in args]
    assert_one_line_error(run_nids("flows", *args), fragment)


def top_level_modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    return set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split())


def test_the_command_line_loads_no_metering_or_training_stack_until_it_meters():
    # Other subcommands and `nids --help` must not pay for NFStream, pandas, pyarrow, scapy or TensorFlow.
    loaded = top_level_modules_after("import nids.cli")
    assert "nids" in loaded
    assert not loaded & {"nfstream", "pandas", "pyarrow", "scapy", "tensorflow", "numpy"}


def test_the_column_list_comes_from_the_trainer_without_its_training_stack():
    loaded = top_level_modules_after("import nids.flowmeter.columns")
    assert "trainer" in loaded
    assert not loaded & {"tensorflow", "keras", "sklearn", "imblearn", "pandas"}


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0, reason="live capture needs Linux and capture rights"
)
def test_live_capture_on_loopback_counts_each_datagram_once(tmp_path):
    # Loopback shows every packet twice (leaving and arriving); the capture must keep one copy. Datagrams go
    # to a closed loopback port from a socket of our own, so their flow is known by its source port.
    output = tmp_path / "live.csv"
    command = [sys.executable, "-m", "nids", "flows", "--interface", "lo", "--seconds", "7", "-o", str(output)]
    capture = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.bind(("127.0.0.1", 0))
        port = sender.getsockname()[1]
        time.sleep(2.5)  # the capture is listening by then (interpreter and scapy start-up)
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            sender.sendto(b"probe %d" % sent, ("127.0.0.1", 9))  # the discard port: nothing answers but ICMP
            sent += 1
            time.sleep(0.2)
    _, stderr = capture.communicate(timeout=120)
    assert capture.returncode == 0, stderr
    (flow,) = [r for r in read_csv(output) if r["L4_SRC_PORT"] == port and r["PROTOCOL"] == 17]
    assert 1 <= flow["IN_PKTS"] <= sent
    sizes = [28 + len(b"probe %d" % i) for i in range(sent)]  # IP + UDP headers + payload
    assert min(sizes) * flow["IN_PKTS"] <= flow["IN_BYTES"] <= max(sizes) * flow["IN_PKTS"]
