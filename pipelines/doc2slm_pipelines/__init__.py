"""doc2slm-pipelines."""
