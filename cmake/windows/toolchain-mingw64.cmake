# Cross-compile the kit's tools for Windows x86_64 with Debian's mingw-w64 (posix thread model:
# std::thread and std::mutex through winpthreads), every .exe linked -static so that it imports
# only Windows system DLLs (tests/windows/run.sh checks this with objdump -p).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(AUDIT_MINGW_HOST x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${AUDIT_MINGW_HOST}-gcc-posix)
set(CMAKE_CXX_COMPILER ${AUDIT_MINGW_HOST}-g++-posix)
set(CMAKE_RC_COMPILER ${AUDIT_MINGW_HOST}-windres)
set(CMAKE_AR ${AUDIT_MINGW_HOST}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${AUDIT_MINGW_HOST}-ranlib CACHE FILEPATH "")
# Libraries and headers only from the target's sysroot and the cross-built dependencies
# (cmake/windows/Dependencies.cmake appends their prefix); programs from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/${AUDIT_MINGW_HOST})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
# The static libraries' headers must not declare their functions dllimport.
add_compile_definitions(LIBARCHIVE_STATIC LZMA_API_STATIC)
