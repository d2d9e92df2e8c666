# 001 "Long Polling 长轮询": a producer fills a Queue, the endpoint streams
# what it gets (get with a timeout, Empty ignored). A client greenlet reads
# three lines and hangs up. The producer's 1 s is 0.05 s; the json module
# replaces simplejson.
import json

import gevent
from gevent import socket
from gevent.pywsgi import WSGIServer
from gevent.queue import Empty, Queue

data_source = Queue()


def producer():
    while True:
        data_source.put_nowait("Hello World")
        gevent.sleep(0.05)


def ajax_endpoint(environ, start_response):
    status = "200 OK"
    headers = [("Content-Type", "application/json")]
    start_response(status, headers)
    while True:
        try:
            datum = data_source.get(timeout=5)
            yield (json.dumps(datum) + "\n").encode()
        except Empty:
            pass


p = gevent.spawn(producer)
server = WSGIServer(("127.0.0.1", 0), ajax_endpoint, log=None)
server.start()
c = socket.create_connection(("127.0.0.1", server.server_port))
c.sendall(b"GET /poll HTTP/1.1\r\nHost: localhost\r\n\r\n")
f = c.makefile("rb")
while f.readline() != b"\r\n":  # the head
    pass
for i in range(3):
    f.readline()  # the chunk's size
    print("line %d: %s" % (i, f.readline().decode().strip()))
    f.readline()  # the chunk's CRLF
f.close()
c.close()
server.stop(timeout=1)
p.kill()
