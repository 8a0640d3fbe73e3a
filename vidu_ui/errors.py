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
from typing import Any

import httpx


@dataclass(frozen=True)
class Problem:
    """One failed check: the field it concerns and a sentence a person understands."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ViduError(Exception):
    """Base of every error this package raises."""


class InvalidInput(ViduError):
    """The frames or options failed their checks; nothing was sent."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "invalid input")


# What a reason means and what to do, for errors and for a failed task's err_code.
REASON_HINTS: dict[str, str] = {
    "BadRequest": "The service refused the request as malformed; check the options and try again.",
    "FieldLacking": "A required field is missing; fill it in and try again.",
    "FieldUnwanted": "The service does not accept one of the fields sent; leave that option at its default.",
    "FieldInvalid": "A field has a value the service does not accept; correct it and try again.",
    "FieldItemCountOutOfRange": "Send exactly two images: the start frame and the end frame.",
    "PageSizeOutOfRange": "An image's size, format or ratio is out of range; try with auto-fit on.",
    "ImageDownloadFailure": "The service could not download an image URL; make sure it is public, or upload the file.",
    "ImageFormatInvalid": "An image is not PNG, JPEG or WebP; convert it and try again.",
    "OperationInProcess": "The task is busy with another operation; wait a moment and try again.",
    "CreditInsufficient": "The account has too few credits; top up, or choose a shorter or lower-resolution video.",
    "TaskPromptPolicyViolation": "The prompt was refused by the content policy; rephrase it.",
    "CreationPolicyViolation": "The result was refused by the content policy; change the frames or the prompt.",
    "AuditSubmitIllegal": "The input was refused by the content review; change the frames or the prompt.",
    "ModelUnavailable": "That model is not available to this account now; choose another model.",
    "UserCancelled": "The task was cancelled; its credits are refunded.",
    "Unauthorized": "The API key was refused; check VIDU_API_KEY and the auth scheme "
    "(Bearer for kkiai, Token for Vidu's own hosts).",
    "Forbidden": "The key may not do this; check the account's permissions.",
    "TaskNotFound": "No task has that id for this key; check the id and the base URL.",
    "CreationNotFound": "The task has no result yet; query it again later.",
    "NotFound": "The service has no such path; check VIDU_BASE_URL and the path settings.",
    "Conflict": "The request conflicts with the task's state; query the task and try again.",
    "QuotaExceeded": "Too many tasks are running; wait for one to finish and try again.",
    "TooManyRequests": "Too many requests; wait a moment and try again.",
    "SystemThrottling": "The service is busy; wait a moment and try again.",
    "Canceled": "The service cancelled the request; try again.",
    "InternalServiceFailure": "The service failed; try again later.",
}

_STATUS_HINTS: dict[int, str] = {
    400: "The service refused the request; check the options and try again.",
    401: REASON_HINTS["Unauthorized"],
    403: REASON_HINTS["Forbidden"],
    404: REASON_HINTS["NotFound"],
    409: REASON_HINTS["Conflict"],
    429: REASON_HINTS["TooManyRequests"],
}


# The advice instead, for a request that auto-fit already prepared: it never says "turn auto-fit on".
AUTO_FIT_ON_HINTS: dict[str, str] = {
    "PageSizeOutOfRange": "The service found an image's size or ratio out of range although auto-fit prepared "
    "the frames; crop both frames to the same shape, or give them as http(s) URLs.",
}


def hint_for(reason: str | None, status: int | None = None, *, auto_fit: bool = False) -> str:
    """What to do about ``reason`` (or, failing that, the HTTP status); ``auto_fit``: it was on for the request."""
    if auto_fit and reason in AUTO_FIT_ON_HINTS:
        return AUTO_FIT_ON_HINTS[reason]
    if reason and reason in REASON_HINTS:
        return REASON_HINTS[reason]
    if status is not None and status in _STATUS_HINTS:
        return _STATUS_HINTS[status]
    if status is not None and status >= 500:
        return "The service failed; try again later."
    return "Check the request and try again."


class APIError(ViduError):
    """Something went wrong talking to the service."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request

    @property
    def hint(self) -> str:
        return "Try again later."


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
        return "Check the network and VIDU_BASE_URL, then try again."


class APITimeoutError(APIConnectionError):
    """The service did not answer in time."""

    @property
    def hint(self) -> str:
        return "The service did not answer in time; try again later or raise the timeout."


class APIResponseError(APIError):
    """The service answered, but not in a form this app can read."""

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message, request=response.request if response is not None else None)
        self.response = response

    @property
    def hint(self) -> str:
        return "Check VIDU_BASE_URL points at a Vidu-compatible service."


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
        return (
            "Do not resubmit straight away: look for the task in the service's task list "
            "(`python -m vidu_ui tasks`) or your account before trying again."
        )
