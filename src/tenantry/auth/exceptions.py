from tenantry.errors import Forbidden, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    title = "Invalid email or password"


class EmailNotVerified(Forbidden):
    code = "email_not_verified"
    title = "Email not verified"
