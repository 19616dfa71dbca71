"""Exchange ids the CCXT Pro manual lists that the installed ccxt no longer ships, and why.

Of the manual's 64 ids (``rxpro/data/manual-exchanges.txt``), 14 are not in ccxt
4.5.90.  Four have a successor in ccxt.pro: ``rxpro.exchange(id)`` builds the
successor's class, with a one-time ``ExchangeRenamedWarning`` (``rxpro._errors``) naming it.
The other ten raise :class:`rxpro.UnsupportedExchange` with the reason below.

Reasons cite ccxt's own record (its pull requests and issues on github.com/ccxt/ccxt)
where one was found; otherwise they say only that ccxt no longer ships the id.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RETIRED", "Retired"]


@dataclass(frozen=True)
class Retired:
    """A manual id ccxt no longer ships: its successor in ccxt.pro (if any) and what happened."""

    id: str
    successor: str | None
    #: what happened, in a phrase that follows "ccxt ..." (``"delisted it (ccxt PR #29079)"``);
    #: None where no record of it was found
    history: str | None
    #: what the successor serves of the old id's markets, when that is narrower than "all of it"
    scope: str = ""


RETIRED: dict[str, Retired] = {r.id: r for r in (
    # successors
    Retired("huobijp", "bittrade", "renamed it bittrade (ccxt PR #26036; bittrade.fetch_markets still says huobijp)"),
    Retired("poloniexfutures", "poloniex", "merged Poloniex Futures (API v3) into poloniex (ccxt PR #25378)",
            scope="its swap markets (e.g. BTC/USDT:USDT)"),
    Retired("bitfinex1", "bitfinex", "moved the Bitfinex API v1 class to bitfinex1, then removed it; bitfinex is "
                                     "API v2 (ccxt PRs #24443, #25640)"),
    Retired("okcoin", "okxus", "delisted it because Okcoin shut down (ccxt PR #27026); ccxt added OKX (US) as okxus "
                               "(PR #26128)"),
    # gone
    Retired("ascendex", None, "delisted it (ccxt PR #29079)"),
    Retired("bitmart", None, "delisted it (ccxt PR #29376)"),
    Retired("bitmex", None, None),
    Retired("coincatch", None, "delisted it: the venue shut down (ccxt PR #28346)"),
    Retired("coinex", None, None),
    Retired("currencycom", None, "removed it after its API went offline (ccxt issue #25391, PR #25394)"),
    Retired("idex", None, "delisted it (ccxt PR #26035)"),
    Retired("oxfun", None, "delisted it: the venue closed permanently (ccxt PR #28785)"),
    Retired("probit", None, "delisted it (ccxt PR #27897)"),
    Retired("vertex", None, None),
)}
