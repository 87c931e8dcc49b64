#include "autoconf.h"
#include "smtpd_auth.h"
