"""Where the digest window lives: in this process (:class:`MemoryStore`) or in Redis.

Both implement :class:`WindowStore`. Every process *adds* pre-aggregated group deltas; one
process at a time holds the *flush lease* and turns due groups into Slack messages.
"""

from jibe_alerts.stores.base import Due, StoreLimits, WindowStore
from jibe_alerts.stores.memory import MemoryStore

__all__ = ["Due", "MemoryStore", "StoreLimits", "WindowStore"]
