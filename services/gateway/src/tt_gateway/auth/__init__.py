"""Browser sessions and API authentication at the gateway: JWT verification with identity's JWKS,
session cookies with silent refresh, and the principal every route sees."""
