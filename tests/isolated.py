"""Host keys for tests of the scheduler in isolation: nothing but the scenario's vCPUs runs.

Queueing-theory and documented-example tests describe the VMs' vCPUs alone at nominal clock.
A booted host (vmksim.kernel.boot) also runs non-VM worlds and the VMs' helper worlds
(vmksim.kernel.worlds) and scales charged time by the P-state (vmksim.kernel.power); these keys
switch both off: no non-VM load, no helper-world load, High Performance (always P0).
"""

from __future__ import annotations

from typing import Any

ISOLATED: dict[str, Any] = {"system": {"cpu_pct": 0, "vm_worlds_pct": 0}, "power_policy": "high-performance"}
