"""A gevent TCP echo server, the gevent side of tcp_echo (scripts/bench.sh).

    /usr/bin/python3 echo_server.py PORT

Listens on 127.0.0.1:PORT; a greenlet per connection sends back every byte it
receives, until the peer closes. Runs until killed.
"""
import sys

from gevent.server import StreamServer


def echo(sock, address):
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            sock.sendall(data)
    except OSError:  # the client went away mid-message: the end of a run
        pass
    finally:
        sock.close()


if __name__ == "__main__":
    StreamServer(("127.0.0.1", int(sys.argv[1])), echo, backlog=1024).serve_forever()
