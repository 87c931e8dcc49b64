/* Placeholder: replaced by the real tests. */
#include "autoconf.h"
#include "unit.h"
static void placeholder(void **state) { (void)state; }
int main(void) { const struct CMUnitTest tests[] = { cmocka_unit_test(placeholder) }; return UNIT_RUN(tests); }
