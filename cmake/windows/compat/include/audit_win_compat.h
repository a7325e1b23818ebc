// Windows (mingw-w64) stand-ins for the few POSIX calls the portable part of the library and the
// tools use, force-included into every file of the windows preset (cmake/windows/sources.cmake).
// They keep the calls' contracts where Windows can (binary I/O, exclusive create, handles not
// inherited, byte-range locks (flock = LockFileEx), console echo off); what Windows has no
// equivalent for is a documented no-op listed here and in the README ("Windows"):
//   O_NOFOLLOW, O_DIRECTORY, O_NOCTTY, O_NONBLOCK  -> 0 (the tools' inputs are opened by path;
//                                                    a reparse point in it is followed, as a
//                                                    symlink is by the Linux tools' input reads)
//   fsync of a directory                            -> fails (callers that tolerate it skip it)
//   lstat                                           -> stat (mingw's stat reports no links)
// Where the semantics matter the code is ported instead (NAME_win.cpp or an #ifdef _WIN32 hunk:
// core/atomic_file_win.cpp, FileLock in core/file_lock.cpp), through the wide API.
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

// Every open() of the code base passes O_CLOEXEC: it carries _O_BINARY too, since mingw's
// binmode.o does not make a static .exe's descriptors binary (measured under Wine 8: a text-mode
// read stops at the first 0x1A and drops CRs, and a bundle then reads as truncated).
#ifndef O_CLOEXEC
#define O_CLOEXEC (_O_NOINHERIT | _O_BINARY)
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
#ifndef S_ISUID  // no setuid/setgid on Windows: nothing ever carries them
#define S_ISUID 0
#define S_ISGID 0
#endif
#ifndef AT_FDCWD
#define AT_FDCWD (-100)
#endif
#ifndef S_ISLNK
#define S_ISLNK(m) 0
#endif

#ifdef __cplusplus
extern "C" {
#endif
int fsync(int fd);
// No directory descriptors on Windows: fails with ENOSYS (audit-verify --extract is not ported).
int openat(int dirfd, const char* path, int flags, ...);
// A new directory path (template ending in XXXXXX, UTF-8) created with CreateDirectoryW; the
// directory's ACL is inherited from its parent (the scan's scratch directory under --out).
char* mkdtemp(char* tmpl);
// ReadFile at an offset (OVERLAPPED); moves the descriptor's file pointer, which POSIX pread
// does not (the callers read by offset only).
ssize_t pread(int fd, void* buf, size_t count, off_t offset);
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
