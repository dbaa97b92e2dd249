"""Every exception and warning class that matcher raises, and the one shape of a validation problem."""

#: Keys of a validation problem, the same everywhere: records, planning inputs and the web app's JSON
#: ``errors[]`` items. Unknown parts are None.
PROBLEM_KEYS = ("file", "row", "column", "field", "value", "allowed", "message")


def problem(message, *, file=None, row=None, column=None, field=None, value=None, allowed=None):
    """One validation problem as a plain dict with every key of :data:`PROBLEM_KEYS`.

    ``file`` and ``row`` are what a spreadsheet user sees (row numbers 1-based, header counted);
    ``column`` is the header as written in the file, ``field`` the canonical name; ``allowed``
    lists the accepted values or describes the accepted range.

    Examples
    --------
    >>> problem("TRL must be a whole number from 1 to 9", file="needs.csv", row=7, field="trl", value="10")["row"]
    7
    """
    return {"file": file, "row": row, "column": column, "field": field, "value": value,
            "allowed": list(allowed) if isinstance(allowed, (list, tuple)) else allowed, "message": message}


class MatcherError(Exception):
    """Base class of every error raised by matcher."""


class InputError(MatcherError, ValueError):
    """Bad records, files or parameters.

    ``problems`` holds one :func:`problem` dict per problem when the error comes from validating
    records or planning inputs.
    """

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.problems = list(problems)


class ModelUnavailableError(MatcherError):
    """An embedding model cannot be loaded offline."""


class InfeasibleScheduleError(MatcherError):
    """The meeting schedule cannot satisfy the hard rules; the message says what to relax."""


class DataWarning(UserWarning):
    """A lossy conversion that is still allowed."""
