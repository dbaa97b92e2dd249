"""Every exception and warning class that matcher raises."""


class MatcherError(Exception):
    """Base class of every error raised by matcher."""


class InputError(MatcherError, ValueError):
    """Bad records, files or parameters.

    ``problems`` holds one dict per problem (``file``, ``row``, ``column``,
    ``value``, ``message``) when the error comes from validating records.
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
