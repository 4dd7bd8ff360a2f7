"""The thresholds the analyzer judges a capture by, each a named parameter with its source.

ESXi counterpart: none in the product — these are the rules of thumb VMware
engineers and the esxtop literature apply when reading esxtop output. Sources
(all paraphrased in /work/shared/reference/):

- %RDY > 10 per vCPU and %CSTP > 3: esxi-scheduler.md §3.3 "Rules of thumb"
  (Elatov's VCAP5-DCA notes, https://github.com/elatov/elatov.github.io ,
  2013-01-07 post) and esxtop.md §2.1 "Thresholds commonly quoted" [S6, S7];
- %MLMTD > 0, %SWPWT > 5, MCTLSZ > 0, SWCUR > 0, SWR/s or SWW/s > 0:
  esxtop.md §2.1 and §2.3 [S6, S7] (the Esxtop troubleshooting overview,
  https://raw.githubusercontent.com/elatov/upload/master/vcap-dca/obj_62/Esxtop_Troubleshooting_eng.pdf );
- N%L < 80: esxi-scheduler.md §3.4 and esxi-memory.md §6 (Denneman,
  https://frankdenneman.nl/2010/02/03/sizing-vms-and-numa-nodes/ , and
  yellow-bricks via the NUMAlocality-esxtop script);
- host saturation at 90 % PCPU UTIL, NUMA imbalance and NMIG rates have no
  published number: they are our choices, documented as such below.

How a threshold is applied: per-vCPU counters (%RDY, %CSTP, %MLMTD, %SWPWT)
are averaged over a VM's vCPU worlds in each sample (esxi-scheduler.md §3.3
item 5: group values are sums over worlds, so a 4-vCPU VM may show %RDY 400).
A finding is raised when a VM exceeds a threshold in at least
``persistence`` of the samples, so a single spike is not a problem; it is
critical when the capture-wide mean exceeds ``critical_factor`` × threshold.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vmksim.errors import InputError

__all__ = ["Thresholds"]


def _p(default: float, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Named analyzer thresholds; override with ``--threshold NAME=VALUE``."""

    rdy: float = _p(10.0, "%RDY per vCPU above which a VM waits too long for a PCPU (S6, S7; §3.3)")
    cstp: float = _p(3.0, "%CSTP per vCPU above which co-scheduling hurts an SMP VM (S6, S7; §3.3)")
    mlmtd: float = _p(0.0, "%MLMTD per vCPU above which a CPU limit is holding the VM back (any, S6)")
    swpwt: float = _p(5.0, "%SWPWT per vCPU above which the VM waits on host swap (S6, S7)")
    balloon_mb: float = _p(0.0, "MCTLSZ (MB) above which the balloon driver is reclaiming (S6, S7)")
    swap_mb: float = _p(0.0, "SWCUR (MB) above which VM memory sits in host swap (S6, S7)")
    swap_rate: float = _p(0.0, "SWR/s + SWW/s (MB/s) above which the host is actively swapping (S6, S7)")
    nl: float = _p(80.0, "Numa %% Local below which a VM's memory is poorly local (Denneman 2010)")
    nmig_per_min: float = _p(
        2.0, "NUMA migrations per minute above which a VM ping-pongs between nodes (our choice: undocumented)"
    )
    numa_imbalance: float = _p(
        20.0,
        "gap in mean PCPU UTIL %% between the busiest and idlest NUMA node (our choice; ESXi itself "
        "rebalances at Numa.MigImbalanceThreshold = 10 %%, so a larger lasting gap is one it cannot fix)",
    )
    host_util: float = _p(
        90.0, "host PCPU UTIL %% (mean of all PCPUs) above which the host is saturated (our choice)"
    )
    persistence: float = _p(
        0.1, "fraction of samples that must exceed a threshold to raise a finding (our choice)"
    )
    critical_factor: float = _p(
        2.0, "a finding is critical when the capture mean exceeds this multiple of the threshold (our choice)"
    )

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def describe(cls) -> list[tuple[str, float, str]]:
        """(name, default, documentation) of every threshold, for --help and reports."""
        return [
            (f.name, float(f.default), str(f.metadata["doc"]).replace("%%", "%"))  # type: ignore[arg-type]
            for f in dataclasses.fields(cls)
        ]

    def with_overrides(self, overrides: Mapping[str, str], *, source: str = "--threshold") -> Thresholds:
        """A copy with NAME=VALUE overrides applied; unknown names or bad numbers are an InputError."""
        known = self.names()
        changes: dict[str, float] = {}
        for raw_name, raw_value in overrides.items():
            name = raw_name.strip().lower().lstrip("%").replace("%", "").replace("-", "_")
            if name not in known:
                raise InputError(f"unknown threshold {raw_name!r} (known: {', '.join(known)})", source=source)
            try:
                value = float(raw_value)
            except ValueError:
                raise InputError(f"{raw_name} must be a number, got {raw_value!r}", source=source) from None
            if not math.isfinite(value) or value < 0:
                raise InputError(f"{raw_name} must be a finite number >= 0, got {raw_value!r}", source=source)
            if name == "persistence" and value > 1:
                raise InputError(
                    f"persistence is a fraction of samples (0..1), got {raw_value!r}", source=source
                )
            changes[name] = value
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in self.names()}
