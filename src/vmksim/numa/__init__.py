"""NUMA: client sizing and placement (plan), and the runtime NUMA scheduler."""
