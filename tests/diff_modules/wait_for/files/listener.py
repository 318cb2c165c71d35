"""A bounded TCP listener on 127.0.0.1: greets each client, exits after 240 seconds (the play stops it sooner)."""
import os
import socket
import sys
import time

port, pidfile = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(8)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)
s.settimeout(0.5)
end = time.time() + 240
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    try:
        c.sendall(b"PLAYDIFF READY 42\n")
    finally:
        c.close()
