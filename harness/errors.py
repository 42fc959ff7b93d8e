"""Errors meant for people: one line that says what is wrong, why, and what to do."""


class HarnessError(Exception):
    """A problem with the user's input or environment. The CLI prints it as one line and exits 2."""

    exit_code = 2
