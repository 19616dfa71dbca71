"""The fault tests use the core tests' fixtures (simulator, attached exchanges, collectors)."""

from ..core.conftest import binance, okx, sim, sim_once  # noqa: F401 - pytest fixtures
