/*
 * relay_preset: providers a [relay] can name with "preset = NAME",
 * filling host, port and tls so users need not know them.
 */
#ifndef TERN_RELAY_PRESET_H
#define TERN_RELAY_PRESET_H

#include "config.h"

struct relay_preset {
	const char *name;
	const char *host;
	unsigned port;
	enum config_tls tls;
	const char *note; /* the provider's quirk, in plain words */
};

/* The preset called name (case-insensitive), or NULL. */
const struct relay_preset *relay_preset_find(const char *name);

/* A comma-separated list of every preset name, for messages. */
const char *relay_preset_names(void);

#endif
