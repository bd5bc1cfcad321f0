"""The one exception type for mistakes a user can fix (bad params, missing files).

Stage scripts turn it into a single `error: ...` line and exit status 2; anything
else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""
