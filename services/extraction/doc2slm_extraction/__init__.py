"""doc2slm-extraction."""
