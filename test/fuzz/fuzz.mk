# test/fuzz/fuzz.mk: build the libFuzzer harnesses with clang, apart from
# the main build (which may use gcc): the sources they need are compiled
# again here with -fsanitize=fuzzer-no-link,address,undefined into
# $(builddir)/test/fuzz/obj and linked into one binary per target.
# Called by "make fuzz" (Makefile.am) as
#   make -f test/fuzz/fuzz.mk srcdir=TOP builddir=TOP all
# (GNU make; builddir must hold configure's autoconf.h).

CLANG ?= clang
srcdir ?= .
builddir ?= .

FUZZ_TARGETS = smtpd smtpc_reply header addr envelope config proxy aliases

# Everything the harnesses reach; the archive lets each binary take
# only what it uses.
FUZZ_SRCS = errbuf buf str units fileio log config config_schema \
	relay_preset addr rfc2047 header aliases queue envelope \
	smtpd_proto smtpd_proto_txn smtpd_policy cidr proxy_proto \
	smtpc_proto smtpc_auth

O = $(builddir)/test/fuzz/obj
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -MMD -MP -std=gnu11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
	-Wall -Wextra -Werror -Wno-unused-command-line-argument \
	-iquote $(srcdir)/src -I$(builddir) -I$(srcdir)/test/fuzz \
	-DSYSCONFDIR='"/nonexistent/etc"' -DLOCALSTATEDIR='"/nonexistent/var"' \
	$(shell pkg-config --cflags inih openssl libevent 2>/dev/null)
FUZZ_LIBS = $(shell pkg-config --libs inih openssl 2>/dev/null)

FUZZ_BINS = $(FUZZ_TARGETS:%=$(O)/fuzz_%)

all: $(FUZZ_BINS)

$(O)/src/%.o: $(srcdir)/src/%.c $(builddir)/autoconf.h
	@mkdir -p $(O)/src
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(O)/%.o: $(srcdir)/test/fuzz/%.c $(srcdir)/test/fuzz/fuzz.h \
    $(builddir)/autoconf.h
	@mkdir -p $(O)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(O)/libfuzzcore.a: $(FUZZ_SRCS:%=$(O)/src/%.o) $(O)/fuzz_util.o
	rm -f $@
	ar cr $@ $^

$(O)/fuzz_%: $(O)/fuzz_%.o $(O)/libfuzzcore.a
	$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

-include $(wildcard $(O)/*.d $(O)/src/*.d)

.PRECIOUS: $(O)/%.o $(O)/src/%.o
.PHONY: all
