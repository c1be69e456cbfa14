# Debian packages (CPack DEB), one per install component:
#
#   cotenant-server  (server)  /usr/bin/cotenantd, the systemd unit cotenantd.service and
#                              the configuration file /etc/cotenant/cotenantd.toml (a conffile)
#   cotenant-tools   (tools)   /usr/bin/cotenant, /usr/bin/cotenant-import and the bash
#                              completion of cotenant
#   libcotenant-dev  (dev)     the C++ SDK: libcotenant_sdk.so, its headers and the CMake
#                              package (find_package(Cotenant))
#
# Build a tree (cmake --build), then in it: `cpack -G DEB` (or the `package` target).
# Included from the top-level CMakeLists.txt after every install rule.
#
# The unit and the configuration file have absolute destinations (/lib/systemd/system,
# /etc/cotenant) and are only installed with their component (EXCLUDE_FROM_ALL), as the
# package installs them: a plain `cmake --install build --prefix DIR` writes under DIR only.

set(COTENANT_PACKAGE_MAINTAINER "Cotenant maintainers <cotenant@localhost>"
  CACHE STRING "Maintainer field of the Debian packages")

# Where the packages put things: CPack DEB installs under /usr.
set(COTENANT_PACKAGE_PREFIX /usr)
set(COTENANT_PACKAGE_BINDIR ${COTENANT_PACKAGE_PREFIX}/${CMAKE_INSTALL_BINDIR})
set(COTENANT_PACKAGE_DOCDIR ${COTENANT_PACKAGE_PREFIX}/share/doc/cotenant-server)

# ---- files of the server package beyond the binary ------------------------------------------
configure_file(${PROJECT_SOURCE_DIR}/packaging/cotenantd.service.in
  ${PROJECT_BINARY_DIR}/packaging/cotenantd.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/packaging/cotenantd.service
  DESTINATION /lib/systemd/system COMPONENT server EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/cotenantd.toml
  DESTINATION /etc/cotenant COMPONENT server EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/docs/OPERATIONS.md ${PROJECT_SOURCE_DIR}/docs/HTTP.md
  ${PROJECT_SOURCE_DIR}/docs/openapi.json
  DESTINATION share/doc/cotenant-server COMPONENT server)

# ---- CPack ------------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cotenant)
set(CPACK_PACKAGE_VENDOR "Cotenant")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${COTENANT_PACKAGE_PREFIX})
set(CPACK_PACKAGE_CONTACT "${COTENANT_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${COTENANT_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # NAME_VERSION_ARCH.deb

# Each component's description: its first line is the package's summary.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server tools dev)
# dpkg-shlibdeps finds the libraries each binary links and turns them into Depends.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The tools link the SDK library of the dev package, which is not installed yet when the
# packages are built: dpkg-shlibdeps finds it here, and the Depends on libcotenant-dev
# comes from the component dependency below.
get_target_property(COTENANT_SDK_BINARY_DIR cotenant_sdk BINARY_DIR)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${COTENANT_SDK_BINARY_DIR})
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_COMPONENT_SERVER_DISPLAY_NAME "cotenantd server")
set(CPACK_DEBIAN_SERVER_PACKAGE_NAME cotenant-server)
set(CPACK_DEBIAN_SERVER_PACKAGE_SUGGESTS cotenant-tools)
set(CPACK_COMPONENT_SERVER_DESCRIPTION
  "Cotenant tenant-scoped record store: the server\n\
cotenantd keeps every tenant's records apart in one store and serves them over\n\
Cap'n Proto RPC, with data-sharing policies between tenants. This package has the\n\
server, its systemd unit (cotenantd.service, not enabled on install) and its\n\
configuration file /etc/cotenant/cotenantd.toml. Data lives in /var/lib/cotenant.")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_COMPONENT_TOOLS_DISPLAY_NAME "cotenant command-line tools")
set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME cotenant-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SUGGESTS bash-completion)
set(CPACK_COMPONENT_TOOLS_DEPENDS dev)  # libcotenant_sdk.so
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
  "Cotenant tenant-scoped record store: command-line tools\n\
cotenant administers a Cotenant server (tenants, users, keys, objects, roles,\n\
policies, backups) and works with records; cotenant-import loads CSV and JSON\n\
Lines files. Includes the bash completion of cotenant.")

set(CPACK_COMPONENT_DEV_DISPLAY_NAME "Cotenant C++ SDK")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libcotenant-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "Cotenant tenant-scoped record store: C++ SDK\n\
The client library libcotenant_sdk, its headers (cotenant/client.h,\n\
cotenant/admin.h, cotenant/types.h) and a CMake package:\n\
find_package(Cotenant) and link Cotenant::sdk.")

include(CPack)
