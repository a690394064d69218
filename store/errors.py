"""The store's exceptions: one small family, turned into a helpful reply or a one-line error at
the edge."""


class StoreError(Exception):
    """Something about the store or its sources is wrong."""


class SourceError(StoreError):
    """A seed record or source document does not hold up (missing quote, unknown id, bad date)."""


class StoreFault(StoreError):
    """The store's files failed under a connection: a write may not be kept (its log was deleted
    or replaced, the disk refused it, a page is damaged). The service reports it and recovers."""


class StoreUnavailable(StoreError):
    """A write refused, untried, while a fault of the store is being reported."""
