/*
 * common/file.c: reading a small file whole.  See file.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/file.h"

int
file_read_small(const char *path, char *buf, size_t size, size_t *len,
    char *err, size_t errlen)
{
	FILE *fp;
	size_t n;
	int rc = -1;

	*len = 0;
	if (size == 0) {
		snprintf(err, errlen, "%s: no room to read it", path);
		return -1;
	}
	buf[0] = '\0';
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* One byte more than fits tells a file that is too long. */
	n = fread(buf, 1, size - 1, fp);
	if (ferror(fp))
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (n == size - 1 && fgetc(fp) != EOF)
		snprintf(err, errlen, "%s: longer than %zu bytes", path,
		    size - 1);
	else
		rc = 0;
	fclose(fp);
	buf[rc == 0 ? n : 0] = '\0';
	*len = rc == 0 ? n : 0;
	return rc;
}
