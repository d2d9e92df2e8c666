/* grove/transport.h - nodes: actors across processes and machines.
 *
 * A node is this thread's actor system made reachable over ZeroMQ: one
 * ROUTER socket, bound to the endpoint given, connected to the peers named.
 * Once nodes are connected, grove_send / grove_call / grove_reply /
 * grove_monitor / grove_link_actors work on refs of actors on other nodes
 * exactly as on local ones: a ref carries its node (grove_ref.node, the
 * node name's 32-bit id; 0 means this node). Messages cross as the same
 * tag + msgpack body the sender built; docs/protocol.md gives the wire
 * format (any language with ZeroMQ and msgpack can be a peer).
 *
 * Failure semantics (see docs/transport.md): delivery between two live
 * nodes is in order and not lost; a message that cannot be routed is an
 * error code to the sender (GROVE_EHOSTUNREACH for a node that is not
 * connected) or a counted dead letter with the reason; a peer that stays
 * silent for heartbeat_timeout is declared down: monitors of its actors get
 * a down message with reason GROVE_EXIT_NOCONNECTION, links propagate that
 * exit, calls to it fail with GROVE_EHOSTUNREACH. When it comes back (same
 * name), it is up again; refs to its old actors stay dead.
 *
 * Security: without CURVE keys anybody who can reach the endpoint can send
 * to every actor. So a cluster's node (seeds, mesh, or launched by
 * grove_cluster_start) on an address that is not loopback starts only with
 * CURVE keys (curve_public/curve_secret or curve_keyfile) or with
 * allow_open set; otherwise GROVE_EINSECURE (docs/transport.md, "Security
 * across machines"). A plain node is warned once. Loopback and ipc:// stay
 * open by default.
 */
#ifndef GROVE_TRANSPORT_H
#define GROVE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actor.h"
#include "supervisor.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_node_opts {
  double heartbeat_interval; /* seconds between heartbeats (0: 0.5) */
  double heartbeat_timeout;  /* a peer silent this long is down (0: 2.5) */
  double connect_timeout;    /* grove_node_connect's wait for the handshake (0: 5) */
  size_t max_message;        /* bytes: a larger frame or envelope is dropped, counted (0: 16 MiB) */
  /* ZeroMQ high-water marks, in frames (0: max(1000, window / 64), so that
   * the window, in bytes, is what binds). */
  int sndhwm, rcvhwm;
  /* CURVE: this node's keypair (Z85, 40 characters each; grove_curve_keypair
   * makes one). Set both to encrypt every link of this node. */
  const char *curve_public;
  const char *curve_secret;
  /* The public key of the peers this node connects to, when
   * grove_node_connect_ex is not given one (a cluster sharing one keypair:
   * the same as curve_public). */
  const char *curve_server_key;
  /* NULL-terminated list of Z85 public keys allowed to connect to this
   * node; NULL: any peer that completes the CURVE handshake with our public
   * key (i.e. knows it). */
  const char *const *curve_allowed;
  /* Flow control: the link window this node grants each peer, in bytes
   * (0: 16 MiB). A peer sends messages to this node only while what this
   * node has not yet processed of them fits in the window; what a node
   * holds in flight for a peer is bounded by the window that peer grants
   * (docs/transport.md, "Backpressure"). */
  size_t window;
  /* Membership (docs/transport.md, "Clusters beyond one machine"). Seeds:
   * a NULL-terminated list of nodes to join through, each "endpoint" or
   * "name@endpoint" (this node's own is skipped, so every node may be given
   * the same list). The node connects to them, learns from them every
   * member they know and connects to those too (the full mesh), and keeps
   * trying its seeds for as long as it runs. Copied by grove_node_start. */
  const char *const *seeds;
  /* Connect to every member learnt, also without seeds (a node with seeds
   * does). A node without either answers and relays membership but
   * connects only where it is told to. */
  bool mesh;
  /* The endpoint peers are told to connect to (hellos, membership); NULL:
   * the one bound. Set it when binding a wildcard (tcp://0.0.0.0:P,
   * tcp://[*]:P and the like): such an endpoint is never passed on. At most
   * 255 bytes. */
  const char *advertise;
  /* Members learnt from others and not connected (yet, or any more) at most
   * (0: 1024); more are refused and counted (members_refused). */
  size_t max_members;
  /* Seconds a member that is down, or learnt and never reached, stays
   * listed while this node tries to reach it (0: 30); seeds stay always. */
  double member_forget;
  /* CURVE keys from a key file (grove_curve_keyfile_load: czmq's zcert
   * secret certificate), when curve_public and curve_secret are NULL. With
   * it, curve_server_key defaults to the public key loaded (a cluster
   * sharing one keypair). Read by grove_node_start only. */
  const char *curve_keyfile;
  /* Security across machines: a cluster's node (seeds or mesh set, or
   * started by grove_cluster_join) that would bind, advertise, seed or
   * connect to an address that is not loopback (tcp:// other than
   * 127.0.0.0/8, ::1 and "localhost"; ipc:// and inproc:// are loopback)
   * without CURVE is refused (GROVE_EINSECURE, and an error line saying
   * why), unless this is set: the user says it may run open. A plain node
   * is warned once instead (and not with this set). */
  bool allow_open;
  /* Observability (grove/observe.h, docs/observability.md), off by
   * default. introspect: register the introspection service
   * ("grove.introspect") at start, as grove_introspect_start does. On a
   * CURVE node only the peers whose public key (Z85) is in introspect_keys
   * (NULL-terminated) get answers; NULL: only peers that hold this node's
   * own keypair (curve_public). The list is copied. */
  bool introspect;
  const char *const *introspect_keys;
  /* "host:port" (e.g. "127.0.0.1:9464"; port 0 picks one): serve Prometheus
   * metrics there (grove_metrics_start) while the node runs. NULL: off. A
   * bind failure fails grove_node_start. */
  const char *metrics_endpoint;
} grove_node_opts;

/* Start this thread's node: bind a ROUTER to endpoint ("tcp://127.0.0.1:5555",
 * "tcp://127.0.0.1:0" (port picked: see grove_node_endpoint), "ipc:///path").
 * name (1..63 bytes, unique in the cluster) identifies the node to its
 * peers. opts may be NULL. With several hubs (grove_hubs_start) the node
 * serves the actors of every hub, and the calls below work from a greenlet
 * of any hub (they run on the node's hub; from a hub's own context they
 * return GROVE_EPERM): docs/actors.md, "The node spans the hubs".
 * Returns 0, GROVE_EEXIST (a node runs already on this hub or on another
 * hub of the group),
 * GROVE_EINVAL, GROVE_EADDRINUSE, or another ZeroMQ error (negated errno). */
int grove_node_start(const char *name, const char *endpoint, const grove_node_opts *opts);

/* Say goodbye to the peers (they see this node down at once, with reason
 * GROVE_EXIT_NOCONNECTION for its actors), close the socket, uninstall the
 * transport. Remote calls in progress fail with GROVE_EHOSTUNREACH. Returns 0
 * or GROVE_ENOENT (no node). A running node keeps grove_hub_close from
 * succeeding (GROVE_EBUSY) until it is stopped. A process that returns from
 * main or calls exit() with the calling thread's node running gets it
 * stopped at exit, after a linger of at most heartbeat_timeout in which the
 * node flushes its buffers and waits for its peers to confirm what it sent;
 * what it could not deliver or get confirmed is counted and reported on
 * stderr (docs/transport.md, "What happens at exit"). */
int grove_node_stop(void);

const char *grove_node_name(void);     /* NULL when no node runs */
const char *grove_node_endpoint(void); /* the endpoint actually bound */

/* The id a node's refs carry: FNV-1a 32 of its name (never 0). */
uint32_t grove_node_id(const char *name);
/* The name of a connected (or once connected) node id, NULL if unknown. */
const char *grove_node_name_of(uint32_t node);

/* Connect to a peer node and wait (connect_timeout) for its handshake.
 * Returns 0 once it answered, GROVE_ETIMEDOUT if it did not (the link stays:
 * ZeroMQ keeps trying and the peer is up when it answers), GROVE_EINVAL. */
int grove_node_connect(const char *peer_name, const char *endpoint);
/* The same with the peer's CURVE public key (NULL: opts' curve_server_key)
 * and a timeout (0: start connecting and return at once). */
int grove_node_connect_ex(const char *peer_name, const char *endpoint, const char *server_key,
                          double timeout);

/* Whether the named node is connected and answering. */
bool grove_node_is_up(const char *node);
/* Block until the named node is up (connected and handshaken). */
int grove_node_wait_up(const char *node, double timeout);
/* The nodes that are up now (Erlang's nodes()), in the order they were
 * first known: copies the names of up to cap of them into names[0 .. cap-1]
 * (NUL-terminated; a node name has at most 63 bytes) and returns how many
 * are up - more than cap means the array was too small. 0 without a node.
 * names may be NULL with cap 0, to count. Never blocks. */
size_t grove_node_peers(char (*names)[64], size_t cap);

/* Resolve a name registered (grove_register) on another node. Returns 0 and
 * the ref, GROVE_ENOENT if no such name there, GROVE_EHOSTUNREACH,
 * GROVE_ETIMEDOUT. */
int grove_whereis_remote(const char *node, const char *name, grove_ref *out, double timeout);

/* Wait until `name` is registered on `node` (global:whereis_name that waits):
 * until the node is up (grove_node_wait_up), then asks it, again and again
 * (every 2 ms at first, backing off to 50 ms) while the answer is
 * GROVE_ENOENT or the node is unreachable. Returns 0 and *out;
 * GROVE_ETIMEDOUT when the timeout passed first; GROVE_EINVAL; GROVE_ENOENT
 * when no node runs here; another answer of grove_whereis_remote
 * (GROVE_EPROTO...). Names on this node itself: grove_whereis_wait. */
int grove_whereis_remote_wait(const char *node, const char *name, grove_ref *out, double timeout);

/* grove_call_name for a name registered on another node (or this one): the
 * name is resolved at this call (grove_whereis_remote_wait), so a worker
 * restarted by its supervisor, or a whole node restarted with its actors, is
 * invisible to the caller; the wait for the name and the call share
 * `timeout`. Takes ownership of msg. Returns grove_call's codes, and when
 * the name could not be resolved in time GROVE_ENOENT (the node answered
 * that nobody has the name) or GROVE_EHOSTUNREACH (the node was not up).
 * Sent at most once, as grove_call_name. */
int grove_call_name_remote(const char *node, const char *name, grove_msg *msg, grove_msg **reply,
                           double timeout);

/* The calling actor receives GROVE_TAG_NODEDOWN / GROVE_TAG_NODEUP messages
 * [node name] when the node goes down / comes (back) up. */
#define GROVE_TAG_NODEDOWN "grove.nodedown"
#define GROVE_TAG_NODEUP "grove.nodeup"
int grove_monitor_node(const char *node);
int grove_demonitor_node(const char *node);

/* Watch a node from any greenlet (not only an actor): every time it goes
 * down or comes (back) up, the same GROVE_TAG_NODEDOWN / GROVE_TAG_NODEUP
 * message an actor would get, [node name], is put into q, which then owns
 * it (the getter frees it with grove_msg_free). The watch lasts until
 * grove_demonitor(*id); after that returns nothing more is put into q (the
 * caller keeps q alive, on this hub, until then, and frees the messages it
 * holds). A full bounded q drops the message (counted, logged as
 * GROVE_LOG_DROP). Never blocks. Returns 0, GROVE_ENOENT (no node runs on
 * this hub), GROVE_EINVAL (NULL node or q), GROVE_ENOMEM. */
int grove_monitor_node_to(const char *node, grove_queue *q, uint64_t *id);

/* ---- membership: clusters beyond one machine ------------------------------------------ */

typedef enum grove_node_state {
  GROVE_NODE_UP = 0,         /* connected and answering */
  GROVE_NODE_CONNECTING = 1, /* learnt (a seed, a member's MEMBERS): not reached yet */
  GROVE_NODE_DOWN = 2        /* was up, lost: this node tries to reach it again */
} grove_node_state;

typedef struct grove_node_info {
  char name[64];
  char endpoint[256];   /* where it listens, as it says ("" not known) */
  uint64_t incarnation; /* the number it chose when it started (a restart changes it) */
  grove_node_state state;
  bool seed; /* one of this node's seeds (never forgotten) */
} grove_node_info;

/* The members this node knows (Erlang's nodes(), with the ones it is
 * connecting to or lost): every peer that is up, the members learnt from
 * others that it is connecting to, and those it lost and tries to reach
 * again (for member_forget seconds; a member that stopped is removed at
 * once). Not this node itself. Copies up to cap of them into out and sets
 * *count to how many there are. Returns 0, GROVE_ERANGE (more than cap:
 * the first cap copied), GROVE_EINVAL (count NULL, out NULL with cap > 0),
 * GROVE_ENOENT (no node). Never blocks. */
int grove_nodes(grove_node_info *out, size_t cap, size_t *count);

/* Membership events: the calling actor receives GROVE_TAG_NODEUP and
 * GROVE_TAG_NODEDOWN [node name] for every node that comes up or goes down
 * from now on (Erlang's net_kernel:monitor_nodes): members and any other
 * peer. 0, GROVE_ENOENT (no node), GROVE_ENOMEM. grove_demonitor_nodes
 * stops them (GROVE_ENOENT if it did not subscribe). */
int grove_monitor_nodes(void);
int grove_demonitor_nodes(void);
/* The same into q from any greenlet (as grove_monitor_node_to): the
 * messages go into q, which owns them, until grove_demonitor(*id). */
int grove_monitor_nodes_to(grove_queue *q, uint64_t *id);

/* ---- cluster-wide names ------------------------------------------------------------------ */

/* The message an actor whose global name lost a conflict gets: [name (str),
 * the winner's ref]. The name is no longer its own; the actor lives on. */
#define GROVE_TAG_GLOBAL_LOST "grove.global_lost"

/* Register an actor of this node under a name every member resolves
 * (Erlang's global:register_name): told to every member that speaks
 * membership now and to those that come up later. The name goes, on every
 * member, when the actor ends, when it is unregistered, or - on each
 * member - when this node goes down for it. When another node registered
 * the same name meanwhile (at once, or across a partition), the
 * registration whose node has the lower (incarnation, name) wins on every
 * member and the losing actor gets a GROVE_TAG_GLOBAL_LOST message.
 * Returns 0, GROVE_EEXIST (a member has the name, as far as this node
 * knows), GROVE_EINVAL (bad name, a ref of another node), GROVE_ENOENT (no
 * node, or the actor is not alive), GROVE_ENOMEM. Never blocks. */
int grove_global_register(const char *name, grove_ref ref);
/* Remove the name everywhere (from any member). 0, GROVE_ENOENT. */
int grove_global_unregister(const char *name);
/* The ref a cluster-wide name stands for, from this node's replica (never
 * blocks). 0, GROVE_ENOENT (nobody has it, or no node), GROVE_EINVAL. */
int grove_global_whereis(const char *name, grove_ref *out);
/* The same, waiting up to timeout for the name to be registered (polls,
 * 2 ms backing off to 50 ms). 0, GROVE_ETIMEDOUT, GROVE_EINVAL,
 * GROVE_ENOENT (no node), GROVE_ECANCELED. */
int grove_global_whereis_wait(const char *name, grove_ref *out, double timeout);
/* The names in this node's replica: copies up to cap of them into names
 * and returns how many there are. 0 without a node. Never blocks. */
size_t grove_global_names(char (*names)[64], size_t cap);
/* grove_call_name for a cluster-wide name: resolved at this call (waiting
 * for it within timeout, which the call shares). Takes ownership of msg.
 * Returns grove_call's codes, GROVE_ENOENT when nobody had the name in
 * time, GROVE_EINVAL. */
int grove_call_name_global(const char *name, grove_msg *msg, grove_msg **reply, double timeout);
/* grove_send to a cluster-wide name, resolved now (no wait). Takes
 * ownership of msg. grove_send's codes, GROVE_ENOENT, GROVE_EINVAL. */
int grove_send_name_global(const char *name, grove_msg *msg);

typedef struct grove_node_stats {
  uint64_t sent, received; /* envelopes */
  uint64_t frames_sent, frames_received;
  uint64_t dropped_malformed;    /* not a valid envelope / truncated msgpack */
  uint64_t dropped_version;      /* unknown protocol version */
  uint64_t dropped_oversize;     /* larger than max_message */
  uint64_t dropped_unknown_peer; /* from a peer that never said hello */
  uint64_t dropped_unroutable;   /* to a node that went down: dead letters */
  uint64_t unknown_target;       /* to an actor that does not exist here */
  uint64_t nodes_down, nodes_up; /* transitions seen */
  /* Flow control (docs/transport.md, "Backpressure"). */
  uint64_t dropped_flow; /* from a peer that ignores credit: beyond it for a bounded inbox */
  uint64_t window_waits; /* sends and calls that waited for a peer's link window */
  uint64_t target_waits; /* sends and calls that waited for a remote bounded inbox */
  uint64_t credits_sent; /* CREDIT envelopes: bytes returned, grants */
  uint64_t credits_received;
  /* Messages (SEND, CALL, REPLY) handed to a peer's connection that it had
   * not confirmed (returned in a CREDIT) when it went down: each was
   * delivered, counted by the peer (dropped_unknown_peer), or lost with
   * the connection - the sender cannot tell which (docs/transport.md,
   * "What is counted"). */
  uint64_t unconfirmed;
  /* Membership: members learnt from others and refused (max_members
   * reached, a bad or stale entry, a colliding name); GLOBAL registrations
   * refused (not the sender's actor, the replica full); conflicts of
   * cluster-wide names this node resolved. */
  uint64_t members_refused, global_refused, global_conflicts;
  /* The introspection service (grove/observe.h): calls refused because the
   * caller's CURVE key is not allowed (answered GROVE_EPERM), and requests
   * it could not answer (an unknown tag or a bad body: GROVE_EINVAL; not
   * a call: dropped). */
  uint64_t introspect_denied;
  uint64_t introspect_bad;
} grove_node_stats;
int grove_node_stats_get(grove_node_stats *out);

/* A new CURVE keypair, Z85 text (40 characters + NUL each). */
int grove_curve_keypair(char public_z85[41], char secret_z85[41]);

/* Read a CURVE keypair from a key file: czmq's zcert secret certificate
 * (docs/transport.md, "Key files"), whose lines that matter are
 *     public-key = "<40 Z85 characters>"
 *     secret-key = "<40 Z85 characters>"
 * ('#' comments and other lines ignored; the public key may be left out, it
 * is derived from the secret). Returns 0 and both keys; GROVE_ENOENT (no
 * such file), GROVE_EPERM (not readable), GROVE_EINVAL (not a regular file
 * of at most 64 KiB, no secret key, a key not 40 Z85 characters, a public
 * key that is not the secret's), each with an error line naming the file
 * and the reason. A file readable by group or others loads with a warning.
 * Never blocks on the hub (one small read). */
int grove_curve_keyfile_load(const char *path, char public_z85[41], char secret_z85[41]);
/* Write a keypair as such a file (mode 0600, replaced if it exists).
 * 0, GROVE_EINVAL (keys not Z85 or not a pair), GROVE_ENOENT, GROVE_EPERM,
 * another negated errno. */
int grove_curve_keyfile_save(const char *path, const char *public_z85, const char *secret_z85);

/* ---- clusters: worker processes under a supervisor ---------------------------------- */

typedef struct grove_cluster grove_cluster;

/* A machine workers run on (grove_cluster_opts.hosts; docs/transport.md,
 * "Workers on other hosts"). */
typedef struct grove_cluster_host {
  /* The host's own address, which its workers bind (tcp://<address>:<port>):
   * "198.51.100.7", "[2001:db8::7]", or a name that resolves there. */
  const char *address;
  /* The argv prefix that runs a program there, NULL-terminated: {"ssh",
   * "-o", "BatchMode=yes", "user@host", NULL} in production, {"ip",
   * "netns", "exec", "ns1", NULL} in the tests. The worker's command is the
   * prefix, then `env NAME=value ...` (the cluster's variables and
   * env_pass), then the worker's argv. NULL: started here, as today
   * (bound to address all the same). */
  const char *const *command;
  /* The prefix hands the rest to a shell (ssh does: it joins its arguments
   * into one command line): each word after the prefix is single-quoted. */
  bool shell;
} grove_cluster_host;

/* Where a worker on a host that became unreachable (its node down by the
 * heartbeat timeout, its process not known to have ended) is started
 * again. A worker whose process ended is always restarted on its host. */
typedef enum grove_cluster_failover {
  GROVE_CLUSTER_SAME_HOST = 0, /* on its host again (it comes back when the host does) */
  GROVE_CLUSTER_NEXT_HOST = 1  /* on the next host of the list (its endpoint changes) */
} grove_cluster_failover;

typedef struct grove_cluster_opts {
  const char *const *argv; /* the worker program (argv[0] searched in PATH) and its arguments */
  int workers;             /* how many */
  const char *prefix;      /* worker names: "<prefix>-<i>" (NULL: "worker") */
  /* Where workers bind: "ipc:///dir/file" (worker i: "<base>-<i>") or
   * "tcp://127.0.0.1" (a free port each). NULL: ipc in /tmp. */
  const char *endpoint_base;
  grove_sup_strategy
      strategy;         /* GROVE_ONE_FOR_ONE (0), _ONE_FOR_ALL, _REST_FOR_ONE (else EINVAL) */
  int intensity;        /* at most this many restarts... (0: 3) */
  double period;        /* ...within this many seconds (0: 5); beyond: all stopped */
  double ready_timeout; /* for a worker to start and connect (0: 10) */
  bool quiet;           /* do not log restarts on stderr */
  /* NULL-terminated names every worker registers (its actors): with it,
   * grove_cluster_start returns only once each is registered on every
   * worker (within ready_timeout), so the caller can call them at once.
   * Read during grove_cluster_start only. NULL: wait for the nodes only. */
  const char *const *await_names;
  /* ---- workers on other hosts (all zero: every worker here, as above) ---- */
  /* nhosts hosts: worker i runs on hosts[i % nhosts] and binds
   * tcp://<its address>:<port + i> (endpoint_base is not used). Copied. */
  const grove_cluster_host *hosts;
  int nhosts;
  int port; /* the first worker's port on its host (0: 7800) */
  /* NULL-terminated: more variables for the workers started through a
   * host's command, each "NAME" (its value here, at grove_cluster_start;
   * skipped if unset) or "NAME=value". A local worker gets this process's
   * whole environment, as above; a remote shell passes none of it, so a
   * worker there sees its own login environment, the GROVE_ variables and
   * these. Copied. */
  const char *const *env_pass;
  grove_cluster_failover failover; /* see above (0: GROVE_CLUSTER_SAME_HOST) */
  /* The CURVE key file's path as the workers see it (on their hosts),
   * passed as GROVE_NODE_KEYFILE: grove_cluster_join loads it when its
   * opts have no keys. NULL: the workers' programs give their keys. */
  const char *keyfile;
  /* Workers on addresses that are not loopback may run without CURVE
   * (GROVE_NODE_ALLOW_OPEN=1 for grove_cluster_join). Without it and
   * without CURVE on the coordinator's node, grove_cluster_start refuses
   * such a cluster: GROVE_EINSECURE. */
  bool allow_open;
} grove_cluster_opts;

/* Launch the workers (this thread's node must be started: it is the
 * coordinator), each with the environment variables GROVE_NODE_NAME,
 * GROVE_NODE_ENDPOINT, GROVE_CLUSTER_COORDINATOR ("name=endpoint"),
 * GROVE_CLUSTER_PEERS and GROVE_CLUSTER_INDEX (and GROVE_NODE_KEYFILE,
 * GROVE_NODE_ALLOW_OPEN when opts say so), and wait until every one
 * is up. The workers are the children of a supervisor (grove/supervisor.h),
 * one actor per process: a worker that exits or is killed is restarted (with
 * the same name and endpoint) per the strategy, within the intensity limit;
 * past it, every worker is stopped and grove_cluster_wait returns
 * GROVE_EFAILED. With hosts, a worker whose node goes down (unreachable:
 * the heartbeat timeout) is a death too: its local process (the remote
 * shell's client, or the worker) is SIGKILLed and it is restarted, on its
 * host or the next one (failover). Blocks (a supervisor start and the
 * readiness wait). GROVE_EINVAL (bad opts: no argv, workers out of 1..1024,
 * a host without address), GROVE_ENOENT (no node), GROVE_EINSECURE (a
 * worker endpoint that is not loopback, no CURVE on this node and not
 * allow_open), or what a worker's start returned. */
int grove_cluster_start(const grove_cluster_opts *opts, grove_cluster **out);
/* Wait until `name` is registered on every worker (restarted ones
 * included: each worker's current process). 0, GROVE_ETIMEDOUT, GROVE_EINVAL. */
int grove_cluster_wait_name(grove_cluster *c, const char *name, double timeout);
int grove_cluster_size(const grove_cluster *c);
const char *grove_cluster_worker_name(const grove_cluster *c, int i);
int grove_cluster_worker_pid(const grove_cluster *c, int i); /* 0 while restarting */
/* Worker i's endpoint now (it changes when failover moves it), NULL if no
 * such worker; and the index of its host in opts.hosts (-1 without hosts,
 * GROVE_EINVAL). */
const char *grove_cluster_worker_endpoint(const grove_cluster *c, int i);
int grove_cluster_worker_host(const grove_cluster *c, int i);
/* Worker deaths so far: each a restart, or the one past the intensity. */
int grove_cluster_restarts(const grove_cluster *c);
/* Send a signal to worker i (tests and demos: SIGKILL it): to its local
 * process - through a host's command, that is the command's process (the
 * worker itself under `ip netns exec`, the ssh client under ssh). */
int grove_cluster_kill_worker(grove_cluster *c, int i, int signum);
/* Block until the cluster fails (GROVE_EFAILED: intensity exceeded) or is
 * stopped (0). */
int grove_cluster_wait(grove_cluster *c, double timeout);
/* Stop the workers, newest first: SIGTERM, then SIGKILL after timeout; waits
 * for them. Returns 0, or GROVE_ETIMEDOUT when one had to be SIGKILLed. */
int grove_cluster_stop(grove_cluster *c, double timeout);
void grove_cluster_free(grove_cluster *c);

/* ---- work distribution over a cluster ------------------------------------------------ */

typedef struct grove_cluster_map_opts {
  size_t per_worker;  /* jobs in flight per worker at most (0: 1) */
  double job_timeout; /* one attempt's call timeout, seconds (0: 30) */
  int max_attempts;   /* failed attempts of one job before the map gives up (0: 3) */
} grove_cluster_map_opts;

/* Spread jobs over the workers' actor registered as `name` and gather the
 * replies in job order (a pool of workers: Erlang's poolboy, Python's
 * Pool.map over processes). Each job is a request message (jobs[i]: the
 * map takes ownership of every one, even when it fails); worker i serves
 * at most per_worker jobs at a time, each a grove_call to the name,
 * resolved again after any failure (grove_whereis_remote_wait). A job whose
 * attempt fails - its worker died or was restarted (GROVE_EHOSTUNREACH,
 * GROVE_ENOENT), did not answer in job_timeout, or replied with an error -
 * goes back to the queue for whichever worker is free first; its worker
 * waits until the name is registered there again. Each result is delivered
 * exactly once: results[i] gets the reply to jobs[i] (the caller owns and
 * frees each), a late reply to an abandoned attempt is dropped (so a job
 * may have been *done* more than once, when a worker did it but died before
 * its reply arrived). Blocks until every job has its reply, or: a job
 * failed max_attempts times (returns its last error), the cluster failed
 * (GROVE_EFAILED: intensity exceeded), `timeout` passed (GROVE_ETIMEDOUT),
 * the caller was killed (GROVE_ECANCELED). On an error, results[i] holds
 * the replies that did arrive (NULL for the others); free them too.
 * GROVE_EINVAL for NULL arguments (jobs are freed). opts may be NULL. */
int grove_cluster_map(grove_cluster *c, const char *name, grove_msg **jobs, size_t n,
                      grove_msg **results, const grove_cluster_map_opts *opts, double timeout);

/* In a worker: start the node from the environment the launcher set and
 * connect to the coordinator (and to the lower-numbered workers). opts may
 * be NULL; when it has no CURVE keys, GROVE_NODE_KEYFILE (opts.keyfile of
 * the launcher) is loaded as its curve_keyfile, and GROVE_NODE_ALLOW_OPEN=1
 * sets allow_open.
 * Returns 0, GROVE_ENOENT when not started by a cluster, GROVE_EHOSTUNREACH
 * when the coordinator has died already. From then on the worker dies with
 * its coordinator: SIGKILL when the coordinator process ends (its
 * parent-death signal), SIGTERM when its node is declared down, and
 * _exit(70) if the process still runs 5 s after that (docs/transport.md). */
int grove_cluster_join(const grove_node_opts *opts);
/* In a worker: its index (0..workers-1), or -1 outside a cluster. */
int grove_cluster_index(void);
/* In a worker: the coordinator's node name (NULL outside a cluster). */
const char *grove_cluster_coordinator(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
