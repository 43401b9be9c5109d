"""`python -m doc2slm_scoring`: serve ScoringService (default 127.0.0.1:50054)."""

from __future__ import annotations

from doc2slm_common.contracts import SCORING
from doc2slm_common.server import run_service

from doc2slm_scoring.service import build_binding
from doc2slm_scoring.settings import ScoringSettings


def main() -> None:
    run_service(SCORING, ScoringSettings, build_binding)


if __name__ == "__main__":
    main()
