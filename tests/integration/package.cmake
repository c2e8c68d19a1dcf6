# The .deb and .rpm (cmake/Packaging.cmake) and, in PICKET_PORTABLE builds, that the shipped
# binaries run on RHEL 9 (check_portable.sh). Label "integration"; included from
# CMakeLists.txt here. cpack reuses this build's binaries (nothing is rebuilt).
if(TARGET picketd AND TARGET picketctl)
    add_test(NAME package_test
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/package_test.sh ${CMAKE_BINARY_DIR}
                     ${PROJECT_SOURCE_DIR} $<IF:$<BOOL:${PICKET_PORTABLE}>,ON,OFF>)
    set_tests_properties(package_test PROPERTIES LABELS integration TIMEOUT 300
                         SKIP_RETURN_CODE 77)
endif()
# docs/metrics.md and docs/configuration.md cover every metric and configuration key.
if(TARGET picketd)
    find_package(Python3 REQUIRED COMPONENTS Interpreter)
    add_test(NAME docs_reference_test
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/docs_reference_test.py
                     ${PROJECT_SOURCE_DIR} $<TARGET_FILE:picketd>)
    set_tests_properties(docs_reference_test PROPERTIES LABELS unit TIMEOUT 60)
endif()
