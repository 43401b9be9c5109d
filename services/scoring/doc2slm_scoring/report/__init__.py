"""The evaluation report: answers of base and tuned models in, report/ out."""

from doc2slm_scoring.report.build import ReportResult, build_report, load_metrics

__all__ = ["ReportResult", "build_report", "load_metrics"]
