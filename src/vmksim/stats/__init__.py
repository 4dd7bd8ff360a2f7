"""Statistics: the VMkernel's counters turned into esxtop samples (the contract is vmksim.counters)."""

# Nothing is re-exported: import the module you need (sampler, sample, summary, export, fake).
__all__: list[str] = []
