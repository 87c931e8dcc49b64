#include "autoconf.h"
#include "proxy_proto.h"
