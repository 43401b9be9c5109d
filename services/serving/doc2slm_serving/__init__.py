"""doc2slm-serving."""
