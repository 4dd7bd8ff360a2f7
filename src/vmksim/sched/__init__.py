"""The CPU scheduler: parameters, entitlement (shares/reservations/limits), and the event-driven core."""

from vmksim.sched.params import SchedParams

__all__ = ["SchedParams"]
