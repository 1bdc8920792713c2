# SPDX-License-Identifier: MIT
# http.server's ThreadingHTTPServer (a thread per connection, no epoll)
# whose handler blocks in a slow call without a timeout.
#   threading_server.py PORT
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Slow(BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(3600)  # a backend call that never returns


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Slow).serve_forever()
