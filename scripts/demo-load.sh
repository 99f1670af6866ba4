#!/usr/bin/env bash
# Load the demo: generate the sample county, import it through the real import path,
# partition it and publish the plan, and create one demo user per role.
# Idempotent: a second run finds the stamp and does nothing (delete DIR to start over).
set -euo pipefail
DIR=${1:-var/demo}
BIN=${BIN:-.venv/bin}
G="$BIN/geogrid"
STAMP="$DIR/.loaded"
demo_users() {
  # every run (re)sets and prints the demo credentials, so they are on screen right
  # before `make demo` starts serving, even when the data was loaded before
  if "$G" users --help >/dev/null 2>&1; then
    "$G" users demo
  fi
}
if [ -f "$STAMP" ]; then
  echo "geogrid: demo data already loaded in $DIR (delete it to reload)"
  "$G" db upgrade  # a demo loaded by an older geogrid: its schema brought up to date
  demo_users
  exit 0
fi
mkdir -p "$DIR"
"$G" db upgrade
[ -f "$DIR/sample/households.csv" ] || "$G" sample --out "$DIR/sample" --seed 0
"$G" import boundaries "$DIR/sample/county.geojson" --level county
"$G" import boundaries "$DIR/sample/towns.geojson" --level town
"$G" import boundaries "$DIR/sample/villages.geojson" --level village
"$G" import households "$DIR/sample/households.csv" --crs gcj02
"$G" import persons "$DIR/sample/persons.csv"
if "$G" partition --help >/dev/null 2>&1; then
  "$G" partition --name "demo" --publish
fi
touch "$STAMP"
demo_users
