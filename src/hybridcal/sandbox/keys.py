"""Throwaway service-account keys, shaped like the JSON file Google's console hands out."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def generate_service_account(
    *,
    project_id: str = "hybridcal-sandbox",
    name: str = "hybridcal",
    token_uri: str = "https://oauth2.googleapis.com/token",  # noqa: S107 - a URL
    key_size: int = 2048,
) -> dict[str, str]:
    """A fresh RSA key and the service-account JSON around it (never reuse outside the sandbox)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    email = f"{name}@{project_id}.iam.gserviceaccount.com"
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**21 - 10**20) + 10**20),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email}",
        "universe_domain": "googleapis.com",
    }
