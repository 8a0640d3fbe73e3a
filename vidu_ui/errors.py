"""Errors, typed where they start; the UI and the CLI turn them into messages and exit codes.

::

    ViduError
    ├── InvalidInput                 bad frames or options: nothing was sent
    └── APIError                     something went wrong talking to the service
        ├── APIStatusError           the service answered with an error status
        │   ├── BadRequestError          400
        │   ├── AuthenticationError      401
        │   ├── PermissionDeniedError    403
        │   ├── NotFoundError            404
        │   ├── ConflictError            409
        │   ├── RateLimitError           429
        │   └── ServerError              499 and 5xx
        ├── APIConnectionError       no answer: refused, reset, unreachable
        │   └── APITimeoutError
        ├── APIResponseError         an answer this app cannot read
        └── OutcomeUnknownError      a create request may have reached the service: the task may exist

Messages never contain the API key: nothing here is given it.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

from .messages import hint, render_problem, say


@dataclass(frozen=True)
class Problem:
    """One failed check: the field it concerns, and a message key with its values (``vidu_ui.messages`` turns
    it into words in the reader's language). ``text`` holds a sentence not yet in the catalogue (English)."""

    field: str
    text: str = ""
    key: str | None = None
    values: dict[str, Any] = dataclass_field(default_factory=dict, compare=True, hash=False)

    @classmethod
    def of(cls, field: str, key: str, **values: Any) -> Problem:
        return cls(field, key=key, values=values)

    @property
    def message(self) -> str:
        """The message in English, without the field name."""
        return render_problem(self, "en", with_field=False)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ViduError(Exception):
    """Base of every error this package raises."""


class InvalidInput(ViduError):
    """The frames or options failed their checks; nothing was sent."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "invalid input")


def hint_for(reason: str | None, status: int | None = None, *, auto_fit: bool = False) -> str:
    """What to do about ``reason`` (or, failing that, the HTTP status), in English for the operator;
    ``auto_fit``: it was on for the request (the advice then never suggests turning it on)."""
    return hint("en", reason, status, auto_fit=auto_fit)


def is_cancel_too_late(exc: APIStatusError) -> bool:
    """A cancel refused because the task is already scheduled ("task state is scheduled, can not cancel")."""
    return exc.status_code in (400, 409) and "schedul" in (exc.service_message or "").lower()


class APIError(ViduError):
    """Something went wrong talking to the service."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request

    @property
    def hint(self) -> str:
        return _say("hint_try_later")


class APIStatusError(APIError):
    """The service answered with an error status. Keeps the status, the parsed body and the response."""

    def __init__(
        self,
        *,
        status_code: int,
        reason: str | None,
        message: str,
        trace_id: str | None,
        body: Any,
        response: httpx.Response | None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.reason = reason
        self.service_message = message
        self.trace_id = trace_id
        self.body = body
        self.response = response
        self.retry_after = retry_after
        self.auto_fit = False
        """The request was prepared by auto-fit (``submit.submit`` says so): the hint then never suggests it."""
        text = f"HTTP {status_code}"
        if reason:
            text += f" {reason}"
        if message:
            text += f": {message}"
        if trace_id:
            text += f" (trace id {trace_id})"
        super().__init__(text, request=response.request if response is not None else None)

    @property
    def hint(self) -> str:
        if is_cancel_too_late(self):
            return _say("hint_cancel_scheduled")
        return hint_for(self.reason, self.status_code, auto_fit=self.auto_fit)


class BadRequestError(APIStatusError):
    pass


class AuthenticationError(APIStatusError):
    pass


class PermissionDeniedError(APIStatusError):
    pass


class NotFoundError(APIStatusError):
    pass


class ConflictError(APIStatusError):
    pass


class RateLimitError(APIStatusError):
    pass


class ServerError(APIStatusError):
    pass


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    if status_code in _STATUS_CLASSES:
        return _STATUS_CLASSES[status_code]
    if status_code == 499 or status_code >= 500:
        return ServerError
    return APIStatusError


class APIConnectionError(APIError):
    """No usable answer: the connection was refused, reset or could not be made."""

    @property
    def hint(self) -> str:
        return _say("hint_connection")


class APITimeoutError(APIConnectionError):
    """The service did not answer in time."""

    @property
    def hint(self) -> str:
        return _say("hint_timeout")


class APIResponseError(APIError):
    """The service answered, but not in a form this app can read."""

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message, request=response.request if response is not None else None)
        self.response = response

    @property
    def hint(self) -> str:
        return _say("hint_response")


class OutcomeUnknownError(APIError):
    """A create request may have reached the service, and no answer says whether a task was made.

    Never retried automatically: sending it again could create and bill a second task.
    """

    def __init__(self, cause: APIError) -> None:
        super().__init__(
            f"outcome unknown: the task may have been created ({cause.message})",
            request=cause.request,
        )
        self.cause = cause

    @property
    def hint(self) -> str:
        return _say("hint_unknown_outcome")


def _say(key: str) -> str:
    return say("en", key)
