/*
 * Shared setup for the cmocka unit tests: TAP output, so automake's
 * TAP driver counts every test case.
 */
#ifndef TERN_TEST_UNIT_H
#define TERN_TEST_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define UNIT_RUN(tests)                                                   \
	(cmocka_set_message_output(CM_OUTPUT_TAP),                          \
	    cmocka_run_group_tests(tests, NULL, NULL))

#endif
