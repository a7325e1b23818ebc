// Windows (mingw-w64) stand-ins for the few POSIX calls the portable part of the library and the
// tools use, force-included into every file of the windows preset (cmake/windows/sources.cmake).
// They keep the calls' contracts where Windows can (binary I/O, exclusive create, handles not
// inherited, hard links, byte-range locks, console echo off); what Windows has no equivalent for
// is a documented no-op listed here and in the README ("Windows (work in progress)"):
//   O_NOFOLLOW, O_DIRECTORY, O_NOCTTY, O_NONBLOCK  -> 0 (the tools' inputs are opened by path;
//                                                    a reparse point is followed)
//   fchmod                                          -> only the read-only attribute
//   fsync of a directory                            -> fails (callers that tolerate it skip it)
//   lstat                                           -> stat (mingw's stat reports no links)
//   renameat2                                       -> MoveFileEx, AT_FDCWD only; RENAME_NOREPLACE
//                                                    kept (fails with EEXIST)
#pragma once
#ifdef _WIN32
#ifndef _POSIX_THREAD_SAFE_FUNCTIONS
#define _POSIX_THREAD_SAFE_FUNCTIONS 200112L  // gmtime_r and localtime_r from mingw's <time.h>
#endif
#include <fcntl.h>
#include <io.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC _O_NOINHERIT
#endif
#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY 0
#endif
#ifndef O_NOCTTY
#define O_NOCTTY 0
#endif
#ifndef O_NONBLOCK
#define O_NONBLOCK 0
#endif
#ifndef S_ISSOCK
#define S_ISSOCK(m) 0
#endif
#ifndef AT_FDCWD
#define AT_FDCWD (-100)
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif
#ifndef S_ISLNK
#define S_ISLNK(m) 0
#endif

#ifdef __cplusplus
extern "C" {
#endif
int fsync(int fd);
int fchmod(int fd, mode_t mode);
int link(const char* existing, const char* created);
int mkostemp(char* tmpl, int flags);
int renameat2(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, unsigned flags);
// No directory descriptors on Windows: fails with ENOSYS (audit-verify --extract is not ported).
int openat(int dirfd, const char* path, int flags, ...);
#ifdef __cplusplus
}
// POSIX mkdir(path, mode): the mode has no Windows meaning (the ACL is inherited).
inline int mkdir(const char* path, mode_t) {
    return ::mkdir(path);
}
inline int lstat(const char* path, struct stat* st) {
    return ::stat(path, st);
}
inline time_t timegm(struct tm* t) {
    return _mkgmtime(t);
}
#endif
#endif
