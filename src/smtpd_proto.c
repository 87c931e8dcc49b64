#include "autoconf.h"
#include "smtpd_proto.h"
