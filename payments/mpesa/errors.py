"""How a Daraja call fails: :class:`DarajaError` (a :class:`~payments.base.ProviderError` with Daraja's code, a stable
reason and how to react) and :class:`DarajaRequestError` for a request refused before any HTTP call.

Messages never hold the consumer secret, the passkey, the STK password or a bearer token: the client redacts them.
"""

from __future__ import annotations

from datetime import timedelta

from payments.base import ProviderError
from payments.mpesa.codes import MISCONFIGURED, ErrorKind


class DarajaError(ProviderError):
    """Daraja refused or failed a call. ``code`` is Daraja's errorCode (or ``mpesa.*`` for local failures),
    ``reason`` a stable key, ``kind`` how to react (see :mod:`payments.mpesa.codes`)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        retryable: bool,
        kind: ErrorKind = ErrorKind.PERMANENT,
        reason: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(
            message,
            code=code,
            retryable=retryable,
            misconfigured=(reason or code) in MISCONFIGURED,
            http_status=http_status,
        )
        self.kind = kind
        self.reason = reason or code
        self.request_id = request_id
        self.retry_after = retry_after


class DarajaRequestError(DarajaError, ValueError):
    """A request Daraja would refuse, caught before any HTTP call (``code`` = ``reason`` = ``mpesa.invalid_*``)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code, retryable=False, reason=code)


def local_error(message: str, code: str) -> DarajaError:
    """A failure on our side of the wire (timeout, network): worth retrying."""
    return DarajaError(message, code=code, retryable=True, kind=ErrorKind.RETRYABLE, reason=code)
