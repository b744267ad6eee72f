from tenantry.errors import Conflict, NotFound, ProblemError


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
