# 001 "Chat Server": the Flask chat room (rooms, users with a Queue, long
# polling for new messages). Templates are replaced by plain text; a user's
# repr (an address) by its uid; the set of users by a list (a set of objects
# iterates in address order); the poll's 10 s by 0.1 s; simplejson by json.
# Clients are greenlets of the same program: alice and bob join topic1,
# alice polls while bob posts, then bob polls with nothing to get.
import json

import gevent
from flask import Flask, request
from gevent import queue
from gevent.pywsgi import WSGIServer

app = Flask(__name__)
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



class Room(object):
    def __init__(self):
        self.users = []
        self.messages = []

    def backlog(self, size=25):
        return self.messages[-size:]

    def subscribe(self, user):
        if user not in self.users:
            self.users.append(user)

    def add(self, message):
        for user in self.users:
            print(user.uid)
            user.queue.put_nowait(message)
        self.messages.append(message)


class User(object):
    def __init__(self, uid):
        self.uid = uid
        self.queue = queue.Queue()


rooms = {
    "topic1": Room(),
    "topic2": Room(),
}

users = {}


@app.route("/")
def choose_name():
    return "choose a name"


@app.route("/<uid>")
def main(uid):
    return "%s: rooms %s" % (uid, " ".join(rooms.keys()))


@app.route("/<room>/<uid>")
def join(room, uid):
    user = users.get(uid, None)
    if not user:
        users[uid] = user = User(uid)
    active_room = rooms[room]
    active_room.subscribe(user)
    print("subscribe %s %s" % (room, uid))
    messages = active_room.backlog()
    return "%s in %s: %d messages" % (uid, room, len(messages))


@app.route("/put/<room>/<uid>", methods=["POST"])
def put(room, uid):
    user = users[uid]
    room = rooms[room]
    message = request.form["message"]
    room.add(":".join([uid, message]))
    return ""


@app.route("/poll/<uid>", methods=["POST"])
def poll(uid):
    try:
        msg = users[uid].queue.get(timeout=0.1)
    except queue.Empty:
        msg = []
    return json.dumps(msg)


http = WSGIServer(("127.0.0.1", 0), app, log=None)
http.start()
port = http.server_port
print(fetch(port, "/alice", show=False).decode())
print(fetch(port, "/topic1/alice", show=False).decode())
print(fetch(port, "/topic1/bob", show=False).decode())
alice = gevent.spawn(fetch, port, "/poll/alice", "POST", b"", False)
gevent.sleep(0.02)  # alice is waiting
fetch(port, "/put/topic1/bob", "POST", b"message=hello+alice", False)
print("alice got", alice.get().decode())
print("bob got", fetch(port, "/poll/bob", "POST", b"", False).decode())
print("bob got", fetch(port, "/poll/bob", "POST", b"", False).decode())
print(fetch(port, "/topic1/carol", show=False).decode())
http.stop()
