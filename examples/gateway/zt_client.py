#!/usr/bin/env python3
"""Calls a Zhongtai gateway capability with a signed request (ZT1-HMAC-SHA256).

Standard library only. Signs and sends one request and prints
{"status": ..., "headers": {...}, "body": ...} as JSON on stdout:

    python3 zt_client.py --url http://127.0.0.1:8080 --app-key=K --secret=S \
        [--header k:v] METHOD PATH [JSON_BODY]

PATH may include a query string. With --print-canonical nothing is sent: the
canonical request, the string signed, and the headers are printed instead.
The scheme is specified in docs/gateway.md, "Signing requests"; import
sign() to use it from other Python code.
"""

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ALGORITHM = "ZT1-HMAC-SHA256"
ALWAYS_SIGNED = ("content-type", "host")
UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def _percent_decode(text):
    data = text.encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(data):
        pair = data[i + 1 : i + 3]
        if data[i] == ord("%") and len(pair) == 2 and all(b in HEX_DIGITS for b in pair):
            out.append(int(pair, 16))
            i += 3
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def _reencode(text):
    return "".join(
        chr(b) if b in UNRESERVED else "%%%02X" % b for b in _percent_decode(text)
    )


def canonical_query(query):
    """Parameters decoded and re-encoded per RFC 3986, sorted by name then value."""
    pairs = []
    for part in (query or "").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_reencode(name), _reencode(value)))
    pairs.sort()
    return "&".join("%s=%s" % pair for pair in pairs)


def _collapse(value):
    return " ".join(w for w in value.replace("\t", " ").split(" ") if w)


def canonical_request(method, path, query, headers, signed_names, timestamp, nonce, body):
    """The text that is signed; headers maps lowercase names to values."""
    lines = [ALGORITHM, method.upper(), path, canonical_query(query)]
    lines += ["%s:%s" % (name, _collapse(headers[name])) for name in signed_names]
    lines += [";".join(signed_names), str(timestamp), nonce, hashlib.sha256(body).hexdigest()]
    return "\n".join(lines)


def sign(app_key, secret, method, path, query, headers, body, timestamp=None, nonce=None):
    """The X-Zt-* headers to add, and the canonical request they sign.

    secret is the secret text exactly as issued (its UTF-8 bytes are the HMAC
    key); headers maps names to values and is signed in full (host and
    content-type always, the others listed in X-Zt-Signed-Headers); body is
    bytes. Returns (headers_to_add, canonical_request).
    """
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    nonce = nonce or secrets.token_urlsafe(24)
    lowered = {name.lower(): str(value) for name, value in headers.items()}
    lowered = {n: v for n, v in lowered.items() if not n.startswith("x-zt-")}
    extra = sorted(n for n in lowered if n not in ALWAYS_SIGNED)
    signed_names = sorted(lowered)
    canonical = canonical_request(method, path, query, lowered, signed_names, timestamp, nonce, body)
    digest = hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).digest()
    added = {
        "X-Zt-App-Key": app_key,
        "X-Zt-Timestamp": str(timestamp),
        "X-Zt-Nonce": nonce,
        "X-Zt-Signature": base64.b64encode(digest).decode("ascii"),
    }
    if extra:
        added["X-Zt-Signed-Headers"] = ";".join(extra)
    return added, canonical


def _parse_args(argv):
    parser = argparse.ArgumentParser(description="Send one signed request to the Zhongtai gateway.")
    parser.add_argument("--url", required=True, help="gateway base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--app-key", required=True)
    parser.add_argument("--secret", required=True, help="the app secret text as issued (write --secret=S: a secret may start with -)")
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                        help="a further header to send and sign (repeatable)")
    parser.add_argument("--timestamp", type=int, help="Unix seconds (default: now)")
    parser.add_argument("--nonce", help="16..64 of A-Z a-z 0-9 _ - (default: random)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds")
    parser.add_argument("--print-canonical", action="store_true",
                        help="print the canonical request and headers instead of sending")
    parser.add_argument("method")
    parser.add_argument("path", help="path, optionally with ?query")
    parser.add_argument("body", nargs="?", help="JSON request body")
    return parser.parse_args(argv)


def main(argv=None):
    args = _parse_args(argv)
    base = urllib.parse.urlsplit(args.url)
    if base.scheme not in ("http", "https") or not base.netloc:
        sys.exit("--url must be http(s)://host[:port]")
    path, _, query = args.path.partition("?")
    if not path.startswith("/"):
        sys.exit("PATH must start with /")
    full_path = base.path.rstrip("/") + path
    body = b""
    headers = {"Host": base.netloc}
    if args.body is not None:
        try:
            json.loads(args.body)
        except ValueError as error:
            sys.exit("JSON_BODY is not valid JSON: %s" % error)
        body = args.body.encode("utf-8")
        headers["Content-Type"] = "application/json"
    for item in args.header:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            sys.exit("--header must be NAME:VALUE, got %r" % item)
        headers[name.strip()] = value.strip()

    added, canonical = sign(args.app_key, args.secret, args.method, full_path, query or None,
                            headers, body, args.timestamp, args.nonce)
    headers.update(added)
    if args.print_canonical:
        json.dump({"canonical_request": canonical, "headers": headers}, sys.stdout,
                  ensure_ascii=False, indent=2)
        print()
        return 0

    url = urllib.parse.urlunsplit((base.scheme, base.netloc, full_path, query, ""))
    request = urllib.request.Request(url, data=body if body else None, method=args.method.upper(),
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            status, reply_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, reply_headers, raw = error.code, error.headers, error.read()
    except urllib.error.URLError as error:
        sys.exit("request failed: %s" % error.reason)
    text = raw.decode("utf-8", errors="replace")
    try:
        reply = json.loads(text) if text else None
    except ValueError:
        reply = text
    json.dump({"status": status, "headers": dict(reply_headers.items()), "body": reply},
              sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
