/* version.h: the release, for --version, the status API and the logs. */
#ifndef KEYBRIDGE_VERSION_H
#define KEYBRIDGE_VERSION_H

#define KEYBRIDGE_VERSION "0.1.0"

#endif
