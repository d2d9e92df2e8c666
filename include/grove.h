/* grove.h - the umbrella header: gevent's programming model in C.
 *
 *   #include <grove.h>      link with -lgrove (pkg-config grove)
 *
 * See docs/guide.md for a tour and docs/api/ for every function.
 */
#ifndef GROVE_H
#define GROVE_H

#define GROVE_VERSION_MAJOR 0
#define GROVE_VERSION_MINOR 1
#define GROVE_VERSION_PATCH 0
#define GROVE_VERSION_STRING "0.1.0"

#include "grove/error.h"
#include "grove/log.h"
#include "grove/greenlet.h"
#include "grove/hubs.h"
#include "grove/event.h"
#include "grove/queue.h"
#include "grove/lock.h"
#include "grove/timeout.h"
#include "grove/wait.h"
#include "grove/local.h"
#include "grove/group.h"
#include "grove/io.h"
#include "grove/actor.h"
#include "grove/supervisor.h"
#include "grove/transport.h"
#include "grove/zmq.h"
#include "grove/tls.h"
#include "grove/http.h"
#include "grove/websocket.h"
#include "grove/prefork.h"
#include "grove/observe.h"

#endif
