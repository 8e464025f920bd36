"""QuantConnectClient against a local replay server of recorded QC API v2 responses."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from signals.lean_cloud import (
    QuantConnectAuthError,
    QuantConnectClient,
    QuantConnectError,
    signal_objects,
)
from signals.lean_export import export_lean_workspace

FIXTURES = Path(__file__).parent / "fixtures" / "qc"
USER_ID = "12345"
TOKEN = "f3c9a7e1d2b4secret0token9a8b7c6d5"
ORG_ID = "5cad178b20a1d52567b534553413b691"
NOW = 1_700_000_000.75


class ReplayServer:
    """A local HTTP server that answers POSTs with queued fixture files and records requests."""

    def __init__(self) -> None:
        """Start on a free 127.0.0.1 port in a daemon thread."""
        self.queue: dict[str, list[tuple[int, str]]] = {}
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                endpoint = self.path.removeprefix("/api/v2/")
                server.requests.append(
                    {"endpoint": endpoint, "headers": dict(self.headers), "body": body}
                )
                queued = server.queue.get(endpoint)
                status, name = queued.pop(0) if queued else (404, "")
                payload = (FIXTURES / name).read_bytes() if name else b"not found"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Silence the default stderr access log."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v2/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def reply(self, endpoint: str, fixture: str, status: int = 200) -> None:
        """Queue one response for `endpoint`."""
        self.queue.setdefault(endpoint, []).append((status, fixture))

    def endpoints(self) -> list[str]:
        """The endpoints called, in order."""
        return [record["endpoint"] for record in self.requests]

    def close(self) -> None:
        """Stop the server."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    """A running replay server."""
    replay = ReplayServer()
    yield replay
    replay.close()


@pytest.fixture
def client(server: ReplayServer) -> QuantConnectClient:
    """A client with fixed credentials and a fixed clock, pointed at the replay server."""
    return QuantConnectClient(
        USER_ID, TOKEN, base_url=server.base_url, clock=lambda: NOW, organization_id=ORG_ID
    )


def _json_body(record: dict[str, Any]) -> Any:
    """A recorded request's JSON body."""
    return json.loads(record["body"])


def _multipart(record: dict[str, Any]) -> dict[str, tuple[str | None, bytes]]:
    """A recorded multipart/form-data body as {field: (filename, bytes)}."""
    head = f"Content-Type: {record['headers']['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + record["body"])
    return {
        part.get_param("name", header="content-disposition"): (
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    }


def test_authenticate_sends_hashed_token_basic_auth_and_timestamp(
    server: ReplayServer, client: QuantConnectClient
) -> None:
    server.reply("authenticate", "authenticate.json")
    assert client.authenticate() is True
    (record,) = server.requests
    assert record["endpoint"] == "authenticate"
    assert record["headers"]["Timestamp"] == "1700000000"
    expected = hashlib.sha256(f"{TOKEN}:1700000000".encode()).hexdigest()
    scheme, encoded = record["headers"]["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{USER_ID}:{expected}"


def test_create_project_posts_name_and_language(
    server: ReplayServer, client: QuantConnectClient
) -> None:
    server.reply("projects/create", "projects_create.json")
    project = client.create_project("SignalWeights")
    assert project["projectId"] == 23456789
    assert _json_body(server.requests[0]) == {"name": "SignalWeights", "language": "Py"}


def test_upload_project_files_creates_new_and_updates_existing(
    server: ReplayServer, client: QuantConnectClient
) -> None:
    server.reply("files/read", "files_read.json")
    server.reply("files/create", "rest_ok.json")
    server.reply("files/update", "rest_ok.json")
    actions = client.upload_project_files(23456789, {"main.py": "x = 1\n", "util.py": "y = 2\n"})
    assert actions == {"main.py": "updated", "util.py": "created"}
    assert server.endpoints() == ["files/read", "files/update", "files/create"]
    assert [_json_body(record) for record in server.requests] == [
        {"projectId": 23456789},
        {"projectId": 23456789, "name": "main.py", "content": "x = 1\n"},
        {"projectId": 23456789, "name": "util.py", "content": "y = 2\n"},
    ]


def test_upload_object_is_multipart_with_organization_and_key(
    server: ReplayServer, client: QuantConnectClient
) -> None:
    server.reply("object/set", "rest_ok.json")
    client.upload_object("custom/signal_weights/macd/universe.csv", b"symbol\nBTCUSDT\n")
    record = server.requests[0]
    assert record["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert _multipart(record) == {
        "organizationId": (None, ORG_ID.encode()),
        "key": (None, b"custom/signal_weights/macd/universe.csv"),
        "objectData": ("universe.csv", b"symbol\nBTCUSDT\n"),
    }


def test_upload_object_needs_an_organization(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QC_ORGANIZATION_ID", raising=False)
    client = QuantConnectClient(USER_ID, TOKEN, base_url=server.base_url, organization_id=None)
    with pytest.raises(ValueError, match="QC_ORGANIZATION_ID"):
        client.upload_object("custom/x.csv", b"")
    assert server.requests == []


def _workspace(tmp_path: Path) -> Path:
    """An exported workspace plus one signal_orders file."""
    weights = pd.DataFrame(
        {
            "symbol": ["BTCUSDT", "ETHUSDT"],
            "signal_timestamp": pd.to_datetime(["2024-01-01T00:05:00Z"] * 2),
            "timestamp": pd.to_datetime(["2024-01-01T00:00:00Z"] * 2),
            "signal": [0.25, -0.5],
            "strategy_id": ["macd_cci", "macd_cci"],
        }
    )
    workspace = tmp_path / "ws"
    export_lean_workspace(weights, workspace)
    orders = workspace / "data" / "custom" / "signal_orders" / "macd_cci" / "orders" / "btcusdt.csv"
    orders.parent.mkdir(parents=True)
    orders.write_text("symbol,signal_id\nBTCUSDT,abc\n", encoding="utf-8")
    (workspace / "SignalWeights" / "backtests" / "2024").mkdir(parents=True)
    (workspace / "SignalWeights" / "backtests" / "2024" / "1.json").write_text("{}")
    return workspace


def test_publish_workspace_sequence_files_and_objects(
    server: ReplayServer,
    client: QuantConnectClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    workspace = _workspace(tmp_path)
    server.reply("authenticate", "authenticate.json")
    server.reply("projects/read", "projects_read.json")
    server.reply("projects/create", "projects_create.json")
    server.reply("files/read", "files_read.json")
    server.reply("files/create", "rest_ok.json")
    server.reply("files/update", "rest_ok.json")
    server.reply("files/create", "rest_ok.json")
    for _ in range(4):
        server.reply("object/set", "rest_ok.json")

    result = client.publish_workspace(workspace, "SignalWeights")

    keys = [
        "custom/signal_orders/macd_cci/orders/btcusdt.csv",
        "custom/signal_weights/macd_cci/universe.csv",
        "custom/signal_weights/macd_cci/weights/btcusdt.csv",
        "custom/signal_weights/macd_cci/weights/ethusdt.csv",
    ]
    assert result.project_id == 23456789
    assert result.files == {
        "algorithm_setup.py": "created",
        "main.py": "updated",
        "signal_data.py": "created",
    }
    assert list(result.object_keys) == sorted(keys)
    assert server.endpoints() == [
        "authenticate",
        "projects/read",
        "projects/create",
        "files/read",
        "files/create",
        "files/update",
        "files/create",
        *["object/set"] * 4,
    ]
    main_py = (workspace / "SignalWeights" / "main.py").read_text(encoding="utf-8")
    assert _json_body(server.requests[5])["content"] == main_py
    uploads = [_multipart(record) for record in server.requests[7:]]
    assert [upload["key"][1].decode() for upload in uploads] == sorted(keys)
    for upload in uploads:
        key = upload["key"][1].decode()
        assert upload["objectData"][1] == (workspace / "data" / key).read_bytes()
    # the algorithm reads exactly these keys from data/ (lean_algorithms/shared/signal_data.py)
    assert set(signal_objects(workspace)) == set(keys)
    assert "published SignalWeights: project 23456789, 3 files, 4 objects" in caplog.text
    assert TOKEN not in caplog.text
    assert all(not queued for queued in server.queue.values())


def test_publish_workspace_reuses_an_existing_project(
    server: ReplayServer, client: QuantConnectClient, tmp_path: Path
) -> None:
    workspace = _workspace(tmp_path)
    shutil.copytree(workspace / "SignalWeights", workspace / "Scratch")
    server.reply("authenticate", "authenticate.json")
    server.reply("projects/read", "projects_read.json")
    server.reply("files/read", "files_read.json")
    server.reply("files/create", "rest_ok.json")
    server.reply("files/update", "rest_ok.json")
    server.reply("files/create", "rest_ok.json")
    for _ in range(4):
        server.reply("object/set", "rest_ok.json")
    result = client.publish_workspace(workspace, "Scratch")
    assert result.project_id == 9001
    assert "projects/create" not in server.endpoints()
    assert _json_body(server.requests[2]) == {"projectId": 9001}


def test_api_error_names_endpoint_and_errors(
    server: ReplayServer, client: QuantConnectClient
) -> None:
    server.reply("object/set", "object_set_failed.json")
    with pytest.raises(QuantConnectError) as raised:
        client.upload_object("custom/a.csv", b"1")
    assert raised.value.endpoint == "object/set"
    assert raised.value.errors == ["The Object Store is only available to paid organizations."]
    assert "object/set" in str(raised.value) and "paid organizations" in str(raised.value)


def test_auth_failure_raises_once_without_retry(
    server: ReplayServer, client: QuantConnectClient
) -> None:
    server.reply("authenticate", "auth_failed.json")
    server.reply("authenticate", "authenticate.json")
    with pytest.raises(QuantConnectAuthError, match="Hash doesn't match"):
        client.authenticate()
    assert server.endpoints() == ["authenticate"]


def test_http_401_is_an_auth_error(server: ReplayServer, client: QuantConnectClient) -> None:
    server.reply("authenticate", "auth_failed.json", status=401)
    with pytest.raises(QuantConnectAuthError) as raised:
        client.authenticate()
    assert raised.value.status == 401
    assert len(server.requests) == 1


def test_non_json_error_response(server: ReplayServer, client: QuantConnectClient) -> None:
    with pytest.raises(QuantConnectError, match=r"projects/read failed \(HTTP 404\)"):
        client.list_projects()


def test_every_request_has_a_timeout(client: QuantConnectClient) -> None:
    seen: list[Any] = []

    class Session(requests.Session):
        def post(self, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            seen.append(kwargs.get("timeout"))
            raise requests.ConnectTimeout("timed out")

    timed = QuantConnectClient(USER_ID, TOKEN, session=Session(), timeout=2.5)
    with pytest.raises(QuantConnectError, match="ConnectTimeout"):
        timed.authenticate()
    assert seen == [2.5]


def test_credentials_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QC_USER_ID", "777")
    monkeypatch.setenv("QC_API_TOKEN", TOKEN)
    monkeypatch.setenv("QC_ORGANIZATION_ID", ORG_ID)
    client = QuantConnectClient()
    assert (client.user_id, client.organization_id) == ("777", ORG_ID)
    monkeypatch.delenv("QC_API_TOKEN")
    with pytest.raises(ValueError, match="QC_API_TOKEN") as raised:
        QuantConnectClient()
    assert TOKEN not in str(raised.value)


def test_token_never_printed(
    server: ReplayServer,
    client: QuantConnectClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    leaky = tmp_path / "leaky.json"
    leaky.write_text(json.dumps({"success": False, "errors": [f"bad token {TOKEN}"]}))
    server.reply("authenticate", str(leaky))  # an absolute path wins over FIXTURES /
    server.reply("projects/read", "auth_failed.json", status=401)
    texts = [repr(client), str(client), repr(vars(client))]
    for call in (client.authenticate, client.list_projects):
        with pytest.raises(QuantConnectError) as raised:
            call()
        texts += [str(raised.value), repr(raised.value), repr(raised.value.errors)]
    assert "bad token ***" in texts[3]
    out, err = capsys.readouterr()
    texts += [caplog.text, out, err]
    texts += [record.decode("latin-1") for record in _raw(server)]
    assert all(TOKEN not in text for text in texts)


def _raw(server: ReplayServer) -> list[bytes]:
    """Every recorded request's headers and body as bytes."""
    return [json.dumps(record["headers"]).encode() + record["body"] for record in server.requests]
