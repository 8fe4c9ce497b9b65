import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tt_capitalcom import CapitalComConfig, Environment, SessionTokens, encrypt_password


def test_encrypted_password_decrypts_to_base64_of_password_and_timestamp():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encrypted = encrypt_password("1111qqqq", base64.b64encode(der).decode(), 1647440528194)
    plaintext = key.decrypt(base64.b64decode(encrypted), padding.PKCS1v15())
    assert base64.b64decode(plaintext) == b"1111qqqq|1647440528194"


def test_encryption_refuses_a_non_rsa_key():
    from cryptography.hazmat.primitives.asymmetric import ec

    der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError):
        encrypt_password("pw", base64.b64encode(der).decode(), 1)


def test_config_hides_secrets_and_resolves_urls():
    config = CapitalComConfig(api_key="KEY-abc", identifier="me@example.com", password="hunter2")
    assert "KEY-abc" not in repr(config) and "hunter2" not in repr(config)
    assert "hunter2" not in str(config.model_dump())
    assert config.resolved_rest_url == "https://demo-api-capital.backend-capital.com/api/v1"
    live = config.model_copy(update={"environment": Environment.LIVE})
    assert live.resolved_rest_url == "https://api-capital.backend-capital.com/api/v1"
    custom = CapitalComConfig(
        api_key="k", identifier="i", password="p", rest_url="http://127.0.0.1:9/api/v1/"
    )
    assert custom.resolved_rest_url == "http://127.0.0.1:9/api/v1"


def test_config_rejects_a_keepalive_slower_than_the_idle_timeout():
    with pytest.raises(ValueError):
        CapitalComConfig(
            api_key="k", identifier="i", password="p", keepalive_after=600, session_idle_timeout=540
        )


def test_session_tokens_never_print():
    tokens = SessionTokens(cst="cst-secret", security_token="sec-secret")
    assert "secret" not in repr(tokens)
    assert tokens.as_headers() == {"CST": "cst-secret", "X-SECURITY-TOKEN": "sec-secret"}
