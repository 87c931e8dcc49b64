/*
 * tern_cmd: the subcommands of the admin tool.  Each takes the loaded
 * config and its own arguments (argv[0] is the subcommand name) and
 * returns a sysexits.h code.
 */
#ifndef TERN_TERN_CMD_H
#define TERN_TERN_CMD_H

#include "config.h"

/* tern queue [--json] */
int tern_cmd_queue(const struct config *cfg, int argc, char **argv);

/* tern flush: ask the running ternd to retry deferred mail now. */
int tern_cmd_flush(const struct config *cfg, int argc, char **argv);

/* tern show ID [--json]: a message's envelope and header section. */
int tern_cmd_show(const struct config *cfg, int argc, char **argv);

/* tern delete ID... | --all, tern hold ID..., tern release ID...:
 * queue surgery, through ternd when it runs (exit 66 when an ID was
 * not found, 74 when one failed). */
int tern_cmd_delete(const struct config *cfg, int argc, char **argv);
int tern_cmd_hold(const struct config *cfg, int argc, char **argv);
int tern_cmd_release(const struct config *cfg, int argc, char **argv);

/* tern stats [--json]: the running ternd's counters (69 without it). */
int tern_cmd_stats(const struct config *cfg, int argc, char **argv);

/* tern check: the config was loaded by the caller with every error
 * already printed; this adds the checks that need more than syntax. */
int tern_cmd_check(const struct config *cfg, int argc, char **argv);

/* tern dkim keygen DOMAIN SELECTOR [--type rsa|ed25519] [--bits N]
 * [--out FILE] [--force]: write a DKIM key, print its DNS record. */
int tern_cmd_dkim(const struct config *cfg, int argc, char **argv);

/* tern dns DOMAIN [--selector S]: check the MX, SPF, DKIM and DMARC
 * records of a sending domain and advise.  Returns 0 without errors,
 * 1 when an error was found, EX_TEMPFAIL when a lookup failed (and no
 * error was found), EX_USAGE, EX_CONFIG or EX_OSERR. */
int tern_cmd_dns(const struct config *cfg, int argc, char **argv);

/* tern test-relay [NAME]: try each relay (or the one named) step by
 * step -- DNS, connect, TLS, EHLO, AUTH, MAIL FROM and RSET, no message
 * sent -- and say what is wrong and what to change.  Returns 0 when
 * every relay tested passed, 1 when one failed, EX_TEMPFAIL when the
 * only failures were temporary, EX_CONFIG when a relay's files could
 * not be used (or there is no relay), EX_USAGE. */
int tern_cmd_test_relay(const struct config *cfg, int argc, char **argv);

#endif
