#include "autoconf.h"
#include "cidr.h"
