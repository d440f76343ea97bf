"""Ingest: the api Lambda's side of the pipeline (request parsing, signatures, acceptance)."""
