"""Password rules (DESIGN.md §5) and hashing off the event loop.

Hashing is deliberately slow (~200 ms of one core for bcrypt cost 12), so it runs in
a thread pool bounded to the CPU count: a login storm queues there instead of
starving every other request of the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib.resources import files
from typing import Any, TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from tenantry.config import Settings

BCRYPT_MAX_BYTES = 72
ARGON2_MAX_CHARS = 1024
EMAIL_LOCAL_PART_MIN_CHARS = 3
T = TypeVar("T")


class WeakPassword(ValueError):
    """A password rule failed; the message names the rule (never the password)."""


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of ~20,000 common passwords, loaded once per process.

    The list (lower-cased) was compiled by Royce Williams and is the one Django ships.
    """
    data = files("tenantry.security").joinpath("common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split())


def check_password_rules(password: str, *, email: str, settings: Settings) -> None:
    """Raise `WeakPassword` naming the first rule the password breaks."""
    # bcrypt stops at the first NUL byte: everything after it would not count.
    if "\x00" in password:
        raise WeakPassword("Password must not contain a NUL character.")
    if password.isspace():
        raise WeakPassword("Password must not be only whitespace.")
    if len(password) < settings.password_min_length:
        raise WeakPassword(f"Password must be at least {settings.password_min_length} characters.")
    if settings.password_hasher == "bcrypt":
        if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
            raise WeakPassword(f"Password must be at most {BCRYPT_MAX_BYTES} bytes in UTF-8.")
    elif len(password) > ARGON2_MAX_CHARS:
        raise WeakPassword(f"Password must be at most {ARGON2_MAX_CHARS} characters.")
    local_part = email.rpartition("@")[0].casefold()
    folded = password.casefold()
    if folded == local_part or (
        len(local_part) >= EMAIL_LOCAL_PART_MIN_CHARS and local_part in folded
    ):
        raise WeakPassword("Password must not contain the email address's name.")
    if password.lower().strip() in common_passwords():
        raise WeakPassword("Password is too common.")


def _lower_thread_priority(niceness: int) -> None:
    """Linux applies `nice` per thread: lower this hashing thread's priority only."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


class PasswordHasher:
    """Hashes with the configured scheme; verifies any scheme it knows and upgrades old ones."""

    def __init__(self, settings: Settings) -> None:
        bcrypt = BcryptHasher(rounds=settings.bcrypt_rounds)
        argon2 = Argon2Hasher()
        preferred = (bcrypt, argon2) if settings.password_hasher == "bcrypt" else (argon2, bcrypt)
        self._hash = PasswordHash(preferred)
        # One thread per core at most, each at a lower CPU priority than the event loop:
        # a login storm then saturates the cores without starving the requests that
        # only check a token (bcrypt releases the GIL while it works).
        self._executor = ThreadPoolExecutor(
            max_workers=settings.password_threads,
            thread_name_prefix="tenantry-hash",
            initializer=_lower_thread_priority,
            initargs=(settings.hashing_thread_niceness,),
        )
        # Verifying against this makes an unknown email cost what a wrong password costs.
        self._dummy_hash = self._hash.hash(secrets.token_urlsafe(16))

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def hash(self, password: str) -> str:
        return await self._run(self._hash.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Return (valid, new hash when the stored one uses an outdated scheme or cost)."""
        if password_hash is None:
            await self._run(self._verify_dummy, password)
            return False, None
        return await self._run(self._verify_and_update, password, password_hash)

    def _verify_dummy(self, password: str) -> bool:
        try:
            return self._hash.verify(password, self._dummy_hash)
        except ValueError:
            return False

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _verify_and_update(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        try:
            if not self._hash.verify(password, password_hash):
                return False, None
        except ValueError:
            # bcrypt refuses secrets over 72 bytes; such a password cannot match.
            return False, None
        current = self._hash.current_hasher
        if current.identify(password_hash) and not current.check_needs_rehash(password_hash):
            return True, None
        try:
            return True, current.hash(password)
        except ValueError:
            # Set under argon2 and longer than bcrypt allows: keep the argon2 hash, which
            # still verifies, rather than lock the account out after a switch to bcrypt.
            return True, None
