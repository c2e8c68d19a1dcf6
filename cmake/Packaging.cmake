# Install rules and CPack (.deb and .rpm) for picketd and picketctl. Included at the end of
# the top-level CMakeLists.txt, after every target exists.
#
# Layout (prefix /usr, as a package installs it; docs/deploy.md lists it too):
#   /usr/bin/picketd, /usr/bin/picketctl           (deploy/systemd/picketd.service ExecStart)
#   /etc/picket/picket.yml                          example configuration; a conffile / %config
#   /usr/lib/systemd/system/picketd.service         the unit
#   /usr/lib/sysusers.d/picket.conf                 the picket system user
#   /usr/lib/firewalld/services/picket.xml          firewalld service (peer + HTTP ports)
#   /usr/share/picket/dashboards/picket.json        Grafana dashboard
#   /usr/share/picket/grafana/provisioning/         Grafana data source + dashboard provider
#   /usr/share/picket/prometheus/picket.rules.yml   Prometheus alert rules
#   /usr/share/picket/redis/acl.conf                least-privilege Redis ACL user
#   /usr/share/doc/picket/                          README, docs/*.md, examples/ (six VMs,
#                                                   prometheus.yml, alertmanager.yml)
#
# The prefix defaults to /usr (not /usr/local) so that `cmake --install` by hand puts the
# binaries where the unit expects them and GNUInstallDirs maps sysconfdir to /etc.

if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
    set(CMAKE_INSTALL_PREFIX /usr CACHE PATH "Install prefix" FORCE)
endif()
include(GNUInstallDirs)

# Directories outside GNUInstallDirs' vocabulary, relative to the prefix. systemd, sysusers
# and firewalld read their vendor files from /usr/lib on Debian 12 and RHEL 8/9 alike.
set(PICKET_SYSTEMD_UNITDIR lib/systemd/system CACHE STRING "systemd unit directory")
set(PICKET_SYSUSERSDIR lib/sysusers.d CACHE STRING "sysusers.d directory")
set(PICKET_FIREWALLD_SERVICEDIR lib/firewalld/services CACHE STRING "firewalld service directory")
# Absolute: the unit (ExecStart=... --config /etc/picket/picket.yml) and the docs expect it
# there whatever the prefix; stage elsewhere with DESTDIR.
set(PICKET_CONFDIR /etc/picket CACHE PATH "Directory of picket.yml (absolute)")
set(picket_datadir ${CMAKE_INSTALL_DATADIR}/picket)
set(picket_confdir ${PICKET_CONFDIR})

if(PICKET_PORTABLE)
    # arc4random for the static libstdc++ without glibc 2.36 (cmake/Portable.cmake).
    target_link_libraries(picketd PRIVATE picket_glibc_compat)
    target_link_libraries(picketctl PRIVATE picket_glibc_compat)
endif()
install(TARGETS picketd picketctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The example configuration, unless a picket.yml is there already: a second `cmake --install`
# must not overwrite the operator's edits (packages: conffile / %config(noreplace) below).
install(CODE "
    if(EXISTS \"\$ENV{DESTDIR}${picket_confdir}/picket.yml\")
        message(STATUS \"Keeping the existing \$ENV{DESTDIR}${picket_confdir}/picket.yml\")
    else()
        file(INSTALL DESTINATION \"${picket_confdir}\" TYPE FILE
             FILES \"${PROJECT_SOURCE_DIR}/deploy/examples/picket.yml\")
    endif()")
install(FILES deploy/systemd/picketd.service DESTINATION ${PICKET_SYSTEMD_UNITDIR})
install(FILES deploy/systemd/picket.sysusers DESTINATION ${PICKET_SYSUSERSDIR}
        RENAME picket.conf)
install(FILES deploy/firewalld/picket.xml DESTINATION ${PICKET_FIREWALLD_SERVICEDIR})
install(FILES dashboards/picket.json DESTINATION ${picket_datadir}/dashboards)
install(DIRECTORY deploy/grafana/provisioning DESTINATION ${picket_datadir}/grafana)
install(FILES deploy/prometheus/rules/picket.rules.yml DESTINATION ${picket_datadir}/prometheus)
install(FILES deploy/redis/acl.conf DESTINATION ${picket_datadir}/redis)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(FILES deploy/selinux/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME selinux.md)
install(DIRECTORY deploy/examples/six-vms DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES deploy/prometheus/prometheus.yml deploy/alertmanager/alertmanager.yml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# ---------------------------------------------------------------------------
# CPack: `cpack -G DEB` / `cpack -G RPM` in the build directory (tests/integration/
# package_test.sh). Release builds use PICKET_PORTABLE=ON (cmake/Portable.cmake) so the
# binaries run on RHEL 9 as well as Debian 12.
# ---------------------------------------------------------------------------
set(CPACK_PACKAGE_NAME picket)
set(CPACK_PACKAGE_VENDOR "picket")
set(CPACK_PACKAGE_CONTACT "picket maintainers <picket@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Sentinel-style high-availability watcher for Redis Cluster")
set(CPACK_PACKAGE_DESCRIPTION
    "picketd runs as a sidecar on every Redis Cluster VM; the sidecars watch every node, agree on failures through a vote and have one leader promote the right replica with CLUSTER FAILOVER. Prometheus metrics, Grafana dashboard, alert rules and Alertmanager-compatible webhooks.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB RPM)
# cpack runs the install of the build directory it is started in: binaries only, no tests.
set(CPACK_PACKAGE_FILE_NAME "picket-${PROJECT_VERSION}-${CMAKE_SYSTEM_PROCESSOR}")

# .deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(picket_deb_control ${CMAKE_CURRENT_BINARY_DIR}/packaging/deb)
file(MAKE_DIRECTORY ${picket_deb_control})
# /etc/picket/picket.yml is a conffile: an upgrade keeps the operator's edits.
file(WRITE ${picket_deb_control}/conffiles "${picket_confdir}/picket.yml\n")
foreach(script postinst prerm postrm)
    file(COPY_FILE ${CMAKE_CURRENT_SOURCE_DIR}/cmake/packaging/deb-${script}
         ${picket_deb_control}/${script} ONLY_IF_DIFFERENT)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${picket_deb_control}/conffiles ${picket_deb_control}/postinst
    ${picket_deb_control}/prerm ${picket_deb_control}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
if(PICKET_PORTABLE)
    # What the portable binaries need (tests/integration/portable_test.sh checks NEEDED).
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libgcc-s1, libssl3 (>= 3.0.0)")
else()
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "redis-tools")

# .rpm (rpmbuild's automatic Requires list the libraries and symbol versions needed)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_GROUP "Applications/Databases")
set(CPACK_RPM_PACKAGE_LICENSE "Unspecified")
set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_RPM_PACKAGE_REQUIRES_PRE "shadow-utils")
set(CPACK_RPM_USER_FILELIST "%config(noreplace) ${picket_confdir}/picket.yml")
# Directories owned by filesystem, systemd or firewalld packages are not ours.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /etc /usr/lib/systemd /usr/lib/systemd/system /usr/lib/sysusers.d /usr/lib/firewalld
    /usr/lib/firewalld/services /usr/share/doc)
set(CPACK_RPM_PRE_INSTALL_SCRIPT_FILE ${CMAKE_CURRENT_SOURCE_DIR}/cmake/packaging/rpm-pre)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${CMAKE_CURRENT_SOURCE_DIR}/cmake/packaging/rpm-post)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${CMAKE_CURRENT_SOURCE_DIR}/cmake/packaging/rpm-preun)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${CMAKE_CURRENT_SOURCE_DIR}/cmake/packaging/rpm-postun)
# Debug information is stripped (CPACK_STRIP_FILES), no -debuginfo package.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")

include(CPack)
