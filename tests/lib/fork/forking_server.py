# SPDX-License-Identifier: MIT
# socketserver.ForkingTCPServer: one child per connection. Each handler
# calls a backend that never answers and blocks in recv() on it, without
# reading its own client. TIMEOUT "none" blocks forever (the bug); a number
# is the fix doctor names: a timeout on the blocking call
# (socket.settimeout), after which handle() returns and socketserver
# closes the client's connection.
#   forking_server.py PORT BACKEND_PORT TIMEOUT
import socket
import socketserver
import sys

port, backend = int(sys.argv[1]), int(sys.argv[2])
timeout = None if sys.argv[3] == "none" else float(sys.argv[3])


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        b = socket.create_connection(("127.0.0.1", backend))
        b.settimeout(timeout)
        try:
            b.recv(1)
        except socket.timeout:
            pass
        finally:
            b.close()


class Server(socketserver.ForkingTCPServer):
    allow_reuse_address = True
    max_children = 64


Server(("127.0.0.1", port), Handler).serve_forever()
