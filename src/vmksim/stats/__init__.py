"""Statistics: the VMkernel's counters turned into esxtop samples (see source.py for the contract)."""
