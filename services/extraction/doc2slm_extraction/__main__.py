"""`python -m doc2slm_extraction`: serve doc2slm.v1.ExtractionService (default :50051)."""

from __future__ import annotations

from doc2slm_common.contracts import EXTRACTION
from doc2slm_common.server import run_service

from doc2slm_extraction.service import build_binding
from doc2slm_extraction.settings import ExtractionSettings

if __name__ == "__main__":
    run_service(EXTRACTION, ExtractionSettings, build_binding)
