"""Errors named for what went wrong, raised by the core and by adapters through the ports."""


class InventorySyncError(Exception):
    """Base of every error inventory-sync raises on purpose."""


class SettingsError(InventorySyncError, ValueError):
    """A setting that is wrong or a settings source that cannot be read (exit 2); the
    message names the setting or the file."""


class UnknownProduct(InventorySyncError, LookupError):
    def __init__(self, product_code: str) -> None:
        super().__init__(f"unknown product {product_code!r}")
        self.product_code = product_code


class TransientError(InventorySyncError):
    """A fault that clears by itself (database restarting, broker away, lock timeout).

    The run loop pauses, backs off and retries the same batch; nothing is skipped.
    """


class StorageRejected(InventorySyncError):
    """The database refused the data itself (integrity or data error): retrying cannot help."""


class PermanentFault(InventorySyncError):
    """A fault that cannot clear by itself (authorisation refused, an invalid topic, a record
    the broker can never take): retrying cannot help, so the run loop stops with it (exit 1)
    instead of retrying for ever."""


class ServiceUnreachable(InventorySyncError):
    """The broker or the database cannot be reached; the message names which and where.

    Adapters raise it (with the client's own error as its cause) so that the entrypoints
    report one line without knowing any client library's exception types.
    """


class AuthenticationFailed(PermanentFault):
    """The broker refused the credentials; the message names the mechanism and the user
    (never the password), so that an operator looks at the credentials, not the network."""


class TlsHandshakeFailed(PermanentFault):
    """The TLS handshake with the broker failed on a certificate (one the client does not
    trust, or a client certificate the broker refuses); the message names the files to check."""
