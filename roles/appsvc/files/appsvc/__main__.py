import configparser
import http.server
import json
import socket
import sys


def cache_version(address):
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2) as s:
            s.sendall(b"version\r\n")
            return s.recv(256).decode().strip()
    except OSError as e:
        return "unavailable: %s" % e


def main():
    conf = configparser.ConfigParser()
    conf.read(sys.argv[1])
    app = conf["appsvc"]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(
                {"service": "appsvc", "release": app["release"], "cache": cache_version(app["cache"])}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((app["listen"], int(app["port"])), Handler)
    server.serve_forever()


main()
