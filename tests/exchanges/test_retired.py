"""The CCXT Pro manual's ids that ccxt 4.5.90 no longer ships: four build their successor (warning once),
ten raise UnsupportedExchange with the reason, and none of them is an attribute ``hasattr`` trips on."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator

import ccxt
import ccxt.pro
import pytest

import rxpro
import rxpro.exchanges
from rxpro import _registry
from rxpro._errors import ExchangeRenamedWarning
from rxpro.exchanges._table import retired

from ..cli.conftest import main_in_process

MANUAL_IDS = rxpro.manual_exchange_ids()
GONE = [i for i in MANUAL_IDS if i not in ccxt.pro.exchanges]
RENAMED = {"huobijp": "bittrade", "poloniexfutures": "poloniex", "bitfinex1": "bitfinex", "okcoin": "okxus"}
UNSUPPORTED = [i for i in GONE if i not in RENAMED]


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sees the one-time warning anew (it is once per process otherwise)."""
    monkeypatch.setattr(_registry, "_RENAMED_WARNED", set())
    for old in RENAMED:
        monkeypatch.delitem(vars(rxpro.exchanges), old, raising=False)
    yield


def test_fourteen_manual_ids_are_gone_from_ccxt_and_each_has_a_fate() -> None:
    assert len(GONE) == 14
    assert sorted(GONE) == sorted([*RENAMED, *UNSUPPORTED])
    for exchange_id in GONE:
        fate = retired(exchange_id)
        assert fate is not None and fate.successor == RENAMED.get(exchange_id)
        assert exchange_id not in ccxt.exchanges  # neither a REST nor a WebSocket class
    for successor in RENAMED.values():
        assert successor in ccxt.pro.exchanges


@pytest.mark.parametrize("old", sorted(RENAMED))
@pytest.mark.parametrize("way", ["rxpro.exchange", "rxpro.<id>", "rxpro.exchanges.<id>", "exchange_class"])
def test_a_renamed_id_builds_its_successor_warning_once(old: str, way: str) -> None:
    new = RENAMED[old]
    build = {
        "rxpro.exchange": lambda: type(rxpro.exchange(old, {"enableRateLimit": False})),
        "rxpro.<id>": lambda: getattr(rxpro, old),
        "rxpro.exchanges.<id>": lambda: getattr(rxpro.exchanges, old),
        "exchange_class": lambda: rxpro.exchange_class(old),
    }[way]
    with pytest.warns(ExchangeRenamedWarning, match=rf"'{old}'.*'{new}'") as caught:
        cls = build()
    assert len(caught) == 1
    assert caught[0].filename == __file__  # the warning points at the caller's line, not rxpro's
    assert cls is getattr(rxpro.exchanges, new) is getattr(rxpro, new)
    assert issubclass(cls, getattr(ccxt.pro, new)) and issubclass(cls, rxpro.RxExchangeMixin)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once: a second build is silent
        assert build() is cls
        assert hasattr(rxpro, old) and hasattr(rxpro.exchanges, old)


async def test_a_renamed_exchange_is_the_successor_instance() -> None:
    with pytest.warns(ExchangeRenamedWarning, match="swap markets"):
        ex = rxpro.exchange("poloniexfutures")
    try:
        assert ex.id == "poloniex" and ex.has["swap"] and ex.has["watchTrades"]
    finally:
        await ex.close()


def test_the_warning_is_a_deprecation_warning_that_an_error_filter_raises() -> None:
    assert issubclass(ExchangeRenamedWarning, DeprecationWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ExchangeRenamedWarning):
            rxpro.exchange_class("okcoin")


@pytest.mark.parametrize("exchange_id", UNSUPPORTED)
def test_an_unsupported_id_raises_with_its_reason_and_is_no_attribute(exchange_id: str) -> None:
    assert not hasattr(rxpro, exchange_id)
    assert not hasattr(rxpro.exchanges, exchange_id)
    for build in (lambda: rxpro.exchange(exchange_id), lambda: rxpro.exchange_class(exchange_id),
                  lambda: getattr(rxpro, exchange_id), lambda: getattr(rxpro.exchanges, exchange_id)):
        with pytest.raises(rxpro.UnsupportedExchange) as info:
            build()
        assert info.value.exchange_id == exchange_id
        assert f"ccxt {ccxt.__version__}" in info.value.reason
    fate = retired(exchange_id)
    assert fate is not None
    if fate.history is not None:  # a cited reason: the ccxt pull request or issue that dropped it
        assert fate.history in info.value.reason and "#" in fate.history
    with pytest.raises(rxpro.UnsupportedExchange) as plain:
        rxpro.exchange(exchange_id)
    assert not isinstance(plain.value, AttributeError)  # only the attribute form is an AttributeError


def test_other_attributes_still_raise_plain_attribute_errors() -> None:
    assert not hasattr(rxpro, "nosuchex") and not hasattr(rxpro.exchanges, "nosuchex")
    with pytest.raises(AttributeError) as info:
        rxpro.exchanges.nosuchex  # noqa: B018
    assert not isinstance(info.value, rxpro.UnsupportedExchange)


def test_rxpro_exchanges_lists_the_64_with_their_status_and_the_other_ccxt_pro_ids(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # listing a renamed id does not warn
        run = main_in_process(["exchanges", "--json"], capsys, monkeypatch)
    assert run.returncode == 0, run.stderr
    rows = {row["id"]: row for row in json.loads(run.stdout)}
    assert set(rows) == set(MANUAL_IDS) | set(ccxt.pro.exchanges)
    assert len(set(MANUAL_IDS)) == 64
    for exchange_id in MANUAL_IDS:
        status = rows[exchange_id]["status"]
        if exchange_id in ccxt.pro.exchanges:
            assert status == "supported"
        elif exchange_id in RENAMED:
            assert status == f"redirected to {RENAMED[exchange_id]}"
            assert rows[exchange_id]["streams"] == rows[RENAMED[exchange_id]]["streams"]
        else:
            assert status.startswith("unsupported: ") and f"ccxt {ccxt.__version__}" in status
            assert rows[exchange_id]["streams"] == []
    assert rows["huobijp"]["name"] == "Huobi Japan"
    for exchange_id in set(ccxt.pro.exchanges) - set(MANUAL_IDS):
        assert rows[exchange_id]["status"] == "supported"


def test_rxpro_exchanges_shows_a_gone_id_it_is_asked_about(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    run = main_in_process(["exchanges", "--json", "vertex", "okcoin"], capsys, monkeypatch)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [row["id"] for row in rows] == ["vertex", "okcoin"]
    assert rows[0]["status"].startswith("unsupported: ") and rows[1]["status"] == "redirected to okxus"
