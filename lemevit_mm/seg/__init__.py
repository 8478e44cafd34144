"""Task parts: seg."""
