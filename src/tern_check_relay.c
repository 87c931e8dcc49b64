/*
 * tern_check_relay: the [relay] cross-checks — TLS mode against port,
 * the secrets AUTH needs (and their files), OAuth2 settings, the From
 * rewrite, quotas, and what each preset's provider insists on
 * (relay_preset.h).  Only what can be told without the network: "tern
 * test-relay" talks to the relay.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "relay_preset.h"
#include "tern_check_int.h"

#define E TERN_CHECK_ERROR
#define W TERN_CHECK_WARN

static const char *
tern_check_tls_name(int tls)
{
	static const char *const names[] = { "starttls", "implicit",
		"opportunistic", "none" };

	return tls >= 0 && tls <= CONFIG_TLS_NONE ? names[tls] : "?";
}

/* Port 465 speaks TLS from the first byte; 587 and 25 start in plain
 * text and upgrade with STARTTLS.  The wrong pairing never connects. */
static void
tern_check_relay_tls(struct tern_check *c, const struct config_relay *r,
    const char *s)
{
	if (r->port == 465 && r->tls != CONFIG_TLS_IMPLICIT)
		tern_check_say(c, r->line, E, "%s: port 465 expects implicit "
		    "TLS (TLS from the first byte), but tls = %s: set tls = "
		    "implicit, or port = 587 for STARTTLS", s,
		    tern_check_tls_name(r->tls));
	if ((r->port == 587 || r->port == 25) && r->tls == CONFIG_TLS_IMPLICIT)
		tern_check_say(c, r->line, E, "%s: port %u starts in plain "
		    "text and upgrades with STARTTLS, but tls = implicit: set "
		    "tls = starttls, or port = 465 for implicit TLS", s,
		    (unsigned)r->port);
	if (r->tls != CONFIG_TLS_NONE && !r->tls_verify)
		tern_check_say(c, r->line, W, "%s: tls_verify = no: the "
		    "relay's certificate is not checked, so anyone on the path "
		    "can pose as it and read the password and the mail; give "
		    "its CA in tls_ca_file and remove tls_verify", s);
	if (r->tls_ca_file != NULL)
		tern_check_public(c, r->line, s, "tls_ca_file",
		    r->tls_ca_file);
	if (r->auth == CONFIG_AUTH_NONE)
		return;
	/* smtpc never sends a secret outside TLS. */
	if (r->tls == CONFIG_TLS_NONE)
		tern_check_say(c, r->line, E, "%s: auth with tls = none: ternd "
		    "never sends a password or token without TLS, so AUTH "
		    "would always fail: set tls = starttls or implicit", s);
	else if (r->tls == CONFIG_TLS_OPPORTUNISTIC)
		tern_check_say(c, r->line, W, "%s: auth with tls = "
		    "opportunistic: when the relay does not offer STARTTLS, "
		    "ternd will not send the password and delivery fails: set "
		    "tls = starttls", s);
	if (r->port == 25)
		tern_check_say(c, r->line, W, "%s: auth on port 25: providers "
		    "take authenticated mail on 587 (STARTTLS) or 465 "
		    "(implicit TLS), and many networks block port 25 going "
		    "out: set port = 587 or 465", s);
}

/* XOAUTH2: one token source, and the built-in flow complete. */
static void
tern_check_relay_oauth2(struct tern_check *c, const struct config_relay *r,
    const char *s)
{
	bool cmd = r->oauth2_token_command != NULL;
	bool url = r->oauth2_token_url != NULL;

	if (!cmd && !url)
		tern_check_say(c, r->line, E, "%s: auth = xoauth2 needs a "
		    "token: set oauth2_token_url (with oauth2_client_id and "
		    "oauth2_client_secret_file) or oauth2_token_command", s);
	if (cmd && url)
		tern_check_say(c, r->line, E, "%s: both oauth2_token_command "
		    "and oauth2_token_url are set; keep one", s);
	if (r->password_file != NULL)
		tern_check_say(c, r->line, W, "%s: password_file is not used "
		    "with auth = xoauth2; remove it", s);
	if (!url)
		return;
	if (strncasecmp(r->oauth2_token_url, "https://", 8) != 0)
		tern_check_say(c, r->line, E, "%s: oauth2_token_url %s is not "
		    "an https:// URL; the client secret must not cross the "
		    "network in clear", s, r->oauth2_token_url);
	if (r->oauth2_client_id == NULL)
		tern_check_say(c, r->line, E, "%s: oauth2_token_url needs "
		    "oauth2_client_id (the application id)", s);
	if (r->oauth2_client_secret_file == NULL)
		tern_check_say(c, r->line, E, "%s: oauth2_token_url needs "
		    "oauth2_client_secret_file (a file holding the client "
		    "secret)", s);
	else
		tern_check_secret(c, r->line, s, "oauth2_client_secret_file",
		    r->oauth2_client_secret_file, TERN_CHECK_BY_RUN_USER,
		    false);
}

/* Which secrets the auth mode needs, and whether they are there. */
static void
tern_check_relay_auth(struct tern_check *c, const struct config_relay *r,
    const char *s)
{
	bool oauth = r->oauth2_token_command || r->oauth2_token_url ||
	    r->oauth2_client_id || r->oauth2_client_secret_file ||
	    r->oauth2_scope;

	if (r->auth == CONFIG_AUTH_NONE) {
		if (r->username || r->password_file || oauth)
			tern_check_say(c, r->line, W, "%s: auth = none, so "
			    "username, password_file and oauth2_* are not "
			    "used: remove them, or set auth", s);
		return;
	}
	if (r->auth == CONFIG_AUTH_XOAUTH2)
		return tern_check_relay_oauth2(c, r, s);
	if (r->auth == CONFIG_AUTH_AUTO && (r->oauth2_token_command ||
	    r->oauth2_token_url))
		return tern_check_relay_oauth2(c, r, s);
	if (oauth)
		tern_check_say(c, r->line, W, "%s: oauth2_* keys are used only "
		    "with auth = xoauth2 (or auto); remove them, or set auth = "
		    "xoauth2", s);
	if (r->password_file == NULL)
		tern_check_say(c, r->line, E, "%s: username %s has no secret: "
		    "put the password in a file (mode 600, owned by run_user) "
		    "and set password_file", s, r->username);
	else
		tern_check_secret(c, r->line, s, "password_file",
		    r->password_file, TERN_CHECK_BY_RUN_USER, false);
}

/* What the preset's provider insists on. */
static void
tern_check_relay_preset(struct tern_check *c, const struct config_relay *r,
    const char *s)
{
	const struct relay_preset *p = relay_preset_find(r->preset);
	bool user_is_addr = r->username && addr_spec_valid(r->username);

	if (p == NULL)
		return;
	if (p->username != NULL && r->username != NULL &&
	    strcmp(r->username, p->username) != 0)
		tern_check_say(c, r->line, E, "%s: preset %s: %s", s, p->name,
		    p->auth_hint);
	if ((p->flags & RELAY_PRESET_BASIC_OFF) &&
	    r->auth != CONFIG_AUTH_XOAUTH2 && r->auth != CONFIG_AUTH_NONE &&
	    r->oauth2_token_command == NULL && r->oauth2_token_url == NULL)
		tern_check_say(c, r->line, W, "%s: preset %s: %s", s, p->name,
		    p->auth_hint);
	if (!(p->flags & RELAY_PRESET_FROM_ACCOUNT) || !user_is_addr)
		return;
	if (r->from == NULL)
		tern_check_say(c, r->line, W, "%s: preset %s refuses mail "
		    "whose From is not the account: set from = %s", s,
		    p->name, r->username);
	else if (strcasecmp(r->from, r->username) != 0)
		tern_check_say(c, r->line, W, "%s: preset %s refuses mail "
		    "whose From is not the account, and from %s is not "
		    "username %s: set from = %s", s, p->name, r->from,
		    r->username, r->username);
}

/* Another relay on the same server with the same account adds nothing
 * as a failover: when one is down, so is the other. */
static void
tern_check_relay_twin(struct tern_check *c, const struct config_relay *r,
    size_t i, const char *s)
{
	const struct config_relay *o;
	size_t j;

	for (j = 0; j < i; j++) {
		o = &c->cfg->relays[j];
		if (strcasecmp(o->host, r->host) == 0 && o->port == r->port &&
		    (o->username == NULL) == (r->username == NULL) &&
		    (o->username == NULL ||
		    strcmp(o->username, r->username) == 0))
			tern_check_say(c, r->line, W, "%s: same host, port and "
			    "username as [relay %s] (line %u): failing over "
			    "from one to the other does not help", s, o->name,
			    o->line);
	}
}

static void
tern_check_relay(struct tern_check *c, const struct config_relay *r,
    size_t i)
{
	char s[300];

	snprintf(s, sizeof(s), "[relay %s]", r->name);
	tern_check_relay_tls(c, r, s);
	tern_check_relay_auth(c, r, s);
	if (r->preset != NULL)
		tern_check_relay_preset(c, r, s);
	if (r->from != NULL && !addr_spec_valid(r->from))
		tern_check_say(c, r->line, E, "%s: from '%s' is not an email "
		    "address: write from = user@example.org (the name goes "
		    "in from_name)", s, r->from);
	if (r->from_name != NULL && r->from == NULL)
		tern_check_say(c, r->line, W, "%s: from_name is used only with "
		    "from; set from too", s);
	if (r->max_per_day != 0 && r->max_per_hour > r->max_per_day)
		tern_check_say(c, r->line, W, "%s: max_per_hour (%llu) is "
		    "above max_per_day (%llu), so the hourly quota is never "
		    "reached",
		    s, (unsigned long long)r->max_per_hour,
		    (unsigned long long)r->max_per_day);
	if (r->host != NULL)
		tern_check_relay_twin(c, r, i, s);
}

void
tern_check_relays(struct tern_check *c)
{
	size_t i;

	if (c->cfg->delivery == CONFIG_DELIVERY_DIRECT && c->cfg->nrelays > 0)
		tern_check_say(c, config_key_line(c->cfg, "delivery"), W,
		    "delivery = "
		    "direct, so the [relay] sections are not used: remove "
		    "delivery to send through them");
	for (i = 0; i < c->cfg->nrelays; i++)
		tern_check_relay(c, &c->cfg->relays[i], i);
}
