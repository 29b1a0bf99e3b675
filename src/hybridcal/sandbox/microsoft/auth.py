"""Entra ID's token endpoint for the client-credentials grant, and Graph's token checks.

``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials``, ``client_id``,
``scope=https://graph.microsoft.com/.default`` and either ``client_secret`` or a certificate
assertion (``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``
and an RS256 or PS256 JWT whose ``x5t``/``x5t#S256`` header names a certificate registered for
the app, with ``iss == sub == client_id``, ``aud`` the token URL, a valid ``nbf``/``exp`` and a
``jti``).
Errors carry ``AADSTS`` codes in Entra's JSON shape.

The access token is a JWT-shaped string (signed with a per-simulator HMAC key, so only the
simulator can read it) carrying ``tid``, ``appid``, ``oid`` and ``roles``: the application
permissions an admin consented to. Without consent the grant still succeeds and the token has
no roles; Graph then answers 403, which is how missing admin consent looks for real. Roles are
fixed when the token is issued (like Entra: a revoked consent bites at the next token).
Assertion times are checked against the wall clock (the signer uses it); token lifetime against
the simulator's clock so tests can age tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from hybridcal.sandbox.microsoft.errors import GraphError

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
DEFAULT_SCOPES = (f"{GRAPH_RESOURCE}/.default", f"{GRAPH_APP_ID}/.default")
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME_S = 3599
KNOWN_PERMISSIONS = frozenset(
    {
        "Calendars.Read",
        "Calendars.ReadWrite",
        "MailboxSettings.Read",
        "MailboxSettings.ReadWrite",
        "User.Read.All",
        "User.ReadBasic.All",
        "Directory.Read.All",
        "Place.Read.All",
        "OnlineMeetings.ReadWrite.All",
    }
)
_SKEW_S = 300
# JWS RSA signatures Entra accepts on client assertions; PS256's salt is the hash's size (RFC 7518)
_ASSERTION_PADDING: dict[str, Callable[[], padding.AsymmetricPadding]] = {
    "RS256": padding.PKCS1v15,
    "PS256": lambda: padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
}
_MAX_ASSERTION_LIFETIME_S = 3600 * 24


@dataclass(frozen=True)
class GraphApp:
    """What an admin copies out of the Entra portal after registering the app."""

    client_id: str
    client_secret: str
    tenant_id: str


@dataclass
class Registration:
    app: GraphApp
    service_principal_id: str
    permissions: frozenset[str]
    consented: bool
    allowed_mailboxes: frozenset[str] | None = None
    certificates: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)


@dataclass(frozen=True)
class AccessToken:
    app_id: str
    roles: frozenset[str]
    expires_at: datetime


class TokenError(Exception):
    def __init__(self, status: int, error: str, code: int, message: str) -> None:
        super().__init__(f"{status} {error} AADSTS{code}: {message}")
        self.status = status
        self.error = error
        self.code = code
        self.message = message

    def body(self, now: datetime) -> dict[str, Any]:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.code}: {self.message} Trace ID: {trace} "
            f"Correlation ID: {correlation} Timestamp: {stamp}",
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _missing(name: str) -> TokenError:
    return TokenError(
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


class TokenService:
    def __init__(
        self,
        tenant_id: str,
        domain: str,
        now: Callable[[], datetime],
        rng: random.Random,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._rng = rng
        self.tenant_id = tenant_id
        self.domain = domain
        self._now = now
        self._wall = wall_clock
        self._key = secrets.token_bytes(32)
        self._generation = 0
        self.apps: dict[str, Registration] = {}
        self.grants = 0
        self.token_url = ""

    # -- app registrations ---------------------------------------------------------------------

    def register(self, permissions: Iterable[str], *, consented: bool) -> GraphApp:
        roles = frozenset(permissions)
        unknown = roles - KNOWN_PERMISSIONS
        if unknown:
            raise ValueError(f"unknown application permissions: {sorted(unknown)}")
        app = GraphApp(self._guid(), secrets.token_urlsafe(30), self.tenant_id)
        self.apps[app.client_id] = Registration(app, self._guid(), roles, consented)
        return app

    def _guid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def registration(self, client_id: str) -> Registration:
        found = self.apps.get(client_id)
        if found is None:
            raise KeyError(f"no such app: {client_id}")
        return found

    def add_certificate(self, client_id: str, certificate_pem: bytes | str) -> str:
        """Register a certificate's public key; returns its SHA-1 thumbprint (hex)."""
        data = certificate_pem.encode() if isinstance(certificate_pem, str) else certificate_pem
        cert = x509.load_pem_x509_certificate(data)
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise TypeError("only RSA certificates are supported")
        der = cert.public_bytes(Encoding.DER)
        registration = self.registration(client_id)
        registration.certificates[_b64(hashlib.sha1(der).digest())] = key  # noqa: S324 - x5t
        registration.certificates[_b64(hashlib.sha256(der).digest())] = key
        return hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - thumbprint, not security

    def invalidate(self) -> None:
        """Every token issued so far stops working (the next Graph call gets 401)."""
        self._generation += 1

    # -- the grant -----------------------------------------------------------------------------

    def known_tenant(self, tenant: str) -> bool:
        return tenant.lower() in {self.tenant_id.lower(), self.domain.lower()}

    def grant(self, tenant: str, form: Mapping[str, str]) -> dict[str, Any]:
        if not self.known_tenant(tenant):
            raise TokenError(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )
        grant_type = form.get("grant_type")
        if not grant_type:
            raise _missing("grant_type")
        if grant_type != "client_credentials":
            raise TokenError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant_type}'.",
            )
        client_id = form.get("client_id")
        if not client_id:
            raise _missing("client_id")
        scope = form.get("scope")
        if not scope:
            raise _missing("scope")
        registration = self.apps.get(client_id)
        if registration is None:
            raise TokenError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may "
                "have sent your authentication request to the wrong tenant.",
            )
        self._check_scope(scope, tenant)
        self._check_credential(registration, tenant, form)
        return self._issue(registration)

    def _check_scope(self, scope: str, tenant: str) -> None:
        parts = scope.split()
        if len(parts) != 1 or not parts[0].endswith("/.default"):
            raise TokenError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        if parts[0] not in DEFAULT_SCOPES:
            resource = parts[0].removesuffix("/.default")
            raise TokenError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{tenant}. This can happen if the application has not been installed by the "
                "administrator of the tenant.",
            )

    def _check_credential(
        self, registration: Registration, tenant: str, form: Mapping[str, str]
    ) -> None:
        secret = form.get("client_secret")
        assertion = form.get("client_assertion")
        if secret is not None and assertion is not None:
            raise TokenError(
                400,
                "invalid_request",
                50027,
                "Only one client credential may be presented: client_secret or client_assertion.",
            )
        if secret is not None:
            if not hmac.compare_digest(secret.encode(), registration.app.client_secret.encode()):
                raise TokenError(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request "
                    "is the client secret value, not the client secret ID, for a secret added to "
                    f"app '{registration.app.client_id}'.",
                )
            return
        if assertion is None:
            raise TokenError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        if form.get("client_assertion_type") != JWT_BEARER_ASSERTION:
            raise TokenError(
                400,
                "invalid_request",
                7000219,
                f"'client_assertion_type' must be '{JWT_BEARER_ASSERTION}'.",
            )
        self._verify_assertion(registration, tenant, assertion)

    def _verify_assertion(self, registration: Registration, tenant: str, assertion: str) -> None:
        def bad(code: int, message: str) -> TokenError:
            return TokenError(401, "invalid_client", code, message)

        parts = assertion.split(".")
        if len(parts) != 3:
            raise bad(50012, "The client assertion is not a well-formed JWT.")
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except (ValueError, binascii.Error):
            raise bad(50012, "The client assertion is not a well-formed JWT.") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise bad(50012, "The client assertion is not a well-formed JWT.")
        alg = header.get("alg")
        if alg not in _ASSERTION_PADDING:  # RS256, or PS256 (what azure-identity signs with)
            raise bad(5002738, "Invalid JWT token. Unsupported signing algorithm.")
        thumb = header.get("x5t#S256") or header.get("x5t")
        # base64url, with or without its padding (azure-identity keeps the '=')
        key = registration.certificates.get(str(thumb).rstrip("="))
        if key is None:
            raise bad(
                700027,
                "Client assertion contains an invalid signature. [Reason - The key was not "
                f"found., Thumbprint of key used by client: '{thumb}']",
            )
        try:
            key.verify(
                signature,
                f"{parts[0]}.{parts[1]}".encode(),
                _ASSERTION_PADDING[str(alg)](),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise bad(700027, "Client assertion contains an invalid signature.") from None
        client_id = registration.app.client_id
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise bad(700021, "Client assertion application identifier doesn't match 'client_id'.")
        audiences = {
            self.token_url,
            f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        }
        if claims.get("aud") not in audiences:
            raise bad(
                700212,
                "No matching federated identity record found for presented assertion audience.",
            )
        if not claims.get("jti"):
            raise bad(700023, "Client assertion has no 'jti' claim.")
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
        now = self._wall()
        if (
            not isinstance(exp, int | float)
            or not isinstance(nbf, int | float)
            or exp < now - _SKEW_S
            or nbf > now + _SKEW_S
            or exp - nbf > _MAX_ASSERTION_LIFETIME_S
        ):
            raise bad(700024, "Client assertion is not within its valid time range.")

    def _issue(self, registration: Registration) -> dict[str, Any]:
        now = int(self._now().timestamp())
        roles = sorted(registration.permissions) if registration.consented else []
        header = {"typ": "JWT", "alg": "HS256", "kid": "hybridcal-sandbox"}
        claims: dict[str, Any] = {
            "aud": GRAPH_RESOURCE,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_S,
            "appid": registration.app.client_id,
            "idtyp": "app",
            "oid": registration.service_principal_id,
            "sub": registration.service_principal_id,
            "tid": self.tenant_id,
            "ver": "1.0",
            "uti": _b64(secrets.token_bytes(16)),
            "sbx": self._generation,
        }
        if roles:
            claims["roles"] = roles
        signed = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
        mac = hmac.new(self._key, signed.encode(), hashlib.sha256).digest()
        self.grants += 1
        return {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_S,
            "ext_expires_in": TOKEN_LIFETIME_S,
            "access_token": f"{signed}.{_b64(mac)}",
        }

    # -- Graph side ----------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> AccessToken:
        if not authorization:
            raise _unauthenticated("Access token is empty.")
        scheme, _, value = authorization.strip().partition(" ")
        parts = value.strip().split(".")
        if scheme.lower() != "bearer" or len(parts) != 3:
            raise _unauthenticated("CompactToken parsing failed with error code: 80049217")
        signed = f"{parts[0]}.{parts[1]}".encode()
        expected = hmac.new(self._key, signed, hashlib.sha256).digest()
        try:
            valid = hmac.compare_digest(_unb64(parts[2]), expected)
            claims = json.loads(_unb64(parts[1])) if valid else None
        except (ValueError, binascii.Error):
            claims = None
        if not isinstance(claims, dict):
            raise _unauthenticated("Access token validation failure. Invalid signature.")
        if claims.get("tid") != self.tenant_id or claims.get("aud") != GRAPH_RESOURCE:
            raise _unauthenticated("Access token validation failure. Invalid audience.")
        if claims.get("sbx") != self._generation or claims.get("appid") not in self.apps:
            raise _unauthenticated("Access token has been revoked.")
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        if expires <= self._now():
            raise _unauthenticated("Lifetime validation failed, the token is expired.")
        return AccessToken(str(claims["appid"]), frozenset(claims.get("roles", [])), expires)


def _unauthenticated(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        headers={
            "WWW-Authenticate": 'Bearer realm="", authorization_uri='
            '"https://login.microsoftonline.com/common/oauth2/authorize", '
            f'client_id="{GRAPH_APP_ID}"'
        },
    )
