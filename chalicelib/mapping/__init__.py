"""The mapping language: documents, expressions, value transforms and the engine (all pure)."""
