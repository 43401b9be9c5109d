"""A run's teacher budget: requests sent and completion tokens received, shared by the worker threads.

The budget is checked before each request, so a run stops sending once it is spent; requests already in
flight still finish and their pairs are kept (and cached): nothing paid for is thrown away.
"""

from __future__ import annotations

import threading


class Budget:
    def __init__(self, max_requests: int = 0, max_tokens: int = 0) -> None:
        if max_requests < 0 or max_tokens < 0:
            raise ValueError("budgets must be >= 0 (0 means no limit)")
        self.max_requests = max_requests
        self.max_tokens = max_tokens
        self.requests = 0
        self.tokens = 0
        self.exhausted = False
        self._lock = threading.Lock()

    def take_request(self) -> bool:
        """Reserve one request; False (and no reservation) once the budget is spent."""
        with self._lock:
            over_requests = self.max_requests and self.requests >= self.max_requests
            over_tokens = self.max_tokens and self.tokens >= self.max_tokens
            if over_requests or over_tokens:
                self.exhausted = True
                return False
            self.requests += 1
            return True

    def add_tokens(self, tokens: int) -> None:
        with self._lock:
            self.tokens += max(0, tokens)
