"""Beyond one machine: shards of the inventory, the instance's identity and its heartbeat."""
