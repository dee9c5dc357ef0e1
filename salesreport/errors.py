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
