"""The local stack: emulators and launchers for ``make dev`` and the integration tests.

Never deployed. ``stack`` starts the AWS emulator (moto server), the Zoho
sandbox, ``chalice local`` and the local worker as real processes;
``local_worker`` plays the part of Lambda's SQS event source; ``run`` is
``make dev``; ``zoho_sandbox`` is the Zoho CRM v8 look-alike.
"""
