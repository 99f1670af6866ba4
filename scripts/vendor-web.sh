#!/usr/bin/env bash
# Reproduce web_map/vendor/ from the npm registry.
#
#   scripts/vendor-web.sh
#
# Installs exactly the versions pinned in web_map/package-lock.json (npm ci, no install
# scripts run) into web_map/node_modules/ (git-ignored), then copies the files the page
# loads, with each package's LICENSE, into web_map/vendor/.  The Geoman bundle inlines
# its own dependencies (turf, lodash, polyclip-ts, ...); their licences are gathered into
# vendor/leaflet-geoman-free/THIRD-PARTY-LICENSES.txt.  Needs node >= 18 and npm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$here/web_map"
vendor="$web/vendor"
cd "$web"

npm ci --ignore-scripts --no-audit --no-fund

rm -rf "$vendor/leaflet" "$vendor/leaflet-geoman-free"
mkdir -p "$vendor/leaflet/images" "$vendor/leaflet-geoman-free"

nm="$web/node_modules"
cp "$nm/leaflet/dist/leaflet.js" "$nm/leaflet/dist/leaflet.css" "$nm/leaflet/LICENSE" "$vendor/leaflet/"
cp "$nm/leaflet/dist/images/"*.png "$vendor/leaflet/images/"
cp "$nm/leaflet/package.json" "$vendor/leaflet/package.json"

g="$nm/@geoman-io/leaflet-geoman-free"
cp "$g/dist/leaflet-geoman.min.js" "$g/dist/leaflet-geoman.css" "$g/LICENSE" "$g/package.json" \
   "$vendor/leaflet-geoman-free/"
# Files are copied byte for byte (sha256 sums are listed in vendor/SHA256SUMS).  Their
# sourceMappingURL comments name maps we do not ship; browsers fetch those only with
# developer tools open.

# Licences of the packages bundled inside leaflet-geoman.min.js.
out="$vendor/leaflet-geoman-free/THIRD-PARTY-LICENSES.txt"
{
  echo "Packages bundled inside leaflet-geoman.min.js, with their licences (from npm)."
  echo
  node -e '
    const fs = require("fs"), path = require("path");
    const lock = require(process.argv[1]);
    for (const [key, meta] of Object.entries(lock.packages)) {
      if (!key || key.includes("leaflet")) continue;           // root, leaflet itself
      const dir = path.join(process.argv[2], key);
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
      if (pkg.name.startsWith("@types/")) continue;             // type declarations only
      console.log("=".repeat(72));
      console.log(`${pkg.name} ${pkg.version}  (${pkg.license})`);
      console.log("=".repeat(72));
      const lic = fs.readdirSync(dir).find(f => /^(licen[cs]e|copying)/i.test(f));
      console.log(lic ? fs.readFileSync(path.join(dir, lic), "utf8").trim()
                      : `No licence file shipped; package.json declares ${pkg.license}.`);
      console.log();
    }' "$web/package-lock.json" "$web"
} > "$out"

(cd "$vendor" && find leaflet leaflet-geoman-free -type f | sort | xargs sha256sum) > "$vendor/SHA256SUMS"
echo "vendored into $vendor:"
(cd "$vendor" && find . -type f | sort)
