/* fstx/version.h — the fstx version, for C and C++.
 *
 * FSTX_VERSION_* are the version of the headers a program was compiled
 * against; fstx_version() (C, fstx/c.h) and fstx::Version() (C++,
 * fstx/fstx.h) return the version of the library it runs with. The shared
 * library's soname is libfstx.so.FSTX_SOVERSION; it changes whenever the
 * ABI breaks (while FSTX_SOVERSION is 0, any minor release may break it). */
#ifndef FSTX_VERSION_H
#define FSTX_VERSION_H

#define FSTX_VERSION_MAJOR 0
#define FSTX_VERSION_MINOR 1
#define FSTX_VERSION_PATCH 0
#define FSTX_VERSION_STRING "0.1.0"
#define FSTX_SOVERSION 0
/* One number for comparisons: 0x00MMmmpp. */
#define FSTX_VERSION_NUMBER \
  ((FSTX_VERSION_MAJOR << 16) | (FSTX_VERSION_MINOR << 8) | FSTX_VERSION_PATCH)

/* FSTX_API marks what libfstx.so exports: everything else in the library is
 * built with hidden visibility (see README "ABI"). */
/* FSTX_LOCAL marks members of exported classes that stay internal (their
 * private constructors and Impl structs). */
#if defined(__GNUC__) || defined(__clang__)
#define FSTX_API __attribute__((visibility("default")))
#define FSTX_LOCAL __attribute__((visibility("hidden")))
#else
#define FSTX_API
#define FSTX_LOCAL
#endif

#endif /* FSTX_VERSION_H */
