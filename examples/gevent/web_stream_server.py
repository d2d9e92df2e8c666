# 001 "简单 server": the StreamServer greeting a telnet client. The client
# (nc in the tutorial) is a greenlet of the same program that prints what
# it receives; the server runs on a free port and is stopped at the end.
import gevent
from gevent import socket
from gevent.server import StreamServer


def handle(sock, address):
    sock.send(b"Hello from a telnet!\n")
    for i in range(5):
        sock.send((str(i) + "\n").encode())
    sock.close()


server = StreamServer(("127.0.0.1", 0), handle)
server.start()
c = socket.create_connection(("127.0.0.1", server.server_port))
data = b""
while True:
    chunk = c.recv(1024)
    if not chunk:
        break
    data += chunk
c.close()
print(data.decode(), end="")
server.stop()
