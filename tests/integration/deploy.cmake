# Tests of the production deploy files (deploy/systemd, deploy/firewalld, deploy/redis,
# deploy/examples/six-vms), label "integration". Included from CMakeLists.txt here.
if(TARGET picketd)
    add_test(NAME deploy_systemd_test
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/deploy_systemd_test.sh
                     ${PROJECT_SOURCE_DIR} $<TARGET_FILE:picketd>)
    add_test(NAME deploy_firewalld_test
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/deploy_firewalld_test.sh ${PROJECT_SOURCE_DIR})
    add_test(NAME deploy_examples_test
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/deploy_examples_test.sh
                     ${PROJECT_SOURCE_DIR} $<TARGET_FILE:picketd>)
    # Exit code 77: a tool the test needs cannot run here; ctest reports "skipped" and the
    # test prints why.
    set_tests_properties(deploy_systemd_test deploy_firewalld_test deploy_examples_test
                         PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()
if(TARGET picketd AND TARGET picket_test_support)
    picket_test(deploy_acl_test LABEL integration TIMEOUT 300
        SOURCES deploy_acl_test.cpp
        DEPS picket_test_support picket_test_async nlohmann_json::nlohmann_json)
    target_compile_definitions(deploy_acl_test PRIVATE
        PICKETD_PATH="$<TARGET_FILE:picketd>"
        PICKET_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        DEPLOY_ACL_CONF="${PROJECT_SOURCE_DIR}/deploy/redis/acl.conf")
    add_dependencies(deploy_acl_test picketd)
endif()
