"""A bounded HTTP server on 127.0.0.1 for the uri and get_url cases.

GET /files/NAME serves a file of the case; /status/CODE answers with CODE; /redirect sends
a 302 to /files/hello.txt; any method on /echo answers with the request as JSON. Headers
that would differ between runs (Date, Server) are fixed. Exits after 240 seconds (the play stops it sooner).
"""
import json
import os
import sys
import threading
import http.server

port, pidfile, root = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def version_string(self):
        return "playdiff"

    def date_time_string(self, timestamp=None):
        return "Thu, 01 Jan 2026 00:00:00 GMT"

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype="text/plain", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        path = self.path.split("?")[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if path.startswith("/files/"):
            name = os.path.basename(path)
            full = os.path.join(root, name)
            if not os.path.isfile(full):
                return self.reply(404, b"no such file\n")
            with open(full, "rb") as f:
                data = f.read()
            extra = []
            if name == "named.txt":
                extra.append(("Content-Disposition", 'attachment; filename="from-header.txt"'))
            return self.reply(200, data, "application/octet-stream", extra)
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            return self.reply(code, ("status %d\n" % code).encode())
        if path == "/redirect":
            return self.reply(302, b"", extra=[("Location", "/files/hello.txt")])
        if path == "/echo":
            seen = {
                "method": self.command,
                "path": self.path,
                "body": body,
                "content_type": self.headers.get("Content-Type"),
                "x_playdiff": self.headers.get("X-Playdiff"),
                "authorization": self.headers.get("Authorization"),
            }
            data = json.dumps(seen, sort_keys=True).encode()
            return self.reply(200, data, "application/json", [("X-Echo", "yes")])
        return self.reply(404, b"unknown path\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)
threading.Timer(240, server.shutdown).start()
server.serve_forever()
