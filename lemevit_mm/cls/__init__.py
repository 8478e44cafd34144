"""Task parts: cls."""
