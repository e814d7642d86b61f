class CommandError(Exception):
    """A failure the user can fix (bad input, missing permission): reported as one line, exit code 2."""
