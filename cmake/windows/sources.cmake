# The Windows library target (windows preset): which of libaudit's sources it leaves out, and the
# POSIX stand-ins it adds (cmake/windows/compat). Included by libaudit/CMakeLists.txt when
# CMAKE_SYSTEM_NAME is Windows; reads and rewrites AUDIT_SOURCES. Files are named by their
# basename so that moves between libaudit's directories do not silently re-add them.

# Linux-only by nature: Landlock, the mount-namespace read-only view, the live-system readers of
# /proc and /sys, and the kit image/launcher code that drives mount and unshare.
set(AUDIT_WINDOWS_LINUX_ONLY landlock.cpp readonly_view.cpp live.cpp kit_image.cpp)
# Portable in intent but written against openat/O_PATH/fstatat (the walker and the hasher behind
# it) or fork/exec: not ported yet, so audit-scan, audit-attest and audit-kit do not link for
# Windows (issue 16; the windows build preset builds audit-verify and audit-keys).
set(AUDIT_WINDOWS_NOT_PORTED
    root.cpp walker.cpp parallel_walker.cpp hasher.cpp record_sorter.cpp file_evidence.cpp
    scan.cpp kit_build.cpp kit_check.cpp kit_state.cpp
    identity.cpp pe_files.cpp macho_files.cpp python.cpp rpm.cpp
    ledger.cpp plan.cpp report.cpp)

# A file NAME_win.cpp is the Windows port of NAME.cpp (real Win32 code, UTF-8 paths through the
# wide API): built instead of it here; left out of every other build (libaudit/CMakeLists.txt).
set(AUDIT_WINDOWS_PORTED "")
foreach(f IN LISTS AUDIT_SOURCES)
    get_filename_component(base ${f} NAME)
    if(base MATCHES "^(.*)_win\\.cpp$")
        list(APPEND AUDIT_WINDOWS_PORTED ${CMAKE_MATCH_1}.cpp)
    endif()
endforeach()
foreach(f IN LISTS AUDIT_SOURCES)
    get_filename_component(base ${f} NAME)
    if(base IN_LIST AUDIT_WINDOWS_PORTED)
        list(REMOVE_ITEM AUDIT_SOURCES ${f})
    endif()
endforeach()
foreach(f IN LISTS AUDIT_SOURCES)
    get_filename_component(base ${f} NAME)
    if(base IN_LIST AUDIT_WINDOWS_LINUX_ONLY OR base IN_LIST AUDIT_WINDOWS_NOT_PORTED)
        list(REMOVE_ITEM AUDIT_SOURCES ${f})
    endif()
endforeach()
list(APPEND AUDIT_SOURCES ${CMAKE_SOURCE_DIR}/cmake/windows/compat/posix_compat.cpp)
