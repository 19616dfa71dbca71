"""Exchange classes: every ccxt.pro id builds, every manual id that ccxt lacks says why."""

from __future__ import annotations

import ccxt
import ccxt.pro
import pytest

import rxpro
import rxpro.exchanges
from rxpro import RxExchangeMixin, UnsupportedExchange

MANUAL_IDS = rxpro.manual_exchange_ids()
#: Manual ids ccxt renamed (huobijp -> bittrade, ...): issue 8 has them build their successor's class with a
#: warning, so they no longer raise; tests/exchanges/test_retired.py asserts what they do instead.
RENAMED_IDS = ("bitfinex1", "huobijp", "okcoin", "poloniexfutures")


def test_the_manual_lists_64_exchanges_and_ccxt_ships_50_of_them() -> None:
    assert len(MANUAL_IDS) == 64
    shipped = [i for i in MANUAL_IDS if i in ccxt.pro.exchanges]
    assert len(shipped) == 50


@pytest.mark.parametrize("exchange_id", [i for i in MANUAL_IDS if i not in RENAMED_IDS])
def test_every_manual_exchange_builds_or_raises_unsupported(exchange_id: str) -> None:
    if exchange_id in ccxt.pro.exchanges:
        ex = rxpro.exchange(exchange_id, {"enableRateLimit": False})
        assert isinstance(ex, getattr(ccxt.pro, exchange_id))
        assert isinstance(ex, RxExchangeMixin)
        assert ex.id == exchange_id
        assert type(ex) is getattr(rxpro.exchanges, exchange_id) is getattr(rxpro, exchange_id)
    else:
        for build in (lambda: rxpro.exchange(exchange_id), lambda: getattr(rxpro.exchanges, exchange_id)):
            with pytest.raises(UnsupportedExchange) as info:
                build()
            assert isinstance(info.value, ccxt.NotSupported)
            assert isinstance(info.value, ccxt.ExchangeError)
            assert not isinstance(info.value, ccxt.ExchangeNotAvailable)
            assert exchange_id in str(info.value)
            assert "ccxt" in str(info.value)  # says why


@pytest.mark.parametrize("exchange_id", ccxt.pro.exchanges)
def test_every_ccxt_pro_exchange_has_an_rxpro_class(exchange_id: str) -> None:
    cls = getattr(rxpro.exchanges, exchange_id)
    assert issubclass(cls, getattr(ccxt.pro, exchange_id))
    assert cls.__mro__[1] is RxExchangeMixin


def test_ccxt_options_and_methods_work_unchanged() -> None:
    ex = rxpro.binance({"options": {"defaultType": "future"}, "apiKey": "k", "secret": "s"})
    assert ex.options["defaultType"] == "future"
    assert ex.apiKey == "k"
    assert ex.parse_timeframe("1m") == 60
    assert callable(ex.watch_trades) and callable(ex.fetch_ticker)


def test_unknown_ids_raise_unsupported_from_the_factory() -> None:
    with pytest.raises(UnsupportedExchange, match="'nosuchex'"):
        rxpro.exchange("nosuchex")
    with pytest.raises(AttributeError):
        rxpro.exchanges.nosuchex  # noqa: B018 - not an exchange id at all: plain attribute error


def test_rx_config_is_taken_from_the_config_dict() -> None:
    ex = rxpro.exchange("okx", {"rxpro": {"retry": {"max_retries": 3}}})
    assert ex.rx.retry_policy.max_retries == 3
    assert "rxpro" not in ex.options
