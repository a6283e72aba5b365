"""Errors that carry a message meant for the person at the keyboard."""


class InputError(ValueError):
    """A user mistake; str(e) is one line saying what is wrong and what to do."""
