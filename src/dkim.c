/*
 * dkim: DKIM signatures made with libopendkim (see dkim.h).
 *
 * Each [dkim DOMAIN] section becomes a key: its PEM text, checked with
 * OpenSSL when the signer is made and handed to libopendkim in a form
 * it is sure to read, and a libopendkim library handle of its own that
 * holds the section's header lists (libopendkim keeps the lists of
 * fields to sign and to oversign in the library handle, not in each
 * signature).  The library handles are only read once set up, so
 * signatures on different threads never share anything writable.
 *
 * A message is signed the way the SMTP client will send it: header
 * fields one by one, without their last line end, and the body with
 * every CR, LF or CRLF turned into CRLF, fed in small chunks so the
 * message is never copied whole.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <opendkim/dkim.h>

#include "addr.h"
#include "dkim.h"
#include "header.h"

/* Key files are small: a 16384-bit RSA key in PEM is about 13 KiB. */
#define DKIM_KEY_MAX (64 * 1024)
#define DKIM_RSA_MIN_BITS 1024
#define DKIM_FIELD "DKIM-Signature: "
#define DKIM_CHUNK 16384

struct dkim_key {
	char *domain;        /* lower-cased, printable ASCII */
	char *selector;
	int alg;             /* DKIM_SIGN_* */
	char *pem;           /* PKCS#8 PEM, NUL-terminated */
	size_t pem_len;
	DKIM_LIB *lib;       /* holds this section's header lists */
	char **sign;         /* names to sign, NULL-terminated */
	char **over;         /* names to oversign, NULL-terminated */
};

struct dkim_signer {
	unsigned refs;       /* touched on the loop thread only */
	struct dkim_key *keys;
	size_t nkeys;
	bool ed25519;        /* a section signs with ed25519 */
};

/* The last libopendkim that leaks an ed25519 key per signature
 * (fixed upstream after 2.11.0, OpenDKIM PR #321). */
#define DKIM_LEAKY_ED25519 0x020B0000U

const char *
dkim_signer_warning(const struct dkim_signer *s)
{
	if (s == NULL || !s->ed25519 || dkim_libversion() > DKIM_LEAKY_ED25519)
		return NULL;
	return "this libopendkim (2.11.0 or older) leaks about 600 bytes for "
	    "each ed25519 signature; with much ed25519-signed mail, restart "
	    "ternd now and then, or sign with rsa-sha256";
}

/* ------------------------------------------------------------ keys */

/* Open the key file: a regular file, not a link, not open to others. */
static int
dkim_key_open(const struct config *cfg, const struct config_dkim *d,
    struct errbuf *eb)
{
	const char *path = d->key_file;
	struct stat st;
	int fd;

	/* O_NONBLOCK: a FIFO planted at path must not hang the open. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY);
	if (fd < 0 && errno == ELOOP)
		return errbuf_set(eb, "[dkim %s]: key_file %s is a symbolic "
		    "link; name the file itself", d->domain, path);
	if (fd < 0)
		return errbuf_errno(eb, errno, "[dkim %s]: key_file %s",
		    d->domain, path);
	if (fstat(fd, &st) < 0)
		errbuf_errno(eb, errno, "[dkim %s]: key_file %s", d->domain,
		    path);
	else if (!S_ISREG(st.st_mode))
		errbuf_set(eb, "[dkim %s]: key_file %s is not a regular file",
		    d->domain, path);
	else if ((st.st_mode & 0007) != 0)
		errbuf_set(eb, "[dkim %s]: key_file %s may be used by others "
		    "(mode %04o); run chmod 600 %s and chown %s %s", d->domain,
		    path, (unsigned)(st.st_mode & 07777), path,
		    cfg->run_user != NULL ? cfg->run_user : "tern", path);
	else
		return fd;
	close(fd);
	return -1;
}

/* Read at most DKIM_KEY_MAX bytes of fd into a NUL-terminated buffer
 * that the caller cleanses and frees.  Returns NULL with eb. */
static char *
dkim_key_slurp(int fd, const struct config_dkim *d, size_t *lenp,
    struct errbuf *eb)
{
	char *data;
	size_t len = 0;
	ssize_t n = 0;

	/* One fixed buffer: no realloc leaves copies of the key behind. */
	if ((data = malloc(DKIM_KEY_MAX + 1)) == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	while (len <= DKIM_KEY_MAX) {
		n = read(fd, data + len, DKIM_KEY_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n < 0 || len > DKIM_KEY_MAX) {
		if (n < 0)
			errbuf_errno(eb, errno, "[dkim %s]: read %s",
			    d->domain, d->key_file);
		else
			errbuf_set(eb, "[dkim %s]: key_file %s is larger than "
			    "%d bytes", d->domain, d->key_file, DKIM_KEY_MAX);
		OPENSSL_cleanse(data, len);
		free(data);
		return NULL;
	}
	data[len] = '\0';
	*lenp = len;
	return data;
}

/* Refuse to prompt for a passphrase: the daemon has no terminal. */
static int
dkim_key_no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* Is pk the section's kind of key, and strong enough? */
static int
dkim_key_check(const struct config_dkim *d, EVP_PKEY *pk,
    struct errbuf *eb)
{
	bool want_rsa = d->algorithm == CONFIG_DKIM_RSA_SHA256;
	int type = EVP_PKEY_base_id(pk);

	if (want_rsa && type != EVP_PKEY_RSA)
		return errbuf_set(eb, "[dkim %s]: key_file %s does not hold an "
		    "RSA key, which algorithm = rsa-sha256 needs", d->domain,
		    d->key_file);
	if (!want_rsa && type != EVP_PKEY_ED25519)
		return errbuf_set(eb, "[dkim %s]: key_file %s does not hold an "
		    "Ed25519 key, which algorithm = ed25519-sha256 needs",
		    d->domain, d->key_file);
	if (want_rsa && EVP_PKEY_bits(pk) < DKIM_RSA_MIN_BITS)
		return errbuf_set(eb, "[dkim %s]: key_file %s holds a %d-bit "
		    "RSA key; DKIM needs at least %d bits (2048 advised)",
		    d->domain, d->key_file, EVP_PKEY_bits(pk),
		    DKIM_RSA_MIN_BITS);
	return 0;
}

/*
 * Parse the key text and store it in k as unencrypted PKCS#8 PEM:
 * libopendkim parses the key again for every signature, and it reads
 * PEM only when the text starts with "-----", so whatever the file
 * looked like (leading comments, traditional RSA format) it gets a
 * form it reads.
 */
static int
dkim_key_parse(struct dkim_key *k, const struct config_dkim *d,
    const char *text, size_t len, struct errbuf *eb)
{
	EVP_PKEY *pk = NULL;
	BIO *in, *out = NULL;
	char *mem;
	long n;
	int rc = -1;

	if ((in = BIO_new_mem_buf(text, (int)len)) == NULL)
		return errbuf_set(eb, "out of memory");
	pk = PEM_read_bio_PrivateKey(in, NULL, dkim_key_no_pass, NULL);
	if (pk == NULL) {
		errbuf_set(eb, "[dkim %s]: key_file %s does not hold an "
		    "unencrypted private key in PEM form", d->domain,
		    d->key_file);
		goto out;
	}
	if (dkim_key_check(d, pk, eb) < 0)
		goto out;
	if ((out = BIO_new(BIO_s_secmem())) == NULL ||
	    !PEM_write_bio_PrivateKey(out, pk, NULL, NULL, 0, NULL, NULL) ||
	    (n = BIO_get_mem_data(out, &mem)) <= 0 ||
	    (k->pem = malloc((size_t)n + 1)) == NULL) {
		errbuf_set(eb, "[dkim %s]: cannot convert the key in %s",
		    d->domain, d->key_file);
		goto out;
	}
	memcpy(k->pem, mem, (size_t)n);
	k->pem[n] = '\0';
	k->pem_len = (size_t)n;
	rc = 0;
out:
	/* Parse errors stay in OpenSSL's per-thread queue otherwise. */
	ERR_clear_error();
	BIO_free(out);
	BIO_free(in);
	EVP_PKEY_free(pk);
	return rc;
}

static int
dkim_key_load(struct dkim_key *k, const struct config *cfg,
    const struct config_dkim *d, struct errbuf *eb)
{
	char *text;
	size_t len;
	int fd, rc;

	if ((fd = dkim_key_open(cfg, d, eb)) < 0)
		return -1;
	text = dkim_key_slurp(fd, d, &len, eb);
	close(fd);
	if (text == NULL)
		return -1;
	rc = dkim_key_parse(k, d, text, len, eb);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

/* ----------------------------------------------------- header lists */

/* libopendkim turns the names into a regular expression, escaping only
 * '.' and reading '*' as a wildcard: allow nothing else that could
 * mean something there. */
static bool
dkim_name_ok(const char *name, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.'))
			return false;
	}
	return n > 0;
}

/* Index of name in the NULL-terminated v (case-insensitive), or -1. */
static long
dkim_names_find(char **v, const char *name)
{
	long i;

	for (i = 0; v[i] != NULL; i++)
		if (strcasecmp(v[i], name) == 0)
			return i;
	return -1;
}

/* Append a copy of name[0..n) to the NULL-terminated v. */
static int
dkim_names_add(char **v, size_t *nv, const char *name, size_t n)
{
	if ((v[*nv] = strndup(name, n)) == NULL)
		return -1;
	v[++*nv] = NULL;
	return 0;
}

static void
dkim_names_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * Split list (names separated by ':' or ',', blanks allowed) into
 * k->sign, each name once, and k->over, the names listed more than once
 * (RFC 6376 section 8.15).  From is always signed and oversigned, so
 * no second From can be added after signing.
 */
static int
dkim_key_names(struct dkim_key *k, const struct config_dkim *d,
    const char *list, struct errbuf *eb)
{
	size_t cap = 2, nsign = 0, nover = 0, n;
	const char *p, *name;
	char tmp[256];

	for (p = list; *p != '\0'; p++)
		cap += *p == ':' || *p == ',';
	k->sign = calloc(cap + 1, sizeof(*k->sign));
	k->over = calloc(cap + 1, sizeof(*k->over));
	if (k->sign == NULL || k->over == NULL ||
	    dkim_names_add(k->sign, &nsign, "from", 4) < 0)
		return errbuf_set(eb, "out of memory");
	for (p = list; *p != '\0'; p += *p != '\0') {
		p += strspn(p, " \t");
		name = p;
		n = strcspn(p, ":,");
		p += n;
		while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		if (!dkim_name_ok(name, n) || n >= sizeof(tmp))
			return errbuf_set(eb, "[dkim %s]: headers: '%.*s' is "
			    "not a header field name", d->domain, (int)n, name);
		memcpy(tmp, name, n);
		tmp[n] = '\0';
		if (dkim_names_find(k->sign, tmp) < 0) {
			if (dkim_names_add(k->sign, &nsign, tmp, n) < 0)
				return errbuf_set(eb, "out of memory");
		} else if (strcasecmp(tmp, "from") != 0 &&
		    dkim_names_find(k->over, tmp) < 0 &&
		    dkim_names_add(k->over, &nover, tmp, n) < 0)
			return errbuf_set(eb, "out of memory");
	}
	if (dkim_names_add(k->over, &nover, "from", 4) < 0)
		return errbuf_set(eb, "out of memory");
	return 0;
}

/* Make k's library handle and give it the header lists. */
static int
dkim_key_lib(struct dkim_key *k, const struct config_dkim *d,
    struct errbuf *eb)
{
	const char *list = d->headers ? d->headers : DKIM_DEFAULT_HEADERS;

	if (dkim_key_names(k, d, list, eb) < 0)
		return -1;
	if ((k->lib = dkim_init(NULL, NULL)) == NULL)
		return errbuf_set(eb, "[dkim %s]: cannot start libopendkim",
		    d->domain);
	/* Both options take the array itself; the oversign list is kept
	 * by reference, which is why k owns it until dkim_close(). */
	if (dkim_options(k->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
	    k->sign, sizeof(k->sign)) != DKIM_STAT_OK ||
	    dkim_options(k->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    k->over, sizeof(k->over)) != DKIM_STAT_OK)
		return errbuf_set(eb, "[dkim %s]: libopendkim refused the "
		    "headers list (too long?)", d->domain);
	return 0;
}

/* ----------------------------------------------------------- signer */

/* libopendkim refuses to sign for names that are not printable ASCII:
 * say so now rather than at every message. */
static int
dkim_key_names_ascii(const struct config_dkim *d, struct errbuf *eb)
{
	const unsigned char *p;

	for (p = (const unsigned char *)d->domain; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return errbuf_set(eb, "[dkim %s]: write the domain in "
			    "ASCII (the xn-- form of an IDN)", d->domain);
	for (p = (const unsigned char *)d->selector; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ';')
			return errbuf_set(eb, "[dkim %s]: selector '%s' is "
			    "not a DNS label", d->domain, d->selector);
	return 0;
}

static void
dkim_key_fini(struct dkim_key *k)
{
	if (k->lib != NULL)
		dkim_close(k->lib);
	dkim_names_free(k->sign);
	dkim_names_free(k->over);
	if (k->pem != NULL) {
		OPENSSL_cleanse(k->pem, k->pem_len);
		free(k->pem);
	}
	free(k->domain);
	free(k->selector);
}

static int
dkim_key_init(struct dkim_key *k, const struct config *cfg,
    const struct config_dkim *d, struct errbuf *eb)
{
	char *p;

	if (d->selector == NULL || d->key_file == NULL)
		return errbuf_set(eb, "[dkim %s]: no selector or key_file",
		    d->domain);
	if (dkim_key_names_ascii(d, eb) < 0)
		return -1;
	k->alg = d->algorithm == CONFIG_DKIM_ED25519_SHA256 ?
	    DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256;
	if ((k->domain = strdup(d->domain)) == NULL ||
	    (k->selector = strdup(d->selector)) == NULL)
		return errbuf_set(eb, "out of memory");
	for (p = k->domain; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (dkim_key_load(k, cfg, d, eb) < 0)
		return -1;
	return dkim_key_lib(k, d, eb);
}

struct dkim_signer *
dkim_signer_new(const struct config *cfg, struct errbuf *eb)
{
	struct dkim_signer *s;
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (cfg->ndkims > 0 &&
	    (s->keys = calloc(cfg->ndkims, sizeof(*s->keys))) == NULL)) {
		free(s);
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	s->refs = 1;
	for (i = 0; i < cfg->ndkims; i++) {
		s->nkeys++;
		if (dkim_key_init(&s->keys[i], cfg, &cfg->dkims[i], eb) < 0) {
			dkim_signer_free(s);
			return NULL;
		}
		if (cfg->dkims[i].algorithm == CONFIG_DKIM_ED25519_SHA256)
			s->ed25519 = true;
	}
	return s;
}

void
dkim_signer_free(struct dkim_signer *s)
{
	size_t i;

	if (s == NULL || --s->refs > 0)
		return;
	for (i = 0; i < s->nkeys; i++)
		dkim_key_fini(&s->keys[i]);
	free(s->keys);
	free(s);
}

struct dkim_signer *
dkim_signer_ref(struct dkim_signer *s)
{
	s->refs++;
	return s;
}

static const struct dkim_key *
dkim_signer_find(const struct dkim_signer *s, const char *domain)
{
	size_t i;

	for (i = 0; s != NULL && i < s->nkeys; i++)
		if (strcasecmp(s->keys[i].domain, domain) == 0)
			return &s->keys[i];
	return NULL;
}

bool
dkim_signer_has(const struct dkim_signer *s, const char *domain)
{
	return dkim_signer_find(s, domain) != NULL;
}

/* ------------------------------------------------------ From domain */

int
dkim_from_domain(const char *msg, size_t len, char *out, size_t outlen)
{
	struct header_block hb;
	struct addr_list al;
	struct errbuf eb;
	struct buf value;
	const char *dom = NULL;
	long i;
	size_t n = 0, k;

	header_block_init(&hb);
	buf_init(&value, 0);
	addr_list_init(&al);
	if (header_parse(msg, len, &hb, &eb) == 0 &&
	    (i = header_find(&hb, "From", 0)) >= 0 &&
	    header_unfold_value(&hb.v[i], &value) == 0 &&
	    addr_parse_list(value.data, value.len, &al, &eb) == 0 &&
	    al.n > 0 && al.v[0].domain != NULL)
		dom = al.v[0].domain;
	/* IDNs stay as written: only ASCII letters are lowered. */
	if (dom != NULL && (n = strlen(dom)) > 0 && n < outlen)
		for (k = 0; k <= n; k++)
			out[k] = (dom[k] >= 'A' && dom[k] <= 'Z') ?
			    (char)(dom[k] - 'A' + 'a') : dom[k];
	addr_list_free(&al);
	buf_fini(&value);
	header_block_fini(&hb);
	return dom != NULL && n > 0 && n < outlen ? 0 : -1;
}

/* ---------------------------------------------------------- signing */

/* Give libopendkim one header field: its inner line ends as CRLF, as
 * they go out, and without its last one. */
static DKIM_STAT
dkim_feed_field(DKIM *dk, const struct header_field *f, struct buf *tmp)
{
	size_t i, n = f->len;

	if (n > 0 && f->text[n - 1] == '\n')
		n--;
	if (n > 0 && f->text[n - 1] == '\r')
		n--;
	buf_reset(tmp);
	for (i = 0; i < n; i++) {
		if (f->text[i] != '\r' && f->text[i] != '\n') {
			if (buf_putc(tmp, f->text[i]) < 0)
				return DKIM_STAT_NORESOURCE;
			continue;
		}
		if (f->text[i] == '\r' && i + 1 < n && f->text[i + 1] == '\n')
			i++;
		if (buf_append(tmp, "\r\n", 2) < 0)
			return DKIM_STAT_NORESOURCE;
	}
	return dkim_header(dk, (u_char *)tmp->data, tmp->len);
}

/*
 * Give libopendkim the body as the SMTP client sends it, a chunk at a
 * time: CR, LF and CRLF as CRLF, and a CRLF after a last line that
 * lacks one (libopendkim refuses to sign a body that does not end in
 * CRLF, and the client adds it anyway).
 */
static DKIM_STAT
dkim_feed_body(DKIM *dk, const char *body, size_t len)
{
	u_char chunk[DKIM_CHUNK];
	size_t i, o = 0;
	DKIM_STAT st;
	bool eol = true;

	for (i = 0; i <= len; i++) {
		if (o + 2 > sizeof(chunk)) {
			if ((st = dkim_body(dk, chunk, o)) != DKIM_STAT_OK)
				return st;
			o = 0;
		}
		if (i < len && body[i] != '\r' && body[i] != '\n') {
			chunk[o++] = (u_char)body[i];
			eol = false;
			continue;
		}
		if (i == len && eol)
			break;
		if (i < len && body[i] == '\r' && i + 1 < len &&
		    body[i + 1] == '\n')
			i++;
		chunk[o++] = '\r';
		chunk[o++] = '\n';
		eol = true;
	}
	return o > 0 ? dkim_body(dk, chunk, o) : DKIM_STAT_OK;
}

/* Run the message through dk up to the end of the message. */
static DKIM_STAT
dkim_feed(DKIM *dk, const char *msg, size_t len,
    const struct header_block *hb)
{
	struct buf tmp;
	DKIM_STAT st = DKIM_STAT_OK;
	size_t i;

	buf_init(&tmp, 0);
	for (i = 0; i < hb->n && st == DKIM_STAT_OK; i++)
		if (!hb->v[i].removed)
			st = dkim_feed_field(dk, &hb->v[i], &tmp);
	buf_fini(&tmp);
	if (st == DKIM_STAT_OK)
		st = dkim_eoh(dk);
	if (st == DKIM_STAT_OK)
		st = dkim_feed_body(dk, msg + hb->body_off, len - hb->body_off);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(dk, NULL);
	return st;
}

/* Append "DKIM-Signature: " and libopendkim's folded value, its line
 * breaks as LF, and a final LF. */
static int
dkim_put_field(const u_char *v, size_t n, struct buf *out)
{
	size_t i;
	int rc;

	rc = buf_puts(out, DKIM_FIELD);
	for (i = 0; i < n && rc == 0; i++) {
		if (v[i] == '\r' && i + 1 < n && v[i + 1] == '\n')
			continue;
		rc = buf_putc(out, v[i] == '\r' ? '\n' : v[i]);
	}
	if (rc == 0)
		rc = buf_putc(out, '\n');
	return rc;
}

int
dkim_sign_message(const struct dkim_signer *s, const char *domain,
    const char *msg, size_t len, struct buf *out, struct errbuf *eb)
{
	const struct dkim_key *k;
	struct header_block hb;
	DKIM *dk;
	DKIM_STAT st;
	u_char *sig;
	size_t siglen, mark = out->len;
	int rc = -1;

	if ((k = dkim_signer_find(s, domain)) == NULL)
		return 1;
	header_block_init(&hb);
	if (header_parse(msg, len, &hb, eb) < 0) {
		header_block_fini(&hb);
		return -1;
	}
	dk = dkim_sign(k->lib, (const u_char *)"tern", NULL, (u_char *)k->pem,
	    (const u_char *)k->selector, (const u_char *)k->domain,
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, k->alg, -1, &st);
	if (dk == NULL)
		errbuf_set(eb, "[dkim %s]: %s", k->domain,
		    dkim_getresultstr(st));
	else if ((st = dkim_feed(dk, msg, len, &hb)) != DKIM_STAT_OK ||
	    (st = dkim_getsighdr_d(dk, strlen(DKIM_FIELD), &sig,
	    &siglen)) != DKIM_STAT_OK)
		errbuf_set(eb, "[dkim %s]: %s%s%s", k->domain,
		    dkim_getresultstr(st), dkim_geterror(dk) ? ": " : "",
		    dkim_geterror(dk) ? dkim_geterror(dk) : "");
	else if (dkim_put_field(sig, siglen, out) < 0) {
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
		errbuf_set(eb, "out of memory");
	} else
		rc = 0;
	/* libopendkim 2.11.0~beta2 (Debian 12) leaks the Ed25519 key it
	 * read for the signature here, about 600 bytes each time; fixed
	 * upstream (OpenDKIM pull request 321). */
	if (dk != NULL)
		dkim_free(dk);
	header_block_fini(&hb);
	return rc;
}
