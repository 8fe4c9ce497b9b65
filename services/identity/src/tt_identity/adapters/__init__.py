"""Outside-world adapters of identity: SMTP and OIDC/federated issuers."""
