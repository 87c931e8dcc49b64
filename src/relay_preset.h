/*
 * relay_preset: providers a [relay] can name with "preset = NAME",
 * filling host, port and tls so users need not know them, and saying
 * in plain words what each provider wants for AUTH and what trips
 * people up with it (for "tern check" and "tern test-relay").
 *
 * A preset is named "NAME" or "NAME:REGION".  ses needs a region
 * ("ses:eu-west-1" is email-smtp.eu-west-1.amazonaws.com); zoho and
 * mailgun take an optional one ("zoho:eu", "mailgun:eu"); the others
 * take none.
 */
#ifndef TERN_RELAY_PRESET_H
#define TERN_RELAY_PRESET_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "errbuf.h"

/* The provider rejects mail whose From (and envelope sender) is not
 * the authenticated account: set "from" on the relay. */
#define RELAY_PRESET_FROM_ACCOUNT 0x01
/* Basic authentication (PLAIN, LOGIN) is off for most accounts: the
 * provider wants auth = xoauth2. */
#define RELAY_PRESET_BASIC_OFF 0x02
/* "NAME" alone is not enough: the host depends on "NAME:REGION". */
#define RELAY_PRESET_REGION_REQUIRED 0x04

struct relay_preset {
	const char *name;
	/* The host without a region; NULL when a region is required. */
	const char *host;
	unsigned port;
	enum config_tls tls;
	/* The AUTH it wants, in words, e.g. "PLAIN or LOGIN with an app
	 * password, or XOAUTH2". */
	const char *auth;
	/* What to put in username and password_file: the advice for a
	 * rejected AUTH (a 535), in one sentence. */
	const char *auth_hint;
	/* The provider's other quirk, in plain words. */
	const char *note;
	/* The username it insists on ("apikey"), or NULL for the account. */
	const char *username;
	/* How to write the region, e.g. "ses:REGION (e.g. ses:eu-west-1)",
	 * or NULL when the preset takes none. */
	const char *region_form;
	unsigned flags; /* RELAY_PRESET_* */
};

/*
 * The provider named by spec ("NAME" or "NAME:REGION", NAME in any
 * case), or NULL when NAME is unknown.  The region is not checked:
 * use relay_preset_host for that.  The result is static.
 */
const struct relay_preset *relay_preset_find(const char *spec);

/*
 * The host spec stands for, in host[0..len): the preset's host, or
 * the region's.  Returns 0, or -1 with eb saying what is wrong and the
 * form to use (unknown name, missing region, bad region, a region for
 * a preset that takes none).
 */
int relay_preset_host(const char *spec, char *host, size_t len,
    struct errbuf *eb);

/* The number of presets, and the i-th one (file order), for listing. */
size_t relay_preset_count(void);
const struct relay_preset *relay_preset_at(size_t i);

/* A comma-separated list of every preset name, for messages. */
const char *relay_preset_names(void);

#endif
