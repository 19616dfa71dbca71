"""The subject scheme: reversible symbol tokens, subject checks, and rxpro.nats's public names."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

import rxpro.nats
from rxpro.nats import InvalidSubject, check_subject, decode_symbol, encode_symbol, parse_subject, subject_for

PUBLIC = [
    "ConnectOptions", "InvalidSubject", "LocalCluster", "LocalServer", "NatsError", "NatsObservable",
    "NatsUnreachable", "NotRxproMessage", "PublishFailed", "PublishOptions", "PublishSummary", "Publisher",
    "PublisherLost", "PublisherStopped", "Start", "StreamNotFound", "StreamOptions", "StreamSettings", "SubjectParts",
    "channel_of", "check_subject", "connect", "decode_symbol", "encode_symbol", "parse_subject", "publish",
    "server_path", "status_subject", "stream", "subject_for",
]


def test_the_public_names_are_exported_sorted() -> None:
    assert rxpro.nats.__all__ == PUBLIC == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(rxpro.nats, name) is not None


@pytest.mark.parametrize("symbol, token", [
    ("BTC/USDT", "BTC_USDT"),
    ("BTC/USDT:USDT", "BTC_USDT~USDT"),
    ("BTC/USD:BTC-220527", "BTC_USD~BTC-220527"),
    ("BTC/USD:BTC-220527-30000-C", "BTC_USD~BTC-220527-30000-C"),
    ("ETH/USDT-C", "ETH_USDT-C"),
    ("1000SHIB/USDT", "1000SHIB_USDT"),
    ("BTC.D/USDT", "BTC%2ED_USDT"),
    ("A_B/C", "A%5FB_C"),
])
def test_symbols_become_readable_tokens_and_come_back(symbol: str, token: str) -> None:
    assert encode_symbol(symbol) == token
    assert decode_symbol(token) == symbol
    subject = subject_for("okx", "trades", symbol)
    assert check_subject(subject) == subject and subject.count(".") == 3
    parts = parse_subject(subject)
    assert (parts.prefix, parts.exchange, parts.channel, parts.symbol) == ("rxpro", "okx", "trades", symbol)


@given(st.text(min_size=1))
def test_every_symbol_round_trips_through_one_legal_token(symbol: str) -> None:
    token = encode_symbol(symbol)
    assert decode_symbol(token) == symbol
    assert "." not in token and "*" not in token and ">" not in token and not any(c.isspace() for c in token)
    check_subject(f"rxpro.x.trades.{token}")


@pytest.mark.parametrize("token", ["BTC%2", "BTC%zz", "BTC/USDT", "A.B", "%FF"])
def test_a_token_rxpro_did_not_write_is_refused_naming_it(token: str) -> None:
    with pytest.raises(InvalidSubject, match="not an rxpro symbol token"):
        decode_symbol(token)


def test_wildcards_only_where_subscribing_and_as_whole_tokens() -> None:
    assert check_subject("rxpro.*.trades.>", wildcards=True)
    for bad in ("rxpro.>.x", "rxpro.a*", "rxpro.*"):
        with pytest.raises(InvalidSubject):
            check_subject(bad, wildcards=bad != "rxpro.*")
    with pytest.raises(InvalidSubject, match="not <prefix>"):
        parse_subject("rxpro.binance.trades")


def test_import_rxpro_stays_light_and_rxpro_nats_is_there_on_first_use() -> None:
    import subprocess
    import sys

    code = ("import sys, rxpro; assert 'nats' not in sys.modules and 'rxpro.nats' not in sys.modules; "
            "assert rxpro.nats.publish and 'nats' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
