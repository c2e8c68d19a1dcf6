# PICKET_PORTABLE=ON: binaries that run on RHEL 9-class systems as well as Debian 12, for the
# .deb and .rpm (cmake/Packaging.cmake). Included by the top-level CMakeLists.txt in place of
# the shared-library lookups of hiredis, yaml-cpp, spdlog and prometheus-cpp core; defines the
# same target names, so no module changes.
#
#   hiredis, yaml-cpp      Debian's static archives (libhiredis.a, libyaml-cpp.a)
#   spdlog, fmt            header-only (Debian ships no libspdlog.a / libfmt.a)
#   prometheus-cpp core    compiled from Debian's source package prometheus-cpp 1.0.1-1
#                          (Debian ships no .a); deploy/install-deps.sh fetches it with apt
#                          into PICKET_DEBIAN_SRC_DIR, outside the repository
#   libstdc++              static (-static-libstdc++): RHEL 9's libstdc++ (GCC 11) lacks
#                          GLIBCXX_3.4.30 that GCC 12 code may need; its one call of a glibc
#                          2.36 function (arc4random) is met by cmake/portable/glibc_compat.c
#   libgcc_s               shared: Debian 12's static libgcc_eh unwinder calls
#                          _dl_find_object@GLIBC_2.35, newer than RHEL 9's glibc 2.34
#   OpenSSL 3              shared (libssl.so.3, libcrypto.so.3; RHEL 9 ships 3.0 with the same
#                          sonames and OPENSSL_3.0.0 symbol versions): the system's CA store,
#                          crypto-policies, FIPS mode and security updates apply to picketd
#   glibc                  shared, symbol versions <= GLIBC_2.34 (Debian 12 builds against 2.36;
#                          tests/integration/portable_test.sh checks every shipped binary)
# Boost (Asio, Beast) and nlohmann-json are header-only anyway.

# hiredis: the pkg-config target (include dirs, -D_FILE_OFFSET_BITS) with the static archive.
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
find_library(PICKET_HIREDIS_ARCHIVE NAMES libhiredis.a REQUIRED)
set_target_properties(PkgConfig::HIREDIS PROPERTIES INTERFACE_LINK_LIBRARIES
                      "${PICKET_HIREDIS_ARCHIVE}")

# yaml-cpp: its CMake package only describes the shared library.
pkg_check_modules(PICKET_YAML_CPP REQUIRED yaml-cpp)
set(yaml-cpp_VERSION ${PICKET_YAML_CPP_VERSION})
find_library(PICKET_YAML_CPP_ARCHIVE NAMES libyaml-cpp.a REQUIRED)
add_library(yaml-cpp STATIC IMPORTED)
set_target_properties(yaml-cpp PROPERTIES IMPORTED_LOCATION "${PICKET_YAML_CPP_ARCHIVE}"
                      INTERFACE_INCLUDE_DIRECTORIES "${PICKET_YAML_CPP_INCLUDE_DIRS}")

if(PICKET_BUILD_IO)
    # spdlog + fmt header-only: the target name modules link, without libspdlog/libfmt.
    find_package(fmt REQUIRED)
    add_library(spdlog::spdlog INTERFACE IMPORTED)
    set_target_properties(spdlog::spdlog PROPERTIES
        INTERFACE_COMPILE_DEFINITIONS SPDLOG_FMT_EXTERNAL
        INTERFACE_LINK_LIBRARIES "Threads::Threads;fmt::fmt-header-only")

    # prometheus-cpp core: Debian's source package of the same version as its headers.
    pkg_check_modules(PROMETHEUS_CORE REQUIRED prometheus-cpp-core=1.0.1)
    set(PICKET_DEBIAN_SRC_DIR "/var/cache/picket/debian-src" CACHE PATH
        "Where deploy/install-deps.sh unpacks Debian source packages (PICKET_PORTABLE)")
    set(picket_prometheus_src ${PICKET_DEBIAN_SRC_DIR}/prometheus-cpp-1.0.1/core/src)
    if(NOT EXISTS ${picket_prometheus_src}/registry.cc)
        message(FATAL_ERROR "PICKET_PORTABLE needs Debian's prometheus-cpp 1.0.1 source package "
            "in ${PICKET_DEBIAN_SRC_DIR}/prometheus-cpp-1.0.1: run deploy/install-deps.sh "
            "(or set PICKET_DEBIAN_SRC_DIR / PICKET_PORTABLE=OFF)")
    endif()
    add_library(picket_prometheus_core STATIC
        ${picket_prometheus_src}/check_names.cc ${picket_prometheus_src}/counter.cc
        ${picket_prometheus_src}/detail/builder.cc
        ${picket_prometheus_src}/detail/ckms_quantiles.cc
        ${picket_prometheus_src}/detail/time_window_quantiles.cc
        ${picket_prometheus_src}/detail/utils.cc ${picket_prometheus_src}/family.cc
        ${picket_prometheus_src}/gauge.cc ${picket_prometheus_src}/histogram.cc
        ${picket_prometheus_src}/registry.cc ${picket_prometheus_src}/serializer.cc
        ${picket_prometheus_src}/summary.cc ${picket_prometheus_src}/text_serializer.cc)
    target_include_directories(picket_prometheus_core
        PRIVATE ${picket_prometheus_src}/detail
        PUBLIC ${PROMETHEUS_CORE_INCLUDE_DIRS})
    target_compile_definitions(picket_prometheus_core PUBLIC PROMETHEUS_CPP_CORE_STATIC_DEFINE)
    target_link_libraries(picket_prometheus_core PUBLIC Threads::Threads)
    add_library(PkgConfig::PROMETHEUS_CORE ALIAS picket_prometheus_core)
endif()

# libstdc++ into every executable; libgcc_s stays shared (see above).
add_link_options(-static-libstdc++)
# Debian's libstdc++.a calls arc4random (glibc 2.36) in std::random_device: the shipped
# executables get a definition on getrandom(2) instead (cmake/portable/glibc_compat.c;
# linked into picketd and picketctl by cmake/Packaging.cmake).
add_library(picket_glibc_compat OBJECT ${CMAKE_CURRENT_LIST_DIR}/portable/glibc_compat.c)
target_compile_options(picket_glibc_compat PRIVATE -Wall -Wextra -Werror)
