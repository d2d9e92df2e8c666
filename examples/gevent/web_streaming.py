# 001 "Streaming 服务器": the WSGI application written as a generator that
# yields "<p>Hello" and then "World</p>"; pywsgi sends each as one chunk.
# (The tutorial yields str, which Python 3's WSGI refuses: bytes here.)
from gevent.pywsgi import WSGIServer
from gevent import socket


# A small HTTP/1.1 client (GET or POST with Connection: close): prints the
# status line, Content-Type and the body chunk by chunk.

def fetch(port, path, method="GET", body=b"", show=True):
    c = socket.create_connection(("127.0.0.1", port))
    head = "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" % (method, path)
    if method == "POST":
        head += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n" % len(body)
    c.sendall(head.encode() + b"\r\n" + body)
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    c.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict((k.lower(), v) for k, v in (l.split(": ", 1) for l in lines[1:]))
    chunks = []
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            chunks.append(rest[:n])
            rest = rest[n + 2:]
    else:
        chunks.append(rest)
    if show:
        print(lines[0])
        print("Content-Type:", headers.get("content-type"))
        for ch in chunks:
            print("chunk:", ch.decode())
    return b"".join(chunks)



def application(environ, start_response):
    status = "200 OK"
    headers = [("Content-Type", "text/html")]
    start_response(status, headers)
    yield b"<p>Hello"
    yield b"World</p>"


server = WSGIServer(("127.0.0.1", 0), application, log=None)
server.start()
fetch(server.server_port, "/")
server.stop()
