#!/usr/bin/env bash
# The README's HTTP API walk-through (README.md, HTTP API, "Try it"), run top to bottom against a
# running local server: `npm start` in one terminal, `bash examples/walkthrough.sh` in another
# (API=<url> for a server elsewhere). Every request must answer the status written before it, or
# the script stops there and prints the answer. It makes the tenants globex, initech and lincoln and
# the template "Small School" (examples/template.json), so it needs a database that has none of
# them, such as a fresh one: `TENANTRY_DATA_DIR=$(mktemp -d) npm start`.
# .ci/run runs it against `npm start`; test/unit/walkthrough.test.ts holds the README's curl lines
# to this file, so the two cannot drift apart. Needs bash, curl and node (any version).
set -euo pipefail
cd "$(dirname "$0")/.."
API=${API:-http://127.0.0.1:3000}
answer=$(mktemp)
trap 'rm -f "$answer"' EXIT

# expect <status> curl ...: sends the request, stops unless it answers <status>, keeps the body in $BODY.
expect() {
  local want=$1 got method=GET url='' arg prev=''
  shift
  for arg in "$@"; do
    [[ $prev == -X ]] && method=$arg
    [[ $arg == "$API"* ]] && url=${arg#"$API"}
    prev=$arg
  done
  if ! got=$("$@" -o "$answer" -w '%{http_code}'); then
    echo "walkthrough: no answer from $API to $method $url (is the server running? npm start)" >&2
    exit 1
  fi
  BODY=$(cat "$answer")
  if [[ $got != "$want" ]]; then
    printf 'walkthrough: %s %s answered %s, not %s:\n%s\n' "$method" "$url" "$got" "$want" "$BODY" >&2
    exit 1
  fi
  printf '%s %-6s %s\n' "$got" "$method" "$url"
}

# json <expression over b, the last body>: prints its value (a string as it is, anything else as JSON).
json() {
  node -e '
    const b = process.argv[1] ? JSON.parse(process.argv[1]) : null;
    const v = new Function("b", `return (${process.argv[2]});`)(b);
    process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
  ' "$BODY" "$1"
}

# check <condition over b> <what it means>: stops unless the last body meets the condition.
check() {
  if [[ $(json "$1") != true ]]; then
    printf 'walkthrough: expected %s (%s), got:\n%s\n' "$2" "$1" "$BODY" >&2
    exit 1
  fi
}

# finished <execution> <status>: waits (up to 3 minutes) for the execution to end, with that status.
finished() {
  local status=RUNNING
  for _ in $(seq 360); do
    BODY=$(curl -sf "$API/executions/$1") || { echo "walkthrough: GET /executions/$1 failed" >&2; exit 1; }
    status=$(json b.status)
    [[ $status != RUNNING ]] && break
    sleep 0.5
  done
  if [[ $status != "$2" ]]; then
    printf 'walkthrough: execution %s ended %s, not %s:\n%s\n' "$1" "$status" "$2" "$BODY" >&2
    exit 1
  fi
  echo "    $1 $status"
}

if ! curl -sf -o /dev/null "$API/openapi.json"; then
  echo "walkthrough: no Tenantry API at $API: start one with npm start (or set API=<url>)" >&2
  exit 1
fi
for id in globex initech lincoln; do
  if [[ $(curl -s -o /dev/null -w '%{http_code}' "$API/tenants/$id") != 404 ]]; then
    echo "walkthrough: tenant $id exists already: run it against a fresh database (TENANTRY_DATA_DIR=\$(mktemp -d) npm start)" >&2
    exit 1
  fi
done

# Provision a tenant from a blueprint. The answer names the execution; sent again, the same one.
expect 202 curl -s -X POST $API/tenants -H 'content-type: application/json' \
  -d '{"tenantId":"globex","displayName":"Globex Corp","blueprint":"docex","requestedBy":"you"}'
EXEC=$(json b.executionName)
check 'b.started === true && b.statusUrl === `/executions/${b.executionName}`' 'a new execution'
expect 202 curl -s -X POST $API/tenants -H 'content-type: application/json' \
  -d '{"tenantId":"globex","displayName":"Globex Corp","blueprint":"docex","requestedBy":"you"}'
check "b.started === false && b.executionName === '$EXEC'" 'the same execution again'
finished "$EXEC" SUCCEEDED

# The run's steps and raw history, the tenant, its labels and domain, a drift check and its audit trail.
expect 200 curl -s $API/executions/$EXEC
check 'b.steps.every((s) => s.status === "succeeded" || s.status === "skipped")' 'every step succeeded or skipped'
expect 200 curl -s "$API/executions/$EXEC/history?limit=50"
check 'b.items.length > 0' 'history events'
expect 200 curl -s "$API/tenants?status=active&limit=20"
check 'JSON.stringify(b).includes("\"globex\"")' 'globex among the active tenants'
expect 200 curl -s $API/tenants/globex
check 'b.status === "active" && b.blueprint === "docex"' 'globex active on docex'
expect 200 curl -s $API/tenants/globex/executions
expect 200 curl -s -X PUT $API/tenants/globex/labels -H 'content-type: application/json' -d '{"labels":{"tier":"gold"}}'
check 'b.labels.tier === "gold"' 'the label tier=gold'
expect 200 curl -s -X PUT $API/tenants/globex/domains -H 'content-type: application/json' -d '{"domains":["globex.example.com"]}'
check 'b.domains.join() === "globex.example.com"' 'the domain globex.example.com'
expect 200 curl -s "$API/resolve?host=Globex.Example.com"
check 'b.tenantId === "globex" && b.schema === "tenant_globex" && b.status === "active"' 'the host resolves to globex'
expect 200 curl -s $API/tenants/globex/drift
check 'b.drifted === false' 'no drift'
expect 200 curl -s "$API/tenants/globex/audit?limit=20"

# Cancel a run while it runs (its schema is dropped, the tenant ends cancelled), then redrive it.
# school-erp takes a second or more to provision, so the cancel lands while it runs.
expect 202 curl -s -X POST $API/tenants -H 'content-type: application/json' \
  -d '{"tenantId":"initech","displayName":"Initech","blueprint":"school-erp"}'
RUN=$(json b.executionName)
expect 200 curl -s -X POST $API/executions/$RUN/cancel
check 'b.status === "ABORTED" && b.tenantStatus === "cancelled"' 'the run aborted and initech cancelled'
expect 202 curl -s -X POST $API/executions/$RUN/redrive
REDRIVE=$(json b.executionName)
check "b.redriveOf.endsWith(':$RUN')" 'a redrive of the cancelled run'
finished "$REDRIVE" SUCCEEDED

# Schedule a deprovisioning in 72 hours, then cancel it: the tenant is active again.
expect 202 curl -s -X POST $API/tenants/initech/deprovision -H 'content-type: application/json' -d '{"gracePeriodHours":72}'
check 'b.scheduled === true && typeof b.dueAt === "string"' 'a scheduled deprovisioning'
expect 200 curl -s $API/tenants/initech
check 'b.status === "scheduled_for_deletion" && b.deletionDueAt !== null' 'initech scheduled for deletion'
expect 200 curl -s -X DELETE $API/tenants/initech/deprovision
check 'b.status === "active"' 'initech active again'

# Deprovision now (backup, verify it, drop the schema), then restore from that backup.
expect 202 curl -s -X POST $API/tenants/globex/deprovision -H 'content-type: application/json' -d '{"reason":"contract ended"}'
finished "$(json b.executionName)" SUCCEEDED
expect 200 curl -s $API/tenants/globex
check 'b.status === "deprovisioned" && b.backupLocation !== null' 'globex deprovisioned, with a backup'
expect 410 curl -s "$API/resolve?host=globex.example.com"
expect 202 curl -s -X POST $API/tenants/globex/restore
finished "$(json b.executionName)" SUCCEEDED
expect 200 curl -s $API/tenants/globex
check 'b.status === "active" && b.labels.tier === "gold" && b.domains.join() === "globex.example.com"' 'globex active again, labels and domain kept'

# Templates: create one from examples/template.json, provision from it, update it (version 2: the
# tenant keeps version 1), then archive and delete it (refused before the archive: a tenant uses it).
expect 200 curl -s $API/templates
expect 201 curl -s -X POST $API/templates -H 'content-type: application/json' -d @examples/template.json
check 'b.templateId === "small-school" && b.currentVersion === 1' 'small-school at version 1'
expect 200 curl -s $API/templates/small-school
expect 202 curl -s -X POST $API/templates/small-school/provision -H 'content-type: application/json' \
  -d '{"tenantId":"lincoln","displayName":"Lincoln High","adminUser":{"email":"ada@lincoln.example","password":"a-long-passphrase"}}'
finished "$(json b.executionName)" SUCCEEDED
expect 200 curl -s -X PUT $API/templates/small-school -H 'content-type: application/json' -d @examples/template.json
check 'b.currentVersion === 2' 'version 2'
expect 200 curl -s $API/templates/small-school/versions
check 'b.items.map((v) => v.version).join() === "1,2"' 'versions 1 and 2'
expect 200 curl -s $API/tenants/lincoln
check 'b.status === "active" && b.templateId === "small-school" && b.templateVersion === 1' 'lincoln on version 1'
expect 409 curl -s -X DELETE $API/templates/small-school
expect 200 curl -s -X POST $API/templates/small-school/archive
check 'b.status === "archived"' 'archived'
expect 204 curl -s -X DELETE $API/templates/small-school

# What happened: the fleet's numbers, the audit trail, and the API's own description.
expect 200 curl -s $API/stats
check 'b.tenants.byStatus.active === 3' 'three active tenants'
expect 200 curl -s "$API/audit?limit=20"
expect 200 curl -s $API/openapi.json
echo "walkthrough: every request answered as expected"
