#!/usr/bin/env bash
# Carry an unfinished benchmark across sessions whose machine keeps nothing but the git history.
#
#   bash benchmarks/park.sh park OUT      # after stopping the benchmark (SIGTERM checkpoints it)
#   bash benchmarks/park.sh unpark OUT    # before rerunning the same `timevqvdm benchmark ... --out OUT`
#
# `park` packs what a rerun resumes from — each dataset's stage checkpoints (OUT/models/<name>/runs/),
# its stored sample sets and TSTR checkpoints (OUT/evaluation/<name>/) and the reference-FCN cache — into
# benchmarks/parked/<basename of OUT>.tar, to be committed. Datasets with a finished record are left out:
# they are skipped on a rerun. `unpark` unpacks that tar into OUT and the FCN cache and never overwrites a
# file that is already there. Delete the tar (git rm) once its datasets have finished records.
set -euo pipefail

mode=${1:?usage: park.sh park|unpark OUT}
out=${2:?usage: park.sh park|unpark OUT}
here=$(cd "$(dirname "$0")" && pwd)
tarball=${PARK_DIR:-$here/parked}/$(basename "$out").tar  # PARK_DIR: for the tests
cache=${TIMEVQVDM_CACHE:-$HOME/.cache/timevqvdm}

unfinished() {  # dataset folders under OUT/models without a record saying "status": "ok"
    for dir in "$out"/models/*/; do
        [ -d "$dir" ] || continue  # no models yet: the glob stayed literal
        name=$(basename "$dir")
        record=$out/results/$name.json
        if [ -f "$record" ] && grep -q '"status": "ok"' "$record"; then continue; fi
        echo "$name"
    done
}

case $mode in
park)
    mapfile -t names < <(unfinished)
    [ ${#names[@]} -gt 0 ] || { echo "park.sh: nothing unfinished under $out/models" >&2; exit 1; }
    paths=() excludes=()
    for name in "${names[@]}"; do
        # A saved model replaces its run folder (its checkpoints, up to 48 MB each, are not needed then);
        # otherwise the stage checkpoints are what resumes.
        if [ -f "$out/models/$name/model.json" ]; then
            paths+=("models/$name") excludes+=(--exclude="models/$name/runs")
        else
            paths+=("models/$name/runs")
        fi
        [ -d "$out/evaluation/$name" ] && paths+=("evaluation/$name")
    done
    mkdir -p "$(dirname "$tarball")"
    tar -cf "$tarball" -C "$out" "${excludes[@]}" "${paths[@]}"
    [ -d "$cache/fcn" ] && tar -rf "$tarball" -C "$cache" --transform 's,^fcn,fcn-cache,' fcn
    echo "parked ${names[*]} into $tarball ($(du -h "$tarball" | cut -f1))"
    ;;
unpark)
    [ -f "$tarball" ] || { echo "park.sh: no $tarball" >&2; exit 1; }
    mkdir -p "$out" "$cache"
    tar -xf "$tarball" -C "$out" --skip-old-files --exclude 'fcn-cache*'
    if tar -tf "$tarball" | grep '^fcn-cache' >/dev/null; then  # not -q: tar must not get SIGPIPE
        tar -xf "$tarball" -C "$cache" --skip-old-files --wildcards 'fcn-cache*' --transform 's,^fcn-cache,fcn,'
    fi
    echo "unpacked $tarball into $out and $cache/fcn"
    ;;
*)
    echo "park.sh: unknown mode $mode (park or unpark)" >&2
    exit 2
    ;;
esac
