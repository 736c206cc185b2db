"""The Mini App's initData check against Telegram's documented algorithm, with a fixed vector
computed outside Python (openssl: HMAC-SHA256 with key "WebAppData" over the token, then over the
data-check-string), and every way a forged, stale, foreign or missing one is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from bot.miniapp.init_data import InitDataRefused, Refused, sign, verify

TOKEN = "123456:TEST-TOKEN"
USER = '{"id":1001,"first_name":"Alex","language_code":"en"}'
SIGNED_AT = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # auth_date 1780300800
# SECRET=$(printf %s "$TOKEN" | openssl dgst -sha256 -hmac WebAppData -binary | xxd -p -c 256)
# printf 'auth_date=1780300800\nquery_id=AAHdF6IQAAAAAN0XohDhrOrc\nuser={...}' \
#   | openssl dgst -sha256 -mac HMAC -macopt hexkey:$SECRET
VECTOR_HASH = "60cf0b982fd043a7a6b83ff7f4958fe607e04c8492ef46dbfc5bc32758002c82"
VECTOR = f"query_id=AAHdF6IQAAAAAN0XohDhrOrc&user={quote(USER)}&auth_date=1780300800&hash={VECTOR_HASH}"


def test_the_fixed_vector_is_accepted_and_names_its_user() -> None:
    user = verify(VECTOR, TOKEN, now=SIGNED_AT + timedelta(hours=1))
    assert (user.id, user.first_name, user.language) == (1001, "Alex", "en")


def test_signing_reproduces_the_fixed_vector() -> None:
    fields = {"query_id": "AAHdF6IQAAAAAN0XohDhrOrc", "user": USER, "auth_date": "1780300800"}
    assert sign(fields, TOKEN).endswith(f"hash={VECTOR_HASH}")


@pytest.mark.parametrize(
    ("init_data", "reason"),
    [
        (None, Refused.MISSING),
        ("", Refused.MISSING),
        (VECTOR.replace("1001", "1002"), Refused.BAD_SIGNATURE),  # someone else's id
        (VECTOR.replace("auth_date=1780300800", "auth_date=1780300801"), Refused.BAD_SIGNATURE),
        (VECTOR.replace(VECTOR_HASH, VECTOR_HASH.upper()), Refused.BAD_SIGNATURE),
        (VECTOR.replace(f"&hash={VECTOR_HASH}", ""), Refused.MALFORMED),
        (VECTOR + "&user=" + quote('{"id":1}'), Refused.MALFORMED),  # a field twice
        ("not a query string", Refused.MALFORMED),
        ("x" * 9000, Refused.MALFORMED),
    ],
)
def test_tampered_or_missing_data_is_refused(init_data: str | None, reason: Refused) -> None:
    with pytest.raises(InitDataRefused) as refused:
        verify(init_data, TOKEN, now=SIGNED_AT)
    assert refused.value.reason is reason


def test_another_bots_signature_is_refused() -> None:
    with pytest.raises(InitDataRefused) as refused:
        verify(VECTOR, "654321:ANOTHER-BOT", now=SIGNED_AT)
    assert refused.value.reason is Refused.BAD_SIGNATURE


def test_data_older_than_a_day_or_from_the_future_is_refused() -> None:
    assert verify(VECTOR, TOKEN, now=SIGNED_AT + timedelta(hours=23, minutes=59)).id == 1001
    for now in (SIGNED_AT + timedelta(days=1, seconds=1), SIGNED_AT - timedelta(hours=1)):
        with pytest.raises(InitDataRefused) as refused:
            verify(VECTOR, TOKEN, now=now)
        assert refused.value.reason is Refused.STALE


@pytest.mark.parametrize("user", [None, "{}", '{"id":"1001"}', '{"id":true}', "not json"])
def test_signed_data_without_a_user_id_is_refused(user: str | None) -> None:
    fields = {"auth_date": "1780300800", **({"user": user} if user is not None else {})}
    with pytest.raises(InitDataRefused) as refused:
        verify(sign(fields, TOKEN), TOKEN, now=SIGNED_AT)
    assert refused.value.reason is Refused.NO_USER


def test_every_signed_field_counts_signature_included() -> None:
    """Newer Telegram apps add a `signature` field (for third parties); the hash covers it too."""
    fields = {"auth_date": "1780300800", "user": USER, "signature": "abc"}
    signed = sign(fields, TOKEN)
    assert verify(signed, TOKEN, now=SIGNED_AT).id == 1001
    with pytest.raises(InitDataRefused):
        verify(signed.replace("signature=abc", "signature=abd"), TOKEN, now=SIGNED_AT)
