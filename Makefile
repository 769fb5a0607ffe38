# Corral: one entry point for building, running, testing and benchmarking.
# `make help` lists the targets.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
OPT     ?= -O2 -g
comma   := ,

# Sanitizer builds go to their own folder so they never mix with normal objects.
ifneq ($(SANITIZE),)
BUILD   ?= build/san-$(subst $(comma),-,$(SANITIZE))
SANFLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD   ?= build
SANFLAGS =
endif

WARN = -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wcast-align -Wwrite-strings -Wvla -Wundef -Wno-unused-parameter
ifeq ($(CI),true)
WARN += -Werror
endif

PKGS     = libmicrohttpd jansson sqlite3 libsodium inih yaml-0.1 libcurl
CLI_PKGS = libcurl jansson yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(CLI_PKGS) 2>/dev/null)
LIBS       := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
CLI_LIBS   := $(shell pkg-config --libs $(CLI_PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

CFLAGS  += -std=gnu11 $(OPT) $(WARN) $(SANFLAGS) -D_GNU_SOURCE -MMD -MP $(PKG_CFLAGS) \
           -DCORRAL_VERSION=\"$(VERSION)\"
LDFLAGS += $(SANFLAGS)
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

NB        = netboot
NB_SRC    = $(NB)/src
# Daemon modules: every src/*.c but the two programs and the CLI's own files.
CORE_SRCS = $(filter-out $(NB_SRC)/corrald.c $(NB_SRC)/corral.c $(NB_SRC)/hook.c $(wildcard $(NB_SRC)/cli_*.c),$(wildcard $(NB_SRC)/*.c))
CORE_OBJS = $(CORE_SRCS:$(NB_SRC)/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/ui_assets.o
# The web page, embedded into corrald at build time.
UI_FILES  = $(sort $(patsubst $(NB)/ui/%,%,$(filter-out %/,$(wildcard $(NB)/ui/*.html $(NB)/ui/*.js $(NB)/ui/*.css $(NB)/ui/*.svg))))
CLI_SRCS  = $(NB_SRC)/corral.c $(wildcard $(NB_SRC)/cli_*.c) $(NB_SRC)/buf.c $(NB_SRC)/log.c
CLI_OBJS  = $(CLI_SRCS:$(NB_SRC)/%.c=$(BUILD)/obj/%.o)
UNIT_SRCS = $(wildcard $(NB)/tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:$(NB)/tests/unit/%.c=$(BUILD)/tests/%)
# The CLI's modules have unit tests of their own, linked without corral.c's main.
CLI_LIB_OBJS  = $(filter-out $(BUILD)/obj/corral.o,$(CLI_OBJS))
CLI_UNIT_BINS = $(patsubst $(NB)/tests/cli-unit/test_%.c,$(BUILD)/tests/cli_test_%,$(wildcard $(NB)/tests/cli-unit/test_*.c))
FUZZ_SRCS = $(wildcard $(NB)/fuzz/fuzz_*.c)
FUZZ_NAMES = $(FUZZ_SRCS:$(NB)/fuzz/fuzz_%.c=%)
# Corpus replays: each fuzz target run over its corpus in the unit tier.
REPLAY_BINS = $(FUZZ_NAMES:%=$(BUILD)/tests/replay_%)
FUZZ_SECONDS ?= 60
# corral-vbmc (test-vm/vbmc) and corral-image (image-builder/): programs of their own.
VBMC           = test-vm/vbmc
VBMC_LIBS     := $(shell pkg-config --libs libmicrohttpd jansson 2>/dev/null) -lpthread
VBMC_LIB_OBJS  = $(patsubst $(VBMC)/%.c,$(BUILD)/obj/vbmc/%.o,$(filter-out $(VBMC)/vbmc.c,$(wildcard $(VBMC)/*.c))) \
                 $(BUILD)/obj/buf.o $(BUILD)/obj/log.o
VBMC_UNIT_BINS = $(patsubst $(VBMC)/tests/test_%.c,$(BUILD)/tests/vbmc_test_%,$(wildcard $(VBMC)/tests/test_*.c))
IMG           = image-builder
IMG_LIBS     := $(shell pkg-config --libs yaml-0.1 jansson libsodium libcurl inih 2>/dev/null)
IMG_LIB_OBJS  = $(patsubst $(IMG)/src/%.c,$(BUILD)/obj/img/%.o,$(filter-out $(IMG)/src/corral-image.c,$(wildcard $(IMG)/src/*.c))) \
                $(BUILD)/obj/buf.o $(BUILD)/obj/log.o
IMG_UNIT_BINS = $(patsubst $(IMG)/tests/test_%.c,$(BUILD)/tests/img_test_%,$(wildcard $(IMG)/tests/test_*.c))


.PHONY: all deps check check-unit check-integ check-vm check-web screenshots lint bench install clean help demo fuzz

all: $(BUILD)/corrald $(BUILD)/corral $(BUILD)/corral-dhcp-hook $(BUILD)/corral-vbmc $(BUILD)/corral-image

help:
	@echo "make            build corrald and corral into $(BUILD)/"
	@echo "make deps       install the Debian packages Corral needs (root)"
	@echo "make check      every test tier, ends with 'N passed, N failed'"
	@echo "make check-unit | check-integ | check-web | check-vm   one tier"
	@echo "make screenshots  regenerate docs/img/*.png from a seeded corrald"
	@echo "make demo       boot a virtual cluster (BIOS + UEFI) through Corral; KEEP=1 keeps it"
	@echo "make lint       clang-format check and banned functions"
	@echo "make fuzz       libFuzzer on every parser of outside input (FUZZ_SECONDS=$(FUZZ_SECONDS) each)"
	@echo "make bench      benchmarks against a reference (nginx) on this machine"
	@echo "make install    PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)"
	@echo "make SANITIZE=address,undefined check   sanitizer build and tests"

deps:
	@sh scripts/deps.sh

$(BUILD)/obj/%.o: $(NB_SRC)/%.c | $(BUILD)/obj
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/embed: $(NB)/tools/embed.c | $(BUILD)/obj
	$(CC) -std=gnu11 -O2 -Wall -Wextra -o $@ $<

$(BUILD)/gen/ui_assets.c: $(BUILD)/embed $(addprefix $(NB)/ui/,$(UI_FILES))
	@mkdir -p $(BUILD)/gen
	$(BUILD)/embed $@ $(NB)/ui $(UI_FILES)

$(BUILD)/obj/ui_assets.o: $(BUILD)/gen/ui_assets.c | $(BUILD)/obj
	$(CC) $(CFLAGS) -I$(NB_SRC) -Wno-missing-variable-declarations -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests $(BUILD)/results:
	@mkdir -p $@

$(BUILD)/corrald: $(BUILD)/obj/corrald.o $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/corral-dhcp-hook: $(BUILD)/obj/hook.o $(BUILD)/obj/buf.o
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/corral: $(CLI_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLI_LIBS)

$(BUILD)/tests/%: $(NB)/tests/unit/%.c $(CORE_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -I$(NB_SRC) -o $@ $< $(CORE_OBJS) $(LDFLAGS) $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/cli_test_%: $(NB)/tests/cli-unit/test_%.c $(CLI_LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -I$(NB_SRC) -o $@ $< $(CLI_LIB_OBJS) $(LDFLAGS) $(CLI_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/replay_%: $(NB)/fuzz/fuzz_%.c $(NB)/fuzz/replay.c $(CORE_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -I$(NB_SRC) -DREPLAY_CORPUS=\"$(NB)/fuzz/corpus/$*\" -o $@ $< $(NB)/fuzz/replay.c \
		$(CORE_OBJS) $(LDFLAGS) $(LIBS)

# libFuzzer builds (clang), run for FUZZ_SECONDS each; new finds land in the
# corpus, which the unit tier replays from then on.
fuzz: deps
	@mkdir -p build/fuzz
	@for t in $(FUZZ_NAMES); do \
		clang -std=gnu11 -g -O1 -D_GNU_SOURCE -DCORRAL_VERSION=\"fuzz\" $(PKG_CFLAGS) -I$(NB_SRC) \
			-fsanitize=fuzzer,address,undefined -o build/fuzz/$$t $(NB)/fuzz/fuzz_$$t.c \
			$(filter-out $(NB_SRC)/corrald.c,$(CORE_SRCS)) $(LIBS) || exit 1; \
		build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) $(NB)/fuzz/corpus/$$t || exit 1; \
	done

# Test tiers.  Each writes "<passed> <failed>" into $(BUILD)/results/<tier>;
# `make check` adds them up in one final line.  A tier that could not run
# at all counts as one failure, so a broken build never looks green.
check-unit: deps $(UNIT_BINS) $(CLI_UNIT_BINS) $(REPLAY_BINS) $(VBMC_UNIT_BINS) $(IMG_UNIT_BINS) | $(BUILD)/results
	@sh scripts/run-unit.sh $(BUILD)/results/unit $(UNIT_BINS) $(CLI_UNIT_BINS) $(REPLAY_BINS) $(VBMC_UNIT_BINS) $(IMG_UNIT_BINS)

check-integ: deps all | $(BUILD)/results
	@sh scripts/run-pytest.sh $(BUILD)/results/integ $(NB)/tests/integ $(BUILD)

# End to end: QEMU VMs in a network namespace boot through corrald (root;
# KVM only when a guest really runs under it, TCG otherwise).
check-vm: deps all | $(BUILD)/results
	@sh scripts/run-pytest.sh $(BUILD)/results/vm test-vm/tests $(BUILD)

# The web page in real headless Chromium (Debian's), driven by playwright-core.
check-web: deps all | $(BUILD)/results
	@sh netboot/tests/web/run.sh $(BUILD)/results/web $(BUILD)

# README's screenshots, made by the same tooling as check-web.
screenshots: deps all
	@cd netboot/tests/web && { [ -d node_modules/playwright-core ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
		npm ci --no-audit --no-fund; } && CORRAL_BUILD=$(CURDIR)/$(BUILD) node screenshots.mjs $(CURDIR)/docs/img

check: deps
	@rm -f $(BUILD)/results/*
	@$(MAKE) --no-print-directory all || { mkdir -p $(BUILD)/results; echo "0 1" > $(BUILD)/results/build; }
	-@$(MAKE) --no-print-directory check-unit
	-@$(MAKE) --no-print-directory check-integ
	-@$(MAKE) --no-print-directory check-web
	-@$(MAKE) --no-print-directory check-vm
	@sh scripts/summary.sh $(BUILD)/results unit integ web vm

# Corral's main job on a virtual cluster: one BIOS and one UEFI VM (the UEFI
# one through the firmware's own PXE and TFTP) boot through corrald and its
# dnsmasq; prints each node's timeline.  KEEP=1 leaves the cluster running.
demo: deps all
	@CORRAL_BUILD=$(abspath $(BUILD)) /usr/bin/python3 test-vm/cluster.py boot --bios 1 --uefi 1 \
		--uefi-pxe firmware --dnsmasq corrald $(if $(KEEP),--keep)

lint: deps
	@sh scripts/lint.sh

bench: deps all
	@sh bench/run.sh $(BUILD)
	@/usr/bin/python3 bench/discovery.py $(BUILD)
	@/usr/bin/python3 bench/vm_boot.py $(BUILD)
	@sh bench/image.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/corral \
		$(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/doc/corral
	install -m 755 $(BUILD)/corrald $(DESTDIR)$(PREFIX)/sbin/corrald
	install -m 755 $(BUILD)/corral $(DESTDIR)$(PREFIX)/bin/corral
	install -m 755 $(BUILD)/corral-image $(DESTDIR)$(PREFIX)/bin/corral-image
	install -d $(DESTDIR)$(PREFIX)/libexec/corral
	install -m 755 $(BUILD)/corral-dhcp-hook $(DESTDIR)$(PREFIX)/libexec/corral/corral-dhcp-hook
	install -m 644 $(NB)/corral.conf.example $(DESTDIR)$(PREFIX)/share/doc/corral/corral.conf.example
	install -m 644 $(NB)/corrald.service $(DESTDIR)$(PREFIX)/lib/systemd/system/corrald.service
	install -m 644 docs/api.md $(DESTDIR)$(PREFIX)/share/doc/corral/api.md

clean:
	rm -rf build

# corral-vbmc: the virtual BMC of the test clusters (test-vm/vbmc).
$(BUILD)/obj/vbmc/%.o: $(VBMC)/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(NB_SRC) -c -o $@ $<
$(BUILD)/corral-vbmc: $(BUILD)/obj/vbmc/vbmc.o $(VBMC_LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(VBMC_LIBS)
$(BUILD)/tests/vbmc_test_%: $(VBMC)/tests/test_%.c $(VBMC_LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -I$(NB_SRC) -I$(VBMC) -o $@ $< $(VBMC_LIB_OBJS) $(LDFLAGS) $(VBMC_LIBS) $(CMOCKA_LIBS)
-include $(VBMC_LIB_OBJS:.o=.d) $(BUILD)/obj/vbmc/vbmc.d

# corral-image: recipes into bootable node images (image-builder/).
$(BUILD)/obj/img/%.o: $(IMG)/src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(NB_SRC) -c -o $@ $<
$(BUILD)/corral-image: $(BUILD)/obj/img/corral-image.o $(IMG_LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(IMG_LIBS)
# test_imgstore also runs the program itself.
$(BUILD)/tests/img_test_imgstore: $(BUILD)/corral-image
$(BUILD)/tests/img_test_%: $(IMG)/tests/test_%.c $(IMG_LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -I$(NB_SRC) -I$(IMG)/src -o $@ $< $(IMG_LIB_OBJS) $(LDFLAGS) $(IMG_LIBS) $(CMOCKA_LIBS)
-include $(IMG_LIB_OBJS:.o=.d) $(BUILD)/obj/img/corral-image.d

-include $(CORE_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(BUILD)/obj/corrald.d $(BUILD)/obj/hook.d
