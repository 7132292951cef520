#!/bin/sh
# The build stage of the image, runnable without Docker (infra/deploy/src/image.integration.test.ts runs it):
#   sh infra/deploy/build-app.sh <app> <out dir>      (from the repository root, after pnpm install)
# leaves in <out dir> the app's compiled dist/ and its production dependencies only, ready for `node dist/main.js`.
set -eu
app="${1:?usage: build-app.sh <app, e.g. rules-engine> <out dir>}"
out="${2:?usage: build-app.sh <app> <out dir>}"
# tsc for the app and every workspace package it needs (turbo: cached, dependencies first).
pnpm exec turbo run build --filter="@vigil/${app}" --output-logs=errors-only
pnpm --filter "@vigil/${app}" deploy --prod "$out"
# pnpm deploy keeps the workspace packages' development exports (src/*.ts): switch them to dist/*.js.
node infra/deploy/src/publish-manifests.ts "$out"
