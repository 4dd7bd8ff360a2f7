"""NUMA: client sizing and placement (plan), and the runtime NUMA scheduler."""

# Nothing is re-exported: import vmksim.numa.plan or vmksim.numa.runtime.
__all__: list[str] = []
