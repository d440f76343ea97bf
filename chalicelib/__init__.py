"""zoho-webhook-adapter: SaaS webhooks in, Zoho CRM v8 single-record updates out.

The pipeline, in the order a payload travels through it:

- ``ingest``: the api Lambda's work: read the request, verify its signature, parse
  the body, pick the delivery id, choose the matching rules.
- ``stores``: the adapters over DynamoDB, SQS and Secrets Manager (mappings, the
  delivery ledger, the deliveries queue, secrets), each with an in-memory fake.
- ``mapping``: the mapping document and the pure engine that turns a payload into
  a planned Zoho update.
- ``zoho``: tokens, the Update Records call and the classification of its answers.
- ``delivery``: the worker Lambda's work: apply one queued delivery, retry with
  backoff, dead-letter what cannot be applied.
"""

__version__ = "0.1.0"
