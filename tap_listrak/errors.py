"""One exception hierarchy for everything the tap reports to its user.

Every message is a single line that names the problem and, where there is one, the fix.
The CLI prints it as one CRITICAL line and exits 1.
"""


class TapError(Exception):
    """Base of every error the tap raises on purpose."""


# -- bad input: nothing is requested from Listrak after one of these -------------------------
class ConfigError(TapError):
    """The config file is missing, unreadable or holds a bad value."""


class CatalogError(TapError):
    """The catalog file is unreadable or names streams or fields the tap does not have."""


class StateError(TapError):
    """The state file is unreadable or not shaped like the tap's state."""


# -- this machine -------------------------------------------------------------------------------
class SpoolError(TapError):
    """The temporary file that holds pages waiting to be written cannot be written (disk full, TMPDIR)."""


class OutputClosedError(TapError):
    """The target closed the tap's stdout (a broken pipe): nothing more can be delivered."""


# -- what Listrak (or whatever answers at the endpoint) said ---------------------------------
class ListrakError(TapError):
    """Base of errors raised for a reply or a failed exchange with the service."""


class RetryableError(ListrakError):
    """A transient failure: connection, timeout, HTTP 5xx, broken XML, throttling, server fault.
    `retry_after`: the seconds the server asked to wait before the next attempt (Retry-After), if any."""

    def __init__(self, message: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class TokenRejected(RetryableError):
    """The REST API refused the access token (HTTP 401): renewed once, then an AuthenticationError."""


class AuthenticationError(ListrakError):
    """Listrak refused the credentials (InvalidLogonAttempt, LoginAttemptsExceeded)."""


class IPNotAuthorizedError(ListrakError):
    """Listrak refused the caller's IP address (ProhibitedIPAddress)."""


class NotFoundError(ListrakError):
    """The list or message asked about no longer exists (Listrak's '404' fault)."""


class Cancelled(ListrakError):
    """A request not sent, or not retried, because another one already ended the run."""


class ProtocolError(ListrakError):
    """The endpoint answered, but not with a reply of the Listrak v31 contract."""
