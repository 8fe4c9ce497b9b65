"""Pure identity rules: no broker, no database."""

from datetime import UTC, datetime, timedelta

from tt_identity import domain


def test_password_policy():
    assert domain.password_problems("correct horse 42") == []
    assert "must be at least 10 characters" in domain.password_problems("Ab1!")
    assert any("one kind" in p for p in domain.password_problems("abcdefghijklmn"))
    assert any("one kind" in p for p in domain.password_problems("12345678901234"))
    assert "is too common" in domain.password_problems("Password123!")
    assert "is too common" in domain.password_problems("qwertyuiop1")
    assert any("email" in p for p in domain.password_problems("alice-rocks-99", email="alice@example.test"))
    assert 200 <= len(domain.common_passwords()) < 1000


def test_lockout_backoff_is_exponential_and_capped():
    durations = [domain.lock_duration(n, threshold=5, base=1, cap=900) for n in range(1, 20)]
    assert durations[:4] == [None] * 4
    assert durations[4] == timedelta(seconds=1) and durations[5] == timedelta(seconds=2)
    assert durations[-1] == timedelta(seconds=900)


def test_device_labels():
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    chrome_mac = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
    )
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"
    assert domain.device_label(firefox) == "Firefox on Linux"
    assert domain.device_label(chrome_mac) == "Chrome on macOS"
    assert domain.device_label(iphone) == "Safari on iPhone"
    assert domain.device_label(None) == "Unknown device"


def test_roles():
    assert domain.can_set_roles(["trader", "admin"]) and not domain.can_set_roles(["support"])
    assert domain.can_list_users(["support"]) and not domain.can_list_users(["trader"])
    assert domain.normalise_roles(["admin", "trader"]) == ["trader", "admin"]


def _record(seq, action="auth.login.succeeded", ip="10.0.0.1"):
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seq)
    return domain.AuditRecord(seq, at, action, None, None, ip, None, "success", {"k": "v"})


def test_audit_chain_detects_any_change():
    rows, prev = [], domain.GENESIS_HASH
    for seq in (1, 2, 3):
        record = _record(seq)
        digest = domain.chain_hash(prev, record)
        rows.append((record, prev, digest))
        prev = digest
    assert domain.verify_chain(rows) is None
    tampered = list(rows)
    tampered[1] = (_record(2, ip="198.51.100.1"), rows[1][1], rows[1][2])
    assert domain.verify_chain(tampered) == 2
    relinked = [rows[0], rows[2]]
    assert domain.verify_chain(relinked) == 3


def test_profile_rules():
    assert domain.profile_problems("Europe/Berlin", ["broker"]) == []
    assert domain.profile_problems("Mars/Olympus", []) and domain.profile_problems("UTC", ["Bad Step!"])
