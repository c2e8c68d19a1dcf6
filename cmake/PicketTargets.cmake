# Helpers shared by every module's CMakeLists.txt.

# picket_warnings(<target>): the project's warning set, -Werror when PICKET_WERROR.
function(picket_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                             -Wsign-conversion -Wnon-virtual-dtor)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        # GCC 12 false positive on Asio's coroutine frame allocator (GCC bug 103993).
        target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
    endif()
    if(PICKET_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()

if(PICKET_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
endif()
if(PICKET_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "PICKET_FUZZ needs clang (libFuzzer): configure with CXX=clang++ CC=clang")
    endif()
    # Libraries get coverage instrumentation; fuzz executables add -fsanitize=fuzzer at link.
    add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# picket_library(<name> [PURE] SOURCES ... DEPS ...): a module target picket_<name>
# with headers under include/. PURE modules are checked by tests/check_layering.sh.
function(picket_library name)
    cmake_parse_arguments(ARG "PURE;INTERFACE" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
    set(target picket_${name})
    if(ARG_INTERFACE)
        add_library(${target} INTERFACE)
        target_include_directories(${target} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
        target_link_libraries(${target} INTERFACE ${ARG_DEPS})
    else()
        add_library(${target} STATIC ${ARG_SOURCES})
        target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
        target_link_libraries(${target} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
        picket_warnings(${target})
    endif()
    add_library(picket::${name} ALIAS ${target})
endfunction()

# picket_test(<name> LABEL <label> SOURCES ... DEPS ...): one gtest executable, one ctest
# entry (gtest_discover_tests would multiply process start-up of fixtures).
function(picket_test name)
    cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
    picket_warnings(${name})
    add_test(NAME ${name} COMMAND ${name})
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 300)
    endif()
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT ${ARG_TIMEOUT}
        ENVIRONMENT "PICKET_TEST_DATA=${PROJECT_SOURCE_DIR}/tests/data")
endfunction()
