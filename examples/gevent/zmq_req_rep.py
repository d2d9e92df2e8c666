# Port of seed 001 ("Gevent ZeroMQ", 实际应用): a REQ socket and a REP socket
# in two greenlets, each send/recv switching to the other (zmq.green).
# Determinism: already deterministic. Changed: the endpoint is inproc://
# (the seed's tcp://127.0.0.1:5000 could be taken), and the frames are bytes
# (Python 3).
import gevent
import zmq.green as zmq

# Global Context
context = zmq.Context()


def server():
    server_socket = context.socket(zmq.REQ)
    server_socket.bind("inproc://tutorial")

    for request in range(1, 10):
        server_socket.send(b"Hello")
        print('Switched to Server for %s' % request)
        # Implicit context switch occurs here
        server_socket.recv()


def client():
    client_socket = context.socket(zmq.REP)
    client_socket.connect("inproc://tutorial")

    for request in range(1, 10):

        client_socket.recv()
        print('Switched to Client for %s' % request)
        # Implicit context switch occurs here
        client_socket.send(b"World")


publisher = gevent.spawn(server)
client = gevent.spawn(client)

gevent.joinall([publisher, client])
