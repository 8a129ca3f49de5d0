"""Storage: the only layer that talks to the engine (client, index templates, writes and spool,
read queries). Everything that reads or writes the index goes through :class:`Store`."""

from vigia.store.spool import Spool
from vigia.store.store import Store, UpsertStats

__all__ = ["Spool", "Store", "UpsertStats"]
