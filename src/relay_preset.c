/*
 * relay_preset: the provider table (see relay_preset.h).  Ports are the
 * ones each provider documents for authenticated submission; where a
 * provider offers both, implicit TLS on 465 is preferred (RFC 8314).
 * The words are what a mail admin needs when AUTH fails or mail is
 * refused: where the secret comes from and what the provider insists
 * on.  Nothing here touches the network or the config.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "relay_preset.h"
#include "str.h"

#define RP_NETEASE_HINT                                                     \
	"username is the full address; the password is the authorization "  \
	"code made when you turn the SMTP service on in the mailbox "       \
	"settings, not the login password"
#define RP_NETEASE_NOTE                                                     \
	"NetEase mail: the From must be the account, and mail that looks "  \
	"like bulk mail is refused with 554 DT:SPM"
#define RP_FROM RELAY_PRESET_FROM_ACCOUNT

static const struct relay_preset relay_presets[] = {
	{ "brevo", "smtp-relay.brevo.com", 587, CONFIG_TLS_STARTTLS,
	    "PLAIN or LOGIN with an SMTP key",
	    "username is the SMTP login shown on Brevo's SMTP & API page (the "
	    "account email, or a login ending in @smtp-brevo.com); the "
	    "password is an SMTP key made on that page, not the account "
	    "password",
	    "the From must be a sender or domain verified in Brevo",
	    NULL, NULL, 0 },
	{ "gmail", "smtp.gmail.com", 465, CONFIG_TLS_IMPLICIT,
	    "PLAIN or LOGIN with an app password, or XOAUTH2",
	    "username is the full Gmail address; the password is an app "
	    "password (Google Account, Security, with 2-Step Verification on), "
	    "not the account password; or use auth = xoauth2",
	    "Gmail replaces a From that is not the account or one of its "
	    "verified 'Send mail as' addresses; a free account sends about "
	    "500 messages a day",
	    NULL, NULL, 0 },
	{ "office365", "smtp.office365.com", 587, CONFIG_TLS_STARTTLS,
	    "XOAUTH2 (basic auth is off for most tenants)",
	    "username is the mailbox address; Microsoft has turned basic auth "
	    "(SMTP AUTH with a password) off for most tenants: use auth = "
	    "xoauth2 with an app registered in Entra ID, or have the tenant "
	    "admin enable authenticated SMTP for this mailbox",
	    "the From must be the mailbox or one it may send as (5.7.60 "
	    "SendAsDenied otherwise)",
	    NULL, NULL, RP_FROM | RELAY_PRESET_BASIC_OFF },
	{ "outlook", "smtp-mail.outlook.com", 587, CONFIG_TLS_STARTTLS,
	    "XOAUTH2 (basic auth is being retired)",
	    "username is the Outlook.com or Hotmail address; Microsoft is "
	    "turning basic auth off for personal accounts: use auth = xoauth2 "
	    "(an app password works only while basic auth lasts)",
	    "the From must be the account",
	    NULL, NULL, RP_FROM | RELAY_PRESET_BASIC_OFF },
	{ "yahoo", "smtp.mail.yahoo.com", 465, CONFIG_TLS_IMPLICIT,
	    "PLAIN or LOGIN with an app password",
	    "username is the full Yahoo address; the password is an app "
	    "password made under Account Security, not the login password",
	    "the From must be the account",
	    NULL, NULL, RP_FROM },
	{ "zoho", "smtp.zoho.com", 465, CONFIG_TLS_IMPLICIT,
	    "PLAIN or LOGIN; an application-specific password with 2FA on",
	    "username is the Zoho address; with two-factor authentication on, "
	    "the password is an application-specific password",
	    "the host depends on the data centre of the account: zoho:eu, "
	    "zoho:in, zoho:au, zoho:jp, zoho:ca, zoho:sa or zoho:cn (zoho "
	    "alone is smtp.zoho.com); organization accounts use smtppro.zoho.* "
	    "(set host); the From must be the account",
	    NULL, "zoho:REGION (e.g. zoho:eu)", RP_FROM },
	{ "qq", "smtp.qq.com", 465, CONFIG_TLS_IMPLICIT,
	    "PLAIN or LOGIN with an authorization code",
	    "username is the full QQ Mail address; the password is the "
	    "authorization code shown when you turn POP3/SMTP on in the QQ "
	    "Mail settings (Account), not the QQ login password",
	    "the From must be the account",
	    NULL, NULL, RP_FROM },
	{ "exmail.qq", "smtp.exmail.qq.com", 465, CONFIG_TLS_IMPLICIT,
	    "PLAIN or LOGIN with the mailbox or client-specific password",
	    "username is the full company address; the password is the "
	    "mailbox password, or a client-specific password when secure "
	    "login (WeChat binding) is on; IMAP/SMTP must be turned on in the "
	    "mailbox settings",
	    "Tencent Exmail (enterprise QQ Mail): the From must be the "
	    "account",
	    NULL, NULL, RP_FROM },
	{ "126", "smtp.126.com", 465, CONFIG_TLS_IMPLICIT,
	    "PLAIN or LOGIN with an authorization code", RP_NETEASE_HINT,
	    RP_NETEASE_NOTE, NULL, NULL, RP_FROM },
	{ "163", "smtp.163.com", 465, CONFIG_TLS_IMPLICIT,
	    "PLAIN or LOGIN with an authorization code", RP_NETEASE_HINT,
	    RP_NETEASE_NOTE, NULL, NULL, RP_FROM },
	{ "yeah", "smtp.yeah.net", 465, CONFIG_TLS_IMPLICIT,
	    "PLAIN or LOGIN with an authorization code", RP_NETEASE_HINT,
	    RP_NETEASE_NOTE, NULL, NULL, RP_FROM },
	{ "aliyun", "smtpdm.aliyun.com", 465, CONFIG_TLS_IMPLICIT,
	    "PLAIN or LOGIN with the DirectMail SMTP password",
	    "username is a sender address made in the DirectMail console; the "
	    "password is the SMTP password set for that sender there, not the "
	    "Alibaba Cloud account password or an AccessKey",
	    "Alibaba Cloud DirectMail: the From must be that sender address; "
	    "DirectMail in other regions has its own host (set host), and "
	    "Alibaba Mail mailboxes use smtp.aliyun.com or "
	    "smtp.qiye.aliyun.com instead",
	    NULL, NULL, RP_FROM },
	{ "sendgrid", "smtp.sendgrid.net", 587, CONFIG_TLS_STARTTLS,
	    "PLAIN or LOGIN with an API key",
	    "username is literally apikey; the password is an API key with "
	    "the Mail Send permission (it starts with SG.)",
	    "the From must be a verified sender or in an authenticated domain",
	    "apikey", NULL, 0 },
	{ "mailgun", "smtp.mailgun.org", 587, CONFIG_TLS_STARTTLS,
	    "PLAIN or LOGIN with the domain's SMTP credentials",
	    "username is the sending domain's SMTP login (e.g. "
	    "postmaster@mg.example.org), the password its SMTP password from "
	    "the domain settings, not the account password or an API key",
	    "domains in the EU region use mailgun:eu (smtp.eu.mailgun.org); "
	    "the From should be in the sending domain",
	    NULL, "mailgun:REGION (us or eu)", 0 },
	{ "ses", NULL, 587, CONFIG_TLS_STARTTLS,
	    "PLAIN or LOGIN with SES SMTP credentials",
	    "username and password are SES SMTP credentials (SES console, SMTP "
	    "settings), not an IAM access key and secret; they are valid in "
	    "their region only",
	    "Amazon SES: the host depends on the region, e.g. ses:eu-west-1 is "
	    "email-smtp.eu-west-1.amazonaws.com; the From must be a verified "
	    "identity, and an account still in the sandbox sends to verified "
	    "recipients only",
	    NULL, "ses:REGION (e.g. ses:eu-west-1)",
	    RELAY_PRESET_REGION_REQUIRED },
};

#define RP_COUNT (sizeof(relay_presets) / sizeof(relay_presets[0]))

/* Presets whose regions are a fixed list, each with its own host. */
static const struct {
	const char *preset, *region, *host;
} relay_preset_regions[] = {
	{ "zoho", "com", "smtp.zoho.com" },
	{ "zoho", "eu", "smtp.zoho.eu" },
	{ "zoho", "in", "smtp.zoho.in" },
	{ "zoho", "au", "smtp.zoho.com.au" },
	{ "zoho", "jp", "smtp.zoho.jp" },
	{ "zoho", "ca", "smtp.zohocloud.ca" },
	{ "zoho", "sa", "smtp.zoho.sa" },
	{ "zoho", "cn", "smtp.zoho.com.cn" },
	{ "mailgun", "us", "smtp.mailgun.org" },
	{ "mailgun", "eu", "smtp.eu.mailgun.org" },
};

size_t
relay_preset_count(void)
{
	return RP_COUNT;
}

const struct relay_preset *
relay_preset_at(size_t i)
{
	return i < RP_COUNT ? &relay_presets[i] : NULL;
}

/* The preset whose name is spec[0..n). */
static const struct relay_preset *
relay_preset_lookup(const char *spec, size_t n)
{
	size_t i;

	for (i = 0; i < RP_COUNT; i++)
		if (strlen(relay_presets[i].name) == n &&
		    str_ieq_n(spec, relay_presets[i].name, n))
			return &relay_presets[i];
	return NULL;
}

const struct relay_preset *
relay_preset_find(const char *spec)
{
	return relay_preset_lookup(spec, strcspn(spec, ":"));
}

/*
 * An AWS region: "xx-word-N" or "xx-gov-word-N" ("eu-west-1",
 * "ap-southeast-2", "us-gov-west-1"), lowercase.  The list changes
 * too often to keep here, so only the shape is checked; a region
 * that does not exist fails in DNS, which "tern test-relay" reports.
 */
static int
relay_preset_aws_region(const char *r)
{
	const char *p, *last;
	size_t parts = 1;

	if (strlen(r) > 32 || !islower((unsigned char)r[0]) ||
	    !islower((unsigned char)r[1]) || r[2] != '-')
		return 0;
	for (p = r; *p != '\0'; p++) {
		if (*p == '-') {
			if (p[1] == '-' || p[1] == '\0')
				return 0;
			parts++;
		} else if (!islower((unsigned char)*p) &&
		    !isdigit((unsigned char)*p))
			return 0;
	}
	last = strrchr(r, '-') + 1;
	return parts >= 3 && strspn(last, "0123456789") == strlen(last) &&
	    strlen(last) <= 2;
}

/* The host of a listed region, or NULL. */
static const char *
relay_preset_listed(const struct relay_preset *p, const char *region)
{
	size_t i;

	for (i = 0; i < sizeof(relay_preset_regions) /
	    sizeof(relay_preset_regions[0]); i++)
		if (strcmp(relay_preset_regions[i].preset, p->name) == 0 &&
		    strcasecmp(relay_preset_regions[i].region, region) == 0)
			return relay_preset_regions[i].host;
	return NULL;
}

int
relay_preset_host(const char *spec, char *host, size_t len,
    struct errbuf *eb)
{
	const struct relay_preset *p = relay_preset_find(spec);
	const char *region = strchr(spec, ':'), *h;

	if (p == NULL)
		return errbuf_set(eb, "unknown preset '%s'; known: %s", spec,
		    relay_preset_names());
	if (region == NULL) {
		if (p->flags & RELAY_PRESET_REGION_REQUIRED)
			return errbuf_set(eb, "preset '%s' needs a region: "
			    "write preset = %s", spec, p->region_form);
		str_lcpy(host, p->host, len);
		return 0;
	}
	region++;
	if (p->region_form == NULL)
		return errbuf_set(eb, "preset '%s' takes no region; write "
		    "preset = %s", spec, p->name);
	if (strcmp(p->name, "ses") == 0) {
		if (!relay_preset_aws_region(region))
			return errbuf_set(eb, "'%s' is not an AWS region name; "
			    "write preset = %s", region, p->region_form);
		snprintf(host, len, "email-smtp.%s.amazonaws.com", region);
		return 0;
	}
	if ((h = relay_preset_listed(p, region)) == NULL)
		return errbuf_set(eb, "preset '%s' has no region '%s'; write "
		    "preset = %s", p->name, region, p->region_form);
	str_lcpy(host, h, len);
	return 0;
}

const char *
relay_preset_names(void)
{
	static char names[512];
	size_t i;

	if (names[0] != '\0')
		return names;
	for (i = 0; i < RP_COUNT; i++) {
		if (i > 0)
			strncat(names, ", ", sizeof(names) - strlen(names) - 1);
		strncat(names, relay_presets[i].name,
		    sizeof(names) - strlen(names) - 1);
		if (relay_presets[i].flags & RELAY_PRESET_REGION_REQUIRED)
			strncat(names, ":REGION",
			    sizeof(names) - strlen(names) - 1);
	}
	return names;
}
