/*
 * tern_dkim: "tern dkim keygen DOMAIN SELECTOR" — make a DKIM signing
 * key with OpenSSL (RSA, or Ed25519 per RFC 8463), write it where the
 * config's [dkim DOMAIN] section looks for it, and print the DNS TXT
 * record that publishes its public half.
 *
 * The key goes through a private temporary file in the key's own
 * directory that is made durable before it takes the key's name, so a
 * crash never leaves a half-written key under the name ternd reads.
 * An existing key is replaced only with --force: it may be the one
 * whose record is in the DNS, and replacing it breaks every signature
 * until the new record is published.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "errbuf.h"
#include "fileio.h"
#include "str.h"
#include "tern_cmd.h"

#define TERN_DKIM_USAGE "usage: tern dkim keygen DOMAIN SELECTOR " \
	"[--type rsa|ed25519] [--bits N]\n" \
	"                        [--out FILE] [--force]\n"

#define TERN_DKIM_BITS_DEFAULT 2048
#define TERN_DKIM_BITS_MIN 1024
#define TERN_DKIM_BITS_MAX 4096
/* RFC 8301 3.2: signers SHOULD use at least 2048 bits. */
#define TERN_DKIM_BITS_STRONG 2048
/* RFC 1035 3.3: one character-string of a TXT record holds 255 bytes. */
#define TERN_DKIM_TXT_CHUNK 255
/* RFC 1035 2.3.4, in the dotted text form without the final dot. */
#define TERN_DKIM_NAME_MAX 253
#define TERN_DKIM_LABEL_MAX 63

enum tern_dkim_type { TERN_DKIM_RSA, TERN_DKIM_ED25519 };

struct tern_dkim_args {
	char domain[TERN_DKIM_NAME_MAX + 1]; /* without a final dot */
	const char *selector;
	int type;        /* enum tern_dkim_type */
	bool type_given;
	unsigned bits;   /* RSA only */
	bool bits_given;
	const char *out; /* NULL: the config's key_file or its default */
	bool force;
	bool help;
};

/* Who the key will belong to: run_user when running as root. */
struct tern_dkim_owner {
	const char *name;
	bool chown;      /* root, and run_user exists */
	bool missing;    /* root, and run_user does not exist */
	uid_t uid;
	gid_t gid;
	char group[64];  /* the name of gid, for advice */
};

static int tern_dkim_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int
tern_dkim_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tern: dkim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", TERN_DKIM_USAGE);
	return EX_USAGE;
}

/* ---------------------------------------------------------------- names */

/*
 * Why the dotted name s is not usable, or NULL when it is.  Labels are
 * letters, digits and '-' (not first or last) — RFC 6376 3.1 for the
 * selector, the host name rules for the domain — plus '_' in a
 * selector, which the DNS allows and some providers' selectors use.
 */
static const char *
tern_dkim_name_problem(const char *s, bool selector)
{
	const char *label = s, *p;
	size_t len;

	for (p = s;; p++) {
		if (*p != '.' && *p != '\0') {
			if ((unsigned char)*p >= 0x80)
				return "it is not ASCII; use the xn-- form of "
				    "an internationalized name";
			if (!(*p >= 'a' && *p <= 'z') &&
			    !(*p >= 'A' && *p <= 'Z') &&
			    !(*p >= '0' && *p <= '9') && *p != '-' &&
			    !(selector && *p == '_'))
				return selector ? "use only letters, digits, "
				    "'-', '_' and '.'" : "use only letters, "
				    "digits, '-' and '.'";
			continue;
		}
		len = (size_t)(p - label);
		if (len == 0)
			return "it has an empty label (a dot at the start or "
			    "end, or two in a row)";
		if (len > TERN_DKIM_LABEL_MAX)
			return "a label (between dots) is longer than 63 "
			    "characters";
		if (label[0] == '-' || p[-1] == '-')
			return "a label (between dots) begins or ends with '-'";
		if (*p == '\0')
			return NULL;
		label = p + 1;
	}
}

/* The domain without its final dot, into kg->domain; 0 or EX_USAGE. */
static int
tern_dkim_set_domain(struct tern_dkim_args *kg, const char *arg)
{
	const char *why, *last;
	size_t len = strlen(arg);

	if (len > 1 && arg[len - 1] == '.')
		len--;
	if (len == 0)
		return tern_dkim_usage_error("the domain is empty; give the "
		    "domain to sign for, e.g. example.org");
	if (len > TERN_DKIM_NAME_MAX)
		return tern_dkim_usage_error("domain '%s' is longer than %d "
		    "characters", arg, TERN_DKIM_NAME_MAX);
	memcpy(kg->domain, arg, len);
	kg->domain[len] = '\0';
	if ((why = tern_dkim_name_problem(kg->domain, false)) != NULL)
		return tern_dkim_usage_error("'%s' is not a domain name: %s",
		    arg, why);
	if ((last = strrchr(kg->domain, '.')) == NULL)
		return tern_dkim_usage_error("'%s' is not a full domain name; "
		    "give the domain of the From addresses, e.g. example.org",
		    arg);
	if (strspn(last + 1, "0123456789") == strlen(last + 1))
		return tern_dkim_usage_error("'%s' is an IP address, not a "
		    "domain name; give the domain of the From addresses, "
		    "e.g. example.org", arg);
	return EX_OK;
}

static int
tern_dkim_set_selector(struct tern_dkim_args *kg, const char *arg)
{
	const char *why;

	if (arg[0] == '\0')
		return tern_dkim_usage_error("the selector is empty; give a "
		    "name for this key, e.g. the month: mail2026");
	if ((why = tern_dkim_name_problem(arg, true)) != NULL)
		return tern_dkim_usage_error("bad selector '%s': %s", arg,
		    why);
	if (strlen(arg) + strlen("._domainkey.") + strlen(kg->domain) >
	    TERN_DKIM_NAME_MAX)
		return tern_dkim_usage_error("selector '%s': the record name "
		    "%s._domainkey.%s would be longer than %d characters; "
		    "use a shorter selector", arg, arg, kg->domain,
		    TERN_DKIM_NAME_MAX);
	kg->selector = arg;
	return EX_OK;
}

/* ---------------------------------------------------------------- options */

static int
tern_dkim_set_type(struct tern_dkim_args *kg, const char *val)
{
	if (kg->type_given)
		return tern_dkim_usage_error("--type is given twice");
	kg->type_given = true;
	if (strcasecmp(val, "rsa") == 0)
		kg->type = TERN_DKIM_RSA;
	else if (strcasecmp(val, "ed25519") == 0)
		kg->type = TERN_DKIM_ED25519;
	else
		return tern_dkim_usage_error("unknown key type '%s'; use "
		    "--type rsa or --type ed25519", val);
	return EX_OK;
}

static int
tern_dkim_set_bits(struct tern_dkim_args *kg, const char *val)
{
	size_t len = strspn(val, "0123456789");

	if (kg->bits_given)
		return tern_dkim_usage_error("--bits is given twice");
	kg->bits_given = true;
	if (len == 0 || val[len] != '\0' || len > 5)
		return tern_dkim_usage_error("bad --bits '%s': give a number "
		    "from %d to %d", val, TERN_DKIM_BITS_MIN,
		    TERN_DKIM_BITS_MAX);
	kg->bits = (unsigned)strtoul(val, NULL, 10);
	if (kg->bits < TERN_DKIM_BITS_MIN || kg->bits > TERN_DKIM_BITS_MAX)
		return tern_dkim_usage_error("--bits %s: RSA keys for DKIM "
		    "have %d to %d bits (%d is usual)", val,
		    TERN_DKIM_BITS_MIN, TERN_DKIM_BITS_MAX,
		    TERN_DKIM_BITS_DEFAULT);
	return EX_OK;
}

static int
tern_dkim_set_out(struct tern_dkim_args *kg, const char *val)
{
	if (kg->out != NULL)
		return tern_dkim_usage_error("--out is given twice");
	if (val[0] == '\0')
		return tern_dkim_usage_error("--out names an empty file");
	if (strlen(val) >= PATH_MAX)
		return tern_dkim_usage_error("--out: the path is longer than "
		    "%d bytes", PATH_MAX - 1);
	kg->out = val;
	return EX_OK;
}

/* Whether arg[0..len) is exactly the option name. */
static bool
tern_dkim_is(const char *arg, size_t len, const char *name)
{
	return len == strlen(name) && strncmp(arg, name, len) == 0;
}

/* One option at argv[*i], "--name VALUE" or "--name=VALUE". */
static int
tern_dkim_option(struct tern_dkim_args *kg, int argc, char **argv, int *i)
{
	const char *arg = argv[*i], *eq, *val;
	size_t len;

	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
		kg->help = true;
		return EX_OK;
	}
	if (strcmp(arg, "--force") == 0) {
		kg->force = true;
		return EX_OK;
	}
	eq = strchr(arg, '=');
	len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	if (!tern_dkim_is(arg, len, "--type") &&
	    !tern_dkim_is(arg, len, "--bits") &&
	    !tern_dkim_is(arg, len, "--out"))
		return tern_dkim_usage_error("unknown option '%s'", arg);
	if (eq != NULL)
		val = eq + 1;
	else if (*i + 1 < argc)
		val = argv[++*i];
	else
		return tern_dkim_usage_error("%s needs a value", arg);
	if (tern_dkim_is(arg, len, "--type"))
		return tern_dkim_set_type(kg, val);
	if (tern_dkim_is(arg, len, "--bits"))
		return tern_dkim_set_bits(kg, val);
	return tern_dkim_set_out(kg, val);
}

/* argv[0] is "keygen": options anywhere, DOMAIN then SELECTOR. */
static int
tern_dkim_parse(struct tern_dkim_args *kg, int argc, char **argv)
{
	const char *pos[2];
	bool options = true;
	int i, npos = 0, rc;

	memset(kg, 0, sizeof(*kg));
	kg->type = TERN_DKIM_RSA;
	for (i = 1; i < argc; i++) {
		if (options && strcmp(argv[i], "--") == 0) {
			options = false;
		} else if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
			rc = tern_dkim_option(kg, argc, argv, &i);
			if (rc != EX_OK)
				return rc;
		} else if (npos == 2) {
			return tern_dkim_usage_error("unexpected argument "
			    "'%s'", argv[i]);
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (kg->help)
		return EX_OK;
	if (npos < 2)
		return tern_dkim_usage_error("%s", npos == 0 ? "give the "
		    "DOMAIN and SELECTOR" : "give the SELECTOR after the "
		    "DOMAIN");
	if ((rc = tern_dkim_set_domain(kg, pos[0])) != EX_OK ||
	    (rc = tern_dkim_set_selector(kg, pos[1])) != EX_OK)
		return rc;
	if (kg->type == TERN_DKIM_ED25519 && kg->bits_given)
		return tern_dkim_usage_error("--bits is for RSA keys; ed25519 "
		    "keys always have 256 bits");
	if (!kg->bits_given)
		kg->bits = TERN_DKIM_BITS_DEFAULT;
	return EX_OK;
}

/* ---------------------------------------------------------------- paths */

/* The [dkim] section for the domain, or NULL; with a selector given,
 * only the one with that selector. */
static const struct config_dkim *
tern_dkim_section(const struct config *cfg, const char *domain,
    const char *selector)
{
	const struct config_dkim *d;
	size_t i;

	for (i = 0; i < cfg->ndkims; i++) {
		d = &cfg->dkims[i];
		if (strcasecmp(d->domain, domain) == 0 && (selector == NULL ||
		    (d->selector != NULL &&
		    strcasecmp(d->selector, selector) == 0)))
			return d;
	}
	return NULL;
}

/* The key_file a [dkim DOMAIN] section gets when it sets none, built
 * as config_finish_dkim() builds it. */
static size_t
tern_dkim_default_path(const char *domain, const char *selector, char *path,
    size_t size)
{
	return (size_t)snprintf(path, size, "%s/tern/dkim/%s.%s.key",
	    SYSCONFDIR, domain, selector);
}

/*
 * Where the key goes: --out, else the key_file of the matching [dkim]
 * section (so ternd reads the very file written), else the default
 * key_file, with the domain spelt as in the domain's section if any.
 */
static int
tern_dkim_key_path(const struct config *cfg, const struct tern_dkim_args *kg,
    char *path, size_t size, struct errbuf *eb)
{
	const struct config_dkim *sec, *dom;
	size_t len;

	sec = tern_dkim_section(cfg, kg->domain, kg->selector);
	dom = tern_dkim_section(cfg, kg->domain, NULL);
	if (kg->out != NULL)
		len = str_lcpy(path, kg->out, size);
	else if (sec != NULL)
		len = str_lcpy(path, sec->key_file, size);
	else
		len = tern_dkim_default_path(dom != NULL ? dom->domain :
		    kg->domain, kg->selector, path, size);
	if (len >= size)
		return errbuf_setc(eb, EX_USAGE, "the key file's path is "
		    "longer than %zu bytes; use --out", size - 1);
	return 0;
}

/* The directory part of path ("." for a bare name), into dir. */
static void
tern_dkim_dirname(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		str_lcpy(dir, ".", size);
		return;
	}
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path) {
		str_lcpy(dir, "/", size);
		return;
	}
	snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

static int
tern_dkim_exists(const char *path, struct errbuf *eb)
{
	return errbuf_setc(eb, EX_CANTCREAT, "%s exists; remove it or choose "
	    "another selector (--force replaces it, which breaks signatures "
	    "until the new record is published)", path);
}

/* Refuse early, before the slow part, what the final link would. */
static int
tern_dkim_check_target(const char *path, bool force, struct errbuf *eb)
{
	struct stat st;

	if (path[strlen(path) - 1] == '/' ||
	    (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return errbuf_setc(eb, EX_CANTCREAT, "%s is a directory; "
		    "--out names the key file itself, e.g. "
		    "DIR/DOMAIN.SELECTOR.key", path);
	if (!force && lstat(path, &st) == 0)
		return tern_dkim_exists(path, eb);
	return 0;
}

/* ---------------------------------------------------------------- owner */

static void
tern_dkim_owner(const struct config *cfg, struct tern_dkim_owner *o)
{
	struct passwd *pw;
	struct group *gr;

	memset(o, 0, sizeof(*o));
	o->name = cfg->run_user;
	if (geteuid() != 0)
		return;
	if ((pw = getpwnam(cfg->run_user)) == NULL) {
		o->missing = true;
		return;
	}
	o->chown = true;
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
	if ((gr = getgrgid(o->gid)) != NULL)
		str_lcpy(o->group, gr->gr_name, sizeof(o->group));
	else
		snprintf(o->group, sizeof(o->group), "%lu",
		    (unsigned long)o->gid);
}

/* Whether run_user may enter a directory with these attributes. */
static bool
tern_dkim_can_enter(const struct tern_dkim_owner *o, const struct stat *st)
{
	gid_t groups[256];
	int i, n = (int)(sizeof(groups) / sizeof(groups[0]));

	if (o->uid == 0)
		return true;
	if (o->uid == st->st_uid)
		return (st->st_mode & S_IXUSR) != 0;
	if (getgrouplist(o->name, o->gid, groups, &n) < 0)
		n = 0;
	for (i = 0; i < n; i++)
		if (groups[i] == st->st_gid)
			return (st->st_mode & S_IXGRP) != 0;
	return (st->st_mode & S_IXOTH) != 0;
}

/*
 * ternd reads keys after dropping root: say so when run_user cannot
 * reach the key's directory, rather than let ternd fail at its start.
 */
static void
tern_dkim_check_reach(const char *dir, const struct tern_dkim_owner *o)
{
	char buf[PATH_MAX], c;
	size_t i, len = str_lcpy(buf, dir, sizeof(buf));
	struct stat st;

	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		c = buf[i];
		buf[i] = '\0';
		if (stat(buf, &st) == 0 && !tern_dkim_can_enter(o, &st)) {
			fprintf(stderr, "tern: warning: run_user %s may not "
			    "enter %s (mode %04o), so ternd cannot read the "
			    "key; let it in, e.g. chgrp %s %s && chmod g+x "
			    "%s\n", o->name, buf,
			    (unsigned)(st.st_mode & 07777), o->group, buf, buf);
			return;
		}
		buf[i] = c;
	}
}

/*
 * Create dir and its missing parents, 0750 whatever the umask; as root
 * in run_user's group, so ternd may enter but not write them.
 */
static int
tern_dkim_make_dirs(const char *dir, const struct tern_dkim_owner *o,
    struct errbuf *eb)
{
	char buf[PATH_MAX], c;
	size_t i, len = str_lcpy(buf, dir, sizeof(buf));

	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0750) == 0) {
			if (chmod(buf, 0750) < 0 || (o->chown &&
			    chown(buf, (uid_t)-1, o->gid) < 0))
				return errbuf_errno(eb, errno, "set the mode "
				    "of directory %s", buf);
			printf("created directory %s\n", buf);
		} else if (errno != EEXIST) {
			return errbuf_errno(eb, errno, "create directory %s",
			    buf);
		}
		buf[i] = c;
	}
	return 0;
}

/* ---------------------------------------------------------------- key */

static int
tern_dkim_ssl_error(struct errbuf *eb, const char *what)
{
	char msg[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		str_lcpy(msg, "unknown OpenSSL error", sizeof(msg));
	else
		ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return errbuf_setc(eb, EX_SOFTWARE, "%s: %s", what, msg);
}

static EVP_PKEY *
tern_dkim_generate(const struct tern_dkim_args *kg, struct errbuf *eb)
{
	EVP_PKEY *key;

	if (kg->type == TERN_DKIM_RSA)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)kg->bits);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (key == NULL)
		tern_dkim_ssl_error(eb, "cannot generate the key");
	return key;
}

/*
 * The p= tag: base64 of the SubjectPublicKeyInfo DER for RSA (RFC 6376
 * 3.6.1), of the bare 32-byte public key for Ed25519 (RFC 8463 4.2).
 */
static char *
tern_dkim_public_b64(EVP_PKEY *key, int type, struct errbuf *eb)
{
	unsigned char raw[32], *der = NULL;
	const unsigned char *bytes = raw;
	size_t len = sizeof(raw);
	char *b64;
	int n;

	if (type == TERN_DKIM_ED25519) {
		if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1) {
			tern_dkim_ssl_error(eb, "cannot get the public key");
			return NULL;
		}
	} else {
		if ((n = i2d_PUBKEY(key, &der)) <= 0) {
			tern_dkim_ssl_error(eb, "cannot encode the public key");
			return NULL;
		}
		bytes = der;
		len = (size_t)n;
	}
	if ((b64 = malloc(4 * ((len + 2) / 3) + 1)) == NULL)
		errbuf_setc(eb, EX_OSERR, "out of memory");
	else
		EVP_EncodeBlock((unsigned char *)b64, bytes, (int)len);
	OPENSSL_free(der);
	return b64;
}

/* The private key as PKCS#8 PEM into fd. */
static int
tern_dkim_write_pem(int fd, EVP_PKEY *key, const char *tmp,
    struct errbuf *eb)
{
	BIO *bio;
	char *pem;
	long len;
	int rc = 0;

	/* Secure memory: the key's text is wiped when the BIO is freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    !PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL,
	    NULL) || (len = BIO_get_mem_data(bio, &pem)) <= 0)
		rc = tern_dkim_ssl_error(eb, "cannot encode the private key");
	else if (fileio_write_all(fd, pem, (size_t)len) < 0)
		rc = errbuf_errno(eb, errno, "write %s", tmp);
	BIO_free(bio);
	return rc;
}

/*
 * Give tmp the name path.  Without --force a hard link, which fails
 * rather than replace a key that appeared meanwhile; on file systems
 * without hard links, a check and a rename.
 */
static int
tern_dkim_install(const char *tmp, const char *path, bool force,
    struct errbuf *eb)
{
	struct stat st;

	if (!force) {
		if (link(tmp, path) == 0) {
			if (unlink(tmp) < 0)
				fprintf(stderr, "tern: warning: cannot remove "
				    "%s: %s\n", tmp, strerror(errno));
			return 0;
		}
		if (errno == EEXIST)
			return tern_dkim_exists(path, eb);
		if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
			return errbuf_errno(eb, errno, "link %s to %s", tmp,
			    path);
		if (lstat(path, &st) == 0)
			return tern_dkim_exists(path, eb);
	}
	if (rename(tmp, path) < 0)
		return errbuf_errno(eb, errno, "rename %s to %s", tmp, path);
	return 0;
}

/*
 * Write key to path: a temporary file beside it, private from its
 * creation, owned by run_user when we are root, fsync'd, then named.
 */
static int
tern_dkim_write_key(EVP_PKEY *key, const char *path, const char *dir,
    bool force, const struct tern_dkim_owner *o, struct errbuf *eb)
{
	const char *base = strrchr(path, '/');
	char tmp[PATH_MAX];
	int fd, rc = -1;

	base = base != NULL ? base + 1 : path;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base) >=
	    sizeof(tmp))
		return errbuf_setc(eb, EX_USAGE, "%s: the path is too long",
		    path);
	/* mkostemp: O_CREAT | O_EXCL, mode 0600. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return errbuf_errno(eb, errno, "create a file in %s", dir);
	if (fchmod(fd, 0600) < 0)
		errbuf_errno(eb, errno, "chmod %s", tmp);
	else if (o->chown && fchown(fd, o->uid, o->gid) < 0)
		errbuf_errno(eb, errno, "chown %s to %s", tmp, o->name);
	else if (tern_dkim_write_pem(fd, key, tmp, eb) == 0) {
		if (fsync(fd) < 0)
			errbuf_errno(eb, errno, "fsync %s", tmp);
		else
			rc = 0;
	}
	if (close(fd) < 0 && rc == 0)
		rc = errbuf_errno(eb, errno, "close %s", tmp);
	if (rc == 0)
		rc = tern_dkim_install(tmp, path, force, eb);
	if (rc < 0) {
		unlink(tmp);
		return -1;
	}
	return fileio_fsync_dir(dir, eb);
}

/* ---------------------------------------------------------------- output */

/*
 * The record as a zone file line: the value cut into quoted strings of
 * at most 255 bytes, which DNS software joins back without spaces.
 * The value holds no '"' or '\', so nothing needs quoting.
 */
static void
tern_dkim_print_zone(const struct tern_dkim_args *kg, const char *tags,
    const char *p)
{
	size_t off, n, len = strlen(p);

	printf("%s._domainkey.%s. IN TXT ( \"%s\"", kg->selector, kg->domain,
	    tags);
	for (off = 0; off < len; off += n) {
		n = len - off < TERN_DKIM_TXT_CHUNK ? len - off :
		    TERN_DKIM_TXT_CHUNK;
		printf(" \"%.*s\"", (int)n, p + off);
	}
	printf(" )\n");
}

/* path, absolute: ternd does not run in our directory. */
static const char *
tern_dkim_absolute(const char *path, char *buf, size_t size)
{
	char cwd[PATH_MAX];

	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL &&
	    (size_t)snprintf(buf, size, "%s/%s", cwd, path) < size)
		return buf;
	return path;
}

/* The algorithm key of a [dkim] section for this key type. */
static int
tern_dkim_algorithm(const struct tern_dkim_args *kg)
{
	return kg->type == TERN_DKIM_RSA ? CONFIG_DKIM_RSA_SHA256 :
	    CONFIG_DKIM_ED25519_SHA256;
}

static const char *
tern_dkim_algorithm_name(int algorithm)
{
	return algorithm == CONFIG_DKIM_RSA_SHA256 ? "rsa-sha256" :
	    "ed25519-sha256";
}

/*
 * What the config needs so ternd signs with the new key: a section, or
 * a new selector (and key_file, algorithm) in the domain's section.
 * key_file is shown unless the section's default names the key, and
 * algorithm unless it is already right: ternd refuses a key of the
 * other type.
 */
static void
tern_dkim_print_config(const struct config *cfg,
    const struct tern_dkim_args *kg, const char *path)
{
	const char *file = cfg->path != NULL ? cfg->path : CONFIG_DEFAULT_PATH;
	const struct config_dkim *sec, *dom;
	char def[PATH_MAX], abs[PATH_MAX];
	bool key_file;
	int alg = tern_dkim_algorithm(kg);

	sec = tern_dkim_section(cfg, kg->domain, kg->selector);
	dom = tern_dkim_section(cfg, kg->domain, NULL);
	if (sec != NULL && sec->algorithm == alg) {
		printf("\nThe [dkim %s] section of %s names this key: ternd "
		    "signs with it\nfrom its next start or reload, so publish "
		    "the record first.\n", sec->domain, file);
		return;
	}
	if (sec != NULL) {
		printf("\nThe [dkim %s] section of %s (line %u) names this "
		    "key but is for\n%s keys: once the record is published, "
		    "set\n\nalgorithm = %s\n", sec->domain, file, sec->line,
		    tern_dkim_algorithm_name(sec->algorithm),
		    tern_dkim_algorithm_name(alg));
		return;
	}
	tern_dkim_default_path(dom != NULL ? dom->domain : kg->domain,
	    kg->selector, def, sizeof(def));
	key_file = strcmp(def, path) != 0;
	if (dom != NULL && dom->selector != NULL && dom->key_file != NULL) {
		tern_dkim_default_path(dom->domain, dom->selector, abs,
		    sizeof(abs));
		key_file = key_file || strcmp(abs, dom->key_file) != 0;
		printf("\nOnce the record is published, sign with the key: in "
		    "[dkim %s] of %s\n(line %u), set\n\n", dom->domain, file,
		    dom->line);
	} else {
		printf("\nOnce the record is published, sign with the key: "
		    "add to %s\n\n[dkim %s]\n", file, kg->domain);
	}
	printf("selector = %s\n", kg->selector);
	if (key_file)
		printf("key_file = %s\n", tern_dkim_absolute(path, abs,
		    sizeof(abs)));
	if (dom != NULL ? dom->algorithm != alg : alg != CONFIG_DKIM_RSA_SHA256)
		printf("algorithm = %s\n", tern_dkim_algorithm_name(alg));
}

static void
tern_dkim_print(const struct config *cfg, const struct tern_dkim_args *kg,
    const char *path, const struct tern_dkim_owner *o, const char *b64)
{
	const char *k = kg->type == TERN_DKIM_RSA ? "rsa" : "ed25519";
	char tags[32], p[8192];

	snprintf(tags, sizeof(tags), "v=DKIM1; k=%s; ", k);
	snprintf(p, sizeof(p), "p=%s", b64);
	if (kg->type == TERN_DKIM_RSA)
		printf("private key: %s (rsa, %u bits)\n", path, kg->bits);
	else
		printf("private key: %s (ed25519)\n", path);
	if (o->chown)
		printf("owner: %s (run_user), so ternd can read the key\n",
		    o->name);
	printf("record name: %s._domainkey.%s\n", kg->selector, kg->domain);
	printf("\nPublish this TXT record in the DNS of %s; in a zone "
	    "file:\n\n", kg->domain);
	tern_dkim_print_zone(kg, tags, p);
	printf("\nor in a web DNS panel (type TXT, name %s._domainkey), the "
	    "value:\n\n%s%s\n", kg->selector, tags, p);
	tern_dkim_print_config(cfg, kg, path);
}

/* ---------------------------------------------------------------- keygen */

static void
tern_dkim_warn_bits(const struct tern_dkim_args *kg)
{
	if (kg->type == TERN_DKIM_RSA && kg->bits < TERN_DKIM_BITS_STRONG)
		fprintf(stderr, "tern: warning: %u-bit RSA keys are weak: "
		    "receivers may treat the signatures as invalid (RFC 8301 "
		    "asks for %d bits); use --bits %d or more\n", kg->bits,
		    TERN_DKIM_BITS_STRONG, TERN_DKIM_BITS_STRONG);
}

/* As root: can ternd, which reads keys as run_user, read this one? */
static void
tern_dkim_warn_owner(const struct tern_dkim_owner *o, const char *path,
    const char *dir)
{
	if (o->missing)
		fprintf(stderr, "tern: warning: run_user %s does not exist, "
		    "so %s stays owned by root and ternd (which reads keys "
		    "as run_user) cannot read it; chown it once the user "
		    "exists\n", o->name, path);
	else if (o->chown)
		tern_dkim_check_reach(dir, o);
}

static int
tern_dkim_keygen(const struct config *cfg, int argc, char **argv)
{
	struct tern_dkim_args kg;
	struct tern_dkim_owner o;
	struct errbuf eb;
	char path[PATH_MAX], dir[PATH_MAX], *b64 = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	if ((rc = tern_dkim_parse(&kg, argc, argv)) != EX_OK)
		return rc;
	if (kg.help) {
		fputs(TERN_DKIM_USAGE, stdout);
		return EX_OK;
	}
	errbuf_clear(&eb);
	tern_dkim_owner(cfg, &o);
	if (tern_dkim_key_path(cfg, &kg, path, sizeof(path), &eb) < 0 ||
	    tern_dkim_check_target(path, kg.force, &eb) < 0)
		goto fail;
	tern_dkim_dirname(path, dir, sizeof(dir));
	tern_dkim_warn_bits(&kg);
	if (tern_dkim_make_dirs(dir, &o, &eb) < 0 ||
	    (key = tern_dkim_generate(&kg, &eb)) == NULL ||
	    (b64 = tern_dkim_public_b64(key, kg.type, &eb)) == NULL ||
	    tern_dkim_write_key(key, path, dir, kg.force, &o, &eb) < 0)
		goto fail;
	tern_dkim_warn_owner(&o, path, dir);
	tern_dkim_print(cfg, &kg, path, &o, b64);
	EVP_PKEY_free(key);
	free(b64);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "tern: dkim keygen: the key is in %s, but "
		    "printing its record failed: %s\n", path, strerror(errno));
		return EX_IOERR;
	}
	return EX_OK;
fail:
	fprintf(stderr, "tern: dkim keygen: %s\n", eb.msg);
	if (eb.errnum == EACCES || eb.errnum == EPERM)
		fprintf(stderr, "tern: run as root, or write the key elsewhere "
		    "with --out FILE\n");
	EVP_PKEY_free(key);
	free(b64);
	return eb.code != 0 ? eb.code : EX_SOFTWARE;
}

int
tern_cmd_dkim(const struct config *cfg, int argc, char **argv)
{
	if (argc < 2)
		return tern_dkim_usage_error("give a command: keygen");
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(TERN_DKIM_USAGE, stdout);
		return EX_OK;
	}
	if (strcmp(argv[1], "keygen") == 0)
		return tern_dkim_keygen(cfg, argc - 1, argv + 1);
	return tern_dkim_usage_error("unknown command '%s'", argv[1]);
}
