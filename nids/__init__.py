"""The `nids` command line: turn traffic into model inputs and score them."""
