"""The store's exceptions: one small family, turned into a helpful reply or a one-line error at the edge."""


class StoreError(Exception):
    """Something about the store or its sources is wrong."""


class SourceError(StoreError):
    """A seed record or source document does not hold up (missing quote, unknown id, bad date)."""
