"""A local Zoho CRM v8 look-alike for the dev stack, the tests and the benchmarks. Never deployed.

Standard library only. Serves Zoho Accounts' token endpoint and the CRM v8 record endpoints
(fields metadata, insert, get, single/bulk/X-EXTERNAL update, search) over four modules, with
Zoho's validation, error shapes, token and API limits, plus test controls under `/__sandbox/`
to reset, seed, lock records, inject faults and latency, expire tokens and read what was received.
See docs/sandbox.md.

Modules: `schema` (modules, fields, users), `validation` (value checks, pure), `search` (criteria),
`store` (records), `crm` (record endpoints), `oauth` (tokens), `limits` (concurrency, credits),
`faults` (injected failures, latency), `requestlog` (log, stats), `controls` (`/__sandbox/`),
`dispatch` (the pipeline), `server` (HTTP, `SandboxServer`), `__main__` (command line).
"""

from .config import SandboxConfig
from .oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
from .server import SandboxServer

DEFAULT_PORT = 8810

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PORT",
    "DEFAULT_REFRESH_TOKEN",
    "SandboxConfig",
    "SandboxServer",
]
