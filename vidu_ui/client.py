"""The HTTP client for Vidu's start–end frame API.

One private method, ``_request``, sends every request, applies the deadline and the retry rules, and turns
whatever went wrong into a typed error from ``vidu_ui.errors``.

Retry rules. Creating a task spends credits and is not idempotent, so ``create`` is sent again only when the
first attempt provably did not reach the service (``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``) or the
service explicitly refused it (429, 503). Any other failure after the body may have been sent raises
``OutcomeUnknownError``. Queries, listing, credits and cancel are safe to repeat: they are retried on
connection errors, timeouts, 429 and 5xx with exponential backoff and jitter. Every call has an overall
deadline (``settings.deadline``): each attempt's timeouts are clipped to the time left, and no retry starts
after it.

``AsyncViduClient`` makes the same queries on an event loop (the follower's, one long-lived client per key),
under the same rules: both drive one ``_Call`` per call, which judges each attempt.

The API key is read from ``settings.api_key`` only to build the Authorization header of each request. It is
never logged, never in a message, never in ``repr``; headers are never logged. A service (or a proxy in front of
it) may echo the header back in a reason, a trace id or a page: every response passes ``redact`` once, where
``_request`` receives it, so nothing read from it afterwards (errors, stored JSON, excerpts) can hold the key.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import ValidationError

from . import __version__, deadline
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    InvalidInput,
    OutcomeUnknownError,
    Problem,
    status_error_class,
)
from .request import TASK_STATES, checked_task_id, task_path
from .responses import CreatedTask, Credits, TaskStatus, describe_validation_error
from .settings import Settings

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "MAX_PAGE_SIZE",
    "RETRY_AFTER_CAP",
    "AsyncViduClient",
    "ViduClient",
    "backoff_delay",
    "parse_retry_after",
    "retry_wait",
]

logger = logging.getLogger("vidu_ui.client")

USER_AGENT = f"vidu-ui/{__version__}"
BACKOFF_BASE = 0.5
"""First backoff wait in seconds; doubled per retry."""
BACKOFF_CAP = 8.0
"""Longest backoff wait (before jitter is added)."""
RETRY_AFTER_CAP = 30.0
"""Longest wait this client honours from a ``Retry-After`` header."""
MAX_PAGE_SIZE = 100
# The list call's pager, as the clients that work send it (the official table misspells it ``paper.pagesz``).
PAGE_SIZE_PARAM = "pager.pagesz"
PAGE_TOKEN_PARAM = "pager.page_token"  # noqa: S105 - a parameter name, not a secret
MAX_PAGES = 50
"""Most pages ``iter_tasks`` follows (5,000 tasks at 100 a page): a token that never ends cannot loop forever."""
_EXCERPT_CHARS = 200
REDACTED = "[api key]"

# Failures that provably happened before any byte of the request was sent.
_NOT_SENT_RETRYABLE: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures before sending that trying again will not fix (a bad URL or header).
_NOT_SENT_FINAL: tuple[type[Exception], ...] = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta seconds or an HTTP date. ``None`` if absent or unreadable.

    ``now`` is the current Unix time (default ``time.time()``); a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff_delay(retry: int, jitter: float) -> float:
    """The wait before retry number ``retry`` (0-based): ``BACKOFF_BASE * 2**retry``, capped, plus up to 25% jitter.

    ``jitter`` is a number in [0, 1). Waits grow strictly until the cap and never exceed ``1.25 * BACKOFF_CAP``.
    """
    base = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(retry, 32))
    return base * (1.0 + 0.25 * min(max(jitter, 0.0), 1.0))


def retry_wait(retry: int, retry_after: float | None, remaining: float, jitter: float) -> float | None:
    """How long to sleep before retry number ``retry``, or ``None`` if it cannot start before the deadline.

    A ``Retry-After`` from the service wins over the backoff, capped at ``RETRY_AFTER_CAP``.
    """
    wait = backoff_delay(retry, jitter) if retry_after is None else min(max(retry_after, 0.0), RETRY_AFTER_CAP)
    if wait >= remaining:
        return None
    return wait


class _Service:
    """What both clients share: the settings, the retry rules' inputs, and reading answers (errors, redaction,
    decoding). Each subclass sends the requests its own way."""

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._clock = clock
        self._random = random.Random()
        # The key's spellings, worked out once: every answer is searched for them (a follower's 1,000 queries a
        # wave redacted each answer's every string with a fresh set, 4% of a query's CPU on 4 December).
        key = self._key()
        self._forms = _spellings(key) if key else ()
        self._forms_bytes = tuple(form.encode() for form in self._forms)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._settings.base_url!r}, auth_scheme={self._settings.auth_scheme!r})"
        )

    @property
    def settings(self) -> Settings:
        return self._settings

    # --- sending ---------------------------------------------------------------------------------------------

    def _authorization(self) -> str:
        key = self._key()
        if not key:
            raise InvalidInput([Problem.of("api_key", "problem_no_key_operator")])
        # A header cannot carry these; httpx's own error would quote the whole header, key included.
        if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
            raise InvalidInput([Problem.of("api_key", "problem_key_chars")])
        return f"{self._settings.auth_scheme} {key}"

    def _timeout(self, remaining: float) -> httpx.Timeout:
        # Settings name connect and read timeouts; writing the body gets the read budget (a 20 MB upload
        # needs it), waiting for a pooled connection the connect budget.
        connect = self._settings.connect_timeout
        read = self._settings.read_timeout
        left = max(remaining, 0.001)
        return httpx.Timeout(
            connect=min(connect, left), read=min(read, left), write=min(read, left), pool=min(connect, left)
        )

    def _log_attempt(
        self, method: str, path: str, outcome: int | str, started: float, attempt: int, max_retries: int
    ) -> None:
        level = logging.DEBUG if isinstance(outcome, int) and outcome < 400 else logging.INFO
        logger.log(
            level,
            "%s %s -> %s in %.3f s (attempt %d of %d)",
            method,
            path,
            outcome,
            self._clock() - started,
            attempt,
            max_retries + 1,
        )

    # --- turning answers into errors -------------------------------------------------------------------------

    def _transport_error(self, exc: httpx.HTTPError) -> APIError:
        request = _request_of(exc)
        host = self._settings.base_url
        detail = self._redact(str(exc)) or type(exc).__name__
        if isinstance(exc, httpx.ConnectTimeout):
            return APITimeoutError(f"timed out connecting to {host}", request=request)
        if isinstance(exc, httpx.PoolTimeout):
            return APITimeoutError("timed out waiting for a free connection", request=request)
        if isinstance(exc, httpx.WriteTimeout):
            return APITimeoutError(f"timed out sending the request to {host}", request=request)
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(f"{host} did not answer in time", request=request)
        if isinstance(exc, httpx.ConnectError):
            return APIConnectionError(f"could not connect to {host} ({detail})", request=request)
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            return APIConnectionError(
                f"the connection to {host} broke before the answer arrived ({detail})", request=request
            )
        return APIConnectionError(f"the request to {host} failed: {type(exc).__name__} ({detail})", request=request)

    def _status_error(self, response: httpx.Response) -> APIStatusError | None:
        """The error a response stands for, or ``None`` for a success."""
        status = response.status_code
        body: Any = None
        parsed = self._json(response)
        if response.is_success:
            # Some resellers wrap a refusal in HTTP 200: {"code": 400, "reason": ..., "message": ...}.
            if (
                isinstance(parsed, dict)
                and isinstance(parsed.get("code"), int)
                and parsed["code"] >= 400
                and isinstance(parsed.get("reason"), str)
                and "task_id" not in parsed
                and "state" not in parsed
            ):
                status = parsed["code"]
            else:
                return None
        reason: str | None = None
        trace_id: str | None = None
        if isinstance(parsed, dict):
            body = parsed
            reason = _short_str(parsed.get("reason"))
            message = _short_str(parsed.get("message"), 500) or ""
            metadata = parsed.get("metadata")
            if isinstance(metadata, dict):
                trace_id = _short_str(metadata.get("trace_id"))
            if not reason and not message:
                message = f"the service answered with JSON this app does not recognise: {self._excerpt(response)}"
        else:
            body = response.text[:2000] if response.content else None
            message = self._describe_unreadable(response, status)
        if status in (301, 302, 303, 307, 308) and response.headers.get("location"):
            message += f" (redirected to {response.headers['location'][:200]}; check VIDU_BASE_URL)"
        cls = status_error_class(status)
        return cls(
            status_code=status,
            reason=reason,
            message=message,
            trace_id=trace_id,
            body=body,
            response=response,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )

    def _describe_unreadable(self, response: httpx.Response, status: int) -> str:
        """A sentence for a body that is not a JSON object: HTML, text, empty, truncated JSON."""
        if not response.content.strip():
            return "the service answered with an empty body"
        kind = _body_kind(response)
        excerpt = self._excerpt(response)
        if kind == "html":
            return f"the service answered with HTML, not JSON: {excerpt}"
        if kind == "json":
            if self._json(response) is not None:
                return f"the service answered with JSON this app does not recognise: {excerpt}"
            return f"the service answered with truncated or malformed JSON: {excerpt}"
        return f"the service answered with plain text, not JSON: {excerpt}"

    def _excerpt(self, response: httpx.Response) -> str:
        text = response.content[:4000].decode("utf-8", errors="replace")
        if _body_kind(response) == "html":
            title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
            text = title.group(1) if title else re.sub(r"<[^>]*>", " ", text)
        text = "".join(c if c.isprintable() else " " for c in text)
        text = self._redact(" ".join(text.split()))  # the body was redacted whole first
        if len(text) > _EXCERPT_CHARS:
            text = text[: _EXCERPT_CHARS - 1] + "…"
        return repr(text)

    def _key(self) -> str:
        return self._settings.api_key.get_secret_value().strip() if self._settings.api_key is not None else ""

    def _redact(self, text: str) -> str:
        return _without(text, self._forms)

    def _redacted(self, response: httpx.Response) -> httpx.Response:
        """``response`` with the key removed from its body and headers: the one redaction every answer passes.

        A proxy's error page, a reason or a trace id may echo the Authorization header back. The body is
        redacted as bytes (every spelling ``redact`` knows) and, once parsed, as JSON (``_json``): a JSON
        string may spell the key with ``\\u`` escapes.
        """
        if not self._forms:
            return response
        content = response.content
        headers = [(name, value) for name, value in response.headers.multi_items()]
        if not any(form in content for form in self._forms_bytes) and not any(
            form in value for _, value in headers for form in self._forms
        ):
            return response
        for form in self._forms_bytes:
            content = content.replace(form, REDACTED.encode())
        skip = {"content-length", "content-encoding", "transfer-encoding"}  # the body below is already decoded
        kept = [(name, self._redact(value)) for name, value in headers if name.lower() not in skip]
        return httpx.Response(response.status_code, headers=kept, content=content, request=response.request)

    def _json(self, response: httpx.Response) -> Any:
        """The response's JSON (``None`` if it is not JSON), every string in it redacted."""
        return self._redact_json(_parse_json(response.content))

    def _redact_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, dict):
            return {self._redact(str(k)): self._redact_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact_json(v) for v in value]
        return value

    # --- decoding successes ----------------------------------------------------------------------------------

    def _decode(self, response: httpx.Response) -> Any:
        """The JSON of a 2xx response; ``APIResponseError`` if it is not JSON."""
        data = self._json(response)
        if data is None:
            raise APIResponseError(
                f"HTTP {response.status_code}, but {self._describe_unreadable(response, response.status_code)}",
                response=response,
            )
        return data

    def _decode_object(self, response: httpx.Response) -> dict[str, Any]:
        data = self._decode(response)
        if not isinstance(data, dict):
            raise APIResponseError(
                f"the service answered with JSON {type(data).__name__}, not an object", response=response
            )
        return data

    def _task_status(self, response: httpx.Response) -> TaskStatus:
        return _read(TaskStatus, self._decode(response), response, "a task status")


class _Call:
    """One call's attempts under the retry rules and the overall deadline (module docstring). Both clients drive
    it the same way: ``next_attempt`` before sending, ``judge`` the result, sleep what it says, ``check_deadline``;
    only how they send and sleep differs."""

    def __init__(
        self, client: _Service, method: str, path: str, *, idempotent: bool, headers: Mapping[str, str] | None
    ) -> None:
        self.client = client
        self.method = method
        self.path = path
        self.idempotent = idempotent
        self.headers = {**(headers or {}), "Authorization": client._authorization()}
        settings = client.settings
        self.max_retries = settings.query_retries if idempotent else settings.create_retries
        self.ends = client._clock() + settings.deadline
        self.attempt = 0
        self.started = 0.0
        self.error: APIError | None = None

    def next_attempt(self) -> float:
        """Count an attempt about to be sent; the seconds left before the deadline."""
        self.attempt += 1
        self.started = self.client._clock()
        return self.ends - self.started

    def judge(self, result: httpx.Response | httpx.HTTPError) -> httpx.Response | float:
        """The 2xx response to return, or the seconds to wait before the next attempt; raises the typed error
        when the call is over."""
        client, method, path = self.client, self.method, self.path
        retry_after: float | None = None
        if isinstance(result, httpx.HTTPError):
            error = client._transport_error(result)
            client._log_attempt(method, path, type(result).__name__, self.started, self.attempt, self.max_retries)
            if isinstance(result, _NOT_SENT_FINAL):
                raise error from result
            if self.idempotent:
                retryable = isinstance(result, httpx.TransportError)
            else:
                retryable = isinstance(result, _NOT_SENT_RETRYABLE)
                if not retryable:
                    raise OutcomeUnknownError(error) from result
        else:
            response = client._redacted(result)
            client._log_attempt(method, path, response.status_code, self.started, self.attempt, self.max_retries)
            status_error = client._status_error(response)
            if status_error is None:
                return response
            error = status_error
            status = status_error.status_code
            retry_after = status_error.retry_after
            if self.idempotent:
                retryable = status in (408, 429) or status >= 499
            else:
                retryable = status in (429, 503)
                if not retryable and status >= 499:
                    # A 5xx (or 499, cancelled mid-way) after the body was sent: the task may exist.
                    raise OutcomeUnknownError(error)
        if not retryable or self.attempt > self.max_retries:
            raise error
        wait = retry_wait(self.attempt - 1, retry_after, self.ends - client._clock(), client._random.random())
        if wait is None:
            logger.info("%s %s: no retry, the %.0f s deadline would pass", method, path, client.settings.deadline)
            raise error
        logger.debug("%s %s: retrying in %.2f s", method, path, wait)
        self.error = error
        return wait

    def check_deadline(self) -> None:
        """After the wait: raise the last error if the deadline passed meanwhile."""
        if self.error is not None and self.client._clock() >= self.ends:
            raise self.error


class ViduClient(_Service):
    """A client for one account (one key) on one host.

    ``transport`` replaces the network (tests pass ``httpx.MockTransport``); ``sleep`` and ``clock`` replace
    ``time.sleep`` and ``time.monotonic`` so retry tests never really wait.

    Without an API key the client can be built, but every call raises ``InvalidInput`` (field ``api_key``)
    before anything is sent: like a bad frame, it is the user's input to fix, and nothing reached the service.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(settings, clock)
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=settings.base_url,
            transport=transport if transport is not None else deadline.transport(),
            timeout=self._timeout(math.inf),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    # --- lifecycle -------------------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ViduClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the API ---------------------------------------------------------------------------------------------

    def create(self, body: bytes) -> CreatedTask:
        """Create a start–end task from ``body``, the exact JSON bytes the caller built and measured.

        Raises ``OutcomeUnknownError`` when the request may have reached the service without a readable
        answer: look for the task before creating it again.
        """
        if not isinstance(body, bytes | bytearray):
            raise TypeError("create() takes the request body as JSON bytes")
        response = self._request(
            "POST",
            self._settings.paths.create,
            content=bytes(body),
            headers={"Content-Type": "application/json"},
            idempotent=False,
        )
        try:
            data = self._decode(response)
        except APIResponseError as exc:
            raise OutcomeUnknownError(exc) from None
        if not isinstance(data, dict) or data.get("task_id") in (None, ""):
            cause = APIResponseError(
                f"the service answered HTTP {response.status_code} without a task id", response=response
            )
            raise OutcomeUnknownError(cause)
        try:
            return CreatedTask.from_json(data)
        except ValidationError as exc:
            task_id = data.get("task_id")
            shown = f" (task id {task_id})" if isinstance(task_id, str | int) and len(str(task_id)) <= 40 else ""
            cause = APIResponseError(
                f"the service answered with a task{shown} this app cannot read: {describe_validation_error(exc, data)}",
                response=response,
            )
            raise OutcomeUnknownError(cause) from None

    def query(self, task_id: str) -> TaskStatus:
        """The task's state and, once it succeeded, its videos (URLs valid for about 24 hours)."""
        task_id = checked_task_id(task_id)
        response = self._request("GET", task_path(self._settings.paths.query, task_id), idempotent=True)
        return self._task_status(response)

    def cancel(self, task_id: str) -> dict[str, Any]:
        """Ask the service to cancel a task that has not started; safe to repeat. Returns the decoded answer."""
        task_id = checked_task_id(task_id)
        try:
            response = self._request(
                "POST",
                task_path(self._settings.paths.cancel, task_id),
                content=orjson.dumps({"id": task_id}),
                headers={"Content-Type": "application/json"},
                idempotent=True,
            )
        except APIStatusError as exc:
            # A retried cancel whose first attempt went through (its answer lost) is refused as "already
            # finished": the task's own state says whether the cancel worked.
            if exc.status_code not in (400, 409):
                raise
            status = self.query(task_id)
            if status.cancelled:
                return status.raw
            raise
        if not response.content.strip():
            return {}
        return self._decode_object(response)

    def credits(self) -> Credits:
        """The account's credits (``.raw`` is the answer as the service gave it)."""
        response = self._request("GET", self._settings.paths.credits, idempotent=True)
        return _read(Credits, self._decode_object(response), response, "credits")

    def list_tasks(
        self,
        *,
        task_ids: Iterable[str] | None = None,
        states: Iterable[str] | None = None,
        created_from: datetime | str | None = None,
        created_to: datetime | str | None = None,
        page_token: str | None = None,
        page_size: int | None = None,
    ) -> dict[str, Any]:
        """One page of the account's tasks. Naive datetimes are local time; strings are sent as given."""
        params: list[tuple[str, str]] = []
        problems: list[Problem] = []
        for task_id in task_ids or ():
            try:
                params.append(("task_ids", checked_task_id(task_id, field="task_ids")))
            except InvalidInput as exc:
                problems.extend(exc.problems)
        for state in states or ():
            if state not in TASK_STATES:
                problems.append(Problem.of("states", "problem_state", value=state, choices=", ".join(TASK_STATES)))
            else:
                params.append(("states", state))
        for name, value in (("created_at.from", created_from), ("created_at.to", created_to)):
            if value is not None:
                params.append((name, _timestamp(value)))
        if page_token:
            params.append((PAGE_TOKEN_PARAM, page_token))
        if page_size is not None:
            if isinstance(page_size, bool) or not 1 <= page_size <= MAX_PAGE_SIZE:
                problems.append(Problem.of("page_size", "problem_page_size", limit=MAX_PAGE_SIZE))
            else:
                params.append((PAGE_SIZE_PARAM, str(page_size)))
        if problems:
            raise InvalidInput(problems)
        response = self._request("GET", self._settings.paths.tasks, params=params, idempotent=True)
        return self._decode_object(response)

    def iter_tasks(
        self,
        *,
        states: Iterable[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
        limit: int | None = None,
        **filters: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every task the list call returns, page after page (``next_page_token``), at most ``limit`` of them."""
        token: str | None = None
        seen = 0
        for _ in range(MAX_PAGES):
            page = self.list_tasks(states=states, page_size=page_size, page_token=token, **filters)
            for task in page_tasks(page):
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield task
            following = page.get("next_page_token")
            if not isinstance(following, str) or not following or following == token:
                return
            token = following

    # --- sending ---------------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: list[tuple[str, str]] | None = None,
    ) -> httpx.Response:
        """Send one call (with its retries) and return a 2xx response, or raise a typed error."""
        if content is not None:
            headers = {**(headers or {}), "Content-Length": str(len(content))}
        call = _Call(self, method, path, idempotent=idempotent, headers=headers)
        while True:
            remaining = call.next_attempt()
            try:
                with deadline.until(time.monotonic() + max(remaining, 0.0)):
                    result: httpx.Response | httpx.HTTPError = self._http.request(
                        method,
                        path,
                        content=None if content is None else _SentOnce(content),
                        params=tuple(params or ()),
                        headers=call.headers,
                        timeout=self._timeout(remaining),
                    )
            except httpx.HTTPError as exc:
                result = exc
            wait = call.judge(result)
            if isinstance(wait, httpx.Response):
                return wait
            self._sleep(wait)
            call.check_deadline()


class _SentOnce:
    """A request body that lets go of its bytes once they are sent (each attempt gets its own).

    Given as ``bytes``, the body stays referenced by httpx's ``Request`` (its stream and its content), which
    the ``Response`` refers to, which is in a reference cycle with its own stream: freed only when Python's cyclic
    collector runs, which an app waiting for its next user may not do for a long time. So a 20 MB body outlived
    its Generate at random: the app idle again at +0.5% or +9–10% of its idle memory (``python -m bench --only
    memory``, 4 December), at +0.4–1.0% with a collection every 0.3 s.
    """

    def __init__(self, body: bytes) -> None:
        self._body: bytes | None = body

    def __iter__(self) -> Iterator[bytes]:
        body, self._body = self._body, None
        if body is not None:
            yield body


SENDING = 32
"""Requests an ``AsyncViduClient`` builds, connects and writes at once (``AsyncViduClient._send``)."""
WRITTEN = "http11.send_request_body.complete"
"""httpcore's ``trace`` event once a request's last byte is written (HTTP/1.1, the only protocol the pool
speaks)."""


class AsyncViduClient(_Service):
    """The follower's client for one key on an event loop: queries only, over one long-lived connection pool of
    ``connections`` (a follower keeps one per key while it follows that key's tasks, and closes it with ``aclose``).

    Every query has the same overall deadline and retry rules as ``ViduClient``'s (``_Call``); the deadline covers
    every await of an attempt (``deadline.async_until``). ``transport``, ``sleep`` (awaited) and ``clock`` are
    ``ViduClient``'s seams.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import asyncio  # here, not at the top: the CLI's commands never load it

        super().__init__(settings, clock)
        self._sleep = sleep or asyncio.sleep
        self._sending = asyncio.Semaphore(SENDING)
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            transport=transport if transport is not None else deadline.async_transport(connections),
            timeout=self._timeout(math.inf),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncViduClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def query(self, task_id: str) -> TaskStatus:
        """``ViduClient.query``, awaited."""
        task_id = checked_task_id(task_id)
        response = await self._request("GET", task_path(self._settings.paths.query, task_id))
        return self._task_status(response)

    async def _send(self, method: str, path: str, headers: Mapping[str, str], timeout: httpx.Timeout) -> httpx.Response:
        """One attempt, in its turn: at most ``SENDING`` requests are being built, connected and written at once.

        Started all at once, a wave of queries due together (a restart with a thousand tasks followed) had asyncio
        run each one's every step in turn, so none was written before all were nearly ready: the first of 1,000
        reached the service 1.0–1.2 s after the start, with the last. In turns, the first leaves at once and
        the wave in the order it started (the follower's first wave of 1,000 on 4 December: the first after
        0.15–0.2 s, 680–870 within the second against none), and the first answers free connections for the
        rest (about 400 opened, not 1,000). A turn ends when httpcore reports the request written (its ``trace``
        extension), not at the answer: the queries in flight are bounded by the pool's connections, not by this."""
        await self._sending.acquire()
        turn = [True]

        def done() -> None:
            if turn:
                turn.clear()
                self._sending.release()

        async def trace(event: str, info: dict[str, Any]) -> None:
            if event == WRITTEN:
                done()

        try:
            return await self._http.request(method, path, headers=headers, timeout=timeout, extensions={"trace": trace})
        finally:
            done()

    async def _request(self, method: str, path: str) -> httpx.Response:
        """``ViduClient._request`` for a safe call without a body."""
        call = _Call(self, method, path, idempotent=True, headers=None)
        while True:
            remaining = call.next_attempt()
            try:
                async with deadline.async_until(time.monotonic() + max(remaining, 0.0)):
                    result: httpx.Response | httpx.HTTPError = await self._send(
                        method, path, call.headers, self._timeout(remaining)
                    )
            except httpx.HTTPError as exc:
                result = exc
            wait = call.judge(result)
            if isinstance(wait, httpx.Response):
                return wait
            await self._sleep(wait)
            call.check_deadline()


def redact(text: str, key: str) -> str:
    """``text`` with ``key`` replaced by ``REDACTED`` in every spelling a service might echo it in."""
    return _without(text, _spellings(key)) if key else text


def _without(text: str, forms: Iterable[str]) -> str:
    for form in forms:
        text = text.replace(form, REDACTED)
    return text


def _spellings(key: str) -> tuple[str, ...]:
    """The key as sent, JSON-escaped (``\\/``) and percent-encoded: the ways an echo may write it."""
    forms = {key, key.replace("/", "\\/"), urllib.parse.quote(key, safe=""), urllib.parse.quote_plus(key)}
    return tuple(sorted(forms, key=len, reverse=True))


Answer = TypeVar("Answer", TaskStatus, Credits)


def _read(model: type[Answer], data: Any, response: httpx.Response, what: str) -> Answer:
    """``data`` read as ``model``; an ``APIResponseError`` naming what could not be read otherwise."""
    try:
        return model.from_json(data)
    except ValidationError as exc:
        raise APIResponseError(
            f"the service answered with {what} this app cannot read: {describe_validation_error(exc, data)}",
            response=response,
        ) from None


def page_tasks(page: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The tasks of one list answer: ``tasks`` (inferred), tolerating ``list``/``items``/``data``."""
    for name in ("tasks", "list", "items", "data"):
        found = page.get(name)
        if isinstance(found, list):
            return [task for task in found if isinstance(task, dict)]
    return []


def _timestamp(value: datetime | str) -> str:
    if isinstance(value, str):
        return value.strip()
    aware = value.astimezone(timezone.utc)  # a naive datetime is taken as local time
    return aware.strftime("%Y-%m-%dT%H:%M:%S") + (f".{aware.microsecond:06d}" if aware.microsecond else "") + "Z"


def _parse_json(content: bytes) -> Any:
    """The decoded JSON, or ``None`` if the body is empty or not JSON (JSON ``null`` counts as not JSON)."""
    if not content.strip():
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _body_kind(response: httpx.Response) -> str:
    ctype = response.headers.get("content-type", "").lower()
    head = response.content[:200].lstrip().lower()
    if "html" in ctype or head.startswith((b"<!doctype", b"<html", b"<head", b"<body")):
        return "html"
    if "json" in ctype or head.startswith((b"{", b"[")):
        return "json"
    return "text"


def _short_str(value: Any, limit: int = 200) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:limit] if text else None


def _request_of(exc: httpx.HTTPError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:  # httpx raises this when the error was not tied to a request
        return None
