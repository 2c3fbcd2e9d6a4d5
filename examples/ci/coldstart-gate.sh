#!/usr/bin/env bash
# One CI job of a cold-start gate against the history (see docs/how-to/ci-gate.md):
#   1. run the scenario cold;
#   2. judge the run against the last runs of the baseline branch in the history;
#   3. keep the run, with its verdict, for the jobs after it.
# The workflow restores $COLDSTART_HISTORY before this script and saves it after it (a
# cache or an artifact), so the history outlives the job's fresh checkout. The first job
# of all finds no history: its gate passes, says so, and starts the history.
#
# usage: coldstart-gate.sh SCENARIO [coldstart run options, e.g. --var NAME=VALUE]
# exit: the gate's (0 pass, 1 regression, 2 bad input, 3 an output not written,
#       4 inconclusive) or, where no run was made, the run's.
set -uo pipefail
scenario=${1:?usage: coldstart-gate.sh SCENARIO [coldstart run options]}
shift
export COLDSTART_HISTORY=${COLDSTART_HISTORY:-coldstart-history.sqlite}
baseline_branch=${COLDSTART_BASELINE_BRANCH:-main}
results=${COLDSTART_RESULTS:-results}
run_id=ci-${GITHUB_RUN_ID:-${CI_PIPELINE_ID:-$(date -u +%Y%m%dT%H%M%S)}}-${GITHUB_RUN_ATTEMPT:-${CI_JOB_ID:-1}}
summary=${GITHUB_STEP_SUMMARY:-coldstart-gate.md}

coldstart run "$scenario" --results-dir "$results" --run-id "$run_id" "$@"
ran=$?
if [ ! -f "$results/$run_id/run.json" ]; then
  echo "coldstart-gate: the run made no results (exit $ran)" >&2
  exit "$ran"
fi
# --add: every run is kept, with its branch; only --branch's runs make the baseline, so a
# pull request is judged against main and never against itself.
coldstart gate "$results/$run_id" --history "$COLDSTART_HISTORY" \
  --branch "$baseline_branch" --add --junit coldstart-gate.xml --summary "$summary"
