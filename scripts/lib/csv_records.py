"""Records from a CSV file of dataset rows with a header line of the dataset's column names:
numbers become JSON numbers, empty cells null, the rest stays text."""

import csv
import re

# Decimal notation only: "nan" or "inf" stay text, so the API names the field instead of JSON failing.
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_value(text: str) -> int | float | str | None:
    text = text.strip()
    if not text:
        return None
    if not NUMBER.fullmatch(text):
        return text
    return int(text) if text.lstrip("+-").isdigit() else float(text)


def read_records(lines) -> list[dict]:
    reader = csv.DictReader(lines)
    if not reader.fieldnames:
        raise ValueError("the CSV file is empty: expected a header line of column names, then rows")
    records = []
    for row in reader:
        if None in row or None in row.values():
            raise ValueError(f"line {reader.line_num}: {len(reader.fieldnames)} columns in the header, a different number here")
        records.append({name: parse_value(value) for name, value in row.items()})
    if not records:
        raise ValueError("the CSV file has a header but no rows")
    return records
