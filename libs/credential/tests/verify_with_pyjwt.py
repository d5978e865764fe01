"""Verify a Zhongtai e-certificate with PyJWT, knowing only the JWK Set.

Usage: verify_with_pyjwt.py JWKS_JSON TOKEN

Prints the verified payload as JSON and exits 0; exits 3 with the reason
on stderr when PyJWT rejects the token. Any other exit is a broken setup.
"""

import json
import sys

import jwt

REJECTED = 3


def main() -> int:
    jwks_json, token = sys.argv[1], sys.argv[2]
    key_set = jwt.PyJWKSet.from_json(jwks_json)
    try:
        kid = jwt.get_unverified_header(token)["kid"]
        key = key_set[kid]
        payload = jwt.decode(
            token, key, algorithms=["EdDSA"], options={"verify_aud": False}
        )
    except (jwt.PyJWTError, KeyError) as error:
        print(f"rejected: {type(error).__name__}: {error}", file=sys.stderr)
        return REJECTED
    print(json.dumps(payload, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
