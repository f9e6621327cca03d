"""Schemathesis hooks for bidroom's API (loaded by .ci/open-data).

The resumable PATCH of a part takes raw bytes as
`application/offset+octet-stream` (the tus convention); send generated
bodies for it as plain bytes, as for `application/octet-stream`.
"""

import schemathesis
from schemathesis.transport.requests import binary_serializer

schemathesis.serializer("application/offset+octet-stream")(binary_serializer)
