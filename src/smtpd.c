#include "autoconf.h"
#include "smtpd.h"
