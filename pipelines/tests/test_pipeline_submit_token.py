"""Issue 14, finding 7: the KFP bearer token need not be on the command line (ps, shell history); it comes
from a file or DOC2SLM_KFP_TOKEN, and reaches the endpoint as the Authorization header."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from doc2slm_cli.main import main
from doc2slm_common.errors import InvalidInput
from doc2slm_pipelines.submit import TOKEN_ENV, resolve_token

TOKEN = "kfp-token-0123456789abcdef"


def test_the_token_comes_from_a_file_the_environment_or_the_flag(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n")
    assert resolve_token(token_file=str(token_file), environ={}) == TOKEN
    assert resolve_token(environ={TOKEN_ENV: f" {TOKEN} "}) == TOKEN
    assert resolve_token(TOKEN, environ={}) == TOKEN
    assert resolve_token(environ={}) is None
    with pytest.raises(InvalidInput, match="one way"):
        resolve_token(TOKEN, str(token_file), environ={})
    with pytest.raises(InvalidInput, match="one way"):
        resolve_token(token_file=str(token_file), environ={TOKEN_ENV: TOKEN})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(InvalidInput, match="empty"):
        resolve_token(token_file=str(tmp_path / "empty"), environ={})
    with pytest.raises(InvalidInput, match="token file"):
        resolve_token(token_file=str(tmp_path / "absent"), environ={})


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A KFP endpoint that records the Authorization header of every call and refuses it."""

    seen: ClassVar[list[str]] = []

    def _refuse(self) -> None:
        _Recorder.seen.append(self.headers.get("Authorization", ""))
        # kfp.Client asks healthz first (and retries it for 25 s when refused); the run itself is refused.
        healthy = "healthz" in self.path
        body = b'{"multi_user": false}' if healthy else b'{"error": "refused by the test endpoint", "code": 16}'
        self.send_response(200 if healthy else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _refuse

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def endpoint() -> Iterator[str]:
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_submit_sends_the_token_from_a_file(endpoint: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    argv = ["pipeline", "submit", "--host", endpoint, "--token-file", str(token_file)]
    assert main(argv) != 0  # the endpoint refuses; what matters is what it was sent
    assert TOKEN not in " ".join(argv)
    assert _Recorder.seen and set(_Recorder.seen) == {f"Bearer {TOKEN}"}


def test_submit_takes_the_token_from_the_environment(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert main(["pipeline", "submit", "--host", endpoint]) != 0
    assert _Recorder.seen and set(_Recorder.seen) == {f"Bearer {TOKEN}"}
