"""Errors a user can act on; each class carries the CLI exit code."""


class SalesReportError(Exception):
    """Base class: the message is a complete, user-facing paragraph."""

    exit_code = 1


class InputError(SalesReportError):
    """An input file or table is missing, unreadable or has bad values."""


class ConfigError(SalesReportError):
    """salesreport.toml or a command-line option has a bad value."""


class UsageError(ConfigError):
    """A command-line option has a value of the wrong shape (a malformed --month, say): exit 2, as a usage
    error the option parser itself finds."""

    exit_code = 2


class DeliveryError(SalesReportError):
    """An output could not be written or delivered; nothing half-written is left."""

    exit_code = 3


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first non-blank line of another library's error (a Spark or Postgres message runs on for pages), to
    quote inside one of ours."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:limit] if lines else type(exc).__name__
