"""Matching unified ccxt symbols across exchanges, with explicit quote mapping.

'BTC/USDT' on one exchange and 'BTC/USD' on another are different markets.
Without a ``quote_map`` a stream that carries one base asset in two quote
currencies is an error (``QuoteCurrencyError``), never a silent merge. With
``quote_map={'USD': 'USDT'}`` the quote (and settle) currency USD is read as
USDT, so 'BTC/USD' is consolidated with 'BTC/USDT'; currencies the mapping
doesn't name are kept apart, so ``quote_map={}`` says "keep them apart".
"""

from __future__ import annotations

from collections.abc import Mapping

from ._errors import OperatorArgumentError, QuoteCurrencyError

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
        self._cache: dict[str, str] = {}
        # (base, settle-or-spot, expiry) -> (quote, first symbol, its venue)
        self._quotes: dict[tuple[str, bool, str], tuple[str, str, str]] = {}

    def match(self, symbol: str, venue: str) -> str:
        """The matching symbol; raises ``QuoteCurrencyError`` on unmapped mixes."""
        matched = self._cache.get(symbol)
        if matched is not None:
            return matched
        base, quote, settle, rest = _split(symbol)
        if self._map is not None:
            quote = self._map.get(quote, quote)
            if settle is not None:
                settle = self._map.get(settle, settle)
        else:
            key = (base, settle is not None, rest)
            first = self._quotes.setdefault(key, (quote, symbol, venue))
            if first[0] != quote:
                raise QuoteCurrencyError(
                    f"{self._operator}(): {first[1]!r} from {first[2]} and {symbol!r} from {venue} "
                    f"quote {base} in different currencies ({first[0]} vs {quote}); they are not "
                    f"merged silently: pass quote_map={{{quote!r}: {first[0]!r}}} to merge them, "
                    "or quote_map={} to keep them apart"
                )
        if settle is None:
            matched = f"{base}/{quote}" if quote else base
        else:
            matched = f"{base}/{quote}:{settle}{rest}"
        self._cache[symbol] = matched
        return matched
