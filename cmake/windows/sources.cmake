# The Windows library target (windows preset): which of libaudit's sources it leaves out, and the
# POSIX stand-ins it adds (cmake/windows/compat). Included by libaudit/CMakeLists.txt when
# CMAKE_SYSTEM_NAME is Windows; reads and rewrites AUDIT_SOURCES. Files are named by their
# basename so that moves between libaudit's directories do not silently re-add them.

# Linux-only by nature: Landlock, the mount-namespace read-only view, and the kit image/launcher
# code that drives mount and unshare. (sources/live.cpp, the /proc reader, has a _win port: the
# running processes through the Win32 API.)
set(AUDIT_WINDOWS_LINUX_ONLY landlock.cpp readonly_view.cpp kit_image.cpp)
# Not ported yet (fork/exec, directory descriptors): audit-attest and audit-kit do not link for
# Windows (issue 16; the windows build preset builds audit-scan, audit-verify and audit-keys).
# fs/root.cpp, walker.cpp and parallel_walker.cpp have *_win.cpp ports (below); files named
# *_win.cpp without a portable twin (fs/win_fs_win.cpp, sources/windows_live_win.cpp,
# host/identity_live_win.cpp) are simply added.
# far.cpp (the FAR articles of the fleet report) goes with the report: one unity translation unit
# per area would otherwise carry its references to report.cpp into every Windows tool.
# The ledger's SQLite layer (sqlite_db.cpp) goes with the ledger: no Windows tool links SQLite, so
# the Windows build does not cross-build it either (cmake/windows/Dependencies.cmake).
set(AUDIT_WINDOWS_NOT_PORTED
    kit_build.cpp kit_check.cpp
    far.cpp ledger.cpp plan.cpp report.cpp report_stream.cpp sqlite_db.cpp)

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
