"""Which replica acts on which calendar: leases, notifications between replicas, the leader."""
