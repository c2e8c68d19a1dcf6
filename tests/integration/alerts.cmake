# Alert delivery against real endpoints (included from tests/integration/CMakeLists.txt):
# a capture server, the real Alertmanager (Debian prometheus-alertmanager) and amtool.
if(TARGET picket_alert_sender AND TARGET picket_test_support AND TARGET picket_http)
    picket_test(alert_delivery_test LABEL integration TIMEOUT 180
        SOURCES alert_delivery_test.cpp
        DEPS picket::alert_sender picket::http picket_test_support nlohmann_json::nlohmann_json)
endif()
# SIGHUP applies changed receivers in a real picketd (active alerts survive; a refused
# receiver config fails the whole reload).
if(TARGET picket_test_support AND TARGET picketd AND TARGET picket_http)
    picket_test(alert_reload_test LABEL integration TIMEOUT 300
        SOURCES alert_reload_test.cpp
        DEPS picket_test_support picket_test_async picket::http picket::proto
             nlohmann_json::nlohmann_json)
    target_compile_definitions(alert_reload_test PRIVATE PICKETD_PATH="$<TARGET_FILE:picketd>")
    add_dependencies(alert_reload_test picketd)
endif()
