"""Task parts: cd."""
