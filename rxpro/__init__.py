"""rxpro: ccxt.pro WebSocket streams as ReactiveX Observables."""
__version__ = "0.1.0"
