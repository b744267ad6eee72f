from tenantry.errors import Forbidden, NotFound, Unauthorized


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
