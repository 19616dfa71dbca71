"""Offline exchange simulator and test helpers (imported as ``rxpro.testing``)."""
