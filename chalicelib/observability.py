"""The one structured JSON logger (Powertools Logger), shared by the api and the worker.

Log lines carry ids, statuses, codes, counts and durations; never a body, a
header value, a signature, a token or a secret.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="zwa")
