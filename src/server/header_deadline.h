/* The header deadline of the HTTP listeners (header_deadline.c): a
 * connection that takes longer than its timeout to deliver a complete
 * request head, after its accept or after its last answer, is shut down. */
#ifndef SYMBI_SERVER_HEADER_DEADLINE_H
#define SYMBI_SERVER_HEADER_DEADLINE_H

#include "server.h"

#include <microhttpd.h>

typedef struct srv_header_deadline srv_header_deadline_t;

/* Starts the watchdog thread; NULL with err set if it cannot. */
srv_header_deadline_t *srv_header_deadline_start(unsigned timeout_s, srv_err_t *err);
/* Stops the watchdog and frees; call after MHD_stop_daemon. NULL is fine. */
void srv_header_deadline_stop(srv_header_deadline_t *d);
/* The daemon's MHD_OPTION_NOTIFY_CONNECTION callback, with d as its cls:
 * tracks connections (it keeps its state in their socket context). */
void srv_header_deadline_notify(void *cls, struct MHD_Connection *c, void **socket_context,
				enum MHD_ConnectionNotificationCode code);
/* A complete request head arrived (true: the deadline is off while it is
 * answered), or its answer ended (false: the deadline starts again). */
void srv_header_deadline_mark(srv_header_deadline_t *d, struct MHD_Connection *c,
			      bool in_request);

#endif
