"""OAuth access tokens for a Zoho connection, cached in memory and in Secrets Manager.

A connection is the secret ``{prefix}/connection/{name}`` holding ``client_id``,
``client_secret``, ``refresh_token``, ``accounts_url`` (or ``dc``) and the cached
``access_token``, ``api_domain`` and ``expires_at``. A warm worker uses the token
in memory; a cold one reads the secret; only a token with under 5 minutes left
is refreshed, and the new one is written back so other workers reuse it (Zoho
allows 10 new tokens per refresh token per 10 minutes). Calls go to the
``api_domain`` the token endpoint returned, never a hard-coded domain.

One refresh for all workers: a worker that needs a new token takes a short
lease in DynamoDB (``stores.records.Leases``, ``lease#token#{secret id}``) and
reads the secret once more under it (another worker may have just stored a
token); the others wait briefly, re-reading the secret, and use the token the
lease holder stored. A lease ends on its own after ``timeout`` plus a margin, so
a worker that dies while refreshing delays the others, never blocks them.

The refresh budget is guarded too: a new token is kept in memory before it is
written back, so a failed write costs no second refresh; when Zoho refuses a
token made just now, no new one is made for ``COOL_DOWN_SECONDS`` (the
deliveries wait with their backoff as ``TOKEN_REJECTED``); and Zoho's
``Access Denied`` throttle makes every worker of the connection wait
``THROTTLE_SECONDS`` (a marker in the same table, ``lease#token-throttle#...``)
before any of them asks for a token again.

``parse_token_response`` is pure; ``TokenProvider`` does the I/O.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.errors import (
    Failure,
    PermanentDeliveryError,
    RetryableDeliveryError,
    UnavailableError,
)
from chalicelib.observability import TOKEN_ERRORS, TOKEN_REFRESHES, count, logger
from chalicelib.stores.records import Leases
from chalicelib.stores.secrets import SecretNotFoundError, SecretStore
from chalicelib.values import frozen
from chalicelib.zoho.http import HttpSession, is_transport_error

REFRESH_MARGIN_SECONDS = 300
# After Zoho refused a token made just now, no new token for this long: a
# persistent 401 (a revoked grant, a wrong data centre) would otherwise spend the
# 10-per-10-minutes budget one delivery at a time.
COOL_DOWN_SECONDS = 300
# After Zoho's "Access Denied" (10 new tokens per refresh token per 10 minutes),
# no worker of the connection asks for a token for this long: asking sooner only
# keeps the block on.
THROTTLE_SECONDS = 300
# A refresh lease outlives the token request by this much.
LEASE_MARGIN_SECONDS = 5.0
# How often a worker waiting for another's refresh reads the secret again.
WAIT_POLL_SECONDS = 0.25
DEFAULT_LIFETIME_SECONDS = 3600.0  # Zoho's access tokens live an hour
ACCOUNTS_BY_DC = {
    "us": "https://accounts.zoho.com",
    "eu": "https://accounts.zoho.eu",
    "in": "https://accounts.zoho.in",
    "au": "https://accounts.zoho.com.au",
    "jp": "https://accounts.zoho.jp",
    "ca": "https://accounts.zohocloud.ca",  # not zoho.ca
    "sa": "https://accounts.zoho.sa",
    "cn": "https://accounts.zoho.com.cn",
}
# Zoho's answers for a refresh token or client that will never work again.
_PERMANENT_TOKEN_ERRORS = frozenset({"invalid_code", "invalid_client", "invalid_grant"})
# What 'zwa connection set' writes: a token belongs to these and no others.
_CREDENTIAL_KEYS = ("client_id", "client_secret", "refresh_token", "accounts_url", "dc")


@frozen
class AccessToken:
    """A usable access token, where to use it, and until when (epoch seconds)."""

    value: str
    api_domain: str
    expires_at: float

    def fresh(self, now: float) -> bool:
        """Whether the token has more than the refresh margin left."""
        return self.expires_at - now > REFRESH_MARGIN_SECONDS


def connection_secret_id(prefix: str, name: str) -> str:
    """The Secrets Manager id of the connection ``name``."""
    return f"{prefix}/connection/{name}"


def accounts_url(connection: dict[str, Any]) -> str:
    """The Zoho Accounts server of a connection: ``accounts_url``, or from ``dc``."""
    if connection.get("accounts_url"):
        return str(connection["accounts_url"]).rstrip("/")
    dc = str(connection.get("dc", "us")).lower()
    if dc not in ACCOUNTS_BY_DC:
        raise PermanentDeliveryError(Failure(
            code="CONNECTION_INVALID", message=f"unknown Zoho data centre {dc!r}"))
    return ACCOUNTS_BY_DC[dc]


def cached_token(connection: dict[str, Any]) -> AccessToken | None:
    """The access token cached in a connection secret, if it has one."""
    try:
        return AccessToken(
            value=str(connection["access_token"]),
            api_domain=str(connection["api_domain"]).rstrip("/"),
            expires_at=float(connection["expires_at"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def parse_token_response(
    status: int, body: Any, now: float, connection: str | None = None
) -> AccessToken:
    """The token in a refresh answer, or the delivery error it means.

    Zoho answers errors with HTTP 200 too, so the answer is judged by the
    presence of ``access_token``, whatever the status. ``connection`` names the
    connection in the error a person has to act on.
    """
    if isinstance(body, dict) and isinstance(body.get("access_token"), str):
        domain = body.get("api_domain")
        if not isinstance(domain, str) or not domain:
            raise RetryableDeliveryError(Failure(
                code="TOKEN_RESPONSE_INVALID", message="the token answer has no api_domain"))
        return AccessToken(body["access_token"], domain.rstrip("/"), now + _lifetime(body))
    error = str(body.get("error", "")) if isinstance(body, dict) else ""
    if error == "Access Denied":
        # Zoho's throttle: 10 tokens per refresh token per 10 minutes. Retrying now
        # only extends the block, so the delivery waits with the usual backoff.
        raise RetryableDeliveryError(Failure(
            code="TOKEN_THROTTLED",
            message="Zoho's token endpoint refused: too many tokens made recently",
            http_status=status))
    if error in _PERMANENT_TOKEN_ERRORS:
        named, command = (f" {connection!r}", f"zwa connection set {connection}") if connection \
            else ("", "zwa connection set")
        raise PermanentDeliveryError(Failure(
            code=f"TOKEN_{error.upper()}",
            message=f"Zoho refused the credentials of the connection{named} ({error}); "
                    f"update them with '{command}'",
            http_status=status))
    raise RetryableDeliveryError(Failure(
        code="TOKEN_RESPONSE_INVALID",
        message=f"the token endpoint answered HTTP {status} without an access token",
        http_status=status))


def token_throttled(seconds_left: float, http_status: int | None = None) -> Failure:
    """The failure of a delivery that waits out Zoho's token throttle."""
    return Failure(
        code="TOKEN_THROTTLED",
        message="Zoho's token endpoint refused: too many tokens made recently; no worker of "
                f"this connection asks again for {max(1, round(seconds_left / 60))} minutes",
        http_status=http_status,
        details={"retry_after_seconds": round(seconds_left)},
    )


def token_rejected(http_status: int | None = None, zoho_code: str | None = None) -> Failure:
    """The failure of a delivery whose fresh token Zoho refused, or that waits out the cool-down."""
    return Failure(
        code="TOKEN_REJECTED",
        message="Zoho refused an access token made just now; no new token is made for "
                f"{COOL_DOWN_SECONDS // 60} minutes",
        http_status=http_status,
        details={"zoho_code": zoho_code} if zoho_code else {},
    )


def _lifetime(body: dict[str, Any]) -> float:
    """Seconds the token lives; Zoho's hour when the answer says nothing sensible.

    Older answers gave ``expires_in`` in milliseconds beside ``expires_in_sec``.
    """
    raw: Any = body.get("expires_in_sec", body.get("expires_in"))
    if isinstance(raw, bool):
        return DEFAULT_LIFETIME_SECONDS
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME_SECONDS
    if not math.isfinite(seconds) or seconds <= 0 or seconds > 86400:
        return DEFAULT_LIFETIME_SECONDS
    return seconds


class TokenProvider:
    """Access tokens for one connection: memory, then the secret, then a refresh."""

    def __init__(
        self,
        secrets: SecretStore,
        session: HttpSession,
        secret_id: str,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        leases: Leases | None = None,
        sleep: Callable[[float], None] = time.sleep,
        connection: str | None = None,
    ) -> None:
        self._secrets = secrets
        self._session = session
        self._secret_id = secret_id
        self._timeout = timeout
        self._clock = clock
        self._leases = leases
        self._sleep = sleep
        self._name = connection or secret_id.rsplit("/", 1)[-1]
        self._token: AccessToken | None = None
        self._made: str | None = None  # the last token this provider got from Zoho itself
        self._cool_down_until = 0.0
        self._throttled_until = 0.0

    def token(self) -> AccessToken:
        """A token with more than 5 minutes left."""
        now = self._clock()
        if self._token is not None and self._token.fresh(now):
            return self._token
        connection = self._connection()
        cached = cached_token(connection)
        if cached is not None and cached.fresh(now):
            self._token = cached
            return cached
        return self._refresh(connection)

    def refresh(self, rejected: AccessToken) -> AccessToken:
        """A new token after Zoho rejected ``rejected`` (another worker may have one)."""
        connection = self._connection()
        usable = self._usable(connection, rejected)
        if usable is not None:
            return usable
        return self._refresh(connection, rejected)

    def made_here(self, token: AccessToken) -> bool:
        """Whether ``token`` is the last one this provider got from Zoho, not from the secret."""
        return token.value == self._made

    def refused(self) -> None:
        """Zoho refused a token just made too: make no new one for ``COOL_DOWN_SECONDS``."""
        self._cool_down_until = self._clock() + COOL_DOWN_SECONDS
        logger.warning("Zoho refused a fresh access token; no refresh for a while", extra={
            "secret_id": self._secret_id, "cool_down_seconds": COOL_DOWN_SECONDS})

    def _connection(self) -> dict[str, Any]:
        try:
            text = self._secrets.get(self._secret_id, force=True)
        except SecretNotFoundError as exc:
            raise PermanentDeliveryError(Failure(
                code="CONNECTION_NOT_FOUND",
                message=f"the connection secret {self._secret_id} does not exist; "
                        "create it with 'zwa connection set'")) from exc
        try:
            connection = json.loads(text)
        except json.JSONDecodeError:
            connection = None
        if not isinstance(connection, dict) or not all(
            connection.get(key) for key in ("client_id", "client_secret", "refresh_token")
        ):
            raise PermanentDeliveryError(Failure(
                code="CONNECTION_INVALID",
                message=f"the connection secret {self._secret_id} needs client_id, "
                        "client_secret and refresh_token"))
        return connection

    def _usable(
        self, connection: dict[str, Any], rejected: AccessToken | None = None
    ) -> AccessToken | None:
        """The connection's cached token if it is fresh (and not the one Zoho rejected)."""
        cached = cached_token(connection)
        if cached is None or not cached.fresh(self._clock()):
            return None
        if rejected is not None and cached.value == rejected.value:
            return None
        self._token = cached
        return cached

    def _refresh(
        self, connection: dict[str, Any], rejected: AccessToken | None = None
    ) -> AccessToken:
        if self._clock() < self._cool_down_until:
            raise RetryableDeliveryError(token_rejected())
        self._check_throttle()
        if self._leases is None:
            return self._request_token(connection)
        return self._refresh_once_for_all(rejected)

    def _refresh_once_for_all(self, rejected: AccessToken | None) -> AccessToken:
        """Refresh under the connection's lease, or wait for the worker that holds it."""
        assert self._leases is not None
        lease_seconds = self._timeout + LEASE_MARGIN_SECONDS
        name = f"token#{self._secret_id}"
        owner = uuid.uuid4().hex
        give_up_at = self._clock() + lease_seconds + WAIT_POLL_SECONDS
        while True:
            now = self._clock()
            if self._leases.take_lease(name, owner, until=now + lease_seconds, now=now):
                try:
                    # Read once more under the lease: the last holder may have
                    # stored a token since this worker looked.
                    connection = self._connection()
                    usable = self._usable(connection, rejected)
                    return usable if usable is not None else self._request_token(connection)
                finally:
                    self._release(name, owner)
            if now >= give_up_at:
                raise RetryableDeliveryError(Failure(
                    code="TOKEN_BUSY",
                    message=f"another worker's token refresh for the connection {self._name!r} "
                            "did not finish in time; the delivery waits"))
            self._sleep(WAIT_POLL_SECONDS)
            usable = self._usable(self._connection(), rejected)
            if usable is not None:
                return usable
            self._check_throttle()

    def _release(self, name: str, owner: str) -> None:
        assert self._leases is not None
        try:
            self._leases.release_lease(name, owner)
        except UnavailableError:
            logger.warning("could not release the token lease; it ends on its own",
                           extra={"secret_id": self._secret_id})

    def _check_throttle(self) -> None:
        """Wait out Zoho's token throttle, seen here or by any worker of the connection."""
        now = self._clock()
        until = self._throttled_until
        if until <= now and self._leases is not None:
            try:
                until = self._leases.lease_until(f"token-throttle#{self._secret_id}", now) or 0.0
            except UnavailableError:
                until = 0.0  # the refresh will tell
            self._throttled_until = max(self._throttled_until, until)
        if until > now:
            raise RetryableDeliveryError(token_throttled(until - now))

    def _throttled(self, failure: Failure) -> RetryableDeliveryError:
        """Remember Zoho's throttle here and for every worker of the connection."""
        until = self._clock() + THROTTLE_SECONDS
        self._throttled_until = until
        if self._leases is not None:
            try:
                self._leases.hold_lease(f"token-throttle#{self._secret_id}", "zoho", until=until)
            except UnavailableError:
                logger.warning("could not share the token throttle with the other workers")
        logger.warning("Zoho throttles new tokens; no refresh for a while", extra={
            "secret_id": self._secret_id, "wait_seconds": THROTTLE_SECONDS})
        return RetryableDeliveryError(token_throttled(THROTTLE_SECONDS, failure.http_status))

    def _request_token(self, connection: dict[str, Any]) -> AccessToken:
        """Ask Zoho Accounts for a new token and store it."""
        url = f"{accounts_url(connection)}/oauth/v2/token"
        form = {
            "grant_type": "refresh_token",
            "client_id": connection["client_id"],
            "client_secret": connection["client_secret"],
            "refresh_token": connection["refresh_token"],
        }
        try:
            response = self._session.post(url, data=form, timeout=self._timeout)
        except Exception as exc:
            if not is_transport_error(exc):
                raise
            count(TOKEN_ERRORS)
            raise RetryableDeliveryError(Failure(
                code="TOKEN_NETWORK_ERROR",
                message=f"no answer from Zoho's token endpoint ({type(exc).__name__})",
            )) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        try:
            token = parse_token_response(response.status_code, body, self._clock(), self._name)
        except RetryableDeliveryError as exc:
            count(TOKEN_ERRORS)
            if exc.failure.code == "TOKEN_THROTTLED":
                raise self._throttled(exc.failure) from exc
            raise
        except PermanentDeliveryError:
            count(TOKEN_ERRORS)
            raise
        count(TOKEN_REFRESHES)
        # In memory first: whatever happens to the write-back, this container
        # does not spend another refresh on the next delivery.
        self._token = token
        self._made = token.value
        self._store(connection, token)
        return token

    def _store(self, used: dict[str, Any], token: AccessToken) -> None:
        """Write ``token`` back for the other workers, if the connection is still the one used.

        The connection is read again and only the token fields are written onto
        it, so a 'zwa connection set' made during the refresh is kept; when its
        credentials changed, the token (made with the old ones) is not written.
        This re-read, rather than the secret's version id, because Secrets
        Manager has no conditional write: ``PutSecretValue`` cannot say "only if
        the current version is still X", so a version id could only tell us after
        the fact. What remains is the few milliseconds between this read and the
        write, instead of the whole token request.
        """
        try:
            current = self._connection()
            if any(current.get(key) != used.get(key) for key in _CREDENTIAL_KEYS):
                logger.info("the connection changed during a refresh; the new token is not "
                            "stored", extra={"secret_id": self._secret_id})
                return
            self._secrets.put(self._secret_id, json.dumps({
                **current,
                "access_token": token.value,
                "api_domain": token.api_domain,
                "expires_at": token.expires_at,
            }))
        except (UnavailableError, PermanentDeliveryError) as exc:
            logger.warning("could not store the new access token; this worker keeps it", extra={
                "secret_id": self._secret_id, "error": type(exc).__name__})
