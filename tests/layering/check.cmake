# cmake -DBUILD_DIR=... -P check.cmake: builds the layering_* objects of tests/layering; the legal
# one must build, each upward one must fail because its header is not on the area's include path.
function(build target result output)
    execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${target}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    set(${result} ${rc} PARENT_SCOPE)
    set(${output} "${out}" PARENT_SCOPE)
endfunction()

build(layering_legal_host rc out)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "a legal include (host -> fs, formats, core) did not compile:\n${out}")
endif()
message(STATUS "host including its own, fs, formats and core headers: compiles")

foreach(case "upward_host_sources;audit/sources/dpkg.h" "upward_fs_scan;audit/scan/scan.h")
    list(GET case 0 name)
    list(GET case 1 header)
    build(layering_${name} rc out)
    if(rc EQUAL 0)
        message(FATAL_ERROR "layering_${name} compiled: ${header} is reachable from a lower area")
    endif()
    string(FIND "${out}" "${header}" at)
    if(at EQUAL -1 OR NOT out MATCHES "No such file or directory|file not found")
        message(FATAL_ERROR "layering_${name} failed, but not for want of ${header}:\n${out}")
    endif()
    message(STATUS "${name}: refused (${header}: no such file)")
endforeach()
