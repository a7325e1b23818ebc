# Windows (mingw-w64 cross-build, cmake/windows/toolchain-mingw64.cmake): every library built for
# the target from its pinned Debian source package by cmake/windows/build-deps.sh, cached in
# AUDIT_WINDOWS_DEPS_DIR; the header-only ones (nlohmann/json, TOML++, CLI11) from bookworm's packages
# through a directory that holds only them (never /usr/include itself on the target's path).
set(AUDIT_WINDOWS_DEPS_DIR "${CMAKE_SOURCE_DIR}/build/_deps-windows" CACHE PATH
    "Cache for the dependencies cross-built for Windows")
set(AUDIT_WINDOWS_JOBS 2 CACHE STRING "make -j of the Windows dependency builds")
execute_process(COMMAND ${CMAKE_COMMAND} -E env AUDIT_JOBS=${AUDIT_WINDOWS_JOBS}
                        bash ${CMAKE_CURRENT_LIST_DIR}/build-deps.sh ${AUDIT_WINDOWS_DEPS_DIR}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cross-building the Windows dependencies (cmake/windows/build-deps.sh) failed")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/build-deps.sh
             ${CMAKE_SOURCE_DIR}/cmake/build-botan.sh ${CMAKE_SOURCE_DIR}/cmake/deb-source.sh)
set(win_prefix ${AUDIT_WINDOWS_DEPS_DIR}/prefix)
set(win_botan ${AUDIT_WINDOWS_DEPS_DIR}/botan/prefix)

add_library(audit_botan STATIC IMPORTED GLOBAL)
set_target_properties(audit_botan PROPERTIES
    IMPORTED_LOCATION ${win_botan}/lib/libbotan-3.a
    INTERFACE_INCLUDE_DIRECTORIES ${win_botan}/include/botan-3
    # system_rng: RtlGenRandom / BCryptGenRandom; ssp: Botan's mingw build uses -fstack-protector
    INTERFACE_LINK_LIBRARIES "bcrypt;advapi32;ssp")
message(STATUS "Botan: static 3.7.1 for Windows from ${win_botan}")

add_library(audit_archive INTERFACE)
target_include_directories(audit_archive SYSTEM INTERFACE ${win_prefix}/include)
# libarchive before the compressors it calls; bcrypt for its (unused) CNG digest probes.
target_link_libraries(audit_archive INTERFACE ${win_prefix}/lib/libarchive.a ${win_prefix}/lib/libzstd.a
                                              ${win_prefix}/lib/liblzma.a ${win_prefix}/lib/libz.a bcrypt)
# No SQLite for Windows: only the ledger uses it (audit-attest, not built here; sqlite_db.cpp is
# left out by cmake/windows/sources.cmake). An empty target, so that the areas link unchanged.
add_library(audit_sqlite INTERFACE)

set(win_headers ${AUDIT_WINDOWS_DEPS_DIR}/headers)
find_path(NLOHMANN_SYSTEM_INCLUDE nlohmann/json.hpp PATHS /usr/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)
find_path(CLI11_SYSTEM_INCLUDE CLI/CLI.hpp PATHS /usr/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)
find_path(TOMLPP_SYSTEM_INCLUDE toml++/toml.h PATHS /usr/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)
file(MAKE_DIRECTORY ${win_headers})
file(CREATE_LINK ${NLOHMANN_SYSTEM_INCLUDE}/nlohmann ${win_headers}/nlohmann SYMBOLIC)
file(CREATE_LINK ${CLI11_SYSTEM_INCLUDE}/CLI ${win_headers}/CLI SYMBOLIC)
add_library(CLI11::CLI11 INTERFACE IMPORTED)
target_include_directories(CLI11::CLI11 SYSTEM INTERFACE ${win_headers})
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
target_include_directories(nlohmann_json::nlohmann_json SYSTEM INTERFACE ${win_headers})

set(TOMLPP_INCLUDE ${CMAKE_BINARY_DIR}/_deps/tomlplusplus-patched)
execute_process(COMMAND bash ${CMAKE_SOURCE_DIR}/cmake/patch-tomlplusplus.sh
                        ${TOMLPP_SYSTEM_INCLUDE} ${TOMLPP_INCLUDE}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "patching TOML++ (cmake/patch-tomlplusplus.sh) failed")
endif()
add_library(audit_toml INTERFACE)
target_include_directories(audit_toml BEFORE INTERFACE ${TOMLPP_INCLUDE})

find_package(Threads REQUIRED)
if(AUDIT_TESTS)
    message(FATAL_ERROR "the windows preset builds the tools only (AUDIT_TESTS=OFF); the tests run under Wine")
endif()

# POSIX stand-ins for the portable code (cmake/windows/compat, listed in audit_win_compat.h),
# force-included everywhere. binmode.o is linked for fopen()s without "b", but it does not reach
# the descriptors of open() in a static .exe (Wine 8): O_CLOEXEC carries _O_BINARY there.
include_directories(BEFORE SYSTEM ${CMAKE_CURRENT_LIST_DIR}/compat/include)
add_compile_options(-include audit_win_compat.h)
find_file(MINGW_BINMODE_OBJ binmode.o PATHS /usr/${AUDIT_MINGW_HOST}/lib NO_CMAKE_FIND_ROOT_PATH REQUIRED)
add_link_options(${MINGW_BINMODE_OBJ})

# Every .exe carries cmake/windows/resources/audit.manifest: the UTF-8 process code page, so that
# the narrow (UTF-8) paths the portable code passes to open(), fopen() and the A functions name
# the right files (Windows 10 1903+; older Windows use the ANSI code page: non-ASCII paths fail
# there), and long paths. Compiled once at configure time, linked like binmode.o.
set(AUDIT_WIN_MANIFEST_OBJ ${CMAKE_BINARY_DIR}/audit-manifest.res.o)
execute_process(COMMAND ${CMAKE_RC_COMPILER} ${CMAKE_CURRENT_LIST_DIR}/resources/audit.rc -O coff
                        -o ${AUDIT_WIN_MANIFEST_OBJ}
                WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR}/resources RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "windres cmake/windows/resources/audit.rc failed")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/resources/audit.rc ${CMAKE_CURRENT_LIST_DIR}/resources/audit.manifest)
add_link_options(${AUDIT_WIN_MANIFEST_OBJ})
