"""The data a contract run works on: real users, an organization and its contents,
made through the live service's own API, so generated requests reach the handlers
instead of stopping at `404`."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, make_url, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from tenantry.identity.models import User
from tenantry.organizations.models import Membership
from tenantry.organizations.permissions import BUILTIN_ROLES
from tests.conftest import PASSWORD


def sync_url(database_url: str) -> str:
    """The same database through a blocking driver: the contract tests run outside asyncio."""
    url = make_url(database_url)
    driver = "sqlite" if url.drivername.startswith("sqlite") else "postgresql+psycopg"
    return url.set(drivername=driver).render_as_string(hide_password=False)


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def session_id(self) -> str:
        payload = self.token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims["sid"])


class World:
    """Everything a case may name: the caller, their organization, and one of each
    thing inside it. Operations that consume what they name get a fresh one per case."""

    def __init__(self, http: httpx.Client, database_url: str, *, superuser: bool) -> None:
        self.http = http
        self.engine = create_engine(sync_url(database_url), poolclass=NullPool)
        self.owner = self.new_principal(superuser=superuser)
        self.org_id = self.new_org()
        self.product_id = self.new_product()
        self.role_id = self.new_role()
        self.invitation_id = self.new_invitation()
        self.member_id = self.new_member()

    def _created(self, path: str, body: dict[str, object]) -> str:
        response = self.http.post(path, json=body, headers=self.owner.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def new_principal(self, *, superuser: bool = False) -> Principal:
        email = f"contract-{uuid.uuid4().hex[:12]}@example.com"
        response = self.http.post("/auth/register", json={"email": email, "password": PASSWORD})
        assert response.status_code == 201, response.text
        user_id = str(response.json()["id"])
        if superuser:
            # No endpoint makes a superuser (the CLI does, in another process): write it.
            with self._db() as db, db.begin():
                db.execute(
                    update(User).where(User.id == uuid.UUID(user_id)).values(is_superuser=True)
                )
        response = self.http.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return Principal(user_id=user_id, email=email, token=response.json()["access_token"])

    def new_org(self) -> str:
        return self._created("/organizations", {"name": "Contract"})

    def new_product(self) -> str:
        body = {"name": "Probe", "price_cents": 100, "currency": "EUR"}
        return self._created(f"/organizations/{self.org_id}/products", body)

    def new_role(self) -> str:
        body = {"name": f"role-{uuid.uuid4().hex[:8]}", "permissions": ["org:read"]}
        return self._created(f"/organizations/{self.org_id}/roles", body)

    def new_invitation(self) -> str:
        body = {"email": f"invitee-{uuid.uuid4().hex[:8]}@example.com", "role": "viewer"}
        return self._created(f"/organizations/{self.org_id}/invitations", body)

    def new_member(self) -> str:
        # Joining takes the mailed invitation token; the membership row is the shortcut.
        member = self.new_principal()
        with self._db() as db, db.begin():
            db.add(
                Membership(
                    user_id=uuid.UUID(member.user_id),
                    organization_id=uuid.UUID(self.org_id),
                    role_id=BUILTIN_ROLES["member"][0],
                )
            )
        return member.user_id

    def _db(self) -> Session:
        return Session(self.engine)

    def close(self) -> None:
        self.engine.dispose()
