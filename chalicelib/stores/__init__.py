"""Adapters over AWS: each takes its boto3 client, translates AWS errors, and has a fake.

- ``mappings``: mapping documents in DynamoDB, versioned, with a per-container cache.
- ``ledger``: the delivery ledger in DynamoDB (one item per source and delivery id).
- ``queues``: the deliveries queue and its dead-letter queue in SQS.
- ``secrets``: Secrets Manager (webhook signing keys, Zoho connections).
- ``search_cache``: the ``search`` locator's found ids, in the per-record state table.
- ``records``: what the adapter knows of each Zoho record (claims, the newest
  event applied, the last body applied) and short leases, in one DynamoDB table.
"""
