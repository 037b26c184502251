"""A small OpenID Connect provider run inside a test (a thread serving http.server), for single sign-on.

No discovery document: the product is given each endpoint, as a firm's settings would give them.

- ``/authorize``: the browser's visit. Signs in ``provider.person`` (the claims the test set) at once and
  sends the browser back to ``redirect_uri`` with a one-time code and the ``state`` it was given.
- ``/token``: the product's server exchanges the code (client id and secret, the same redirect URI, the
  PKCE verifier) for an access token and an ID token signed RS256 with a key made for the test run,
  carrying the nonce it was given at ``/authorize``.
- ``/jwks``: that key's public half. ``/userinfo``: the person's claims for the access token.

``tamper`` changes the next ID token (another nonce, audience or key) to test the product's checks;
``down`` makes the token endpoint fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "jpdit-complaints"
CLIENT_SECRET = "s3cret-for-the-test-provider"
KEY_ID = "test-key-1"


class Provider:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.person: dict = {}
        self.tamper: dict = {}
        self.down = False
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.signed_out: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.issuer}{path}"

    def start(self) -> Provider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        self.person, self.tamper, self.down = {}, {}, False
        self.codes.clear()
        self.tokens.clear()
        self.signed_out.clear()

    # --- what each endpoint does ----------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], dict]:
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return 400, {}, {"error": "invalid_request"}
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"person": dict(self.person), **query}
        back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {"Location": back}, {}

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, str], dict]:
        if self.down:
            return 500, {}, {"error": "server_error"}
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if (
            grant is None
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("redirect_uri") != grant["redirect_uri"]
        ):
            return 400, {}, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if grant.get("code_challenge") != challenge:
            return 400, {}, {"error": "invalid_grant", "error_description": "PKCE"}
        person = grant["person"]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": person["sub"],
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.get("nonce"),
            "amr": person.get("amr", ["pwd", "mfa"]),
            **{name: value for name, value in self.tamper.items() if name != "key"},
        }
        key = self.other_key if self.tamper.get("key") == "other" else self.key
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": KEY_ID})
        access_token = secrets.token_urlsafe(16)
        self.tokens[access_token] = person
        return 200, {}, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}

    def userinfo(self, authorization: str) -> tuple[int, dict[str, str], dict]:
        person = self.tokens.get(authorization.removeprefix("Bearer "))
        if person is None:
            return 401, {}, {"error": "invalid_token"}
        return 200, {}, {name: value for name, value in person.items() if name != "amr"}

    def jwks(self) -> tuple[int, dict[str, str], dict]:
        public = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return 200, {}, {"keys": [{**public, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]}

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                query = {name: values[0] for name, values in parse_qs(parts.query).items()}
                if parts.path == "/authorize":
                    self.answer(*provider.authorize(query))
                elif parts.path == "/jwks":
                    self.answer(*provider.jwks())
                elif parts.path == "/userinfo":
                    self.answer(*provider.userinfo(self.headers.get("Authorization", "")))
                elif parts.path == "/logout":
                    provider.signed_out.append(query)
                    self.answer(200, {}, {})
                else:
                    self.answer(404, {}, {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {name: values[0] for name, values in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path == "/token":
                    self.answer(*provider.token(form))
                else:
                    self.answer(404, {}, {})

            def answer(self, status: int, headers: dict[str, str], body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args):  # quiet: the test's output is the product's
                pass

        return Handler
