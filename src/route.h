/*
 * route: what a delivery outcome means for a recipient — the failover
 * table.
 *
 * Every result of an attempt through a relay is one of: delivered;
 * "next relay" (the trouble is with the relay, its account, its quota,
 * its policy or the connection: another relay may well accept, and this
 * one may accept later); or "bounce" (the trouble is with the recipient
 * or the message itself, and no relay will ever accept it).  The table
 * in route.c decides, first matching rule wins; tern.conf(5) prints it.
 *
 * Direct (MX) delivery has its own, shorter table: there the server is
 * the recipient domain's own, so what it refuses for good bounces, and
 * what fails for now moves to the domain's next MX host ("next host"),
 * deferred once none is left.
 */
#ifndef TERN_ROUTE_H
#define TERN_ROUTE_H

#include "smtpc.h"

enum route_action {
	ROUTE_DELIVERED,
	ROUTE_NEXT_RELAY,
	ROUTE_BOUNCE,
	ROUTE_NEXT_HOST,  /* direct: the domain's next MX host, then defer */
};

struct route_rule {
	enum smtpc_stage stage;  /* SMTPC_STAGE_NONE here: any stage */
	int code_class;          /* 2, 4 or 5; 0: any (or no reply) */
	const char *status;      /* enhanced status prefix ("5.1."), NULL:
				    any; "" : only when the reply has none */
	int code;                /* exact basic code, 0: any */
	enum route_action action;
	const char *why;         /* for the docs and the tests */
};

/* The tables, each ending with a rule whose why is NULL. */
extern const struct route_rule route_rules[];
extern const struct route_rule route_direct_rules[];

/* Classify the result of one recipient: the stage where the session or
 * transaction stopped (NONE when the final "." was answered) and the
 * reply that applies to the recipient. */
enum route_action route_classify(enum smtpc_stage stage,
    const struct smtpc_reply *reply);

/* The rule that decided, for logs and tests. */
const struct route_rule *route_match(enum smtpc_stage stage,
    const struct smtpc_reply *reply);

/* The same for direct delivery (route_direct_rules). */
enum route_action route_classify_direct(enum smtpc_stage stage,
    const struct smtpc_reply *reply);
const struct route_rule *route_match_direct(enum smtpc_stage stage,
    const struct smtpc_reply *reply);

const char *route_action_name(enum route_action a);

/* The stage a recipient's answer came from: its own RCPT reply, or the
 * transaction's stage (DATA, end of data, or the session's failure)
 * for a recipient the server had accepted. */
enum smtpc_stage route_rcpt_stage(const struct smtpc_rcpt *r,
    const struct smtpc_outcome *out);

/* The reason for a recipient's log line and report: "HOST said: 550
 * 5.1.1 text (in reply to RCPT TO)", or the session's error in plain
 * words when there was no reply. */
void route_reply_text(const struct smtpc_rcpt *r,
    const struct smtpc_outcome *out, const char *host, char *text,
    size_t len);

#endif
