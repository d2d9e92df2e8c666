# 001 "Websockets": gevent-websocket's WebSocketHandler on pywsgi, the
# WebSocketApp sending {"x": n, "y": random 1..5} every 0.5 s. random is a
# fixed table and 0.5 s is 0.05 s; the app stops after five messages. The
# browser is a greenlet with a minimal WebSocket client that prints what it
# receives.
import base64
import json
import os

from gevent import pywsgi, sleep, socket
from geventwebsocket.handler import WebSocketHandler

RANDOM = [3, 1, 4, 1, 5]


class WebSocketApp(object):
    """Send random data to the websocket"""

    def __call__(self, environ, start_response):
        ws = environ["wsgi.websocket"]
        x = 0
        while x < 5:
            data = json.dumps({"x": x, "y": RANDOM[x]})
            ws.send(data)
            x += 1
            sleep(0.05)


server = pywsgi.WSGIServer(("127.0.0.1", 0), WebSocketApp(), handler_class=WebSocketHandler, log=None)
server.start()
c = socket.create_connection(("127.0.0.1", server.server_port))
key = base64.b64encode(os.urandom(16)).decode()
c.sendall(("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
f = c.makefile("rb")
print(f.readline().decode().strip())  # HTTP/1.1 101 Switching Protocols
while f.readline() != b"\r\n":
    pass
for _ in range(5):
    b0, b1 = f.read(2)
    print("message:", f.read(b1 & 0x7F).decode())
f.close()
c.close()
server.stop(timeout=1)
