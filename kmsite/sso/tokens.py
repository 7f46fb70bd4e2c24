"""Checks of an ID token (OpenID Connect Core 1.0, section 3.1.3.7).

mozilla-django-oidc checks the signature and the nonce; GovKM also requires
what the specification requires of a relying party: the issuer is the
configured one, the audience holds our client id (and ``azp`` names us when
there are several audiences), ``exp`` has not passed and ``iat``/``nbf`` are
not in the future (within the configured clock skew), and the token is
signed by one of the provider's published keys with an allowed asymmetric
algorithm. Each failure is a ``Refusal`` whose code says which check failed.
"""

import jwt
import requests

from .errors import Refusal

REQUIRED = ["iss", "sub", "aud", "exp", "iat"]


def signing_key(token, jwks_uri, algorithms, timeout):
    """The provider's published key that ``token`` names (its ``kid``)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise Refusal("invalid", f"ID token header: {exc}") from exc
    if header.get("alg") not in algorithms:
        raise Refusal("signature", f"algorithm {header.get('alg')!r} is not one of {sorted(algorithms)}")
    try:
        response = requests.get(jwks_uri, timeout=timeout)
        response.raise_for_status()
        keys = response.json()["keys"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise Refusal("unreachable", f"provider keys {jwks_uri}: {exc}") from exc
    for jwk in keys:
        if jwk.get("kid") == header.get("kid") and jwk.get("alg", header["alg"]) == header["alg"]:
            try:
                return jwt.PyJWK(jwk), header["alg"]
            except jwt.PyJWTError as exc:
                raise Refusal("signature", f"unusable key {jwk.get('kid')!r}: {exc}") from exc
    raise Refusal("signature", f"no published key with kid {header.get('kid')!r}")


def verify_id_token(token, *, key, algorithm, issuer, client_id, nonce, leeway):
    """The claims of ``token``, or a ``Refusal`` naming the check it failed."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[algorithm], audience=client_id, issuer=issuer, leeway=leeway,
            options={"require": REQUIRED, "verify_signature": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Refusal("expired", str(exc)) from exc
    except (jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError) as exc:
        raise Refusal("not_yet_valid", str(exc)) from exc
    except jwt.InvalidAudienceError as exc:
        raise Refusal("audience", str(exc)) from exc
    except jwt.InvalidIssuerError as exc:
        raise Refusal("issuer", str(exc)) from exc
    except jwt.InvalidSignatureError as exc:
        raise Refusal("signature", str(exc)) from exc
    except jwt.MissingRequiredClaimError as exc:
        raise Refusal("invalid", str(exc)) from exc
    except jwt.PyJWTError as exc:
        raise Refusal("invalid", str(exc)) from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise Refusal("audience", f"several audiences and azp {claims.get('azp')!r} is not us")
    if nonce is not None and claims.get("nonce") != nonce:
        raise Refusal("nonce", "the token's nonce is not the one this sign-in sent")
    return claims
