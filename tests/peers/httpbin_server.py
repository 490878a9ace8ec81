"""httpbin (the reference HTTP test service) on 127.0.0.1 in werkzeug's threaded server.

Run as a script: prints ``PORT <n>`` once listening, then serves until killed.
"""

from __future__ import annotations

import logging
import sys
import warnings

warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)

from httpbin import app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

server = make_server("127.0.0.1", 0, app, threaded=True)
print(f"PORT {server.port}", flush=True)
sys.stderr.close()
server.serve_forever()
