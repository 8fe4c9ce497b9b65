"""Identity use cases; each method is one request's transaction boundary.

Split by theme: ``auth`` (register, sign in, refresh, sessions), ``accounts`` (email, passwords,
profile), ``federation`` (OIDC, federated tokens), ``admin`` (users, roles, audit).
"""

from .admin import Admin


class IdentityService(Admin):
    pass


__all__ = ["IdentityService"]
