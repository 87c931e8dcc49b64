#include "autoconf.h"
#include "smtpd_policy.h"
