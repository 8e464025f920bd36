"""Publish an exported LEAN workspace to QuantConnect Cloud through its REST API v2."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from warehouse.secrets import Secret

# Formats follow QuantConnect's API reference (docs/v2/cloud-platform/api-reference) and
# lean-cli's lean/components/api/{api_client,project_client,file_client,object_store_client}.py.
DEFAULT_BASE_URL = "https://www.quantconnect.com/api/v2/"
USER_ID_ENV = "QC_USER_ID"
API_TOKEN_ENV = "QC_API_TOKEN"
ORGANIZATION_ID_ENV = "QC_ORGANIZATION_ID"
DEFAULT_TIMEOUT = 30.0
# ObjectStore keys mirror the workspace's data/ folder: the algorithm reads `custom/signal_*/...`.
SIGNAL_DATA_DIRS = ("custom/signal_weights", "custom/signal_orders")
_SKIPPED_PARTS = {"__pycache__", ".mypy_cache", ".ruff_cache", "backtests", "optimizations", "live"}
_LOCAL_ONLY_FILES = {"config.json"}  # the LEAN CLI's local project config, not a cloud file
_AUTH_ERROR_PREFIX = "Hash doesn't match"

log = logging.getLogger(__name__)


class QuantConnectError(RuntimeError):
    """A failed QuantConnect API call: the endpoint, HTTP status and the API's `errors` list."""

    def __init__(self, endpoint: str, errors: list[str], status: int | None = None) -> None:
        """Keep the endpoint, the API's errors and the HTTP status (None when no response)."""
        self.endpoint = endpoint
        self.errors = list(errors)
        self.status = status
        shown = "; ".join(self.errors) or "no error message"
        super().__init__(f"QuantConnect API {endpoint} failed (HTTP {status}): {shown}")


class QuantConnectAuthError(QuantConnectError):
    """The API rejected the credentials (HTTP 401 or a "Hash doesn't match" error)."""


@dataclass(frozen=True)
class PublishResult:
    """What `publish_workspace` pushed: the cloud project, its files and the ObjectStore keys."""

    project_id: int
    project_name: str
    files: dict[str, str]
    object_keys: tuple[str, ...]


class QuantConnectClient:
    """A small QuantConnect API v2 client: projects, project files and the ObjectStore."""

    def __init__(
        self,
        user_id: str | int | None = None,
        api_token: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        *,
        organization_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Credentials from the arguments, else QC_USER_ID / QC_API_TOKEN / QC_ORGANIZATION_ID."""
        user = user_id if user_id is not None else os.environ.get(USER_ID_ENV)
        token = api_token if api_token is not None else os.environ.get(API_TOKEN_ENV)
        if not user:
            raise ValueError(f"QuantConnect user id missing: pass user_id or set {USER_ID_ENV}")
        if not token:
            raise ValueError(
                f"QuantConnect API token missing: pass api_token or set {API_TOKEN_ENV}"
            )
        self.user_id = str(user)
        self._api_token = Secret(token)
        self.organization_id = organization_id or os.environ.get(ORGANIZATION_ID_ENV) or None
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self._session = session if session is not None else requests.Session()
        self._clock = clock

    def __repr__(self) -> str:
        """User id, organization and base URL; never the token."""
        return (
            f"QuantConnectClient(user_id={self.user_id!r}, "
            f"organization_id={self.organization_id!r}, base_url={self.base_url!r})"
        )

    def auth_headers(self) -> tuple[tuple[str, str], dict[str, str]]:
        """Basic-auth pair (user id, sha256("<token>:<timestamp>")) and the Timestamp header."""
        timestamp = str(int(self._clock()))
        digest = hashlib.sha256(f"{self._api_token.reveal()}:{timestamp}".encode()).hexdigest()
        return (self.user_id, digest), {"Timestamp": timestamp}

    def _post(
        self,
        endpoint: str,
        payload: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, tuple[str, bytes]] | None = None,
    ) -> dict[str, Any]:
        """POST to `endpoint` (JSON, or multipart form with `files`); the parsed success body."""
        auth, headers = self.auth_headers()
        options: dict[str, Any] = {"auth": auth, "headers": headers, "timeout": self.timeout}
        if files is None:
            options["json"] = dict(payload or {})
        else:
            options["data"] = dict(payload or {})
            options["files"] = dict(files)
        log.debug("QuantConnect API POST %s", endpoint)
        try:
            response = self._session.post(self.base_url + endpoint, **options)
        except requests.RequestException as err:
            raise QuantConnectError(
                endpoint, [self._scrub(f"{type(err).__name__}: {err}")]
            ) from None
        return self._parse(endpoint, response)

    def _parse(self, endpoint: str, response: requests.Response) -> dict[str, Any]:
        """The JSON body of a successful call; raise with the endpoint and errors otherwise."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        errors = self._errors(body)
        if status == 401 or any(error.startswith(_AUTH_ERROR_PREFIX) for error in errors):
            raise QuantConnectAuthError(endpoint, errors or ["unauthorized"], status)
        if not 200 <= status < 300:
            raise QuantConnectError(
                endpoint, errors or [f"HTTP {status} {response.reason}"], status
            )
        if not isinstance(body, dict):
            raise QuantConnectError(endpoint, ["response is not a JSON object"], status)
        if body.get("success") is not True:
            raise QuantConnectError(endpoint, errors or ["success is false"], status)
        return body

    def _errors(self, body: Any) -> list[str]:
        """The API's `errors` (or `messages`) list, with the token scrubbed out."""
        if not isinstance(body, dict):
            return []
        raw = body.get("errors") or body.get("messages") or []
        if isinstance(raw, str):
            raw = [raw]
        return [self._scrub(str(error)) for error in raw]

    def _scrub(self, text: str) -> str:
        """Replace any occurrence of the token with ***."""
        return text.replace(self._api_token.reveal(), "***")

    def authenticate(self) -> bool:
        """Check the credentials with the `authenticate` endpoint; raise when rejected."""
        self._post("authenticate")
        return True

    def list_projects(self) -> list[dict[str, Any]]:
        """All projects of the user (`projects/read` without a project id)."""
        return list(self._post("projects/read").get("projects", []))

    def create_project(self, name: str, language: str = "Py") -> dict[str, Any]:
        """Create a project (`projects/create`); the new project's record (with projectId)."""
        body = self._post("projects/create", {"name": name, "language": language})
        projects = body.get("projects") or []
        if not projects or "projectId" not in projects[0]:
            raise QuantConnectError("projects/create", ["response has no projects[0].projectId"])
        return dict(projects[0])

    def upload_project_files(self, project_id: int, files: Mapping[str, str]) -> dict[str, str]:
        """Create each file, or update it when the project already has it; name -> action."""
        existing = self._post("files/read", {"projectId": project_id}).get("files", [])
        names = {str(record.get("name")) for record in existing}
        actions: dict[str, str] = {}
        for name in sorted(files):
            endpoint = "files/update" if name in names else "files/create"
            self._post(endpoint, {"projectId": project_id, "name": name, "content": files[name]})
            actions[name] = "updated" if name in names else "created"
        return actions

    def upload_object(self, key: str, data: bytes) -> None:
        """Store `data` under `key` in the organization's ObjectStore (`object/set`, multipart)."""
        if not self.organization_id:
            raise ValueError(
                f"object/set {key!r}: organization id missing: pass organization_id or set "
                f"{ORGANIZATION_ID_ENV}"
            )
        payload = {"organizationId": self.organization_id, "key": key}
        self._post("object/set", payload, files={"objectData": (key.rsplit("/", 1)[-1], data)})

    def publish_workspace(self, workspace_dir: Path | str, project_name: str) -> PublishResult:
        """Push a workspace project's files and its signal files (data/custom/...) to the cloud."""
        workspace = Path(workspace_dir)
        project_dir = workspace / project_name
        if not (project_dir / "main.py").is_file():
            raise FileNotFoundError(f"{project_dir}: not a LEAN project (no main.py)")
        files = project_files(project_dir)
        objects = signal_objects(workspace)
        self.authenticate()
        project_id = self._find_or_create_project(project_name)
        actions = self.upload_project_files(project_id, files)
        for key, path in objects.items():
            self.upload_object(key, path.read_bytes())
        log.info(
            "published %s: project %s, %d files, %d objects",
            project_name,
            project_id,
            len(actions),
            len(objects),
        )
        return PublishResult(project_id, project_name, actions, tuple(objects))

    def _find_or_create_project(self, name: str) -> int:
        """The id of the user's project called `name`, creating it when missing."""
        for project in self.list_projects():
            if project.get("name") == name:
                return int(project["projectId"])
        return int(self.create_project(name)["projectId"])


def project_files(project_dir: Path) -> dict[str, str]:
    """A project's source files as {relative posix name: text}; no caches, results or config."""
    files: dict[str, str] = {}
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if not path.is_file() or _SKIPPED_PARTS.intersection(relative.parts):
            continue
        if path.suffix == ".pyc" or relative.as_posix() in _LOCAL_ONLY_FILES:
            continue
        try:
            files[relative.as_posix()] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: project files must be UTF-8 text ({err.reason})") from err
    return files


def signal_objects(workspace: Path) -> dict[str, Path]:
    """ObjectStore key -> file for every signal file under data/custom/signal_*, sorted by key."""
    data_dir = workspace / "data"
    objects: dict[str, Path] = {}
    for folder in SIGNAL_DATA_DIRS:
        root = data_dir / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file():
                objects[path.relative_to(data_dir).as_posix()] = path
    if not objects:
        raise FileNotFoundError(f"{data_dir}: no signal files under {', '.join(SIGNAL_DATA_DIRS)}")
    return dict(sorted(objects.items()))
