"""best_bid_offer, consolidated_book, spread: consolidation, staleness, errors, quotes."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
import reactivex
from reactivex.testing import ReactiveTest, TestScheduler

from ops_support import book, live_timers, ticker
from rxpro.operators import (
    BestBidOffer,
    BookLevel,
    OperatorArgumentError,
    QuoteCurrencyError,
    StreamShapeError,
    VenueEnded,
    VenueError,
    Venued,
    best_bid_offer,
    consolidated_book,
    merge_exchanges,
    spread,
)

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe

TICK_MS = 1000


def values(results: Any) -> list[Any]:
    return [m.value.value for m in results.messages if m.value.kind == "N"]


def run(items: list[Any], operator: Any) -> tuple[list[Any], list[Exception]]:
    out: list[Any] = []
    errors: list[Exception] = []
    reactivex.from_iterable(items).pipe(operator).subscribe(out.append, errors.append)
    return out, errors


# --- best_bid_offer -----------------------------------------------------------

def test_bbo_consolidates_tickers_books_and_bids_asks_and_emits_on_change() -> None:
    items = [
        Venued("binance", ticker("BTC/USDT", 100, 101, 1, 2, timestamp=1)),
        Venued("okx", book("BTC/USDT", [[100.5, 3]], [[102, 1]], timestamp=2)),
        Venued("okx", book("BTC/USDT", [[100.5, 3], [100, 1]], [[102, 1]], timestamp=3)),  # no change at top
        Venued("bybit", {"BTC/USDT": ticker("BTC/USDT", 99, 100.9, 1, 5, timestamp=4)}),  # watch_bids_asks shape
    ]
    out, errors = run(items, best_bid_offer())
    assert not errors
    assert out == [
        BestBidOffer("BTC/USDT", 100, 1, "binance", 101, 2, "binance", 1),
        BestBidOffer("BTC/USDT", 100.5, 3, "okx", 101, 2, "binance", 2),
        BestBidOffer("BTC/USDT", 100.5, 3, "okx", 100.9, 5, "bybit", 4),
    ]


def test_bbo_ties_go_to_the_larger_size_then_the_venue_id() -> None:
    out, _ = run(
        [Venued("okx", ticker("ETH/USDT", 10, 11, 1, 1)), Venued("binance", ticker("ETH/USDT", 10, 11, 1, 1)),
         Venued("kraken", ticker("ETH/USDT", 10, 11, 5, 0.5))],
        best_bid_offer(),
    )
    assert [(b.bid_venue, b.ask_venue) for b in out] == [("okx", "okx"), ("binance", "binance"), ("kraken", "binance")]


def test_bbo_symbols_are_consolidated_separately() -> None:
    out, _ = run([Venued("a", ticker("BTC/USDT", 1, 2)), Venued("b", ticker("ETH/USDT", 3, 4))], best_bid_offer())
    assert [b.symbol for b in out] == ["BTC/USDT", "ETH/USDT"]


def test_bbo_drops_a_failed_venue_until_it_sends_again() -> None:
    error = ConnectionError("okx down")
    out, _ = run(
        [Venued("binance", ticker("BTC/USDT", 100, 101)), Venued("okx", ticker("BTC/USDT", 100.5, 100.8)),
         VenueError("okx", error), Venued("okx", ticker("BTC/USDT", 100.4, 100.9))],
        best_bid_offer(),
    )
    assert [(b.bid_venue, b.bid, b.ask_venue, b.ask) for b in out] == [
        ("binance", 100, "binance", 101), ("okx", 100.5, "okx", 100.8),
        ("binance", 100, "binance", 101), ("okx", 100.4, "okx", 100.9),
    ]


def test_bbo_drops_a_stale_venue_on_the_scheduler_clock_and_takes_it_back() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, Venued("binance", ticker("BTC/USDT", 100, 101))),
        on_next(220, Venued("okx", ticker("BTC/USDT", 100.5, 100.8))),
        on_next(250, Venued("binance", ticker("BTC/USDT", 100, 101))),  # binance stays fresh
        on_next(290, Venued("binance", ticker("BTC/USDT", 100, 101))),
        on_next(330, Venued("binance", ticker("BTC/USDT", 100, 101))),
        on_next(340, Venued("okx", ticker("BTC/USDT", 100.6, 100.7))),  # okx is back
        on_completed(360),
    )
    results = scheduler.start(lambda: xs.pipe(best_bid_offer(stale_ms=50 * TICK_MS)))
    assert [(m.time, m.value.value.bid_venue) for m in results.messages if m.value.kind == "N"] == [
        (210, "binance"), (220, "okx"), (270, "binance"), (340, "okx"),
    ]
    assert results.messages[-1] == on_completed(360)
    assert xs.subscriptions == [subscribe(200, 360)]
    assert not live_timers(scheduler)


def test_bbo_reports_no_quote_when_every_venue_is_gone() -> None:
    out, _ = run([Venued("a", ticker("BTC/USDT", 1, 2)), VenueError("a", RuntimeError())], best_bid_offer())
    assert out[-1] == BestBidOffer("BTC/USDT", None, None, None, None, None, None, None)


def test_bbo_different_quote_currencies_need_an_explicit_map() -> None:
    items = [Venued("binance", ticker("BTC/USDT", 100, 101)), Venued("coinbase", ticker("BTC/USD", 100.2, 100.9))]
    out, errors = run(items, best_bid_offer())
    assert len(out) == 1 and isinstance(errors[0], QuoteCurrencyError)
    assert "'BTC/USD'" in str(errors[0]) and "quote_map" in str(errors[0])
    out, errors = run(items, best_bid_offer(quote_map={"USD": "USDT"}))
    assert not errors and out[-1].symbol == "BTC/USDT" and out[-1].bid_venue == "coinbase"
    out, errors = run(items, best_bid_offer(quote_map={}))  # explicitly kept apart
    assert not errors and [b.symbol for b in out] == ["BTC/USDT", "BTC/USD"]


def test_bbo_one_venue_quoting_a_base_in_two_currencies_is_two_symbols() -> None:
    # binance's own BTC/USDT and BTC/USDC markets: nothing would be merged, so no error
    items = [Venued("binance", ticker("BTC/USDT", 100, 101)), Venued("binance", ticker("BTC/USDC", 100.1, 101.1)),
             Venued("okx", ticker("ETH/USDT", 10, 11))]
    out, errors = run(items, best_bid_offer())
    assert not errors and [(b.symbol, b.bid_venue) for b in out] == [
        ("BTC/USDT", "binance"), ("BTC/USDC", "binance"), ("ETH/USDT", "okx")
    ]
    out, errors = run([Venued("a", {"BTC/USDT": ticker("BTC/USDT", 1, 2), "BTC/USD": ticker("BTC/USD", 1, 2)})],
                      spread("a", "b"))
    assert not errors and out == []


@pytest.mark.parametrize(
    "items",
    [
        # a second venue brings one of the currencies: would its BTC/USDT take binance's BTC/USDC too?
        [("binance", "BTC/USDT"), ("binance", "BTC/USDC"), ("okx", "BTC/USDT")],
        [("okx", "BTC/USDT"), ("binance", "BTC/USDT"), ("binance", "BTC/USDC")],
        [("binance", "BTC/USDC"), ("okx", "BTC/USDT"), ("binance", "BTC/USDT")],
    ],
)
def test_bbo_two_currencies_across_venues_still_need_a_map(items: list[tuple[str, str]]) -> None:
    out, errors = run([Venued(v, ticker(s, 100, 101)) for v, s in items], best_bid_offer())
    assert len(errors) == 1 and isinstance(errors[0], QuoteCurrencyError) and "quote_map" in str(errors[0])
    assert "'BTC/USDC' from binance" in str(errors[0]) and "'BTC/USDT' from okx" in str(errors[0])
    _, errors = run([Venued(v, ticker(s, 100, 101)) for v, s in items], best_bid_offer(quote_map={}))
    assert not errors


def test_bbo_contracts_map_their_settle_currency_too() -> None:
    items = [Venued("a", ticker("BTC/USDT:USDT", 1, 2)), Venued("b", ticker("BTC/USDC:USDC", 1.5, 2.5)),
             Venued("c", ticker("BTC/USDT", 1.2, 1.9))]  # spot: another market, not a mismatch
    out, errors = run(items[:1] + items[2:], best_bid_offer())
    assert not errors and [b.symbol for b in out] == ["BTC/USDT:USDT", "BTC/USDT"]
    out, errors = run(items, best_bid_offer(quote_map={"USDC": "USDT"}))
    assert not errors and [b.symbol for b in out] == ["BTC/USDT:USDT", "BTC/USDT:USDT", "BTC/USDT"]


@pytest.mark.parametrize("item", [ticker("BTC/USDT", 1, 2), Venued("a", [1, 2]), Venued("a", {"symbol": "X"})])
def test_bbo_wrong_shape_errors(item: Any) -> None:
    _, errors = run([item], best_bid_offer())
    assert isinstance(errors[0], StreamShapeError) and "best_bid_offer() expects" in str(errors[0])


@pytest.mark.parametrize("kwargs", [{"stale_ms": 0}, {"stale_ms": -5}, {"quote_map": {"USD": 1}}, {"quote_map": ["USD"]}])
def test_bbo_bad_arguments_raise_when_built(kwargs: dict[str, Any]) -> None:
    with pytest.raises(OperatorArgumentError, match=next(iter(kwargs))):
        best_bid_offer(**kwargs)


def test_bbo_on_merge_exchanges_end_to_end() -> None:
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(on_next(210, ticker("BTC/USDT", 100, 101)), on_completed(300))
    okx = scheduler.create_hot_observable(
        on_next(220, ticker("BTC/USDT", 100.5, 101.5)), on_error(230, ConnectionError("down"))
    )
    results = scheduler.start(
        lambda: merge_exchanges(("binance", binance), ("okx", okx)).pipe(best_bid_offer())
    )
    assert [(m.time, m.value.value.bid_venue) for m in results.messages if m.value.kind == "N"] == [
        (210, "binance"), (220, "okx"), (230, "binance"), (300, None),  # binance ended: no venue left
    ]
    assert results.messages[-1] == on_completed(300)


def test_bbo_drops_a_venue_whose_stream_ended() -> None:
    # review: a venue whose stream completed stayed best for ever with its last quote
    scheduler = TestScheduler()
    okx = scheduler.create_hot_observable(on_next(210, ticker("BTC/USDT", 150, 151)), on_completed(220))
    binance = scheduler.create_hot_observable(on_next(230, ticker("BTC/USDT", 100, 101)), on_completed(300))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), ("okx", okx)).pipe(best_bid_offer()))
    assert [(m.time, m.value.value.bid_venue, m.value.value.bid) for m in results.messages if m.value.kind == "N"] == [
        (210, "okx", 150), (220, None, None), (230, "binance", 100), (300, None, None),
    ]
    assert results.messages[-1] == on_completed(300)


def test_bbo_fails_with_the_last_error_when_every_venue_failed_for_good() -> None:
    # review: it completed, the errors swallowed (the merge completes: the errors are its in-band items)
    first, last = ConnectionError("binance down"), ConnectionError("okx down")
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(on_next(210, ticker("BTC/USDT", 100, 101)), on_error(230, first))
    okx = scheduler.create_hot_observable(on_next(220, ticker("BTC/USDT", 100.5, 101)), on_error(240, last))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), ("okx", okx)).pipe(best_bid_offer()))
    assert [m.value.value.bid_venue for m in results.messages if m.value.kind == "N"] == ["binance", "okx", "okx", None]
    assert results.messages[-1] == on_error(240, last)
    # one venue that ended (rather than failed) makes it an end like a market's
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(on_next(210, book("BTC/USDT", [[100, 1]], [[101, 1]])), on_completed(230))
    okx = scheduler.create_hot_observable(on_next(220, book("BTC/USDT", [[100.5, 1]], [[101, 1]])), on_error(240, last))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), ("okx", okx)).pipe(consolidated_book(1)))
    assert results.messages[-1] == on_completed(240)


@pytest.mark.parametrize("field, value, named", [
    ("bid", math.nan, "bid=nan"), ("ask", math.inf, "ask=inf"), ("bidVolume", -3.0, "bid size=-3.0"),
    ("askVolume", math.nan, "ask size=nan"), ("bid", Decimal("NaN"), "bid=Decimal('NaN')"),
    ("bidVolume", -1, "bid size=-1"),
])
def test_bbo_and_spread_refuse_a_nan_price_or_a_negative_size_naming_it(field: str, value: Any, named: str) -> None:
    # review: a NaN bid stayed best for ever (every comparison with it is false); a negative size won ties
    bad = Venued("a", {**ticker("BTC/USDT", 100, 101), field: value})
    for operator in (best_bid_offer(), spread("a", "b")):
        out, errors = run([Venued("b", ticker("BTC/USDT", 99, 102)), bad, Venued("b", ticker("BTC/USDT", 98, 102))],
                          operator)
        [error] = errors
        assert isinstance(error, StreamShapeError) and named in str(error) and "'a'" in str(error), error
        assert len(out) <= 1  # what came before the bad value only


@pytest.mark.parametrize("level, named", [([math.nan, 1.0], "price=nan"), ([100.0, -5.0], "amount=-5.0"),
                                          ([100.0, math.inf], "amount=inf"), ([-math.inf, 1.0], "price=-inf")])
def test_consolidated_book_refuses_a_nan_price_or_a_negative_amount_naming_it(level: list[float], named: str) -> None:
    out, errors = run([Venued("b", book("BTC/USDT", [[100.0, 1.0]], [[101.0, 1.0]])),
                       Venued("a", book("BTC/USDT", [level], [[101.0, 1.0]]))], consolidated_book(1))
    [error] = errors
    assert isinstance(error, StreamShapeError) and named in str(error) and "'a'" in str(error), error
    assert len(out) == 1


# --- consolidated_book --------------------------------------------------------

def test_consolidated_book_aggregates_levels_by_price_and_venue() -> None:
    out, errors = run(
        [Venued("binance", book("BTC/USDT", [[100, 1], [99, 2]], [[101, 1], [102, 2]], timestamp=5)),
         Venued("okx", book("BTC/USDT", [[100, 2], [98, 1]], [[101.5, 3]], timestamp=7))],
        consolidated_book(2),
    )
    assert not errors
    snapshot = out[-1]
    assert snapshot.bids == (BookLevel(100, 3, (("binance", 1), ("okx", 2))), BookLevel(99, 2, (("binance", 2),)))
    assert snapshot.asks == (BookLevel(101, 1, (("binance", 1),)), BookLevel(101.5, 3, (("okx", 3),)))
    assert snapshot.venues == ("binance", "okx") and snapshot.timestamp == 7
    with pytest.raises(AttributeError):
        snapshot.bids = ()  # type: ignore[misc]


def test_consolidated_book_copies_levels_so_later_in_place_updates_do_not_leak() -> None:
    live = book("BTC/USDT", [[100, 1]], [[101, 1]])
    out, _ = run([Venued("binance", live)], consolidated_book(5))
    live["bids"][0][1] = 999
    assert out[0].bids[0].size == 1


def test_consolidated_book_drops_failed_venues_and_rejects_tickers() -> None:
    out, _ = run(
        [Venued("a", book("X/USDT", [[1, 1]], [])), Venued("b", book("X/USDT", [[1, 2]], [])), VenueError("b", RuntimeError())],
        consolidated_book(1),
    )
    assert [s.bids[0].size for s in out] == [1, 3, 1]
    _, errors = run([Venued("a", ticker("X/USDT", 1, 2))], consolidated_book(1))
    assert isinstance(errors[0], StreamShapeError) and "consolidated_book() expects" in str(errors[0])


@pytest.mark.parametrize("depth", [0, -1, 1.5, None, True])
def test_consolidated_book_bad_depth_raises_naming_it(depth: Any) -> None:
    with pytest.raises(OperatorArgumentError, match=f"depth must be an int >= 1, got {depth!r}"):
        consolidated_book(depth)


# --- spread -------------------------------------------------------------------

def test_spread_is_bid_on_sell_venue_minus_ask_on_buy_venue_after_fees() -> None:
    items = [Venued("binance", ticker("BTC/USDT", 99, 100)), Venued("okx", ticker("BTC/USDT", 101, 102)),
             Venued("kraken", ticker("BTC/USDT", 150, 151))]  # not one of the two: no effect
    out, _ = run(items, spread("binance", "okx"))
    assert len(out) == 1
    assert (out[0].ask, out[0].bid, out[0].absolute, out[0].bps) == (100, 101, 1, pytest.approx(100))
    out, _ = run(items, spread("binance", "okx", fees={"binance": 0.001, "okx": 0.002}))
    cost, proceeds = 100 * 1.001, 101 * 0.998
    assert out[0].absolute == pytest.approx(proceeds - cost)
    assert out[0].bps == pytest.approx((proceeds - cost) / cost * 10_000)
    out, _ = run(items, spread("okx", "binance", fees=0.001))
    assert out[0].absolute == pytest.approx(99 * 0.999 - 102 * 1.001) and out[0].bps < 0


def test_spread_stops_while_a_venue_is_down() -> None:
    out, _ = run(
        [Venued("a", ticker("S/USDT", 9, 10)), Venued("b", ticker("S/USDT", 11, 12)), VenueError("b", RuntimeError()),
         Venued("a", ticker("S/USDT", 9, 9.5)), Venued("b", ticker("S/USDT", 11, 12))],
        spread("a", "b"),
    )
    assert [(s.ask, s.bid) for s in out] == [(10, 11), (9.5, 11)]


def test_spread_completes_when_one_of_its_venues_ended_and_others_drop_it() -> None:
    # review: it went on computing spreads from the ended venue's last quote
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(on_next(210, ticker("BTC/USDT", 99, 100)),
                                              on_next(240, ticker("BTC/USDT", 100, 101)))
    okx = scheduler.create_hot_observable(on_next(220, ticker("BTC/USDT", 101, 102)), on_completed(230))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), ("okx", okx)).pipe(spread("binance", "okx")))
    assert [m.time for m in results.messages if m.value.kind == "N"] == [220]
    assert results.messages[-1] == on_completed(230)
    # a consolidated book drops the ended venue and goes on with the others
    scheduler = TestScheduler()
    binance = scheduler.create_hot_observable(on_next(210, book("BTC/USDT", [[99, 1]], [[100, 1]])),
                                              on_next(240, book("BTC/USDT", [[99, 2]], [[100, 1]])))
    okx = scheduler.create_hot_observable(on_next(220, book("BTC/USDT", [[99, 3]], [[100, 3]])), on_completed(230))
    results = scheduler.start(lambda: merge_exchanges(("binance", binance), ("okx", okx)).pipe(consolidated_book(1)))
    assert [(m.time, m.value.value.venues, m.value.value.bids[0].size) for m in results.messages] == [
        (210, ("binance",), 1), (220, ("binance", "okx"), 4), (230, ("binance",), 1), (240, ("binance",), 2),
    ]
    assert VenueEnded("okx") == VenueEnded("okx") and VenueEnded("okx") != VenueEnded("binance")


@pytest.mark.parametrize(
    "args, match",
    [(("a", "a"), "differ"), (("", "b"), "buy_venue"), (("a", 3), "sell_venue"),
     (("a", "b", 1.5), "fees"), (("a", "b", -0.1), "fees"), (("a", "b", {"a": 0.001}), "'b'")],
)
def test_spread_bad_arguments_raise_when_built(args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(OperatorArgumentError, match=match):
        spread(*args)


def test_spread_pauses_while_a_venue_is_stale_and_resumes_with_its_next_quote() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, Venued("a", ticker("S/USDT", 9, 10))),
        on_next(215, Venued("b", ticker("S/USDT", 11, 12))),
        on_next(240, Venued("b", ticker("S/USDT", 11, 12))),  # unchanged: nothing new; b fresh until 290
        # a is stale at 260 (no spread while one side is missing)
        on_next(280, Venued("a", ticker("S/USDT", 9, 10))),  # a is back: the spread again
        # b is stale at 290
        on_next(300, Venued("b", ticker("S/USDT", 12, 13))),
        on_completed(350),
    )
    results = scheduler.start(lambda: xs.pipe(spread("a", "b", stale_ms=50 * TICK_MS)))
    assert [(m.time, m.value.value.bid, m.value.value.absolute) for m in results.messages if m.value.kind == "N"] == [
        (215, 11, 1), (280, 11, 1), (300, 12, 2),
    ]
    assert results.messages[-1] == on_completed(350)
    assert xs.subscriptions == [subscribe(200, 350)]
    assert not live_timers(scheduler)


def test_consolidated_book_drops_stale_venues_one_by_one_and_takes_them_back() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, Venued("a", book("S/USDT", [[9, 1]], [[10, 1]]))),
        on_next(215, Venued("b", book("S/USDT", [[9, 2]], [[10, 2]]))),
        # a is stale at 260, b at 265 (nothing left: an empty book)
        on_next(300, Venued("a", book("S/USDT", [[9, 1]], [[10, 1]]))),
    )
    results = scheduler.start(lambda: xs.pipe(consolidated_book(1, stale_ms=50 * TICK_MS)), disposed=400)
    assert [(m.time, m.value.value.venues, m.value.value.bids) for m in results.messages] == [
        (210, ("a",), (BookLevel(9, 1, (("a", 1),)),)),
        (215, ("a", "b"), (BookLevel(9, 3, (("a", 1), ("b", 2))),)),
        (260, ("b",), (BookLevel(9, 2, (("b", 2),)),)),
        (265, (), ()),
        (300, ("a",), (BookLevel(9, 1, (("a", 1),)),)),
        (350, (), ()),  # and stale again
    ]
    assert xs.subscriptions == [subscribe(200, 400)]
    assert not live_timers(scheduler)  # the staleness timers went with the subscription
