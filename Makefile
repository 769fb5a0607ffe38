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

# Nothing below runs a program that `make deps` installs while the Makefile
# is parsed: on a fresh machine pkg-config is not there yet, and flags read
# then would be empty.  The flags live in $(BUILD)/flags.mk, which a rule
# writes after running `make deps`; make builds it first and re-reads itself.
# Goals that compile nothing (clean, help, deps) do not ask for it.
PKGS       = libmicrohttpd jansson sqlite3 libsodium inih yaml-0.1 libcurl gnutls
CLI_PKGS   = libcurl jansson yaml-0.1 libsodium
VBMC_PKGS  = libmicrohttpd jansson libcurl libsodium
IMG_PKGS   = yaml-0.1 jansson libsodium libcurl
.DEFAULT_GOAL := all
NOFLAGS_GOALS = clean help deps
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out $(NOFLAGS_GOALS),$(MAKECMDGOALS)),)
SKIP_FLAGS = 1
endif
endif
ifndef SKIP_FLAGS
include $(BUILD)/flags.mk
endif

$(BUILD)/flags.mk: scripts/deps.sh Makefile
	@sh scripts/deps.sh $(DEPS)
	@mkdir -p $(@D)
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS) $(CLI_PKGS))"; \
	   echo "LIBS := $$(pkg-config --libs $(PKGS)) -lpthread -lm"; \
	   echo "CLI_LIBS := $$(pkg-config --libs $(CLI_PKGS))"; \
	   echo "VBMC_LIBS := $$(pkg-config --libs $(VBMC_PKGS)) -lpthread"; \
	   echo "IMG_LIBS := $$(pkg-config --libs $(IMG_PKGS))"; \
	   echo "CMOCKA_LIBS := $$(pkg-config --libs cmocka)"; \
	   echo "VERSION := $$(git describe --always --dirty 2>/dev/null || echo 0.1)"; } >$@.tmp
	@mv $@.tmp $@

CFLAGS  += -std=gnu11 $(OPT) $(WARN) $(SANFLAGS) -D_GNU_SOURCE -MMD -MP $(PKG_CFLAGS) \
           -DCORRAL_VERSION=\"$(VERSION)\"
LDFLAGS += $(SANFLAGS)

# Sources by program.  lib/ is the only code two programs share; it is
# linked as an archive, so each program takes only the modules it calls.
LIB       = lib
LIB_SRCS  = $(wildcard $(LIB)/*.c)
LIB_OBJS  = $(LIB_SRCS:$(LIB)/%.c=$(BUILD)/obj/lib/%.o)
LIBCORRAL = $(BUILD)/libcorral.a
LIB_UNIT_BINS = $(patsubst $(LIB)/tests/test_%.c,$(BUILD)/tests/lib_test_%,$(wildcard $(LIB)/tests/test_*.c))

NB        = netboot
D_DIR     = $(NB)/corrald
C_DIR     = $(NB)/corral
# The daemon's modules: everything in its folder but its main.
CORE_SRCS = $(filter-out $(D_DIR)/corrald.c,$(wildcard $(D_DIR)/*.c))
CORE_OBJS = $(CORE_SRCS:$(D_DIR)/%.c=$(BUILD)/obj/corrald/%.o) $(BUILD)/obj/corrald/ui_assets.o
# The web page, embedded into corrald at build time.
UI_FILES  = $(sort $(patsubst $(NB)/ui/%,%,$(filter-out %/,$(wildcard $(NB)/ui/*.html $(NB)/ui/*.js $(NB)/ui/*.css $(NB)/ui/*.svg))))
CLI_SRCS  = $(wildcard $(C_DIR)/*.c)
CLI_OBJS  = $(CLI_SRCS:$(C_DIR)/%.c=$(BUILD)/obj/corral/%.o)
UNIT_SRCS = $(wildcard $(NB)/tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:$(NB)/tests/unit/%.c=$(BUILD)/tests/%)
# The CLI's modules have unit tests of their own, linked without corral.c's main.
CLI_LIB_OBJS  = $(filter-out $(BUILD)/obj/corral/corral.o,$(CLI_OBJS))
CLI_UNIT_BINS = $(patsubst $(NB)/tests/cli-unit/test_%.c,$(BUILD)/tests/cli_test_%,$(wildcard $(NB)/tests/cli-unit/test_*.c))
FUZZ_SRCS = $(wildcard $(NB)/fuzz/fuzz_*.c)
FUZZ_NAMES = $(FUZZ_SRCS:$(NB)/fuzz/fuzz_%.c=%)
# Corpus replays: each fuzz target run over its corpus in the unit tier.
REPLAY_BINS = $(FUZZ_NAMES:%=$(BUILD)/tests/replay_%)
FUZZ_SECONDS ?= 60
# corral-vbmc (test-vm/vbmc) and corral-image (image-builder/): programs of their own.
VBMC           = test-vm/vbmc
VBMC_LIB_OBJS  = $(patsubst $(VBMC)/%.c,$(BUILD)/obj/vbmc/%.o,$(filter-out $(VBMC)/vbmc.c,$(wildcard $(VBMC)/*.c)))
VBMC_UNIT_BINS = $(patsubst $(VBMC)/tests/test_%.c,$(BUILD)/tests/vbmc_test_%,$(wildcard $(VBMC)/tests/test_*.c))
IMG           = image-builder
IMG_LIB_OBJS  = $(patsubst $(IMG)/src/%.c,$(BUILD)/obj/img/%.o,$(filter-out $(IMG)/src/corral-image.c,$(wildcard $(IMG)/src/*.c)))
IMG_UNIT_BINS = $(patsubst $(IMG)/tests/test_%.c,$(BUILD)/tests/img_test_%,$(wildcard $(IMG)/tests/test_*.c))


.PHONY: all deps check check-unit check-integ check-vm check-arm64-image check-appliance check-web check-fresh screenshots lint bench install clean help demo fuzz

all: $(BUILD)/corrald $(BUILD)/corral $(BUILD)/corral-dhcp-hook $(BUILD)/corral-vbmc $(BUILD)/corral-image

help:
	@echo "make            build corrald and corral into $(BUILD)/"
	@echo "make deps       install the Debian packages Corral needs (root)"
	@echo "make check      every test tier, ends with 'N passed, N failed, N skipped'"
	@echo "make check-unit | check-integ | check-web | check-vm | check-fresh   one tier"
	@echo "make check-arm64-image   the arm64 image built and booted (not in make check: ~30 min cold build)"
	@echo "make check-appliance     only the appliance's tests (in check-vm): image built, booted, upgraded, rolled back"
	@echo "make screenshots  regenerate docs/img/*.png from a seeded corrald"
	@echo "make demo       boot a virtual cluster (BIOS + UEFI + arm64) through Corral; KEEP=1 keeps it"
	@echo "make appliance  the bootable appliance image; make demo-appliance boots it in QEMU"
	@echo "make lint       clang-format, banned functions, functions over 120 and files over 1,200 lines"
	@echo "make fuzz       libFuzzer on every parser of outside input (FUZZ_SECONDS=$(FUZZ_SECONDS) each)"
	@echo "make bench      benchmarks against a reference (nginx) on this machine"
	@echo "make install    PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)"
	@echo "make SANITIZE=address,undefined check   sanitizer build and tests"

# DEPS=build: only what make all and make install need, and cmocka (the
# appliance's build root; check-unit there skips its two Kea tests);
# default everything.
deps:
	@sh scripts/deps.sh $(DEPS)

# Each program compiles with its own folder and lib/ on the include path,
# nothing else: the daemon and the CLI share only lib/.
$(BUILD)/obj/lib/%.o: $(LIB)/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(LIB) -c -o $@ $<

$(LIBCORRAL): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/obj/corrald/%.o: $(D_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(D_DIR) -I$(LIB) -c -o $@ $<

$(BUILD)/obj/corral/%.o: $(C_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(C_DIR) -I$(LIB) -c -o $@ $<

$(BUILD)/obj/hook/%.o: $(NB)/hook/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(LIB) -c -o $@ $<

$(BUILD)/embed: $(NB)/tools/embed.c | $(BUILD)/obj
	$(CC) -std=gnu11 -O2 -Wall -Wextra -o $@ $<

$(BUILD)/gen/ui_assets.c: $(BUILD)/embed $(addprefix $(NB)/ui/,$(UI_FILES))
	@mkdir -p $(BUILD)/gen
	$(BUILD)/embed $@ $(NB)/ui $(UI_FILES)

$(BUILD)/obj/corrald/ui_assets.o: $(BUILD)/gen/ui_assets.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(D_DIR) -I$(LIB) -Wno-missing-variable-declarations -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests $(BUILD)/results:
	@mkdir -p $@

$(BUILD)/corrald: $(BUILD)/obj/corrald/corrald.o $(CORE_OBJS) $(LIBCORRAL)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/corral-dhcp-hook: $(BUILD)/obj/hook/hook.o $(LIBCORRAL)
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/corral: $(CLI_OBJS) $(LIBCORRAL)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLI_LIBS)

$(BUILD)/tests/lib_test_%: $(LIB)/tests/test_%.c $(LIBCORRAL) | $(BUILD)/tests
	$(CC) $(CFLAGS) -I$(LIB) -o $@ $< $(LIBCORRAL) $(LDFLAGS) $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/%: $(NB)/tests/unit/%.c $(CORE_OBJS) $(LIBCORRAL) | $(BUILD)/tests
	$(CC) $(CFLAGS) -I$(D_DIR) -I$(LIB) -o $@ $< $(CORE_OBJS) $(LIBCORRAL) $(LDFLAGS) $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/cli_test_%: $(NB)/tests/cli-unit/test_%.c $(CLI_LIB_OBJS) $(LIBCORRAL) | $(BUILD)/tests
	$(CC) $(CFLAGS) -I$(C_DIR) -I$(LIB) -o $@ $< $(CLI_LIB_OBJS) $(LIBCORRAL) $(LDFLAGS) $(CLI_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/replay_%: $(NB)/fuzz/fuzz_%.c $(NB)/fuzz/replay.c $(CORE_OBJS) $(LIBCORRAL) | $(BUILD)/tests
	$(CC) $(CFLAGS) -I$(D_DIR) -I$(LIB) -DREPLAY_CORPUS=\"$(NB)/fuzz/corpus/$*\" -o $@ $< $(NB)/fuzz/replay.c \
		$(CORE_OBJS) $(LIBCORRAL) $(LDFLAGS) $(LIBS)

# libFuzzer builds (clang), run for FUZZ_SECONDS each; new finds land in the
# corpus, which the unit tier replays from then on.
# FUZZ_TARGETS picks some (default: all); each ends with a line of its execs.
FUZZ_TARGETS ?= $(FUZZ_NAMES)
fuzz: deps $(BUILD)/gen/ui_assets.c
	@mkdir -p build/fuzz
	@for t in $(FUZZ_TARGETS); do \
		clang -std=gnu11 -g -O1 -D_GNU_SOURCE -DCORRAL_VERSION=\"fuzz\" $(PKG_CFLAGS) -I$(D_DIR) -I$(LIB) \
			-fsanitize=fuzzer,address,undefined -o build/fuzz/$$t $(NB)/fuzz/fuzz_$$t.c \
			$(CORE_SRCS) $(BUILD)/gen/ui_assets.c $(LIB_SRCS) $(LIBS) || exit 1; \
		build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) $(NB)/fuzz/corpus/$$t 2>build/fuzz/$$t.log; \
		rc=$$?; tail -n 5 build/fuzz/$$t.log; \
		echo "fuzz $$t: $$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 execs in \2 s/p' build/fuzz/$$t.log)"; \
		[ $$rc -eq 0 ] || { echo "fuzz $$t: crashed, see build/fuzz/$$t.log"; exit 1; }; \
	done

# Test tiers.  Each writes "<passed> <failed> <skipped>" into
# $(BUILD)/results/<tier> and its skips, with reasons, into <tier>.skips;
# `make check` adds them up in one final line and prints every skip (under
# CI=true a skip not in scripts/skip-allow.txt fails).  A tier that could
# not run at all counts as one failure, so a broken build never looks green.
check-unit: deps $(LIB_UNIT_BINS) $(UNIT_BINS) $(CLI_UNIT_BINS) $(REPLAY_BINS) $(VBMC_UNIT_BINS) $(IMG_UNIT_BINS) | $(BUILD)/results
	@sh scripts/run-unit.sh $(BUILD)/results/unit $(LIB_UNIT_BINS) $(UNIT_BINS) $(CLI_UNIT_BINS) $(REPLAY_BINS) $(VBMC_UNIT_BINS) $(IMG_UNIT_BINS)

check-integ: deps all | $(BUILD)/results
	@sh scripts/run-pytest.sh $(BUILD)/results/integ $(NB)/tests/integ $(BUILD)

# End to end: QEMU VMs in a network namespace boot through corrald (root;
# KVM only when a guest really runs under it, TCG otherwise).
# The appliance's tests (its image built, booted, upgraded) are part of it.
check-vm: deps all | $(BUILD)/results
	@sh scripts/run-pytest.sh $(BUILD)/results/vm test-vm/tests $(BUILD) \
		--ignore=test-vm/tests/test_image_arm64.py

# The appliance's tests alone (they are in check-vm too): its image built,
# booted in QEMU (first boot, BIOS and UEFI clients, the settings error),
# upgraded, rolled back, backed up and restored.
check-appliance: deps all | $(BUILD)/results
	@sh scripts/run-pytest.sh $(BUILD)/results/appliance test-vm/tests/test_appliance.py $(BUILD) \
		test-vm/tests/test_appliance_tools.py test-vm/tests/test_appliance_upgrade.py

# The arm64 image built by corral-image through qemu-user-static and booted
# in an arm64 VM: not in `make check`, because its cold build (every package
# script run emulated) takes half an hour here and would not fit CI's hour.
check-arm64-image: deps all | $(BUILD)/results
	@sh scripts/run-pytest.sh $(BUILD)/results/arm64-image test-vm/tests/test_image_arm64.py $(BUILD)

# The web page in real headless Chromium (Debian's), driven by playwright-core.
check-web: deps all | $(BUILD)/results
	@sh netboot/tests/web/run.sh $(BUILD)/results/web $(BUILD)

# The README's install path (make deps, make, make check-unit) inside a
# clean Debian 12 root made by mmdebstrap: fails when an install step is
# missing, which CI's prepared machine cannot see.  Root.
check-fresh: deps | $(BUILD)/results
	@sh scripts/check-fresh.sh $(BUILD)/results/fresh

# README's screenshots, made by the same tooling as check-web.
screenshots: deps all
	@cd netboot/tests/web && { [ -d node_modules/playwright-core ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
		npm ci --no-audit --no-fund; } && CORRAL_BUILD=$(CURDIR)/$(BUILD) node screenshots.mjs $(CURDIR)/docs/img

check: deps
	@rm -f $(BUILD)/results/*
	@$(MAKE) --no-print-directory all || { mkdir -p $(BUILD)/results; echo "0 1 0" > $(BUILD)/results/build; }
	-@$(MAKE) --no-print-directory check-unit
	-@$(MAKE) --no-print-directory check-integ
	-@$(MAKE) --no-print-directory check-web
	-@$(MAKE) --no-print-directory check-vm
	-@$(MAKE) --no-print-directory check-fresh
	@sh scripts/summary.sh $(BUILD)/results unit integ web vm fresh

# Corral's main job on a virtual cluster: one BIOS, one UEFI and one arm64
# VM (the UEFI and arm64 ones through the firmware's own PXE and TFTP; the
# arm64 one from the firmware tree, with its own test OS, both fetched with
# apt) boot through corrald and its dnsmasq; prints each node's timeline
# (about a minute here).  KEEP=1 leaves the cluster running.
demo: deps all
	@CORRAL_BUILD=$(abspath $(BUILD)) /usr/bin/python3 test-vm/cluster.py boot --bios 1 --uefi 1 \
		--arm64 1 --uefi-pxe firmware --dnsmasq corrald $(if $(KEEP),--keep)

lint: deps
	@sh scripts/lint.sh

bench: deps all
	@sh bench/run.sh $(BUILD)
	@sh bench/storm.sh $(BUILD)
	@bash bench/events-store.sh $(BUILD)
	@/usr/bin/python3 bench/discovery.py $(BUILD)
	@/usr/bin/python3 bench/dhcp.py $(BUILD)
	@/usr/bin/python3 bench/slowloris.py $(BUILD)
	@/usr/bin/python3 bench/vm_boot.py $(BUILD)
	@sh bench/image.sh $(BUILD)
	@sh appliance/bench.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/corral \
		$(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/doc/corral
	install -m 755 $(BUILD)/corrald $(DESTDIR)$(PREFIX)/sbin/corrald
	install -m 755 $(BUILD)/corral $(DESTDIR)$(PREFIX)/bin/corral
	install -m 755 $(BUILD)/corral-image $(DESTDIR)$(PREFIX)/bin/corral-image
	install -d $(DESTDIR)$(PREFIX)/share/corral/dracut/95corral-verify
	install -m 755 $(IMG)/dracut/95corral-verify/*.sh $(DESTDIR)$(PREFIX)/share/corral/dracut/95corral-verify/
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
	$(CC) $(CFLAGS) -I$(VBMC) -I$(LIB) -c -o $@ $<
$(BUILD)/corral-vbmc: $(BUILD)/obj/vbmc/vbmc.o $(VBMC_LIB_OBJS) $(LIBCORRAL)
	$(CC) $(LDFLAGS) -o $@ $^ $(VBMC_LIBS)
$(BUILD)/tests/vbmc_test_%: $(VBMC)/tests/test_%.c $(VBMC_LIB_OBJS) $(LIBCORRAL) | $(BUILD)/tests
	$(CC) $(CFLAGS) -I$(VBMC) -I$(LIB) -o $@ $< $(VBMC_LIB_OBJS) $(LIBCORRAL) $(LDFLAGS) $(VBMC_LIBS) $(CMOCKA_LIBS)

# corral-image: recipes into bootable node images (image-builder/).
# Corral's dracut modules: installed under PREFIX, else read from this tree.
IMG_DEFS = -DCORRAL_IMG_DRACUT_DIR=\"$(PREFIX)/share/corral/dracut\" -DCORRAL_IMG_DRACUT_SRC=\"$(CURDIR)/$(IMG)/dracut\"
$(BUILD)/obj/img/%.o: $(IMG)/src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(IMG_DEFS) -I$(IMG)/src -I$(LIB) -c -o $@ $<
$(BUILD)/corral-image: $(BUILD)/obj/img/corral-image.o $(IMG_LIB_OBJS) $(LIBCORRAL)
	$(CC) $(LDFLAGS) -o $@ $^ $(IMG_LIBS)
# test_imgstore also runs the program itself.
$(BUILD)/tests/img_test_imgstore: $(BUILD)/corral-image
$(BUILD)/tests/img_test_%: $(IMG)/tests/test_%.c $(IMG_LIB_OBJS) $(LIBCORRAL) | $(BUILD)/tests
	$(CC) $(CFLAGS) -I$(IMG)/src -I$(LIB) -o $@ $< $(IMG_LIB_OBJS) $(LIBCORRAL) $(LDFLAGS) $(IMG_LIBS) $(CMOCKA_LIBS)

# storm: the boot-storm simulator of `make bench` (bench/storm.c, libcurl's
# multi interface); built with everything so that it never rots.
all: $(BUILD)/storm
bench: $(BUILD)/storm
$(BUILD)/storm: bench/storm.c bench/storm_prep.c $(LIBCORRAL)
	$(CC) $(CFLAGS) -I$(LIB) -Ibench -o $@ bench/storm.c bench/storm_prep.c $(LIBCORRAL) $(LDFLAGS) -lcurl -lm

# firmware/: the boot firmware tree (iPXE for every architecture) from
# Debian's packages, downloaded and verified by apt itself; see
# firmware/README.md.  corral-fwtable prints corrald's architecture table
# for it, so the manifest and dnsmasq's configuration share one table.
.PHONY: firmware
all: $(BUILD)/corral-fwtable
$(BUILD)/obj/firmware/%.o: firmware/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(D_DIR) -I$(LIB) -c -o $@ $<
$(BUILD)/corral-fwtable: $(BUILD)/obj/firmware/fwtable.o $(BUILD)/obj/corrald/dhcpconf.o $(LIBCORRAL)
	$(CC) $(LDFLAGS) -o $@ $^
firmware: deps $(BUILD)/corral-fwtable
	@/usr/bin/python3 firmware/build.py --table $(BUILD)/corral-fwtable $(BUILD)/firmware

# The appliance (appliance/): Corral as a bootable management-server disk
# image, build/appliance/corral-<version>-amd64.img (raw GPT) and .qcow2,
# from Debian 12 packages (mmdebstrap) with Corral compiled inside a clean
# build root by its own make deps and make install.  Root; cached steps
# (/var/cache/corral/appliance).  The image carries make firmware's tree.
# See appliance/README.md.
.PHONY: appliance demo-appliance
appliance: deps firmware
	@CORRAL_APPLIANCE_FIRMWARE=$(abspath $(BUILD))/firmware sh appliance/build.sh $(BUILD)/appliance

# Boots the appliance in QEMU with a first-boot settings file, PXE-boots a
# client VM from it and prints the client's timeline as read from the
# appliance's API.  KEEP=1 leaves it running.
demo-appliance: deps firmware
	@CORRAL_APPLIANCE_FIRMWARE=$(abspath $(BUILD))/firmware /usr/bin/python3 appliance/demo.py --out $(BUILD)/appliance $(if $(KEEP),--keep)


-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/tests/*.d $(BUILD)/*.d)
