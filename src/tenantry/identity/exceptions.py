"""The identity errors, each a stable problem+json `code` (DESIGN.md §6)."""

from __future__ import annotations

from tenantry.errors import Conflict, Forbidden, NotFound, ProblemError, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    title = "Invalid email or password"


class EmailNotVerified(Forbidden):
    code = "email_not_verified"
    title = "Email not verified"


class InvalidRefreshToken(Unauthorized):
    code = "invalid_refresh_token"
    title = "Invalid or expired refresh token"


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    title = "Cross-site request refused"


class SessionNotFound(NotFound):
    title = "Session not found"


class InvalidAccountToken(ProblemError):
    """A mail link's token that is unknown, used, expired, superseded or for another use.

    One answer for every case, so the response says nothing about which links exist.
    It is 400, not 401: the token is a one-time proof in the body, not a credential
    of the request, so no `WWW-Authenticate` challenge applies.
    """

    status = 400
    code = "invalid_token"
    title = "Invalid or expired link"


class InvalidCurrentPassword(ProblemError):
    """400, not 401: the caller is authenticated; only the re-typed password is wrong,
    and a 401 would make clients drop a perfectly good session."""

    status = 400
    code = "invalid_current_password"
    title = "Current password is wrong"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "Email already registered"


class WeakPasswordError(ProblemError):
    status = 422
    code = "weak_password"
    title = "Weak password"


class UserNotFound(NotFound):
    title = "User not found"


class LastSuperuser(Conflict):
    code = "last_superuser"
    title = "The service keeps at least one active superuser"
