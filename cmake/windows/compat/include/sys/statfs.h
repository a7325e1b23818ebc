// Windows stand-in for <sys/statfs.h>: fstatfs() and statfs() report the file system type as FAT
// (0x4d44) for FAT/FAT32/exFAT volumes, which keep no modes, and 0 otherwise
// (cmake/windows/compat).
#pragma once
struct statfs {
    long f_type;
};
#ifdef __cplusplus
extern "C" {
#endif
int fstatfs(int fd, struct statfs* buf);
int statfs(const char* path, struct statfs* buf);
#ifdef __cplusplus
}
#endif
