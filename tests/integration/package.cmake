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
