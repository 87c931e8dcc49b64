/*
 * tern_check_file: the files a config names, as ternd will meet them —
 * present, regular, private when they hold a secret, readable by the
 * account that reads them (run_user for relay secrets and DKIM keys,
 * which ternd loads after dropping root) — and the DKIM keys' contents:
 * a private key of the kind the section's algorithm signs with, strong
 * enough.  It reads files only; it never changes one.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "tern_check_int.h"

/* Below this many bits an RSA DKIM key is refused (as dkim.c does);
 * below the second, receivers such as Gmail may ignore it. */
#define TERN_CHECK_RSA_MIN 1024
#define TERN_CHECK_RSA_GOOD 2048

/* May run_user read a file with this owner and mode (permission bits
 * only: ACLs and the directories above are not looked at)? */
static bool
tern_check_run_user_reads(const struct tern_check *c, const struct stat *st)
{
	int i;

	if (c->run_uid == 0)
		return true;
	if (st->st_uid == c->run_uid)
		return (st->st_mode & S_IRUSR) != 0;
	for (i = 0; i < c->run_ngids; i++)
		if (st->st_gid == c->run_gids[i])
			return (st->st_mode & S_IRGRP) != 0;
	return (st->st_mode & S_IROTH) != 0;
}

/* Can the file be read by whoever ternd reads it as?  Returns true when
 * this process can read it too (so its contents may be checked). */
static bool
tern_check_readable(struct tern_check *c, unsigned line, const char *sect,
    const char *key, const char *path, const struct stat *st,
    enum tern_check_reader reader)
{
	if (c->as_root) {
		if (reader == TERN_CHECK_BY_RUN_USER && c->have_run_user &&
		    !tern_check_run_user_reads(c, st))
			tern_check_say(c, line, TERN_CHECK_ERROR, "%s: %s %s "
			    "cannot be read by run_user %s, which ternd reads "
			    "it as (owner %u, group %u, mode %04o): run chown "
			    "%s %s", sect, key, path, c->cfg->run_user,
			    (unsigned)st->st_uid, (unsigned)st->st_gid,
			    (unsigned)(st->st_mode & 07777), c->cfg->run_user,
			    path);
		return true;
	}
	if (access(path, R_OK) == 0)
		return true;
	tern_check_say(c, line, c->is_run_user ? TERN_CHECK_ERROR :
	    TERN_CHECK_WARN, "%s: %s %s: %s; %s", sect, key, path,
	    strerror(errno), c->is_run_user ? "ternd, running as you, "
	    "cannot read it either: make it readable by you" : "run tern "
	    "check as root to know whether ternd can read it");
	return false;
}

/* Does ternd itself refuse a file of this key that others may use?
 * (It does for these; the rest are still secrets worth an error.) */
static bool
tern_check_refused(const char *key)
{
	return strcmp(key, "password_file") == 0 ||
	    strcmp(key, "users_file") == 0 || strcmp(key, "key_file") == 0;
}

bool
tern_check_secret(struct tern_check *c, unsigned line, const char *sect,
    const char *key, const char *path, enum tern_check_reader reader,
    bool no_link)
{
	struct stat st;

	if ((no_link ? lstat(path, &st) : stat(path, &st)) < 0) {
		tern_check_say(c, line, errno == EACCES ? TERN_CHECK_WARN :
		    TERN_CHECK_ERROR, "%s: %s %s: %s; %s", sect, key, path,
		    strerror(errno), errno == EACCES ? "run tern check as "
		    "root to check it" : "create it (mode 600), or fix the "
		    "path");
		return false;
	}
	if (S_ISLNK(st.st_mode)) {
		tern_check_say(c, line, TERN_CHECK_ERROR, "%s: %s %s is a "
		    "symbolic link, which ternd refuses; name the file itself",
		    sect, key, path);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		tern_check_say(c, line, TERN_CHECK_ERROR, "%s: %s %s is not a "
		    "regular file", sect, key, path);
		return false;
	}
	if (st.st_mode & 0007)
		tern_check_say(c, line, TERN_CHECK_ERROR, "%s: %s %s can be "
		    "read or changed by others (mode %04o)%s: run chmod o= %s",
		    sect, key, path, (unsigned)(st.st_mode & 07777),
		    tern_check_refused(key) ? ", and ternd refuses it" : "",
		    path);
	else if (st.st_mode & S_IWGRP)
		tern_check_say(c, line, TERN_CHECK_WARN, "%s: %s %s can be "
		    "changed by its group (mode %04o): run chmod g-w %s", sect,
		    key, path, (unsigned)(st.st_mode & 07777), path);
	if (st.st_size == 0)
		tern_check_say(c, line, TERN_CHECK_ERROR, "%s: %s %s is "
		    "empty; put the secret on its first line", sect, key,
		    path);
	return tern_check_readable(c, line, sect, key, path, &st, reader);
}

bool
tern_check_public(struct tern_check *c, unsigned line, const char *sect,
    const char *key, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		tern_check_say(c, line, TERN_CHECK_ERROR, "%s: %s %s: %s; fix "
		    "the path", sect, key, path, strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		tern_check_say(c, line, TERN_CHECK_ERROR, "%s: %s %s is not a "
		    "regular file", sect, key, path);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------- DKIM */

static int
tern_check_no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* The key in path, or NULL (unreadable, not PEM, or encrypted). */
static EVP_PKEY *
tern_check_load_key(const char *path)
{
	EVP_PKEY *pk = NULL;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	pk = PEM_read_PrivateKey(f, NULL, tern_check_no_pass, NULL);
	fclose(f);
	return pk;
}

/* The key's kind and size against the section's algorithm. */
static void
tern_check_dkim_key(struct tern_check *c, const struct config_dkim *d,
    const char *sect, EVP_PKEY *pk)
{
	bool want_rsa = d->algorithm == CONFIG_DKIM_RSA_SHA256;
	int type = EVP_PKEY_base_id(pk), bits = EVP_PKEY_bits(pk);

	if (want_rsa && type != EVP_PKEY_RSA)
		tern_check_say(c, d->line, TERN_CHECK_ERROR, "%s: key_file %s "
		    "does not hold an RSA key, but algorithm = rsa-sha256: set "
		    "algorithm = ed25519-sha256 if it is an Ed25519 key, or "
		    "make an RSA key with tern dkim keygen %s %s", sect,
		    d->key_file, d->domain, d->selector);
	else if (!want_rsa && type != EVP_PKEY_ED25519)
		tern_check_say(c, d->line, TERN_CHECK_ERROR, "%s: key_file %s "
		    "does not hold an Ed25519 key, but algorithm = "
		    "ed25519-sha256: set algorithm = rsa-sha256 if it is an "
		    "RSA key", sect, d->key_file);
	else if (want_rsa && bits < TERN_CHECK_RSA_MIN)
		tern_check_say(c, d->line, TERN_CHECK_ERROR, "%s: key_file %s "
		    "holds a %d-bit RSA key, which receivers ignore and ternd "
		    "refuses: make a 2048-bit one with tern dkim keygen %s %s",
		    sect, d->key_file, bits, d->domain, d->selector);
	else if (want_rsa && bits < TERN_CHECK_RSA_GOOD)
		tern_check_say(c, d->line, TERN_CHECK_WARN, "%s: key_file %s "
		    "holds a %d-bit RSA key; some receivers want 2048 bits: "
		    "make a new key with tern dkim keygen %s NEWSELECTOR",
		    sect, d->key_file, bits, d->domain);
}

void
tern_check_dkims(struct tern_check *c)
{
	const struct config_dkim *d;
	char sect[300];
	EVP_PKEY *pk;
	size_t i;

	for (i = 0; i < c->cfg->ndkims; i++) {
		d = &c->cfg->dkims[i];
		snprintf(sect, sizeof(sect), "[dkim %s]", d->domain);
		if (access(d->key_file, F_OK) < 0 && errno == ENOENT) {
			tern_check_say(c, d->line, TERN_CHECK_ERROR, "%s: "
			    "key_file %s does not exist: make it with tern "
			    "dkim keygen %s %s --out %s", sect, d->key_file,
			    d->domain, d->selector, d->key_file);
			continue;
		}
		if (!tern_check_secret(c, d->line, sect, "key_file",
		    d->key_file, TERN_CHECK_BY_RUN_USER, true))
			continue;
		if ((pk = tern_check_load_key(d->key_file)) == NULL) {
			tern_check_say(c, d->line, TERN_CHECK_ERROR, "%s: "
			    "key_file %s does not hold a PEM private key (or "
			    "it is encrypted): make one with tern dkim keygen "
			    "%s %s", sect, d->key_file, d->domain,
			    d->selector);
			continue;
		}
		tern_check_dkim_key(c, d, sect, pk);
		EVP_PKEY_free(pk);
	}
}
