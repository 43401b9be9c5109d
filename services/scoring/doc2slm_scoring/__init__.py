"""doc2slm-scoring: cosine and lexical scores, statistics, and the evaluation report."""

from doc2slm_scoring.embedding_client import EmbeddingClient
from doc2slm_scoring.kfp_metrics import flatten_metrics
from doc2slm_scoring.report import ReportResult, build_report, load_metrics
from doc2slm_scoring.similarity import Thresholds

__all__ = ["EmbeddingClient", "ReportResult", "Thresholds", "build_report", "flatten_metrics", "load_metrics"]
