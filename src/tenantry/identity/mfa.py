"""Second factors (DESIGN.md §10): TOTP enrolment and confirmation, recovery codes, and
the `mfa_token` challenge a right password leads to when the user has a factor.

Every use of a code is one conditional UPDATE, so two concurrent requests with one
code cannot both win: a TOTP step is taken only when it is later than the factor's
`last_step`, a recovery code only while `used_at` is NULL, a challenge try only while
`tries_left > 0` and the challenge is unused and unexpired.

Over 300 lines for now: enrolment, recovery codes and the challenge share these
conditional updates. When passkeys land, the challenge (and its WebAuthn assertion)
should move to a `challenge.py` of its own.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import timedelta

import segno
from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry import audit
from tenantry.config import Settings
from tenantry.db import utcnow, uuid7
from tenantry.errors import NotFound, ProblemError, Unauthorized
from tenantry.identity.models import MfaChallenge, MfaFactor, RecoveryCode, User
from tenantry.mail.mailer import OutgoingMail, render_mail
from tenantry.request_context import RequestContext
from tenantry.security import recovery_codes, totp
from tenantry.security.secretbox import SecretBox, SecretBoxError
from tenantry.security.tokens import digest, new_opaque_token

TOTP = "totp"
RECOVERY_CODE = "recovery_code"
AMR_PASSWORD = ["pwd"]
AMR_SECOND_FACTOR = ["pwd", "otp", "mfa"]


class InvalidMfaCode(ProblemError):
    """400 at confirmation (the caller is signed in); the challenge raises it as 401."""

    status = 400
    code = "invalid_mfa_code"
    title = "Invalid code"


class InvalidChallengeCode(Unauthorized):
    code = "invalid_mfa_code"
    title = "Invalid code"


class InvalidMfaToken(Unauthorized):
    code = "invalid_mfa_token"
    title = "Invalid or expired MFA token"


class FactorNotFound(NotFound):
    title = "Factor not found"


class StepUpRequired(ProblemError):
    """RFC 9470: the token is valid but its authentication is too old or too weak."""

    status = 401
    code = "step_up_required"
    title = "Authenticate again"

    def __init__(self, *, max_age: int | None, acr: str | None) -> None:
        params = ['error="insufficient_user_authentication"']
        if max_age is not None:
            params.append(f'max_age="{max_age}"')
        if acr is not None:
            params.append(f'acr_values="{acr}"')
        super().__init__(
            "Authenticate again at /auth/reauthenticate"
            + (" with a second factor" if acr is not None else "")
            + " to do this.",
            headers={"WWW-Authenticate": "Bearer " + ", ".join(params)},
        )


class MfaRequired(Unauthorized):
    """A right password for a user with a factor: no session, a challenge instead."""

    code = "mfa_required"
    title = "A second factor is required"

    def __init__(self, *, mfa_token: str, factors: list[str]) -> None:
        super().__init__("Complete the sign-in with a second factor at /auth/mfa/verify.")
        self.mfa_token = mfa_token
        self.factors = factors
        self.extensions = {"mfa_token": mfa_token, "factors": factors}
        self.headers["Cache-Control"] = "no-store"  # the body carries a credential


@dataclass(frozen=True, slots=True)
class MfaKeys:
    """The app's keys for second factors, built once from `SECRET_KEY`."""

    box: SecretBox
    recovery_key: bytes


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    factor: MfaFactor
    secret: str
    otpauth_uri: str
    qr_svg: str


def _associated(factor_id: uuid.UUID) -> bytes:
    return b"mfa_factors:" + factor_id.bytes


async def confirmed_factors(db: AsyncSession, user_id: uuid.UUID) -> list[MfaFactor]:
    rows = await db.scalars(
        select(MfaFactor)
        .where(MfaFactor.user_id == user_id, MfaFactor.confirmed_at.is_not(None))
        .order_by(MfaFactor.created_at)
    )
    return list(rows)


async def recovery_codes_left(db: AsyncSession, user_id: uuid.UUID) -> int:
    count = await db.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


async def challenge_kinds(db: AsyncSession, user_id: uuid.UUID) -> list[str]:
    """The kinds a challenge can be answered with; empty when the user has no factor."""
    factors = await confirmed_factors(db, user_id)
    if not factors:
        return []
    kinds = sorted({factor.kind for factor in factors})
    if await recovery_codes_left(db, user_id):
        kinds.append(RECOVERY_CODE)
    return kinds


async def start_totp(
    db: AsyncSession,
    *,
    user: User,
    name: str | None,
    keys: MfaKeys,
    settings: Settings,
) -> TotpEnrolment:
    """A new, unconfirmed TOTP factor; it counts only once confirmed with a code."""
    secret = totp.new_secret()
    factor = MfaFactor(id=uuid7(), user_id=user.id, kind=TOTP, name=name or "Authenticator")
    factor.secret_sealed = keys.box.seal(secret.encode("ascii"), associated=_associated(factor.id))
    db.add(factor)
    await db.commit()
    uri = totp.provisioning_uri(secret, account=user.email, issuer=settings.jwt_issuer)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", xmldecl=False, scale=4)
    return TotpEnrolment(factor, secret, uri, buffer.getvalue().decode("utf-8"))


async def own_factor(db: AsyncSession, *, user_id: uuid.UUID, factor_id: uuid.UUID) -> MfaFactor:
    """The user's factor; another user's is as absent as a missing one."""
    factor = await db.get(MfaFactor, factor_id)
    if factor is None or factor.user_id != user_id:
        raise FactorNotFound()
    return factor


async def _take_totp_step(db: AsyncSession, factor: MfaFactor, code: str, keys: MfaKeys) -> bool:
    """Whether `code` is right for `factor` and its step was taken by this call."""
    if factor.kind != TOTP or factor.secret_sealed is None:
        return False
    try:
        secret = keys.box.open(factor.secret_sealed, associated=_associated(factor.id)).decode()
    except SecretBoxError:
        return False
    now = utcnow()
    step = totp.accepted_step(secret, code, now=now, last_step=factor.last_step)
    if step is None:
        return False
    result = await db.execute(
        update(MfaFactor)
        .where(
            MfaFactor.id == factor.id,
            or_(MfaFactor.last_step.is_(None), MfaFactor.last_step < step),
        )
        .values(last_step=step, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def confirm_totp(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    factor_id: uuid.UUID,
    code: str,
    keys: MfaKeys,
    settings: Settings,
    context: RequestContext,
) -> list[str]:
    """Confirm a TOTP factor with its first code; the recovery codes when it is the
    user's first confirmed factor, else none."""
    factor = await own_factor(db, user_id=user_id, factor_id=factor_id)
    if factor.kind != TOTP or factor.confirmed_at is not None:
        raise FactorNotFound()
    first = not await confirmed_factors(db, user_id)
    if not await _take_totp_step(db, factor, code, keys):
        await db.rollback()
        raise InvalidMfaCode()
    await db.execute(
        update(MfaFactor)
        .where(MfaFactor.id == factor.id)
        .values(confirmed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    audit.record_own(
        db,
        "mfa.totp.enrolled",
        user_id=user_id,
        context=context,
        details={"factor_id": str(factor.id)},
    )
    codes: list[str] = []
    if first:
        codes = await _replace_recovery_codes(db, user_id=user_id, keys=keys, settings=settings)
        audit.record_own(db, "mfa.recovery_codes.generated", user_id=user_id, context=context)
    await db.commit()
    return codes


async def _replace_recovery_codes(
    db: AsyncSession, *, user_id: uuid.UUID, keys: MfaKeys, settings: Settings
) -> list[str]:
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = recovery_codes.generate(settings.recovery_code_count)
    for code in codes:
        db.add(
            RecoveryCode(user_id=user_id, code_hash=recovery_codes.digest(code, keys.recovery_key))
        )
    await db.flush()
    return codes


async def _take_recovery_code(
    db: AsyncSession, *, user_id: uuid.UUID, code: str, keys: MfaKeys
) -> bool:
    if recovery_codes.normalize(code) is None:
        return False
    result = await db.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == recovery_codes.digest(code, keys.recovery_key),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def start_challenge(
    db: AsyncSession, *, user_id: uuid.UUID, settings: Settings, context: RequestContext
) -> str:
    """A pending second step for one sign-in; the caller commits. Returns the token."""
    token, token_hash = new_opaque_token()
    db.add(
        MfaChallenge(
            user_id=user_id,
            token_hash=token_hash,
            ip=context.ip,
            expires_at=utcnow() + timedelta(seconds=settings.mfa_challenge_ttl_seconds),
            tries_left=settings.mfa_challenge_tries,
            amr=AMR_PASSWORD,
        )
    )
    return token


def _live(challenge_id: uuid.UUID) -> list[ColumnElement[bool]]:
    return [
        MfaChallenge.id == challenge_id,
        MfaChallenge.used_at.is_(None),
        MfaChallenge.tries_left > 0,
        MfaChallenge.expires_at > utcnow(),
    ]


async def pending_challenge(
    db: AsyncSession, *, token: str, context: RequestContext
) -> MfaChallenge:
    """The live challenge of `token` from this attempt's address, or InvalidMfaToken."""
    if not token or len(token) > 128:
        raise InvalidMfaToken()
    challenge = await db.scalar(
        select(MfaChallenge).where(MfaChallenge.token_hash == digest(token))
    )
    if (
        challenge is None
        or challenge.used_at is not None
        or challenge.tries_left <= 0
        or challenge.expires_at <= utcnow()
        or challenge.ip != context.ip
    ):
        raise InvalidMfaToken()
    return challenge


async def answer_challenge(
    db: AsyncSession,
    *,
    challenge: MfaChallenge,
    code: str | None,
    recovery_code: str | None,
    keys: MfaKeys,
    context: RequestContext,
) -> list[str] | None:
    """The `amr` of the completed sign-in when the code is right (the challenge is then
    used), None when it is wrong (one try is used). InvalidMfaToken when the challenge
    died meanwhile. The caller audits and commits."""
    right = False
    used_recovery = False
    if code is not None:
        for factor in await confirmed_factors(db, challenge.user_id):
            if factor.kind == TOTP and await _take_totp_step(db, factor, code, keys):
                right = True
                break
    elif recovery_code is not None:
        right = await _take_recovery_code(
            db, user_id=challenge.user_id, code=recovery_code, keys=keys
        )
        used_recovery = right
    values: dict[str, object] = (
        {"used_at": utcnow()} if right else {"tries_left": MfaChallenge.tries_left - 1}
    )
    result = await db.execute(
        update(MfaChallenge)
        .where(*_live(challenge.id))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        await db.rollback()
        raise InvalidMfaToken()
    if not right:
        return None
    if used_recovery:
        audit.record_own(db, "mfa.recovery_code.used", user_id=challenge.user_id, context=context)
    return list(AMR_SECOND_FACTOR)


# --- changes that need step-up --------------------------------------------------------


async def has_factor(db: AsyncSession, user_id: uuid.UUID) -> bool:
    found = await db.scalar(
        select(MfaFactor.id)
        .where(MfaFactor.user_id == user_id, MfaFactor.confirmed_at.is_not(None))
        .limit(1)
    )
    return found is not None


async def remove_factor(
    db: AsyncSession, *, user_id: uuid.UUID, factor_id: uuid.UUID, context: RequestContext
) -> None:
    """Remove a factor; with the last one the recovery codes go too (they are a way
    into a second factor the account no longer has)."""
    factor = await own_factor(db, user_id=user_id, factor_id=factor_id)
    await db.delete(factor)
    await db.flush()
    if not await has_factor(db, user_id):
        await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    audit.record_own(
        db,
        "mfa.factor.removed",
        user_id=user_id,
        context=context,
        details={"factor_id": str(factor_id), "kind": factor.kind},
    )
    await db.commit()


class NoFactor(ProblemError):
    status = 409
    code = "mfa_not_enabled"
    title = "No second factor"


async def regenerate_recovery_codes(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    keys: MfaKeys,
    settings: Settings,
    context: RequestContext,
) -> list[str]:
    """A new set; the old codes die. Only for a user with a confirmed factor."""
    if not await has_factor(db, user_id):
        raise NoFactor("Add a second factor first: recovery codes come with it.")
    codes = await _replace_recovery_codes(db, user_id=user_id, keys=keys, settings=settings)
    audit.record_own(db, "mfa.recovery_codes.generated", user_id=user_id, context=context)
    await db.commit()
    return codes


async def prove_second_factor(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    code: str | None,
    recovery_code: str | None,
    keys: MfaKeys,
    context: RequestContext,
) -> bool:
    """Whether the code is right (and now used), for re-authentication; the caller
    commits."""
    if code is not None:
        for factor in await confirmed_factors(db, user_id):
            if await _take_totp_step(db, factor, code, keys):
                return True
        return False
    if recovery_code is not None and await _take_recovery_code(
        db, user_id=user_id, code=recovery_code, keys=keys
    ):
        audit.record_own(db, "mfa.recovery_code.used", user_id=user_id, context=context)
        return True
    return False


def change_mail(*, email: str, change: str) -> OutgoingMail:
    """The notice every factor change and recovery-code use sends (DESIGN.md §10)."""
    return render_mail(
        kind="mfa_changed",
        to=email,
        subject="Sign-in security of your Tenantry account changed",
        values={"email": email, "change": change},
    )
