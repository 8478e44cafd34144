"""Task parts: det."""
