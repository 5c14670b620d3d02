#!/usr/bin/env bash
# Draws the benchmark charts (issue 11) with gnuplot into OUT_DIR (default docs/bench):
#   server-rps.png, server-p99.png: GET /me req/s and p99 against wrk connections, jwtd and the peers
#     (BUILD_DIR/bench-server/conns.dat, written by scripts/bench-server.sh);
#   library.png: ns/op of jwtd beside the OpenSSL floor, libjwt and cjose (BUILD_DIR/bench-jose.txt,
#     the table scripts/bench.sh prints and keeps).
# Usage: scripts/bench-charts.sh BUILD_DIR [OUT_DIR]. A missing input skips its chart (said on stderr).
set -euo pipefail

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: scripts/bench-charts.sh BUILD_DIR [OUT_DIR]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1
out=${2:-$root/docs/bench}
command -v gnuplot >/dev/null || { echo "bench-charts: gnuplot not found (apt gnuplot-nox)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jwtd-charts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
stamp="$(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
term="set terminal pngcairo size 900,540 font 'sans,10'"

conns=$build/bench-server/conns.dat
if [[ -s $conns ]]; then
    # one block per server (gnuplot: two blank lines between), in the order of the file
    awk '!/^#/ { if ($1 != last) { if (NR > 1 && last != "") printf "\n\n"; print "# " $1; last = $1 } print $2, $3, $4 }' \
        "$conns" >"$tmp/conns.dat"
    mapfile -t names < <(awk '!/^#/ { if (!seen[$1]++) print $1 }' "$conns")
    plot_rps="" plot_p99=""
    for i in "${!names[@]}"; do
        plot_rps+="${plot_rps:+, }'$tmp/conns.dat' index $i using 1:2 with linespoints lw 2 title '${names[$i]}'"
        plot_p99+="${plot_p99:+, }'$tmp/conns.dat' index $i using 1:3 with linespoints lw 2 title '${names[$i]}'"
    done
    gnuplot <<GP
$term
set grid
set key outside right
set logscale x 2
set xlabel 'wrk connections (one wrk thread; server on one core, one event loop)'
set output '$out/server-rps.png'
set title "GET /me requests per second against connections\n{/*0.8 $stamp}"
set ylabel 'req/s (median)'
set yrange [0:*]
plot $plot_rps
set output '$out/server-p99.png'
set title "GET /me p99 latency against connections\n{/*0.8 $stamp}"
set ylabel 'p99 (us, median; log scale)'
set logscale y 10
set yrange [*:*]
plot $plot_p99
GP
    echo "bench-charts: $out/server-rps.png, $out/server-p99.png"
else
    echo "bench-charts: no $conns (run scripts/bench-server.sh first): server charts skipped" >&2
fi

jose=$build/bench-jose.txt
if [[ -s $jose ]]; then
    # rows "ALG-OP jwtd floor libjwt cjose" (ns/op medians); n/a and failed become "?" (missing)
    awk '$2 == "sign" || $2 == "verify" {
            n = 0; printf "%s-%s", $1, $2
            for (i = 3; i <= NF && n < 4; i++) {
                if ($i ~ /^\(/) continue
                printf " %s", ($i ~ /^[0-9.]+$/ ? $i : "?"); n++
            }
            print ""
        }' "$jose" >"$tmp/jose.dat"
    gnuplot <<GP
$term
set output '$out/library.png'
set title "libjwtd ns/op beside the OpenSSL floor, libjwt and cjose (medians, one core)\n{/*0.8 $stamp}"
set datafile missing '?'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 10
set ylabel 'ns per operation (log scale; lower is faster)'
set grid ytics
set key outside right
set xtics font ',8'
set xtics rotate by -45
plot '$tmp/jose.dat' using 2:xtic(1) title 'jwtd', '' using 3 title 'floor (OpenSSL)', \
     '' using 4 title 'libjwt', '' using 5 title 'cjose'
GP
    echo "bench-charts: $out/library.png"
else
    echo "bench-charts: no $jose (run scripts/bench.sh first): library chart skipped" >&2
fi
