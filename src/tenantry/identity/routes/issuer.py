"""What a successful sign-in or refresh hands out, in one place (DESIGN.md §4): the
access token, the refresh token (a cookie for browsers, the body for API clients) and
the CSRF cookie that goes with the refresh cookie."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from tenantry.config import Settings
from tenantry.identity.refresh import TokenFamily
from tenantry.identity.routes.cookies import clear_auth_cookies, set_auth_cookies
from tenantry.identity.schemas import AccessTokenResponse, TokenPairResponse
from tenantry.security.jwt import TokenSigner
from tenantry.security.tokens import CsrfCodec, RefreshTokenCodec


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    settings: Settings
    signer: TokenSigner
    refresh_codec: RefreshTokenCodec
    csrf: CsrfCodec

    def _issue(self, family: TokenFamily) -> str:
        return self.signer.issue(
            user_id=family.user_id,
            session_id=family.session_id,
            auth_time=family.auth_time,
            amr=family.amr,
            acr=family.acr,
        )

    def access_token(self, family: TokenFamily) -> AccessTokenResponse:
        return AccessTokenResponse(
            access_token=self._issue(family), expires_in=self.signer.ttl_seconds
        )

    def token_pair(self, family: TokenFamily) -> TokenPairResponse:
        """For API clients: both tokens in the body, no cookies."""
        return TokenPairResponse(
            access_token=self._issue(family),
            expires_in=self.signer.ttl_seconds,
            refresh_token=self.refresh_codec.encode(family.session_id, family.counter),
        )

    def to_browser(self, response: Response, family: TokenFamily) -> AccessTokenResponse:
        """The refresh token and its CSRF partner as cookies; the access token, for the
        app's memory only, as the body."""
        set_auth_cookies(
            response,
            refresh_token=self.refresh_codec.encode(family.session_id, family.counter),
            csrf_token=self.csrf.token_for(family.session_id),
            max_age=family.refresh_expires_in,
            secure=self.settings.secure_cookies,
        )
        return self.access_token(family)

    def clear_cookies(self, response: Response) -> None:
        clear_auth_cookies(response, secure=self.settings.secure_cookies)


async def get_token_issuer(request: Request) -> TokenIssuer:
    # Built per request from the app's parts (four attribute reads), so a part replaced
    # on `app.state` — a rotated signing key — is the one used.
    state = request.app.state
    return TokenIssuer(state.settings, state.signer, state.refresh_codec, state.csrf_codec)


Issuer = Annotated[TokenIssuer, Depends(get_token_issuer)]
