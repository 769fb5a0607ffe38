/*
 * recipe: image recipes (YAML, libyaml) → a checked struct recipe.
 *
 * A recipe names an image and either a base (Debian suite, optional mirror
 * and variant; or an OCI image, base.oci, with live_boot to install what a
 * live boot needs with its own package manager) or a parent (another recipe file, or an image already in the
 * store), plus packages to add and remove, files to copy in, commands to
 * run inside (argv lists, never shell strings), default kernel parameters
 * and whether cloud-init is enabled.  recipe_load() reads a file and every
 * parent recipe file it names and checks all of it before any work starts:
 * each problem is one line "FILE:LINE: KEY: what is wrong" in the error
 * buffer (all problems, not only the first).  Parent cycles are refused.
 *
 * Owns: the struct and everything it points to (recipe_free).  No I/O but
 * reading the recipe files and stat()ing the files it copies in.
 *
 * Callers: corral-image.c (build, check) and build.c, which reads the
 * struct.
 */
#ifndef CORRAL_RECIPE_H
#define CORRAL_RECIPE_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

struct recipe_file {
	char *src;  /* absolute path on the build machine */
	char *dest; /* absolute path inside the image */
	mode_t mode;
};

struct recipe_cmd {
	char **argv; /* NULL-terminated */
	size_t argc;
	int line; /* recipe line, for error messages */
};

struct recipe {
	char *path;                   /* the file as given */
	char *realpath;               /* canonical path (cycle detection) */
	char *dir;                    /* directory of the file: `files` src are relative to it */
	char *name;                   /* image name */
	char *description;            /* free text or NULL */
	char *arch;                   /* Debian architecture: amd64, arm64 */
	char *suite;                  /* base only: bookworm, ... (children: inherited) */
	char *mirror;                 /* base only: NULL = the machine's apt sources */
	char *variant;                /* base only: mmdebstrap variant (default minbase) */
	char *oci;                    /* base only: an OCI image (path) instead of a suite */
	char *releasever;             /* base.oci only: dnf/zypper $releasever, or NULL */
	int live_boot;                /* base.oci: install the live boot pieces */
	char *parent;                 /* as written, or NULL */
	struct recipe *parent_recipe; /* when parent names a recipe file */
	char **packages;
	size_t npackages;
	char **remove;
	size_t nremove;
	struct recipe_file *files;
	size_t nfiles;
	struct recipe_cmd *run;
	size_t nrun;
	char *kernel_params; /* NULL: none */
	int cloud_init;      /* 1, 0, or -1 (not said: parent's, else 1) */
};

/* Loads and checks PATH and its parent recipes.  0 and *out (free with
 * recipe_free), or -EINVAL with every problem appended to err (one line
 * each), or -ENOENT/-ENOMEM (also described in err). */
int recipe_load(const char *path, struct recipe **out, struct buf *err);
/* Parses a recipe from memory; `path` names it in messages and resolves
 * relative paths (parent recipes, files).  Same results as recipe_load. */
int recipe_parse(const char *path, const char *text, size_t len, struct recipe **out,
		 struct buf *err);
void recipe_free(struct recipe *r);

/* 1 when s is a name Corral accepts for an image: 1-63 of [A-Za-z0-9._-],
 * starting with a letter or digit. */
int recipe_name_ok(const char *s);
/* 1 when s may be default kernel parameters: printable ASCII without '$',
 * quotes or backslashes, at most 1024 bytes. */
int recipe_params_ok(const char *s);
/* 1 when `parent` names a recipe file (ends in .yaml/.yml or has a '/'),
 * 0 when it names an image in the store. */
int recipe_parent_is_file(const char *parent);
/* Whether cloud-init is enabled, following parents (default 1). */
int recipe_cloud_init(const struct recipe *r);
/* The base recipe at the end of the parent chain (NULL when the chain ends
 * in a stored image). */
const struct recipe *recipe_root(const struct recipe *r);

/* sha256 (64 hex + NUL) of the recipe's own content in a canonical form:
 * every field, and the contents of the files it copies in (so a changed
 * file changes the digest; comments and key order do not).  Not the
 * parent's: the layer key adds that.  0 or a negative errno. */
int recipe_digest(const struct recipe *r, char hex[65], struct buf *err);

#endif
