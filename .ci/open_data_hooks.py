"""Schemathesis hooks for bidroom's API (loaded by .ci/open-data).

The resumable PATCH of a part takes raw bytes as
`application/offset+octet-stream` (the tus convention); send generated
bodies for it as plain bytes, as for `application/octet-stream`.
"""

import ast
import threading

import schemathesis
from schemathesis.transport.requests import binary_serializer

# Hypothesis describes a filter's lambda by parsing its source file with
# `ast.parse`. CPython 3.11 keeps the AST builder's recursion counter per
# interpreter, not per thread, so two of schemathesis' workers parsing at
# once can corrupt it: "SystemError: AST constructor recursion depth
# mismatch" (cpython gh-106905; seen once on GET /api/v1/log/consistency
# with -w 2). One parse at a time.
_PARSE_LOCK = threading.Lock()
_parse = ast.parse


def _parse_one_at_a_time(*args, **kwargs):
    with _PARSE_LOCK:
        return _parse(*args, **kwargs)


ast.parse = _parse_one_at_a_time

schemathesis.serializer("application/offset+octet-stream")(binary_serializer)
