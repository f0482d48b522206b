"""What counts as a number typed as text: ASCII digits only.

str.isdigit() alone also takes "²", which int() refuses, so a check that forgot
isascii() let a ValueError through where a sentence was due. Every check that asks
"is this text a number?" (an index, an id, a cron field) asks this module.
"""


def is_digits(text: str) -> bool:
    """Whether `text` is one or more of 0-9 and nothing else."""
    return text.isascii() and text.isdigit()
