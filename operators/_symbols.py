"""Matching unified ccxt symbols across exchanges, with explicit quote mapping.

'BTC/USDT' on one exchange and 'BTC/USD' on another are different markets.
Without a ``quote_map`` a stream in which different venues quote one base
asset in two currencies is an error (``QuoteCurrencyError``), never a silent
merge or a silent split; one venue's own markets in two quote currencies
(binance's BTC/USDT and BTC/USDC) are simply two symbols. With
``quote_map={'USD': 'USDT'}`` the quote (and settle) currency USD is read as
USDT, so 'BTC/USD' is consolidated with 'BTC/USDT'; currencies the mapping
doesn't name are kept apart, so ``quote_map={}`` says "keep them apart".
"""

from __future__ import annotations

from collections.abc import Mapping

from rxpro._errors import OperatorArgumentError, QuoteCurrencyError

__all__ = ["SymbolMatcher", "check_quote_map"]


def check_quote_map(quote_map: Mapping[str, str] | None) -> dict[str, str] | None:
    if quote_map is None:
        return None
    if not isinstance(quote_map, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in quote_map.items()
    ):
        raise OperatorArgumentError(
            f"quote_map must map currency codes to currency codes, e.g. {{'USD': 'USDT'}}; got {quote_map!r}"
        )
    return dict(quote_map)


def _split(symbol: str) -> tuple[str, str, str | None, str]:
    """'BTC/USDT:USDT-240927' -> ('BTC', 'USDT', 'USDT', '-240927'); spot has settle None."""
    market, colon, contract = symbol.partition(":")
    base, _, quote = market.partition("/")
    if not colon:
        return base, quote, None, ""
    settle, dash, rest = contract.partition("-")
    return base, quote, settle, dash + rest


class SymbolMatcher:
    """Turns each venue's unified symbol into the symbol values are matched by."""

    def __init__(self, quote_map: dict[str, str] | None, operator: str) -> None:
        self._map = quote_map
        self._operator = operator
        self._cache: dict[tuple[str, str], str] = {}  # (symbol, venue) -> matching symbol
        # (base, settle-or-spot, expiry) -> quote -> venue -> its symbol
        self._quotes: dict[tuple[str, bool, str], dict[str, dict[str, str]]] = {}

    def match(self, symbol: str, venue: str) -> str:
        """The matching symbol; raises ``QuoteCurrencyError`` on unmapped mixes.

        A mix is one base quoted in two currencies by different venues (the
        values could be meant to be merged). One venue's own markets in two
        currencies, e.g. binance's BTC/USDT and BTC/USDC, are two symbols.
        """
        matched = self._cache.get((symbol, venue))
        if matched is not None:
            return matched
        base, quote, settle, rest = _split(symbol)
        if self._map is not None:
            quote = self._map.get(quote, quote)
            if settle is not None:
                settle = self._map.get(settle, settle)
        else:
            quotes = self._quotes.setdefault((base, settle is not None, rest), {})
            for other_quote, venues in quotes.items():
                other = next(((v, s) for v, s in venues.items() if v != venue), None)
                if other_quote != quote and other is not None:
                    raise QuoteCurrencyError(
                        f"{self._operator}(): {other[1]!r} from {other[0]} and {symbol!r} from {venue} "
                        f"quote {base} in different currencies ({other_quote} vs {quote}); they are not "
                        f"merged silently: pass quote_map={{{quote!r}: {other_quote!r}}} to merge them, "
                        "or quote_map={} to keep them apart"
                    )
            quotes.setdefault(quote, {})[venue] = symbol
        if settle is None:
            matched = f"{base}/{quote}" if quote else base
        else:
            matched = f"{base}/{quote}:{settle}{rest}"
        self._cache[(symbol, venue)] = matched
        return matched
