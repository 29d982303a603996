"""A tiny stand-in for the Hugging Face Hub's HTTP API, on 127.0.0.1, for push tests.

It implements only what ``curate push`` calls (create repo, branches, list files, download a file,
preupload, commit) and records every commit, so tests can check the exact files and paths sent.
Everything above the HTTP boundary is the real ``huggingface_hub`` client.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse


class FakeHub:
    def __init__(self):
        self.repos: dict[str, dict[str, bytes]] = {}  # "org/name@branch" -> files
        self.commits: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.private: dict[str, bool] = {}
        self.validated: list[dict] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=b"", headers=None, content_type="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_HEAD(self):
                self.do_GET()

            def do_GET(self):
                path = unquote(urlparse(self.path).path)
                hub.requests.append((self.command, path))
                match = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?", path)
                if match:
                    files = hub.repos.get(f"{match[1]}@{match[2]}")
                    if files is None:
                        return self._send(
                            404, {"error": "not found"}, {"X-Error-Code": "RepoNotFound"}
                        )
                    listing = [
                        {
                            "type": "file",
                            "path": p,
                            "size": len(b),
                            "oid": hashlib.sha1(b).hexdigest(),
                        }
                        for p, b in sorted(files.items())
                    ]
                    return self._send(200, listing)
                match = re.fullmatch(r"/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
                if match:
                    files = hub.repos.get(f"{match[1]}@{match[2]}", {})
                    if match[3] not in files:
                        return self._send(
                            404, {"error": "entry not found"}, {"X-Error-Code": "EntryNotFound"}
                        )
                    data = files[match[3]]
                    etag = hashlib.sha1(data).hexdigest()
                    return self._send(
                        200, data, {"ETag": f'"{etag}"', "X-Repo-Commit": "0" * 40}, "text/plain"
                    )
                return self._send(404, {"error": f"unhandled GET {path}"})

            def do_POST(self):
                path = unquote(urlparse(self.path).path)
                hub.requests.append(("POST", path))
                body = self._body()
                if path == "/api/repos/create":
                    payload = json.loads(body)
                    repo = f"{payload.get('organization') or 'me'}/{payload['name']}"
                    hub.repos.setdefault(f"{repo}@main", {})
                    hub.private[repo] = payload.get("visibility") == "private" or bool(
                        payload.get("private")
                    )
                    return self._send(200, {"url": f"{hub.url}/datasets/{repo}", "name": repo})
                if path == "/api/validate-yaml":
                    hub.validated.append(json.loads(body))
                    return self._send(200, {"errors": [], "warnings": []})
                match = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/branch/([^/]+)", path)
                if match:
                    hub.repos.setdefault(
                        f"{match[1]}@{match[2]}", dict(hub.repos.get(f"{match[1]}@main", {}))
                    )
                    return self._send(200, {})
                match = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/preupload/([^/]+)", path)
                if match:
                    files = json.loads(body)["files"]
                    return self._send(
                        200,
                        {
                            "files": [
                                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                for f in files
                            ]
                        },
                    )
                match = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/commit/([^/]+)", path)
                if match:
                    key = f"{match[1]}@{match[2]}"
                    files = hub.repos.setdefault(key, {})
                    added, deleted, summary = {}, [], None
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item["key"] == "header":
                            summary = item["value"]["summary"]
                        elif item["key"] == "file":
                            added[item["value"]["path"]] = base64.b64decode(
                                item["value"]["content"]
                            )
                        elif item["key"] in ("deletedFile", "deletedFolder"):
                            deleted.append(item["value"]["path"])
                    for name in deleted:
                        files.pop(name, None)
                    files.update(added)
                    hub.commits.append(
                        {
                            "repo": key,
                            "summary": summary,
                            "added": added,
                            "deleted": deleted,
                            "authorization": self.headers.get("Authorization"),
                        }
                    )
                    oid = hashlib.sha1(json.dumps(sorted(files)).encode()).hexdigest()
                    return self._send(
                        200,
                        {
                            "commitUrl": f"{hub.url}/datasets/{match[1]}/commit/{oid}",
                            "commitOid": oid,
                        },
                    )
                return self._send(404, {"error": f"unhandled POST {path}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
