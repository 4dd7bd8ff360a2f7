"""Statistics: the VMkernel's counters turned into esxtop samples (the contract is vmksim.counters)."""
