"""rxpro exchange classes (imported as ``rxpro.exchanges``)."""
