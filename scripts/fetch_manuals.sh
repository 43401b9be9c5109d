#!/usr/bin/env bash
# Real manuals for `make bench-extract`: the R manuals and the gnuplot manual, typeset by pdfTeX, 40-311
# pages each (936 in all), from Debian's doc packages r-doc-pdf and gnuplot-doc. `apt-get download` needs
# no root and installs nothing; only the PDFs are unpacked, into a folder (default: tools/manuals) with a
# SOURCES.txt naming each package version. Idempotent. Exits 1 without apt-get or the packages, so that
# the benchmark falls back to its generated corpus and says so.
set -euo pipefail

DEST="${1:-tools/manuals}"
PACKAGES=(r-doc-pdf gnuplot-doc)
# Every manual of the packages but the 3,000-page function reference (refman/fullrefman): that one alone
# would take the single-threaded pypdf baseline a minute per run.
MANUALS=(R-intro R-exts R-admin R-lang R-data R-ints gnuplot)

if [[ -f "${DEST}/SOURCES.txt" ]] && [[ $(find "${DEST}" -name '*.pdf' | wc -l) -eq ${#MANUALS[@]} ]]; then
    echo "fetch_manuals.sh: ${#MANUALS[@]} manuals already in ${DEST}/"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 || {
    echo "fetch_manuals.sh: no apt-get/dpkg-deb here (not Debian?); no real manuals" >&2
    exit 1
}

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
(cd "${work}" && apt-get download -q "${PACKAGES[@]}" >/dev/null 2>&1) || {
    echo "fetch_manuals.sh: apt-get download ${PACKAGES[*]} failed (no package lists? run apt-get update)" >&2
    exit 1
}
mkdir -p "${DEST}"
: >"${work}/SOURCES.txt"
for deb in "${work}"/*.deb; do
    dpkg-deb -x "${deb}" "${work}/unpacked"
    dpkg-deb --show --showformat='${Package} ${Version}\n' "${deb}" >>"${work}/SOURCES.txt"
done
for name in "${MANUALS[@]}"; do
    found="$(find "${work}/unpacked" -type f -name "${name}.pdf" | head -n 1)"
    [[ -n "${found}" ]] || { echo "fetch_manuals.sh: ${name}.pdf not in ${PACKAGES[*]}" >&2; exit 1; }
    cp "${found}" "${DEST}/${name}.pdf"
done
mv "${work}/SOURCES.txt" "${DEST}/SOURCES.txt"
echo "fetch_manuals.sh: ${#MANUALS[@]} manuals from $(paste -sd, "${DEST}/SOURCES.txt" | sed "s/,/, /g") in ${DEST}/"
