"""`python -m doc2slm_qagen`: serve QAGenService (:50052)."""

from doc2slm_common.contracts import QAGEN
from doc2slm_common.server import run_service

from doc2slm_qagen.service import build_binding
from doc2slm_qagen.settings import QAGenSettings

if __name__ == "__main__":
    run_service(QAGEN, QAGenSettings, build_binding)
