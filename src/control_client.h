/*
 * control_client: tern's side of ternd's control socket (the protocol
 * is control_proto.h's): connect, send one request, read the status
 * line; the caller reads the body.
 */
#ifndef TERN_CONTROL_CLIENT_H
#define TERN_CONTROL_CLIENT_H

#include <stdbool.h>
#include <stdio.h>

#include "errbuf.h"

/* True when a connect failure with errnum means no ternd listens (no
 * socket, or one left by a ternd that is gone). */
bool control_client_down(int errnum);

/*
 * Connect, send line (without its LF) and read the status line.
 * Returns the connection for reading the body (fclose it), or NULL with
 * eb set: eb->errnum is the connect error (see control_client_down;
 * EACCES: not allowed), or 0 when ternd answered "error TEXT" (TEXT in
 * eb->msg; errnum EACCES when it refused the caller).
 */
FILE *control_client_request(const char *queue_dir, const char *line,
    struct errbuf *eb);

#endif
