"""``zwa``: the operator's command line (bootstrap, connections, secrets, mappings, deliveries)."""
