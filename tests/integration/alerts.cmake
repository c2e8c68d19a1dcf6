# Alert delivery against real endpoints (included from tests/integration/CMakeLists.txt):
# a capture server, the real Alertmanager (Debian prometheus-alertmanager) and amtool.
if(TARGET picket_alert_sender AND TARGET picket_test_support AND TARGET picket_http)
    picket_test(alert_delivery_test LABEL integration TIMEOUT 180
        SOURCES alert_delivery_test.cpp
        DEPS picket::alert_sender picket::http picket_test_support nlohmann_json::nlohmann_json)
endif()
