/*
 * bootscript: iPXE script rendering.  See bootscript.h.
 *
 * Every command that can fail carries "|| goto retry"; the retry path
 * sleeps with a doubling back-off and re-chains to the same URL with
 * retry=N+1, so a node rides out a busy server, a restarted corrald or a
 * dropped packet without a power cycle, and each attempt is visible on
 * its timeline.
 */
#include "bootscript.h"

#include <errno.h>
#include <string.h>

#include "valid.h"

unsigned bootscript_retry_sleep(const struct bootscript_env *env, unsigned retry)
{
	unsigned s = 5;
	for (unsigned i = 0; i < retry && s < env->retry_max_sleep; i++)
		s *= 2;
	return s < env->retry_max_sleep ? s : env->retry_max_sleep;
}

int bootscript_url(const struct bootscript_env *env, const char *loc, struct buf *out)
{
	if (valid_is_url(loc))
		return buf_adds(out, loc);
	return buf_printf(out, "%s/files/%s", env->base_url, loc);
}

int bootscript_node(const struct bootscript_env *env, const struct bootsel *b, const char *seed,
		    const char *self, unsigned retry, struct buf *out)
{
	int rc = 0;
	rc |= buf_printf(out, "#!ipxe\n# Corral boot script for %s\n", b->name);
	rc |= buf_printf(out, "# profile %s (from %s)%s%s\n", b->profile, b->source,
			 b->image[0] ? ", image " : "", b->image);
	rc |= buf_printf(out, "echo Corral: booting %s with profile %s (from %s)\n", b->name,
			 b->profile, b->source);

	rc |= buf_adds(out, "kernel ");
	rc |= bootscript_url(env, b->kernel, out);
	rc |= buf_adds(out, " initrd=initrd");
	if (b->params[0] != '\0')
		rc |= buf_printf(out, " %s", b->params);
	if (b->mac[0] != '\0') {
		char dashed[VALID_MAC_LEN + 1];
		memcpy(dashed, b->mac, sizeof(dashed));
		for (char *p = dashed; *p; p++)
			if (*p == ':')
				*p = '-';
		rc |= buf_printf(out, " BOOTIF=01-%s", dashed);
	}
	rc |= buf_printf(out, " corral.node=%s", b->name);
	/* The initramfs checks the root image against it before mounting it. */
	if (b->rootfs_sha256[0] != '\0')
		rc |= buf_printf(out, " corral.rootfs_sha256=%s", b->rootfs_sha256);
	rc |= buf_printf(out, " ds=nocloud-net;s=%s/cloud-init/%s/", env->base_url, seed);
	rc |= buf_adds(out, " || goto retry\n");

	rc |= buf_adds(out, "initrd --name initrd ");
	rc |= bootscript_url(env, b->initrd, out);
	rc |= buf_adds(out, " || goto retry\n");
	rc |= buf_adds(out, "boot || goto retry\n");

	unsigned next = retry + 1;
	rc |= buf_printf(out, ":retry\n");
	rc |= buf_printf(out, "echo Corral: boot step failed, retrying in %u s (attempt %u)\n",
			 bootscript_retry_sleep(env, retry), next);
	rc |= buf_printf(out, "sleep %u\n", bootscript_retry_sleep(env, retry));
	rc |= buf_printf(out,
			 "chain --replace --autofree %s/boot/v1/bootscript?%s&retry=%u"
			 " || goto retry\n",
			 env->base_url, self, next);
	return rc ? -E2BIG : 0;
}

int bootscript_wait(const struct bootscript_env *env, const char *why, const char *self,
		    struct buf *out)
{
	int rc = 0;
	rc |= buf_printf(out, "#!ipxe\n# Corral: %s\n", why);
	rc |= buf_printf(out, "echo Corral: %s; asking again in %u s\n", why, env->unknown_wait);
	rc |= buf_adds(out, ":wait\n");
	rc |= buf_printf(out, "sleep %u\n", env->unknown_wait);
	rc |= buf_printf(out, "chain --replace --autofree %s/boot/v1/bootscript?%s || goto wait\n",
			 env->base_url, self);
	return rc ? -E2BIG : 0;
}

int bootscript_exit(const char *why, struct buf *out)
{
	int rc = 0;
	rc |= buf_printf(out, "#!ipxe\n# Corral: %s\n", why);
	rc |= buf_printf(out, "echo Corral: %s; leaving network boot\n", why);
	rc |= buf_adds(out, "exit\n");
	return rc ? -E2BIG : 0;
}
