# Run by `cmake --install` (cmake/install.cmake's install(CODE)): makes the files that name
# installed paths from the prefix of this install, not the one of the first configure, so
# `cmake --install BUILD --prefix P` (make install PREFIX=P) is right every time: the two
# pkg-config files and the systemd unit (ExecStart = the installed jwtd). Input variables:
# JWTD_SRC, JWTD_OUT, PROJECT_VERSION and the GNUInstallDirs JWTD_LIBDIR, JWTD_INCLUDEDIR,
# JWTD_BINDIR (relative to the prefix, or absolute).
foreach(dir LIBDIR INCLUDEDIR BINDIR)
  if(IS_ABSOLUTE "${JWTD_${dir}}")
    set(CMAKE_INSTALL_FULL_${dir} "${JWTD_${dir}}")
  else()
    set(CMAKE_INSTALL_FULL_${dir} "${CMAKE_INSTALL_PREFIX}/${JWTD_${dir}}")
  endif()
endforeach()
configure_file("${JWTD_SRC}/cmake/libjwtd.pc.in" "${JWTD_OUT}/libjwtd.pc" @ONLY)
configure_file("${JWTD_SRC}/cmake/libjwtd-rs.pc.in" "${JWTD_OUT}/libjwtd-rs.pc" @ONLY)
file(READ "${JWTD_SRC}/contrib/jwtd.service" unit)
string(REPLACE "/usr/local/bin/jwtd" "${CMAKE_INSTALL_FULL_BINDIR}/jwtd" unit "${unit}")
file(WRITE "${JWTD_OUT}/jwtd.service" "${unit}")
