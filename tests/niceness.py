"""Whether this process may raise a thread's priority (lower its niceness): root, CAP_SYS_NICE or an
RLIMIT_NICE that allows it, as `insights up` needs to raise its event loop's."""

from __future__ import annotations

import os
import sys


def may_raise_priority() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    own = os.getpriority(os.PRIO_PROCESS, 0)  # the calling thread's
    if own <= -20:
        return True
    try:
        os.setpriority(os.PRIO_PROCESS, 0, own - 1)
    except PermissionError:
        return False
    os.setpriority(os.PRIO_PROCESS, 0, own)
    return True
