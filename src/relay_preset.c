/*
 * relay_preset: the provider table (see relay_preset.h).  Ports are the
 * ones each provider documents for authenticated submission; where a
 * provider offers both, implicit TLS on 465 is preferred (RFC 8314).
 */
#include "autoconf.h"

#include <strings.h>

#include "relay_preset.h"

static const struct relay_preset relay_presets[] = {
	{ "brevo", "smtp-relay.brevo.com", 587, CONFIG_TLS_STARTTLS,
	    "log in with the SMTP login shown in Brevo's SMTP & API page and "
	    "an SMTP key, not your account password" },
	{ "gmail", "smtp.gmail.com", 465, CONFIG_TLS_IMPLICIT,
	    "needs an app password (2-step verification on) or xoauth2" },
	{ "office365", "smtp.office365.com", 587, CONFIG_TLS_STARTTLS,
	    "basic auth is off by default: use xoauth2 or enable SMTP AUTH "
	    "for the mailbox" },
	{ "outlook", "smtp-mail.outlook.com", 587, CONFIG_TLS_STARTTLS,
	    "personal accounts need xoauth2" },
	{ "yahoo", "smtp.mail.yahoo.com", 465, CONFIG_TLS_IMPLICIT,
	    "needs an app password" },
	{ "zoho", "smtp.zoho.com", 465, CONFIG_TLS_IMPLICIT,
	    "needs an app-specific password with 2FA on" },
	{ "qq", "smtp.qq.com", 465, CONFIG_TLS_IMPLICIT,
	    "the password is the authorization code from QQ Mail settings, "
	    "not the login password" },
	{ "exmail.qq", "smtp.exmail.qq.com", 465, CONFIG_TLS_IMPLICIT,
	    "Tencent Exmail: enable SMTP for the account; may need a client "
	    "password" },
	{ "126", "smtp.126.com", 465, CONFIG_TLS_IMPLICIT,
	    "the password is the authorization code, not the login password" },
	{ "163", "smtp.163.com", 465, CONFIG_TLS_IMPLICIT,
	    "the password is the authorization code, not the login password" },
	{ "yeah", "smtp.yeah.net", 465, CONFIG_TLS_IMPLICIT,
	    "the password is the authorization code, not the login password" },
	{ "aliyun", "smtp.aliyun.com", 465, CONFIG_TLS_IMPLICIT,
	    "the From address must be the account" },
	{ "sendgrid", "smtp.sendgrid.net", 587, CONFIG_TLS_STARTTLS,
	    "username is literally 'apikey', the password an API key" },
	{ "mailgun", "smtp.mailgun.org", 587, CONFIG_TLS_STARTTLS,
	    "use the domain's SMTP credentials" },
};

const struct relay_preset *
relay_preset_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(relay_presets) / sizeof(relay_presets[0]); i++)
		if (strcasecmp(relay_presets[i].name, name) == 0)
			return &relay_presets[i];
	return NULL;
}

const char *
relay_preset_names(void)
{
	return "brevo, gmail, office365, outlook, yahoo, zoho, qq, exmail.qq, "
	    "126, 163, yeah, aliyun, sendgrid, mailgun";
}
