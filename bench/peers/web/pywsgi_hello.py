"""gevent's pywsgi serving the tutorial's application_1, the gevent side of
http_hello (bench/peers/web/run.sh drives it with wrk).

    /usr/bin/python3 pywsgi_hello.py PORT
"""
import sys

from gevent.pywsgi import WSGIServer


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!"]


if __name__ == "__main__":
    WSGIServer(("127.0.0.1", int(sys.argv[1])), application, log=None, backlog=1024).serve_forever()
