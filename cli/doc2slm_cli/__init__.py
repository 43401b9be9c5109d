"""doc2slm-cli."""
