from tenantry.errors import ProblemError


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
