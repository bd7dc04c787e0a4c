"""Engine throughput, bytes per customer, peak memory and warm start (:mod:`.throughput`)."""
