/*
 * route: the failover table (see route.h).
 *
 * The guiding question for every row: would another relay, or this one
 * later, accept the mail?  Session trouble (connect, TLS, greeting,
 * EHLO, STARTTLS, AUTH, a dropped connection) and anything the provider
 * says about the sender, the account, rates, quotas or policy (5.7.x,
 * 5.4.x, 5.3.x, any 4xx) moves the recipient to the next relay.  What is
 * about the recipient (5.1.x bad or unknown address, 5.2.x mailbox
 * full or disabled) or the content (5.6.x) is final and bounces.
 * A 5xx without an enhanced status code is judged by its basic code,
 * as RFC 5321 defines them: 550, 551, 552 and 553 speak of the mailbox.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "route.h"

#define R_NEXT ROUTE_NEXT_RELAY
#define R_BOUNCE ROUTE_BOUNCE

const struct route_rule route_rules[] = {
	/* Session trouble: always the relay's. */
	{ SMTPC_STAGE_CONNECT, 0, NULL, 0, R_NEXT, "cannot connect" },
	{ SMTPC_STAGE_TLS, 0, NULL, 0, R_NEXT, "TLS handshake or "
	    "certificate failure" },
	{ SMTPC_STAGE_GREETING, 0, NULL, 0, R_NEXT, "refused at greeting" },
	{ SMTPC_STAGE_EHLO, 0, NULL, 0, R_NEXT, "refused EHLO and HELO" },
	{ SMTPC_STAGE_STARTTLS, 0, NULL, 0, R_NEXT, "STARTTLS missing or "
	    "refused" },
	{ SMTPC_STAGE_AUTH, 0, NULL, 0, R_NEXT, "authentication failed" },
	{ SMTPC_STAGE_IO, 0, NULL, 0, R_NEXT, "connection lost or timed "
	    "out" },
	/* MAIL FROM is about the sender and the account. */
	{ SMTPC_STAGE_MAIL, 0, NULL, 0, R_NEXT, "sender refused (account, "
	    "quota or policy)" },
	/* Temporary refusals anywhere: try elsewhere, retry later. */
	{ SMTPC_STAGE_NONE, 4, NULL, 0, R_NEXT, "temporary failure" },
	/* No SMTPUTF8 at this relay: another one may have it. */
	{ SMTPC_STAGE_NONE, 5, "5.6.7", 0, R_NEXT, "relay lacks SMTPUTF8" },
	/* Permanent refusals about the recipient or the content. */
	{ SMTPC_STAGE_NONE, 5, "5.1.", 0, R_BOUNCE, "bad or unknown "
	    "recipient address" },
	{ SMTPC_STAGE_NONE, 5, "5.2.", 0, R_BOUNCE, "recipient mailbox "
	    "full or disabled" },
	{ SMTPC_STAGE_NONE, 5, "5.6.", 0, R_BOUNCE, "message content "
	    "refused" },
	/* Permanent refusals about the relay: policy, rate, system. */
	{ SMTPC_STAGE_NONE, 5, "5.7.", 0, R_NEXT, "policy, rate limit or "
	    "authentication" },
	{ SMTPC_STAGE_NONE, 5, "5.4.", 0, R_NEXT, "routing or relay "
	    "trouble" },
	{ SMTPC_STAGE_NONE, 5, "5.3.", 0, R_NEXT, "relay system trouble "
	    "(size, capacity)" },
	{ SMTPC_STAGE_NONE, 5, "5.5.", 0, R_NEXT, "protocol trouble" },
	/* No enhanced status: the basic code (RFC 5321 section 4.2.2). */
	{ SMTPC_STAGE_RCPT, 5, "", 550, R_BOUNCE, "mailbox unavailable" },
	{ SMTPC_STAGE_RCPT, 5, "", 551, R_BOUNCE, "user not local" },
	{ SMTPC_STAGE_RCPT, 5, "", 552, R_BOUNCE, "mailbox over its "
	    "storage allocation" },
	{ SMTPC_STAGE_RCPT, 5, "", 553, R_BOUNCE, "mailbox name not "
	    "allowed" },
	/* Any other permanent refusal: assume the relay's, and let the
	 * message go elsewhere rather than bounce what another relay
	 * might deliver. */
	{ SMTPC_STAGE_NONE, 5, NULL, 0, R_NEXT, "other permanent refusal" },
	{ SMTPC_STAGE_NONE, 0, NULL, 0, R_NEXT, "anything else" },
	{ SMTPC_STAGE_NONE, 0, NULL, 0, R_NEXT, NULL },
};

#define R_HOST ROUTE_NEXT_HOST

/*
 * Direct delivery.  Session trouble is the host's: another MX host of
 * the domain may be fine (a 5xx greeting too: blocklists differ between
 * hosts).  A 4xx is tried at the next host as well (RFC 5321 5.1: the
 * backup MX exists for this), deferred after the last.  A host that
 * lacks SMTPUTF8 or cannot give REQUIRETLS is passed over too, and the
 * recipient bounces when no host could.  Any other 5xx is the recipient
 * domain's own final word and bounces.
 */
const struct route_rule route_direct_rules[] = {
	{ SMTPC_STAGE_CONNECT, 0, NULL, 0, R_HOST, "cannot connect" },
	{ SMTPC_STAGE_TLS, 0, NULL, 0, R_HOST, "TLS handshake or "
	    "certificate failure" },
	{ SMTPC_STAGE_GREETING, 0, NULL, 0, R_HOST, "refused at greeting" },
	{ SMTPC_STAGE_EHLO, 0, NULL, 0, R_HOST, "refused EHLO and HELO" },
	{ SMTPC_STAGE_STARTTLS, 0, NULL, 0, R_HOST, "STARTTLS missing or "
	    "refused where the TLS policy requires it" },
	{ SMTPC_STAGE_IO, 0, NULL, 0, R_HOST, "connection lost or timed "
	    "out" },
	{ SMTPC_STAGE_NONE, 4, NULL, 0, R_HOST, "temporary failure" },
	/* What one host lacks another may have; bounced when none has
	 * it. */
	{ SMTPC_STAGE_MAIL, 5, "5.6.7", 0, R_HOST, "this host lacks "
	    "SMTPUTF8" },
	{ SMTPC_STAGE_MAIL, 5, "5.7.30", 0, R_HOST, "REQUIRETLS is not "
	    "possible with this host" },
	{ SMTPC_STAGE_NONE, 5, NULL, 0, R_BOUNCE, "permanent refusal by "
	    "the recipient's mail server" },
	{ SMTPC_STAGE_NONE, 0, NULL, 0, R_HOST, "anything else" },
	{ SMTPC_STAGE_NONE, 0, NULL, 0, R_HOST, NULL },
};

static bool
route_rule_matches(const struct route_rule *r, enum smtpc_stage stage,
    const struct smtpc_reply *reply)
{
	int cls = reply != NULL ? reply->code / 100 : 0;
	const char *st = reply != NULL ? reply->status : "";

	if (r->stage != SMTPC_STAGE_NONE && r->stage != stage)
		return false;
	if (r->code_class != 0 && r->code_class != cls)
		return false;
	if (r->code != 0 && (reply == NULL || r->code != reply->code))
		return false;
	if (r->status == NULL)
		return true;
	if (r->status[0] == '\0')
		return st[0] == '\0';
	return strncmp(st, r->status, strlen(r->status)) == 0;
}

static const struct route_rule *
route_match_in(const struct route_rule *table, enum smtpc_stage stage,
    const struct smtpc_reply *reply)
{
	const struct route_rule *r;

	for (r = table; r->why != NULL; r++)
		if (route_rule_matches(r, stage, reply))
			return r;
	return r - 1;
}

static enum route_action
route_classify_in(const struct route_rule *table, enum smtpc_stage stage,
    const struct smtpc_reply *reply)
{
	if (stage == SMTPC_STAGE_NONE && reply != NULL &&
	    reply->code / 100 == 2)
		return ROUTE_DELIVERED;
	return route_match_in(table, stage, reply)->action;
}

const struct route_rule *
route_match(enum smtpc_stage stage, const struct smtpc_reply *reply)
{
	return route_match_in(route_rules, stage, reply);
}

enum route_action
route_classify(enum smtpc_stage stage, const struct smtpc_reply *reply)
{
	return route_classify_in(route_rules, stage, reply);
}

const struct route_rule *
route_match_direct(enum smtpc_stage stage, const struct smtpc_reply *reply)
{
	return route_match_in(route_direct_rules, stage, reply);
}

enum route_action
route_classify_direct(enum smtpc_stage stage, const struct smtpc_reply *reply)
{
	return route_classify_in(route_direct_rules, stage, reply);
}

const char *
route_action_name(enum route_action a)
{
	switch (a) {
	case ROUTE_DELIVERED:
		return "delivered";
	case ROUTE_BOUNCE:
		return "bounce";
	case ROUTE_NEXT_HOST:
		return "next host";
	default:
		return "next relay";
	}
}

enum smtpc_stage
route_rcpt_stage(const struct smtpc_rcpt *r, const struct smtpc_outcome *out)
{
	if (out->stage == SMTPC_STAGE_NONE || out->stage == SMTPC_STAGE_RCPT)
		return r->reply.code / 100 == 2 ? SMTPC_STAGE_NONE :
		    SMTPC_STAGE_RCPT;
	if (out->stage == SMTPC_STAGE_DATA || out->stage == SMTPC_STAGE_DOT)
		return r->reply.code == out->reply.code &&
		    strcmp(r->reply.text, out->reply.text) == 0 ? out->stage :
		    SMTPC_STAGE_RCPT;
	return out->stage;
}

void
route_reply_text(const struct smtpc_rcpt *r, const struct smtpc_outcome *out,
    const char *host, char *text, size_t len)
{
	if (r->reply.code != 0)
		snprintf(text, len, "%s said: %d %s%s%s (in reply to %s)",
		    host, r->reply.code, r->reply.status,
		    r->reply.status[0] ? " " : "", r->reply.text,
		    smtpc_stage_name(route_rcpt_stage(r, out)));
	else
		snprintf(text, len, "%s", out->err[0] ? out->err :
		    "connection failed");
}
