#!/usr/bin/env bash
# Real manuals from Debian's doc packages. `apt-get download` needs no root and installs nothing; only the
# PDFs are unpacked (gzipped ones are unzipped), into a folder with a SOURCES.txt naming each package
# version. Idempotent. Exits 1 without apt-get or the packages, so that a benchmark can say so.
#   fetch_manuals.sh [DEST] [extract|quality]
# extract (default, DEST tools/manuals): for `make bench-extract`, the R manuals and the gnuplot manual,
#   typeset by pdfTeX, 40-311 pages each (936 in all), from r-doc-pdf and gnuplot-doc; every manual of the
#   packages but the 3,000-page function reference, which alone would take the single-threaded pypdf
#   baseline a minute per run.
# quality (for `make bench-quality`): the R FAQ (52 pages, pdfTeX, opens with 5 pages of contents), the
#   Debian FAQ (73 pages, a DocBook toolchain that places words without spaces: pypdf glues them) and
#   "R Data Import/Export" (41 pages), 166 pages from r-doc-pdf and debian-faq.
set -euo pipefail

DEST="${1:-tools/manuals}"
SET="${2:-extract}"
case "${SET}" in
    extract) PACKAGES=(r-doc-pdf gnuplot-doc); MANUALS=(R-intro R-exts R-admin R-lang R-data R-ints gnuplot) ;;
    quality) PACKAGES=(r-doc-pdf debian-faq); MANUALS=(R-FAQ R-data debian-faq.en) ;;
    *) echo "fetch_manuals.sh: unknown set ${SET} (extract or quality)" >&2; exit 2 ;;
esac

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
    found="$(find "${work}/unpacked" -type f \( -name "${name}.pdf" -o -name "${name}.pdf.gz" \) | head -n 1)"
    [[ -n "${found}" ]] || { echo "fetch_manuals.sh: ${name}.pdf not in ${PACKAGES[*]}" >&2; exit 1; }
    if [[ "${found}" == *.gz ]]; then
        gzip -dc "${found}" >"${DEST}/${name}.pdf"
    else
        cp "${found}" "${DEST}/${name}.pdf"
    fi
done
mv "${work}/SOURCES.txt" "${DEST}/SOURCES.txt"
echo "fetch_manuals.sh: ${#MANUALS[@]} manuals from $(paste -sd, "${DEST}/SOURCES.txt" | sed "s/,/, /g") in ${DEST}/"
