"""Identity: who someone is and how they prove it.

Owns every `/auth` route (browser sign-in, the OAuth 2.0 token endpoints, password
reset and change, email verification), `/users` and `/.well-known/jwks.json`;
registration, sessions and refresh-token rotation; and `principal`, the signed-in
user every other package asks for through `dependencies.CurrentPrincipal`.

Identity sits above the kernel and below tenancy: it never imports `organizations`
or `products` (the import-linter contracts in pyproject.toml enforce it).
"""
