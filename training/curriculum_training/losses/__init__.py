"""Training losses, one per module."""
from .symmetric_infonce import SymmetricInfoNCE, symmetric_infonce  # noqa: F401
