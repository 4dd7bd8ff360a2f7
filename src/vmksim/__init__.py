"""vmksim: the VMware ESXi VMkernel rebuilt in Python as a simulator and toolset.

See ``../shared/DESIGN.md`` for the layers. The public entry point for users is
the ``vmksim`` command (:mod:`vmksim.cli`).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
