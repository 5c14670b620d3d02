#!/usr/bin/env bash
# Stages `cmake --install BUILD` under DESTDIR=STAGE, checks every installed part is there,
# then compiles consumer.c with `pkg-config --cflags --libs libjwtd` against the staged copy
# (shared, then static) and runs it; the same for libjwtd-rs with consumer_rs.c.
# PKG_CONFIG_SYSROOT_DIR maps the .pc paths into STAGE.
set -euo pipefail
if (($# != 9)); then
    echo "usage: check_install.sh BUILD STAGE CONSUMER_C CC BINDIR LIBDIR INCLUDEDIR MANDIR SOVERSION" >&2
    exit 2
fi
build=$1 stage=$2 consumer=$3 cc=$4 bindir=$5 libdir=$6 includedir=$7 mandir=$8 soversion=$9
read -r -a extra_cflags <<<"${CONSUMER_CFLAGS:-}"

rm -rf "$stage"
mkdir -p "$stage"
DESTDIR=$stage cmake --install "$build" >"$stage.log"

fail=0
for f in "$bindir/jwtd" "$includedir/jwtd/jwtd.h" "$includedir/jwtd/version.h" "$libdir/libjwtd.a" "$libdir/libjwtd.so" \
    "$libdir/libjwtd.so.$soversion" "$libdir/pkgconfig/libjwtd.pc" "$mandir/man1/jwtd.1" \
    "$includedir/jwtd/jwtd_rs.h" "$libdir/libjwtd-rs.a" "$libdir/libjwtd-rs.so" "$libdir/pkgconfig/libjwtd-rs.pc"; do
    if [[ -e $stage$f ]]; then
        echo "installed: $f"
    else
        echo "NOT installed: $f"
        fail=1
    fi
done
((fail == 0)) || exit 1
soname=$(objdump -p "$stage$libdir/libjwtd.so" | awk '$1 == "SONAME" {print $2}')
if [[ $soname != "libjwtd.so.$soversion" ]]; then
    echo "SONAME is '$soname', not libjwtd.so.$soversion" >&2
    exit 1
fi

"$stage$bindir/jwtd" --help >/dev/null

export PKG_CONFIG_PATH=$stage$libdir/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$stage
# Keep -I/-L even when the prefix is /usr: the staged copy is not in the compiler's defaults.
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
read -r -a cflags <<<"$(pkg-config --cflags libjwtd)"
read -r -a libs <<<"$(pkg-config --libs libjwtd)"
read -r -a static_libs <<<"$(pkg-config --static --libs libjwtd)"
version=$(pkg-config --modversion libjwtd)
echo "pkg-config libjwtd $version: ${cflags[*]} ${libs[*]}"

"$cc" -std=c11 -Wall -Wextra -Werror "${extra_cflags[@]}" "${cflags[@]}" -o "$stage/consumer_shared" \
    "$consumer" "${libs[@]}"
# -l:libjwtd.a picks the archive over the shared library that sits beside it.
"$cc" -std=c11 -Wall -Wextra -Werror "${extra_cflags[@]}" "${cflags[@]}" -o "$stage/consumer_static" \
    "$consumer" "${static_libs[@]/#-ljwtd/-l:libjwtd.a}"

LD_LIBRARY_PATH=$stage$libdir "$stage/consumer_shared" "$version"
"$stage/consumer_static" "$version"
if ldd "$stage/consumer_static" | grep -q libjwtd; then
    echo "consumer_static links libjwtd dynamically" >&2
    exit 1
fi

# libjwtd-rs (consumer_rs.c beside consumer.c): its .pc pulls in libjwtd's. Static: both
# archives, with the shared libcurl and jansson of the system (`--static libcurl` would want
# every archive libcurl itself was built with, which Debian's -dev packages do not all ship).
consumer_rs=$(dirname "$consumer")/consumer_rs.c
read -r -a rs_cflags <<<"$(pkg-config --cflags libjwtd-rs)"
read -r -a rs_libs <<<"$(pkg-config --libs libjwtd-rs)"
read -r -a rs_static_libs <<<"-l:libjwtd-rs.a ${static_libs[*]/#-ljwtd/-l:libjwtd.a} $(pkg-config --libs libcurl jansson) -lpthread"
echo "pkg-config libjwtd-rs: ${rs_cflags[*]} ${rs_libs[*]}"
"$cc" -std=c11 -Wall -Wextra -Werror "${extra_cflags[@]}" "${rs_cflags[@]}" -o "$stage/consumer_rs_shared" \
    "$consumer_rs" "${rs_libs[@]}"
"$cc" -std=c11 -Wall -Wextra -Werror "${extra_cflags[@]}" "${rs_cflags[@]}" -o "$stage/consumer_rs_static" \
    "$consumer_rs" "${rs_static_libs[@]}"
LD_LIBRARY_PATH=$stage$libdir "$stage/consumer_rs_shared"
"$stage/consumer_rs_static"
if ldd "$stage/consumer_rs_static" | grep -q libjwtd; then
    echo "consumer_rs_static links libjwtd or libjwtd-rs dynamically" >&2
    exit 1
fi
echo "install.pkgconfig: ok"
