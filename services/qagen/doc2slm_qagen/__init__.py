"""doc2slm-qagen."""
