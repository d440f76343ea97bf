"""Delivery: the worker Lambda's side (apply a queued delivery, back off, dead-letter)."""
