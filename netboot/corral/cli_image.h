/*
 * cli_image: `corral image verify NAME` -- are the files corrald serves for
 * an image the ones its build made?
 *
 * Reads the image (GET /api/v1/images/NAME), then the manifest corral-image
 * pushed beside its files (<dir>/manifest.json under /files/, or a local
 * one with --manifest FILE, e.g. from `corral-image show NAME`: a manifest
 * kept off the server is the stronger check), downloads kernel, initrd and
 * root image through /files/ exactly as a node does and hashes them as they
 * stream (nothing is written to disk).  Each file's sha256 and size are
 * compared with the manifest, and the root image's also with the image's
 * rootfs_sha256 (what nodes are told to expect).  One line per file; exit
 * 0 when all match, 1 otherwise.
 *
 * Why download rather than ask corrald for digests: this checks the bytes
 * a node receives, over the same path (HTTP, ranges, any proxy), and
 * corrald needs no hashing of gigabytes inside its HTTP loop.
 *
 * Callers: cli_defs.c's command table.
 */
#ifndef CORRAL_CLI_IMAGE_H
#define CORRAL_CLI_IMAGE_H

#include "cli_args.h"
#include "cli_core.h"

int cli_cmd_image_verify(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);

#endif
