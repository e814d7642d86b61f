"""The `nids` command line: scoring flow files in bulk and sending attack verdicts to a SIEM."""
