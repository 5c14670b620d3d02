# `make install` / `cmake --install`: libjwtd and libjwtd-rs (static and shared), their public
# headers and pkg-config files, the jwtd command and its man pages, the demo page
# (share/jwtd/web, which an installed `jwtd serve` finds from its own location), the systemd
# unit, its environment file example and the bash completion. Included at the end of the
# top-level CMakeLists.txt, after the targets exist. Staged installs use DESTDIR as usual.
# Everything prefix-dependent is made at install time, from the prefix of that install
# (`cmake --install BUILD --prefix P`, which `make install PREFIX=P` runs), never frozen at
# configure time.
include(GNUInstallDirs)

install(TARGETS jwtd_static jwtd_shared jwtd_rs_static jwtd_rs_shared
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS jwtd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/jwtd/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/jwtd
        FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/jwtd/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/jwtd)
install(FILES ${PROJECT_SOURCE_DIR}/docs/jwtd.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
if(JWTD_MAN)
  install(DIRECTORY ${JWTD_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
          FILES_MATCHING PATTERN "jwtd-*.1")
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/jwtd/web)
install(FILES ${PROJECT_SOURCE_DIR}/contrib/jwtd.env DESTINATION ${CMAKE_INSTALL_DATADIR}/jwtd)
install(FILES ${PROJECT_SOURCE_DIR}/contrib/jwtd.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME jwtd)

# Made at install time with that install's prefix: the pkg-config files and the unit, whose
# ExecStart names the installed binary. (The paths are relative GNUInstallDirs; an absolute
# one is used as it is.)
install(CODE "
  set(JWTD_SRC \"${PROJECT_SOURCE_DIR}\")
  set(JWTD_OUT \"${PROJECT_BINARY_DIR}/install-time\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(JWTD_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(JWTD_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(JWTD_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  include(\"${CMAKE_CURRENT_LIST_DIR}/install-time.cmake\")
")
install(FILES ${PROJECT_BINARY_DIR}/install-time/libjwtd.pc
              ${PROJECT_BINARY_DIR}/install-time/libjwtd-rs.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
# systemd's search path for units of a prefix: PREFIX/lib/systemd/system (also /usr/local).
install(FILES ${PROJECT_BINARY_DIR}/install-time/jwtd.service DESTINATION lib/systemd/system)
