# Botan 3: a system one (>= 3.6) when installed, else built minimal and static from source.
find_package(PkgConfig REQUIRED)
pkg_check_modules(BOTAN3 QUIET IMPORTED_TARGET botan-3>=3.6)
if(BOTAN3_FOUND AND NOT AUDIT_STATIC)
    add_library(audit_botan INTERFACE)
    target_link_libraries(audit_botan INTERFACE PkgConfig::BOTAN3)
    message(STATUS "Botan: system ${BOTAN3_VERSION}")
else()
    execute_process(COMMAND bash ${CMAKE_SOURCE_DIR}/cmake/build-botan.sh ${AUDIT_DEPS_DIR}/botan
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "building Botan 3 from its Debian source package failed")
    endif()
    add_library(audit_botan STATIC IMPORTED GLOBAL)
    set_target_properties(audit_botan PROPERTIES
        IMPORTED_LOCATION ${AUDIT_DEPS_DIR}/botan/prefix/lib/libbotan-3.a
        INTERFACE_INCLUDE_DIRECTORIES ${AUDIT_DEPS_DIR}/botan/prefix/include/botan-3)
    message(STATUS "Botan: static 3.7.1 from ${AUDIT_DEPS_DIR}/botan")
endif()

# libarchive for the bundle's pax tar + zstd. Static: only the objects we reference get linked,
# so naming the few formats we use keeps libxml2/ICU out of the tools.
find_path(ARCHIVE_INCLUDE archive.h REQUIRED)
find_library(ARCHIVE_STATIC NAMES libarchive.a REQUIRED)
find_library(ZSTD_STATIC NAMES libzstd.a REQUIRED)
find_library(LZMA_STATIC NAMES liblzma.a REQUIRED)  # also kernel modules (.ko.xz)
find_library(BZ2_STATIC NAMES libbz2.a)
find_library(LZ4_STATIC NAMES liblz4.a)
find_library(Z_STATIC NAMES libz.a REQUIRED)  # also kernel modules (.ko.gz)
find_library(ACL_STATIC NAMES libacl.a)
add_library(audit_archive INTERFACE)
target_include_directories(audit_archive INTERFACE ${ARCHIVE_INCLUDE})
target_link_libraries(audit_archive INTERFACE ${ARCHIVE_STATIC} ${ZSTD_STATIC})
foreach(lib LZMA_STATIC BZ2_STATIC LZ4_STATIC Z_STATIC ACL_STATIC)
    if(${lib})
        target_link_libraries(audit_archive INTERFACE ${${lib}})
    endif()
endforeach()

find_library(SQLITE_STATIC NAMES libsqlite3.a REQUIRED)
add_library(audit_sqlite INTERFACE)
target_link_libraries(audit_sqlite INTERFACE ${SQLITE_STATIC} ${CMAKE_DL_LIBS} m)

find_package(nlohmann_json 3.10 REQUIRED)
find_path(TOMLPP_INCLUDE toml++/toml.h REQUIRED)
add_library(audit_toml INTERFACE)
target_include_directories(audit_toml INTERFACE ${TOMLPP_INCLUDE})

find_package(Threads REQUIRED)

if(AUDIT_TESTS)
    execute_process(COMMAND bash ${CMAKE_SOURCE_DIR}/cmake/fetch-catch2.sh ${AUDIT_DEPS_DIR}/catch2
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "fetching Catch2 v3 from its Debian source package failed")
    endif()
    add_library(audit_catch2 STATIC ${AUDIT_DEPS_DIR}/catch2/src/extras/catch_amalgamated.cpp)
    target_include_directories(audit_catch2 SYSTEM PUBLIC ${AUDIT_DEPS_DIR}/catch2/src/extras)
endif()
