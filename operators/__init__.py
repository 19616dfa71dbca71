"""Custom ReactiveX operators for market data (imported as ``rxpro.operators``)."""

__all__: list[str] = []
